"""The employee's changes as use cases: each commits its change with an audit event and a card
message, or says why it was refused; no Slack is involved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services import expenses as service
from services.expenses import Changed, Refusal, RefusalKind, SharedReceipt
from storage import audit
from storage.db import transaction
from storage.models import CustomerAlias, Expense, ExpenseProject, MerchantCorrection, Project
from tests.finance.conftest import add_customer, add_expense
from tests.services.records import actions, cards
from workflows.expense_edits import Edit
from workflows.expenses import Status
from workflows.tax import TaxInput

Factory = sessionmaker[Session]
DAY = dt.date(2026, 11, 2)


def shared(file_id: str = "F1", *, thread_ts: str | None = None, note: str = "") -> SharedReceipt:
    return SharedReceipt(
        user_id="U_EMP", channel_id="D1", slack_file_id=file_id, thread_ts=thread_ts, note=note, source="dm"
    )


def edit(**changes: object) -> Edit:
    fields: dict[str, object] = dict(
        merchant="Blue Bottle",
        spent_on=DAY,
        amount_text="12.345",
        currency="usd",
        category="meals",
        customer_id=None,
        customer_cleared=False,
        note=None,
    )
    fields.update(changes)
    return Edit(**fields)  # type: ignore[arg-type]


def draft(db: Factory, **fields: object) -> int:
    with transaction(db) as session:
        return add_expense(session, status="draft", **fields)  # type: ignore[arg-type]


def test_a_shared_file_starts_one_expense_and_a_redelivery_fills_in_what_it_lacked(db: Factory) -> None:
    first = service.start_from_file(db, shared())
    again = service.start_from_file(db, shared(thread_ts="111.222", note="  lunch with Acme "))
    assert first.new and not again.new
    assert again.expense_id == first.expense_id
    with db() as session:
        expense = session.get(Expense, first.expense_id)
        assert expense is not None
        assert (expense.status, expense.thread_ts, expense.note) == (
            Status.READING,
            "111.222",
            "lunch with Acme",
        )
        assert session.scalars(select(Expense.id)).all() == [first.expense_id]
    assert actions(db, first.expense_id) == [("U_EMP", "expense.created")]


def test_a_typed_expense_is_a_draft_with_its_project_and_a_card(db: Factory) -> None:
    expense_id = service.create_typed(
        db, "U_EMP", edit(amount_text="42.50", project=" Apollo   launch "), "command"
    )
    with db() as session:
        expense = session.get(Expense, expense_id)
        project = session.get(ExpenseProject, expense_id)
        assert expense is not None and project is not None
        assert (expense.status, expense.amount, expense.currency) == (Status.DRAFT, Decimal("42.50"), "USD")
        assert expense.merchant_key == "BLUE BOTTLE"
        assert project.project == "Apollo launch"
    assert actions(db, expense_id) == [("U_EMP", "expense.project"), ("U_EMP", "expense.created")]
    assert cards(db, expense_id) == [f"card:{expense_id}:created"]


def test_a_typed_expense_with_a_receipt_waits_for_its_reading(db: Factory) -> None:
    expense_id = service.create_typed(db, "U_EMP", edit(), "command", with_file=True)
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert (expense.status, expense.ocr) == (Status.READING, {"typed": True})


def test_the_owner_saves_an_edit(db: Factory) -> None:
    expense_id = draft(db, merchant="Blu Botle")
    outcome = service.save_edit(db, expense_id, "U_EMP", edit(), None)
    assert outcome == Changed(expense_id, Status.DRAFT)
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        # the total is rounded to the currency's minor unit, the code upper-cased
        assert (expense.merchant, expense.amount, expense.currency) == (
            "Blue Bottle",
            Decimal("12.35"),
            "USD",
        )
        assert expense.ocr is not None and expense.ocr["warnings"] == []
        version = expense.version
    assert actions(db, expense_id)[-1] == ("U_EMP", "expense.edited")
    assert cards(db, expense_id) == [f"card:{expense_id}:v{version}"]


def test_an_edit_of_an_expense_in_reading_makes_it_a_draft(db: Factory) -> None:
    started = service.start_from_file(db, shared())
    assert service.save_edit(db, started.expense_id, "U_EMP", edit(), None) == Changed(
        started.expense_id, Status.DRAFT
    )


def test_edits_are_refused_to_others_to_late_comers_and_for_missing_expenses(db: Factory) -> None:
    mine = draft(db)
    with transaction(db) as session:
        waiting = add_expense(session, status="pending")
    assert service.save_edit(db, mine, "U_OTHER", edit(), None) == Refusal(
        RefusalKind.NOT_OWNER, mine, owner="U_EMP"
    )
    refused = service.save_edit(db, waiting, "U_EMP", edit(), None)
    assert isinstance(refused, Refusal) and refused.kind is RefusalKind.NOT_NOW
    assert refused.detail == f"EXP-{waiting} is waiting for approval, so it cannot be edited now."
    assert service.save_edit(db, 999, "U_EMP", edit(), None) == Refusal(RefusalKind.GONE, 999)
    assert cards(db, mine) == [] and cards(db, waiting) == []
    assert actions(db, mine) == []


def test_a_tax_that_does_not_fit_the_total_is_refused_with_its_reason(db: Factory) -> None:
    expense_id = draft(db)
    outcome = service.save_edit(db, expense_id, "U_EMP", edit(tax=TaxInput(tax_text="50.00")), None)
    assert isinstance(outcome, Refusal) and outcome.kind is RefusalKind.INVALID
    assert outcome.detail
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None and expense.tax_amount is None and expense.merchant == "Blue Bottle"


def test_a_corrected_merchant_is_learned_from_the_receipt_header(db: Factory) -> None:
    expense_id = draft(db, merchant="BLU BOTTL")
    with transaction(db) as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        expense.ocr = {"header_text": "BLU BOTTL COFFEE\nKL", "read_as": {"merchant": "BLU BOTTL"}}
    assert isinstance(service.save_edit(db, expense_id, "U_EMP", edit(), None), Changed)
    with db() as session:
        learned = session.scalars(select(MerchantCorrection)).all()
        assert [(m.header_text, m.read_as, m.merchant, m.created_by) for m in learned] == [
            ("BLU BOTTL COFFEE\nKL", "BLU BOTTL", "Blue Bottle", "U_EMP")
        ]


def test_an_edit_that_makes_a_claim_like_an_earlier_one_warns(db: Factory) -> None:
    earlier = draft(db, amount="12.35", merchant="Blue Bottle")
    with transaction(db) as session:
        row = session.get(Expense, earlier)
        assert row is not None
        row.merchant_key = "BLUE BOTTLE"  # as the reading or an edit keeps it
    expense_id = draft(db, amount="1.00", merchant="Other")
    service.save_edit(db, expense_id, "U_EMP", edit(), None)
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None and expense.ocr is not None
        assert expense.ocr["warnings"] == [
            f"Looks like the expense you submitted on 2 Nov (EXP-{earlier}: same merchant, date and total)."
        ]


def test_picking_a_customer_confirms_it_and_teaches_the_note(db: Factory) -> None:
    expense_id = draft(db)
    with transaction(db) as session:
        acme = add_customer(session, "Acme Corporation", "C-100")
        expense = session.get(Expense, expense_id)
        assert expense is not None
        expense.note = "lunch w/ the Roadrunner folks"
    outcome = service.pick_customer(db, expense_id, "U_EMP", acme, "Sales")
    assert isinstance(outcome, Changed)
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None and (expense.customer_id, expense.customer_confirmed) == (acme, True)
        aliases = session.scalars(select(CustomerAlias).where(CustomerAlias.customer_id == acme)).all()
        assert "Roadrunner" in [a.alias for a in aliases]
    assert actions(db, expense_id) == [("U_EMP", "expense.customer_picked")]
    with db() as session:
        learned = [
            e.after for e in audit.history(session, "customer", acme) if e.action == "customer.alias_learned"
        ]
    assert learned == [{"alias": "Roadrunner", "shared": True, "team": "Sales"}]


def test_no_customer_and_no_deal_can_be_picked(db: Factory) -> None:
    expense_id = draft(db)
    assert isinstance(service.pick_customer(db, expense_id, "U_EMP", None, None), Changed)
    assert isinstance(service.pick_deal(db, expense_id, "U_EMP", "none"), Changed)
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert (expense.customer_id, expense.customer_confirmed, expense.deal_id) == (None, True, None)
        assert expense.deal_reason == "no deal (picked)"
    assert [a for _, a in actions(db, expense_id)] == ["expense.customer_picked", "expense.deal_picked"]


def test_discard_once_then_refused(db: Factory) -> None:
    expense_id = draft(db)
    assert service.discard(db, expense_id, "U_EMP") == Changed(expense_id, Status.DISCARDED)
    again = service.discard(db, expense_id, "U_EMP")
    assert isinstance(again, Refusal) and again.kind is RefusalKind.NOT_NOW
    assert "was discarded" in again.detail
    assert actions(db, expense_id) == [("U_EMP", "expense.discarded")]
    assert len(cards(db, expense_id)) == 1


def test_a_typed_expense_keeps_the_tax_typed_into_the_form(db: Factory) -> None:
    tax = TaxInput(net_text="100.00", tax_text="19.00", rate_text="19")
    expense_id = service.create_typed(
        db, "U_EMP", edit(amount_text="119.00", currency="EUR", tax=tax), "command"
    )
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert (expense.net_amount, expense.tax_amount, expense.tax_rate) == (
            Decimal("100.00"),
            Decimal("19.00"),
            Decimal(19),
        )


def _customer_with_projects(db: Factory) -> tuple[int, dict[str, int]]:
    with transaction(db) as session:
        acme = add_customer(session, "Acme Corp", "C-1")
        rows = {
            "onsite": Project(source="csv", external_id="P1", name="Acme onsite", customer_id=acme),
            "pilot": Project(
                source="csv", external_id="P2", name="Acme pilot", customer_id=acme, is_closed=True
            ),
        }
        session.add_all(rows.values())
        session.flush()
        return acme, {key: project.id for key, project in rows.items()}


def test_a_picked_customer_offers_its_open_projects(db: Factory) -> None:
    acme, projects = _customer_with_projects(db)
    expense_id = draft(db)
    assert isinstance(service.pick_customer(db, expense_id, "U_EMP", acme, None), Changed)
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        assert (expense.ocr or {})["project_options"] == [{"id": projects["onsite"], "name": "Acme onsite"}]


def test_a_project_picked_in_the_form_is_booked_and_another_typed_name_unlinks_it(db: Factory) -> None:
    acme, projects = _customer_with_projects(db)
    expense_id = draft(db)
    picked = edit(customer_id=acme, project_pick=str(projects["onsite"]))
    assert service.save_edit(db, expense_id, "U_EMP", picked, None) == Changed(expense_id, Status.DRAFT)
    with db() as session:
        row = session.get(ExpenseProject, expense_id)
        expense = session.get(Expense, expense_id)
        assert row is not None and expense is not None
        assert (row.project_id, row.project) == (projects["onsite"], "Acme onsite")
        assert (expense.ocr or {})["project_options"] == [{"id": projects["onsite"], "name": "Acme onsite"}]
    assert [a for _, a in actions(db, expense_id)] == ["expense.project_picked", "expense.edited"]

    assert isinstance(service.save_edit(db, expense_id, "U_EMP", edit(project="Offsite"), None), Changed)
    with db() as session:
        row = session.get(ExpenseProject, expense_id)
        assert row is not None and (row.project_id, row.project) == (None, "Offsite")


def test_a_closed_project_picked_in_the_form_is_refused_and_the_rest_is_saved(db: Factory) -> None:
    acme, projects = _customer_with_projects(db)
    expense_id = draft(db)
    outcome = service.save_edit(
        db,
        expense_id,
        "U_EMP",
        edit(customer_id=acme, amount_text="20.00", project_pick=str(projects["pilot"])),
        None,
    )
    assert isinstance(outcome, Changed)
    assert str(outcome.project_refused) == "The project Acme pilot is closed: new expenses cannot go on it."
    with db() as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None and (expense.amount, expense.customer_id) == (Decimal("20.00"), acme)
        assert session.get(ExpenseProject, expense_id) is None
    assert [a for _, a in actions(db, expense_id)] == ["expense.edited"]
