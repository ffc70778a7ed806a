"""services.payouts on a real database: batches, Mark paid (once), exports, the finance figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services import payouts
from services.payouts import PaidRefusal
from storage.db import transaction
from storage.exports import Debtor
from storage.models import AuditEvent, Expense, OutboxMessage, PayoutBatch
from tests.finance.conftest import add_expense
from tests.support import ORG_CSV
from workflows.directory import Directory
from workflows.expenses import Status
from workflows.exports import ExportError

DIRECTORY = Directory.from_csv_text(ORG_CSV, "org.csv")


def seed(db: sessionmaker[Session]) -> list[int]:
    with transaction(db) as s:
        return [
            add_expense(s, amount="10.00"),
            add_expense(s, amount="5.50", category="travel"),
            add_expense(s, employee="U_OTHER", email="other@example.com", amount="7.00", currency="EUR"),
            add_expense(s, amount="3.00", status="pending"),  # not approved: never batched
        ]


def notices(db: sessionmaker[Session]) -> list[dict[str, Any]]:
    with db() as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "notice").order_by(OutboxMessage.id)
        )
        return [row.payload for row in rows]


def test_a_dry_run_says_what_a_batch_would_hold_and_writes_nothing(factory: sessionmaker[Session]) -> None:
    seed(factory)
    result = payouts.create_batch(factory, "finance", dry_run=True)
    assert result.batch_id is None
    assert result.summary.totals == {"USD": Decimal("15.50"), "EUR": Decimal("7.00")}
    assert result.summary.counts == {"USD": 2, "EUR": 1}
    with factory() as s:
        assert s.scalars(select(PayoutBatch)).first() is None


def test_a_batch_claims_every_approved_expense_once(factory: sessionmaker[Session]) -> None:
    ids = seed(factory)
    result = payouts.create_batch(factory, "finance")
    assert result.batch_id is not None
    lines = {(line.employee_id, line.currency): line for line in result.summary.lines}
    assert lines[("U_EMP", "USD")].amount == Decimal("15.50") and lines[("U_EMP", "USD")].count == 2
    assert len(lines[("U_OTHER", "EUR")].refs) == 1 and str(ids[2]) in lines[("U_OTHER", "EUR")].refs[0]
    again = payouts.create_batch(factory, "finance")
    assert again.batch_id is None and again.summary.lines == ()
    state = payouts.batch_state(factory, result.batch_id)
    assert state.summary.totals == result.summary.totals and state.messages == ()
    payouts.save_digest_messages(factory, result.batch_id, [("C_FIN", "1.000")])
    assert payouts.batch_state(factory, result.batch_id).messages == (("C_FIN", "1.000"),)
    with pytest.raises(LookupError):
        payouts.batch_state(factory, 999_999)


def test_mark_paid_once_and_tell_each_employee_with_facts(factory: sessionmaker[Session]) -> None:
    ids = seed(factory)
    batch_id = payouts.create_batch(factory, "finance").batch_id
    assert batch_id is not None
    refused = payouts.mark_paid(factory, DIRECTORY, batch_id, "U_EMP", "emp@example.com")
    assert refused.refused is PaidRefusal.NOT_FINANCE
    assert (
        payouts.mark_paid(factory, DIRECTORY, 999_999, "U_FIN", "fin@example.com").refused
        is PaidRefusal.NO_BATCH
    )
    paid = payouts.mark_paid(factory, DIRECTORY, batch_id, "U_FIN", "fin@example.com")
    assert (paid.refused, paid.people) == (None, 2)
    twice = payouts.mark_paid(factory, DIRECTORY, batch_id, "U_ADMIN", "admin@example.com")
    assert (twice.refused, twice.paid_by) == (PaidRefusal.ALREADY_PAID, "U_FIN") and twice.paid_at is not None
    with factory() as s:
        statuses = {e.id: e.status for e in s.scalars(select(Expense))}
        assert [statuses[i] for i in ids] == [Status.PAID, Status.PAID, Status.PAID, Status.PENDING]
        exp = s.get(Expense, ids[0])
        assert exp is not None and (exp.ocr or {})["status_facts"] == {"event": "paid", "batch": batch_id}
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.entity == "payout_batch")))
        assert actions.count("payout.batch_paid") == 1
    told = {n["user_id"]: n for n in notices(factory)}
    assert set(told) == {"U_EMP", "U_OTHER"}
    assert {c: Decimal(a) for c, a in told["U_EMP"]["amounts"].items()} == {"USD": Decimal("15.50")}
    assert len(told["U_EMP"]["refs"]) == 2 and told["U_EMP"]["event"] == "paid"
    assert "text" not in told["U_EMP"]


def test_exports(factory: sessionmaker[Session]) -> None:
    seed(factory)
    batch_id = payouts.create_batch(factory, "finance").batch_id
    assert batch_id is not None
    csv = payouts.make_export(factory, DIRECTORY, None, batch_id, "csv", "U_FIN")
    assert csv.expense_count == 3 and csv.filename.endswith(".csv")
    with pytest.raises(ExportError, match="EXPENSEBOT_SEPA_NAME"):
        payouts.make_export(factory, DIRECTORY, None, batch_id, "sepa", "U_FIN")
    debtor = Debtor("Example Company", "NL91ABNA0417164300", "ABNANL2A")
    with pytest.raises(ExportError):  # the directory has no IBANs: said, not a broken file
        payouts.make_export(factory, DIRECTORY, debtor, batch_id, "sepa", "U_FIN")


def test_finance_overview(factory: sessionmaker[Session]) -> None:
    seed(factory)
    batch_id = payouts.create_batch(factory, "finance").batch_id
    with transaction(factory) as s:
        add_expense(s, amount="4.00", spent_on=dt.date.today())
    overview = payouts.finance_overview(factory, "USD", dt.date.today())
    assert overview.open_batches == (batch_id,)
    assert overview.waiting.totals == {"USD": Decimal("4.00")}
    assert overview.spend_error is None and overview.month is not None
    assert overview.month.total == Decimal("4.00")
    assert payouts.may_pay(DIRECTORY, "fin@example.com") and payouts.may_pay(DIRECTORY, "admin@example.com")
    assert not payouts.may_pay(DIRECTORY, "emp@example.com") and not payouts.may_pay(DIRECTORY, None)
