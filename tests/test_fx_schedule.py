"""The running app's daily fetch of the reference rates: when it is due, and once across processes."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.context import build_context
from bot.fx_schedule import expected_day, scheduled_fx_update
from bot.settings import Settings
from devslack.serving import BackgroundServer
from storage.models import FxRate
from tests.fakes.ecb import DAILY, FakeEcb

UTC = dt.UTC


@pytest.mark.parametrize(
    ("now", "day"),
    [
        (dt.datetime(2026, 12, 7, 14, 0, tzinfo=UTC), dt.date(2026, 12, 4)),  # Monday 15:00 CET: Friday's
        (dt.datetime(2026, 12, 7, 15, 30, tzinfo=UTC), dt.date(2026, 12, 7)),  # Monday 16:30 CET: Monday's
        (dt.datetime(2026, 12, 5, 12, 0, tzinfo=UTC), dt.date(2026, 12, 4)),  # Saturday: Friday's
        (dt.datetime(2026, 12, 6, 23, 0, tzinfo=UTC), dt.date(2026, 12, 4)),  # Sunday night
        (dt.datetime(2026, 7, 1, 14, 20, tzinfo=UTC), dt.date(2026, 7, 1)),  # summer: 16:20 CEST
    ],
)
def test_the_day_whose_rates_should_be_out(now: dt.datetime, day: dt.date) -> None:
    assert expected_day(now) == day


@pytest.fixture
def ecb() -> Iterator[tuple[FakeEcb, str]]:
    fake = FakeEcb(last=dt.date(2026, 12, 4))
    with BackgroundServer(fake.app, name="ecb") as server:
        yield fake, server.url.rstrip("/") + DAILY


def _count(ctx: Any) -> int:
    with ctx.db() as session:
        return int(session.scalar(select(func.count()).select_from(FxRate)) or 0)


def test_one_fetch_however_many_processes_ask(
    db_url: str, ecb: tuple[FakeEcb, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = ecb
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("EXPENSEBOT_FX_FEED_URL", url)
    contexts = [build_context(Settings()) for _ in range(3)]  # three serving processes' contexts
    now = dt.datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # a Saturday: Friday's rates are due

    async def all_at_once() -> None:
        await asyncio.gather(*(scheduled_fx_update(ctx, now) for ctx in contexts))

    asyncio.run(all_at_once())
    assert fake.requests == [DAILY]
    assert _count(contexts[0]) == 30
    # Stored: no more fetching that day, nor the next hour.
    asyncio.run(scheduled_fx_update(contexts[1], now + dt.timedelta(hours=1)))
    assert fake.requests == [DAILY]


def test_a_failed_fetch_is_tried_again_the_next_hour(
    sqlite_url: str, ecb: tuple[FakeEcb, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = ecb
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("EXPENSEBOT_FX_FEED_URL", url)
    ctx = build_context(Settings())
    now = dt.datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    fake.broken = True
    asyncio.run(scheduled_fx_update(ctx, now))
    asyncio.run(scheduled_fx_update(ctx, now + dt.timedelta(minutes=30)))  # same hour: not again
    assert len(fake.requests) == 1 and _count(ctx) == 0
    fake.broken = False
    asyncio.run(scheduled_fx_update(ctx, now + dt.timedelta(hours=1)))
    assert len(fake.requests) == 2 and _count(ctx) == 30


def test_an_empty_feed_url_turns_the_fetching_off(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("EXPENSEBOT_FX_FEED_URL", "")
    ctx = build_context(Settings())
    asyncio.run(scheduled_fx_update(ctx, dt.datetime(2026, 12, 4, 16, 0, tzinfo=UTC)))
    assert _count(ctx) == 0
