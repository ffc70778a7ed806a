"""`expensebot fx update` against a local stand-in for the ECB, and the running app's daily fetch."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devslack.serving import BackgroundServer
from storage.db import make_engine, make_sessionmaker
from storage.fx import rate_lookup, store_rates
from storage.models import AuditEvent, FxRate
from tests.fakes.ecb import DAILY, FakeEcb
from tests.support import running_app
from workflows.fx import convert
from workflows.money import Money

FRIDAY = dt.date(2024, 6, 28)


@pytest.fixture
def ecb() -> Iterator[tuple[FakeEcb, str]]:
    fake = FakeEcb(last=FRIDAY)
    with BackgroundServer(fake.app, name="ecb") as server:
        yield fake, server.url.rstrip("/")


def _cli(url: str, database_url: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "EXPENSEBOT_FX_FEED_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "fx", "update", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp,
    )


def _rates(database_url: str) -> dict[tuple[str, str, dt.date], FxRate]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return {(r.base, r.quote, r.day): r for r in session.scalars(select(FxRate))}
    finally:
        engine.dispose()


def test_fx_update_stores_the_newest_day_and_past_days(
    tmp_path: Path, sqlite_url: str, ecb: tuple[FakeEcb, str]
) -> None:
    fake, base = ecb
    result = _cli(base + DAILY, sqlite_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Stored 30 EUR reference rates of 2024-06-28" in result.stdout and "30 new" in result.stdout
    rates = _rates(sqlite_url)
    assert rates[("EUR", "USD", FRIDAY)].rate == Decimal("1.0705")  # as published, never via float
    assert rates[("EUR", "IDR", FRIDAY)].rate == Decimal("17487.21")
    assert rates[("EUR", "USD", FRIDAY)].source == "ECB"

    again = _cli(base + DAILY, sqlite_url, tmp_path, "--json")
    assert json.loads(again.stdout) == {
        "day": "2024-06-28",
        "rates": 30,
        "new": 0,
        "changed": 0,
        "unchanged": 30,
        "note": None,
        "source": base + DAILY,
    }

    # A past day comes from the 90-day file in the same folder.
    past = _cli(base + DAILY, sqlite_url, tmp_path, "--date", "2024-06-20")
    assert past.returncode == 0, past.stderr
    assert "of 2024-06-20" in past.stdout and "eurofxref-hist-90d.xml" in past.stdout
    assert _rates(sqlite_url)[("EUR", "USD", dt.date(2024, 6, 20))].rate == Decimal(
        fake.days[dt.date(2024, 6, 20)]["USD"]
    )

    # A Sunday has no rates of its own: Friday's are in force, and the command says so.
    sunday = _cli(base + DAILY, sqlite_url, tmp_path, "--date", "2024-06-23")
    assert sunday.returncode == 0, sunday.stderr
    assert (
        "no rates for Sunday 2024-06-23 (a weekend)" in sunday.stdout and "Friday 2024-06-21" in sunday.stdout
    )

    # Cross rates through the euro, from the stored rows.
    engine = make_engine(sqlite_url)
    with make_sessionmaker(engine)() as session:
        gbp = convert(Money.of("100.00", "USD"), "GBP", dt.date(2024, 6, 30), rate_lookup(session))
    engine.dispose()
    assert gbp == Money(Decimal("100.00") * (Decimal("0.84638") / Decimal("1.0705")), "GBP")


@pytest.mark.parametrize(
    ("args", "path", "message"),
    [
        ((), "/nothing/here.xml", "answered 404 Not Found: check EXPENSEBOT_FX_FEED_URL"),
        (("--date", "2023-01-02"), DAILY, "reaches back to"),
        (("--date", "2999-01-01"), DAILY, "2999-01-01 is in the future"),
        (("--date", "yesterday"), DAILY, "'yesterday' does not match the format"),
    ],
)
def test_fx_update_explains_what_went_wrong(
    tmp_path: Path, sqlite_url: str, ecb: tuple[FakeEcb, str], args: tuple[str, ...], path: str, message: str
) -> None:
    _, base = ecb
    result = _cli(base + path, sqlite_url, tmp_path, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_fx_update_refuses_a_broken_file_and_an_unreachable_feed(
    tmp_path: Path, sqlite_url: str, ecb: tuple[FakeEcb, str]
) -> None:
    fake, base = ecb
    fake.broken = True
    result = _cli(base + DAILY, sqlite_url, tmp_path)
    assert (
        result.returncode == 1
        and "is not well-formed XML" in result.stderr
        and "Traceback" not in result.stderr
    )
    assert _rates(sqlite_url) == {}  # nothing stored
    down = _cli("http://127.0.0.1:9/eurofxref-daily.xml", sqlite_url, tmp_path)
    assert down.returncode == 1 and "could not be reached" in down.stderr


def test_a_changed_rate_is_audited_and_an_equal_one_is_not(factory: sessionmaker[Session]) -> None:
    rows = [("EUR", "USD", FRIDAY, Decimal("1.0705")), ("EUR", "GBP", FRIDAY, Decimal("0.84638"))]
    first = store_rates(factory, rows, source="ECB", actor="schedule")
    assert (first.new, first.changed, first.unchanged) == (2, 0, 0)
    second = store_rates(
        factory, [("EUR", "USD", FRIDAY, Decimal("1.0712"))], source="rates.csv", actor="cli"
    )
    assert (second.new, second.changed) == (0, 1)
    assert second.changes == ["EUR→USD 2024-06-28: 1.0705 → 1.0712"]
    store_rates(factory, rows[1:], source="ECB", actor="schedule")  # same value: no audit entry
    with factory() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.entity == "fx_rate")))
        assert len(events) == 1
        event = events[0]
        assert event.entity_id == "EUR/USD/2024-06-28" and event.actor == "cli"
        assert event.before == {"rate": "1.0705", "source": "ECB"}
        assert event.after == {"rate": "1.0712", "source": "rates.csv"}


def test_the_running_app_fetches_the_rates_itself(tmp_path: Path, sqlite_url: str) -> None:
    today = dt.date.today()
    fake = FakeEcb(last=today)
    with (
        BackgroundServer(fake.app, name="ecb") as server,
        running_app(
            tmp_path,
            database_url=sqlite_url,
            extra_env={
                "EXPENSEBOT_SCHEDULER": "true",
                "EXPENSEBOT_DIGEST_CRON": "0 0 1 1 *",
                "EXPENSEBOT_FX_FEED_URL": server.url.rstrip("/") + DAILY,
            },
        ),
    ):
        deadline = time.monotonic() + 30
        while not _rates(sqlite_url) and time.monotonic() < deadline:
            time.sleep(0.2)
        stored = _rates(sqlite_url)
    assert len(stored) == 30
    assert {day for _, _, day in stored} == {fake.newest()}
    assert fake.requests.count(DAILY) == 1  # once, however many maintenance ticks ran


def test_reports_and_budgets_convert_through_the_euro(factory: sessionmaker[Session]) -> None:
    from storage.budgets import rates_for
    from storage.db import transaction
    from storage.reports import spend_report
    from tests.finance.conftest import add_expense

    november = dt.date(2026, 11, 5)
    store_rates(
        factory,
        [("EUR", "USD", november, Decimal("1.0800")), ("EUR", "GBP", november, Decimal("0.8400"))],
        source="ECB",
        actor="schedule",
    )
    with transaction(factory) as s:
        add_expense(s, amount="84.00", currency="GBP", spent_on=november)
    with factory() as s:
        result = spend_report(s, "category", dt.date(2026, 11, 1), dt.date(2026, 11, 30), "USD")
        lookup = rates_for(s, [("GBP", november)], "USD")
        converted = convert(Money.of("84.00", "GBP"), "USD", november, lookup)
    assert result.total == Decimal("108.00")  # 84 GBP = 100 EUR = 108 USD
    assert converted == Money.of("108.00", "USD")
