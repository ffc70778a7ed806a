"""The running app's scheduled matching: once per slot across processes, only when a line is open,
configurable, and what it decides is what ``transactions match`` decides (both databases)."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.context import build_context
from bot.match_schedule import match_slot, scheduled_match
from bot.settings import Settings
from storage.db import transaction
from storage.models import AuditEvent, Expense, OutboxMessage, ScheduledRun, SlackUser, StatementLine
from storage.statements import import_statement

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 10, 9, 5, tzinfo=UTC)
ORG = "email,manager_email,department,role\nboss@acme.test,,Exec,admin\nana@acme.test,boss@acme.test,Sales,employee\n"


@pytest.mark.parametrize(
    ("now", "every", "slot"),
    [
        (dt.datetime(2026, 11, 10, 9, 5, tzinfo=UTC), 60, "2026-11-10T09:00"),
        (dt.datetime(2026, 11, 10, 9, 59, 59, tzinfo=UTC), 60, "2026-11-10T09:00"),
        (dt.datetime(2026, 11, 10, 9, 44, tzinfo=UTC), 15, "2026-11-10T09:30"),
        (dt.datetime(2026, 11, 10, 23, 10, tzinfo=UTC), 1440, "2026-11-10T00:00"),
        (dt.datetime(2026, 11, 10, 10, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))), 60, "2026-11-10T09:00"),
    ],
)
def test_the_slot_a_time_falls_in(now: dt.datetime, every: int, slot: str) -> None:
    assert match_slot(now, every) == slot


def _contexts(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int, every: str = "60"
) -> list[Any]:
    org = tmp_path / "org.csv"
    org.write_text(ORG)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("EXPENSEBOT_ORG_FILE", str(org))
    monkeypatch.setenv("EXPENSEBOT_CURRENCY", "USD")
    monkeypatch.setenv("EXPENSEBOT_MATCH_EVERY_MINUTES", every)
    monkeypatch.setenv("EXPENSEBOT_MISSING_RECEIPT_DAYS", "3")
    for name in ("EXPENSEBOT_POLICY_FILE", "REDIS_URL", "SLACK_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    return [build_context(Settings()) for _ in range(n)]


def _statement(ctx: Any, tmp_path: Path, rows: str, name: str) -> None:
    import_statement(
        ctx.db,
        f"id,date,amount,description\n{rows}".encode(),
        source=name,
        account="ana@acme.test",
        mapping="id=id,date=date,amount=amount,description=description",
        default_currency="USD",
    )


def _statuses(ctx: Any) -> dict[str, str]:
    with ctx.db() as session:
        return dict(
            session.execute(select(StatementLine.transaction_id, StatementLine.status)).tuples().all()
        )


def _runs(ctx: Any) -> int:
    with ctx.db() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "statement.matched", AuditEvent.actor == "schedule")
            )
            or 0
        )


def test_new_charges_matched_once_per_slot_however_many_processes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contexts = _contexts(db_url, tmp_path, monkeypatch, 3)
    ctx = contexts[0]
    with transaction(ctx.db) as s:
        s.add(SlackUser(user_id="U_ANA", email="ana@acme.test", name="Ana"))
        s.add(
            Expense(
                status="draft",
                employee_id="U_ANA",
                employee_email="ana@acme.test",
                source="dm",
                merchant="Blue Bottle Coffee",
                spent_on=dt.date(2026, 11, 2),
                amount=Decimal("12.50"),
                currency="USD",
                category="meals",
            )
        )
    # nothing imported yet: nothing to do, no slot taken
    assert asyncio.run(scheduled_match(ctx, NOW)) is None
    _statement(
        ctx,
        tmp_path,
        "T1,2026-11-03,-12.50,SQ *BLUE BOTTLE 0423 OAKLAND CA\nT2,2026-11-03,-180.00,HOTEL LE GRAND\n",
        "one.csv",
    )

    async def all_at_once(now: dt.datetime) -> list[Any]:
        return list(await asyncio.gather(*(scheduled_match(c, now) for c in contexts)))

    outcomes = asyncio.run(all_at_once(NOW))
    assert sorted(outcomes, key=lambda o: o is None) == [{"matched": 1, "missing_receipt": 1}, None, None]
    assert _statuses(ctx) == {"T1": "matched", "T2": "missing_receipt"}
    assert _runs(ctx) == 1
    with ctx.db() as s:
        assert s.get(ScheduledRun, ("match", "2026-11-10T09:00")).finished_at is not None  # type: ignore[union-attr]
        reminders = s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.dedup_key.like("missing_receipt:%"))
        )
    assert reminders == 1  # booked long before today: the reminder is due
    # the same slot again: nothing; the next slot: a run, which changes nothing and sends nothing twice
    assert asyncio.run(scheduled_match(contexts[1], NOW + dt.timedelta(minutes=30))) is None
    assert asyncio.run(scheduled_match(contexts[2], NOW + dt.timedelta(hours=1))) == {
        "matched": 1,
        "missing_receipt": 1,
    }
    with ctx.db() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.dedup_key.like("missing_receipt:%"))
            )
            == 1
        )
    assert _runs(ctx) == 2

    # every line settled: later slots do not run at all
    _statement(ctx, tmp_path, "T3,2026-11-09,-4.00,KIOSK\n", "two.csv")
    with transaction(ctx.db) as s:
        s.execute(StatementLine.__table__.update().values(status="matched"))  # type: ignore[attr-defined]
    assert asyncio.run(scheduled_match(ctx, NOW + dt.timedelta(hours=2))) is None
    assert _runs(ctx) == 2


def test_zero_minutes_turns_it_off(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (ctx,) = _contexts(sqlite_url, tmp_path, monkeypatch, 1, every="0")
    _statement(ctx, tmp_path, "T1,2026-11-03,-12.50,SQ *BLUE BOTTLE\n", "one.csv")
    assert asyncio.run(scheduled_match(ctx, NOW)) is None
    assert _statuses(ctx) == {"T1": "unmatched"} and _runs(ctx) == 0
