"""The receipt card's "Use my card's rate" and "Split" as use cases: each commits its change with
an audit event and a card message, or says why not; no Slack is involved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from services.card_rate import (
    RateForm,
    RateInvalid,
    RateRefusal,
    RateRefusalKind,
    RateSet,
    rate_form,
    set_card_rate,
)
from services.splits import (
    PartsInvalid,
    SplitRefusal,
    SplitRefusalKind,
    SplitSaved,
    UnknownCategory,
    save_split,
)
from storage.db import transaction
from storage.fx import store_rates
from storage.models import Expense
from tests.finance.conftest import add_expense
from tests.services.records import actions, cards
from workflows.conversion import CARD_STATEMENT
from workflows.directory import Directory
from workflows.policy import default_policy
from workflows.splits import PartSpec

Factory = sessionmaker[Session]
DAY = dt.date(2026, 11, 2)
POLICY = default_policy("USD")


def draft(db: Factory, **fields: object) -> int:
    with transaction(db) as session:
        return add_expense(session, status="draft", **fields)  # type: ignore[arg-type]


def directory() -> Directory:
    return Directory.from_csv_text("email,manager_email,department,role\n", "org.csv")


def test_the_card_rate_is_checked_kept_and_audited(db: Factory) -> None:
    store_rates(db, [("EUR", "USD", DAY, Decimal("1.10"))], source="ECB", actor="test")
    expense_id = draft(db, amount="100.00", currency="EUR")
    form = rate_form(db, directory(), POLICY, expense_id, "U_EMP", "emp@example.com")
    assert isinstance(form, RateForm) and form.current is None
    assert form.conversion.rate == Decimal("1.10")

    too_far = set_card_rate(db, directory(), POLICY, expense_id, "U_EMP", "emp@example.com", "1.50")
    assert isinstance(too_far, RateInvalid) and "the policy allows 3%" in too_far.detail
    saved = set_card_rate(db, directory(), POLICY, expense_id, "U_EMP", "emp@example.com", "1.12")
    assert saved == RateSet(expense_id, Decimal("1.12"))
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert (expense.fx_rate, expense.fx_rate_source, expense.reimburse_currency) == (
            Decimal("1.12"),
            CARD_STATEMENT,
            "USD",
        )
    again = rate_form(db, directory(), POLICY, expense_id, "U_EMP", "emp@example.com")
    assert isinstance(again, RateForm) and again.current == "1.12"

    back = set_card_rate(db, directory(), POLICY, expense_id, "U_EMP", "emp@example.com", " ")
    assert back == RateSet(expense_id, None)
    assert actions(db, expense_id) == [("U_EMP", "expense.rate_set")] * 2
    assert len(cards(db, expense_id)) == 2


def test_a_card_rate_is_refused_with_the_reason(db: Factory) -> None:
    mine = draft(db, amount="100.00", currency="USD")
    assert rate_form(db, directory(), POLICY, mine, "U_OTHER", None) == RateRefusal(
        RateRefusalKind.NOT_OWNER, mine, owner="U_EMP"
    )
    assert rate_form(db, directory(), POLICY, mine, "U_EMP", None) == RateRefusal(
        RateRefusalKind.SAME_CURRENCY, mine, currency="USD"
    )
    unrated = draft(db, amount="100.00", currency="JPY")
    missing = set_card_rate(db, directory(), POLICY, unrated, "U_EMP", None, "0.007")
    assert isinstance(missing, RateInvalid)
    refused = rate_form(db, directory(), POLICY, unrated, "U_EMP", None)
    assert isinstance(refused, RateRefusal) and refused.kind == RateRefusalKind.NO_RATE and refused.detail
    assert rate_form(db, directory(), POLICY, 999, "U_EMP", None) == RateRefusal(RateRefusalKind.GONE, 999)
    assert actions(db, mine) == [] and actions(db, unrated) == []


def test_a_split_is_kept_audited_and_removed(db: Factory) -> None:
    expense_id = draft(db, amount="100.00")
    specs = [PartSpec(percent=Decimal("40"), category="meals"), PartSpec(category="travel")]
    assert save_split(db, POLICY.categories, expense_id, "U_EMP", specs) == SplitSaved(expense_id, 2)
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert [(s.amount, s.category) for s in expense.splits] == [
            (Decimal("40.00"), "meals"),
            (Decimal("60.00"), "travel"),
        ]
    assert save_split(db, POLICY.categories, expense_id, "U_EMP", []) == SplitSaved(expense_id, 0)
    assert actions(db, expense_id) == [("U_EMP", "expense.split")] * 2
    assert cards(db, expense_id) == [f"card:{expense_id}:split:1", f"card:{expense_id}:split:2"]


def test_a_split_is_refused_with_the_reason(db: Factory) -> None:
    expense_id = draft(db, amount="100.00")
    two = [PartSpec(amount=Decimal("30.00")), PartSpec(amount=Decimal("30.00"))]
    assert save_split(db, POLICY.categories, expense_id, "U_OTHER", two) == SplitRefusal(
        SplitRefusalKind.NOT_OWNER, expense_id, owner="U_EMP"
    )
    invalid = save_split(db, POLICY.categories, expense_id, "U_EMP", two)
    assert isinstance(invalid, PartsInvalid) and invalid.message
    unknown = [PartSpec(percent=Decimal("50"), category="yachts"), PartSpec()]
    assert save_split(db, POLICY.categories, expense_id, "U_EMP", unknown) == UnknownCategory("yachts")
    with transaction(db) as session:
        approved = add_expense(session, status="approved")
    refused = save_split(db, POLICY.categories, approved, "U_EMP", two)
    assert isinstance(refused, SplitRefusal) and refused.kind == SplitRefusalKind.NOT_NOW
    assert actions(db, expense_id) == [] and actions(db, approved) == []
