"""The employee's changes to an expense: a shared receipt starts one, a typed form creates one,
an edit is saved, a customer or deal is picked, the expense is discarded.

Each is one transaction with its audit event and a ``card`` outbox row (the Slack edge delivers
it afterwards). A change the employee may not make is answered with a :class:`Refusal`; the edge
words it. Reading the receipt is in :mod:`services.reading`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.reading import duplicate_warning
from storage import audit, outbox
from storage.customers import add_learned_alias
from storage.db import retry_on_conflict, transaction
from storage.deals import choose_deal
from storage.deals import pick_deal as store_deal_pick
from storage.models import Expense, ExpenseProject, MerchantCorrection, utcnow
from storage.projects import ProjectRefusal, offer_projects, pick_project
from workflows.corrections import alias_from_note
from workflows.expense_edits import Edit, project_name, typed_tax
from workflows.expenses import Move, Status, Transition, TransitionError, expense_ref, transition
from workflows.money import Money, parse_amount
from workflows.policy_anomalies import merchant_key
from workflows.tax import TaxFacts

Factory = sessionmaker[Session]


class RefusalKind(StrEnum):
    GONE = "gone"  # the expense no longer exists
    NOT_OWNER = "not_owner"  # only ``owner`` may change it
    NOT_NOW = "not_now"  # its state does not allow the change: ``detail`` says why
    INVALID = "invalid"  # what was asked cannot be kept: ``detail`` says why


@dataclass(frozen=True)
class Refusal:
    """Why a change asked for was not made. ``detail`` is plain text for people."""

    kind: RefusalKind
    expense_id: int
    owner: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Changed:
    """The change was committed; the card's new version waits in the outbox. ``project_refused``:
    why a part could not be kept (the CRM project picked in the edit form; the bot words it); the
    rest is saved."""

    expense_id: int
    status: Status
    project_refused: ProjectRefusal | None = None


Outcome = Changed | Refusal


@dataclass(frozen=True)
class SharedReceipt:
    """A receipt file someone shared (in a DM, a channel, a shortcut or the /expense command)."""

    user_id: str
    channel_id: str
    slack_file_id: str
    thread_ts: str | None
    note: str
    source: str  # dm | channel | shortcut | command


@dataclass(frozen=True)
class Started:
    expense_id: int
    new: bool  # False: the file had its expense already (a redelivery filled in what it lacked)


# --- intake -------------------------------------------------------------------------------------


def start_from_file(factory: Factory, item: SharedReceipt) -> Started:
    """The expense of one shared file, in reading; idempotent per file (a redelivery adds only
    what the first delivery lacked: the message to thread under, the note)."""
    try:
        with transaction(factory) as session:
            expense = Expense(
                status=Status.READING,
                employee_id=item.user_id,
                source=item.source,
                note=item.note.strip() or None,
                slack_file_id=item.slack_file_id,
                channel_id=item.channel_id,
                thread_ts=item.thread_ts,
            )
            session.add(expense)
            session.flush()
            audit.record(
                session,
                actor=item.user_id,
                action="expense.created",
                entity="expense",
                entity_id=expense.id,
                after=audit.expense_snapshot(expense),
                detail=f"from Slack file {item.slack_file_id} ({item.source})",
            )
            return Started(expense.id, new=True)
    except IntegrityError:
        return Started(_fill_in(factory, item), new=False)


def _fill_in(factory: Factory, item: SharedReceipt) -> int:
    with transaction(factory) as session:
        by_file = Expense.slack_file_id == item.slack_file_id
        if item.thread_ts:
            session.execute(
                update(Expense)
                .where(by_file, Expense.thread_ts.is_(None), Expense.card_ts.is_(None))
                .values(thread_ts=item.thread_ts, channel_id=item.channel_id)
                .execution_options(synchronize_session=False)
            )
        if item.note.strip():
            session.execute(
                update(Expense)
                .where(by_file, Expense.note.is_(None), Expense.status == Status.READING)
                .values(note=item.note.strip())
                .execution_options(synchronize_session=False)
            )
        return int(session.scalars(select(Expense.id).where(by_file)).one())


def create_typed(factory: Factory, user_id: str, edit: Edit, source: str, *, with_file: bool = False) -> int:
    """An expense typed into the /expense form: a draft, or in reading when a receipt came with
    it (the reading then fills only what was left empty)."""
    with transaction(factory) as session:
        expense = Expense(
            status=Status.READING if with_file else Status.DRAFT,
            employee_id=user_id,
            source=source,
            note=(edit.note or None),
            merchant=edit.merchant,
            merchant_key=merchant_key(edit.merchant),
            spent_on=edit.spent_on,
            amount=parse_amount(edit.amount_text) if edit.amount_text else None,
            currency=(edit.currency or "").upper() or None,
            category=edit.category,
            distance=parse_amount(edit.distance_text) if edit.distance_text else None,
            customer_id=edit.customer_id,
            customer_confirmed=edit.customer_id is not None,
            ocr={"typed": True} if with_file else {},
        )
        tax = typed_tax(edit)  # the form's tax fields, checked by validate_edit
        if isinstance(tax, TaxFacts):
            expense.net_amount, expense.tax_amount, expense.tax_rate = tax.net, tax.tax, tax.rate
        session.add(expense)
        session.flush()
        _set_project(session, expense.id, edit.project, user_id)
        audit.record(
            session,
            actor=user_id,
            action="expense.created",
            entity="expense",
            entity_id=expense.id,
            after=audit.expense_snapshot(expense),
            detail=f"typed in ({source})",
        )
        outbox.add(session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:created")
        return expense.id


# --- edits, picks, discards ---------------------------------------------------------------------


def _owned_move(
    session: Session, expense_id: int, user_id: str, move: Move
) -> tuple[Expense, Transition] | Refusal:
    """The expense and the move its owner asked for, or why they cannot make it."""
    expense = session.get(Expense, expense_id)
    if expense is None:
        return Refusal(RefusalKind.GONE, expense_id)
    if expense.employee_id != user_id:
        return Refusal(RefusalKind.NOT_OWNER, expense_id, owner=expense.employee_id)
    try:
        return expense, transition(expense.status, move, ref=expense_ref(expense.id))
    except TransitionError as exc:
        return Refusal(RefusalKind.NOT_NOW, expense_id, owner=expense.employee_id, detail=str(exc))


def _card_changed(
    session: Session, expense: Expense, project_refused: ProjectRefusal | None = None
) -> Changed:
    session.flush()
    outbox.add(session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:v{expense.version}")
    return Changed(expense.id, Status(expense.status), project_refused)


def _choose_deal(session: Session, expense: Expense) -> None:
    """The deal of the expense's customer, and the customer's open projects for the card's picker."""
    choose_deal(session, expense)
    offer_projects(session, expense)


def save_edit(factory: Factory, expense_id: int, user_id: str, edit: Edit, department: str | None) -> Outcome:
    """The owner saved the edit form (checked by ``workflows.expense_edits.validate_edit``).

    ``department`` is the employee's team, which scopes the customer alias a correction teaches.
    """
    return retry_on_conflict(_save_edit, factory, expense_id, user_id, edit, department)


def _save_edit(
    factory: Factory, expense_id: int, user_id: str, edit: Edit, department: str | None
) -> Outcome:
    with transaction(factory) as session:
        found = _owned_move(session, expense_id, user_id, Move.EDIT)
        if isinstance(found, Refusal):
            return found
        expense, move = found
        tax = typed_tax(edit)
        if isinstance(tax, str):
            return Refusal(RefusalKind.INVALID, expense_id, owner=expense.employee_id, detail=tax)
        before = audit.expense_snapshot(expense)
        _learn_merchant(session, expense, edit, user_id)
        previous_customer = expense.customer_id
        expense.merchant = (edit.merchant or "").strip() or None
        expense.merchant_key = merchant_key(expense.merchant)
        expense.spent_on = edit.spent_on
        expense.amount = parse_amount(edit.amount_text) if edit.amount_text else None
        expense.currency = (edit.currency or "").strip().upper() or None
        if expense.amount is not None and expense.currency:
            expense.amount = Money(expense.amount, expense.currency).amount
        expense.category = edit.category
        if tax is not None:
            expense.net_amount, expense.tax_amount, expense.tax_rate = tax.net, tax.tax, tax.rate
        _set_project(session, expense.id, edit.project, user_id)
        expense.distance = parse_amount(edit.distance_text) if edit.distance_text else None
        expense.note = (edit.note or "").strip() or None
        expense.ocr_error = None
        if edit.customer_cleared:
            expense.customer_id = None
            expense.customer_confirmed = True
        elif edit.customer_id is not None:
            expense.customer_id = edit.customer_id
            expense.customer_confirmed = True
            if edit.customer_id != previous_customer:
                _remember_customer(session, expense, edit.customer_id, user_id, department)
        if expense.customer_id != previous_customer or (
            expense.customer_id and expense.deal_id is None and expense.deal_reason != "no deal (picked)"
        ):
            _choose_deal(session, expense)
        project_problem = (
            pick_project(session, expense, edit.project_pick, user_id) if edit.project_pick else None
        )
        expense.status = move.after
        session.flush()
        state = dict(expense.ocr or {})
        warning = duplicate_warning(session, expense)
        state["warnings"] = [warning] if warning else []
        # the employee saw every field in the form and saved it: nothing is left to check
        state["confidence"] = dict.fromkeys(state.get("confidence") or {}, 1.0)
        expense.ocr = state
        audit.record(
            session,
            actor=user_id,
            action="expense.edited",
            entity="expense",
            entity_id=expense.id,
            before=before,
            after=audit.expense_snapshot(expense),
        )
        return _card_changed(session, expense, project_problem)  # the rest of the edit is saved


def pick_customer(
    factory: Factory, expense_id: int, user_id: str, customer_id: int | None, department: str | None
) -> Outcome:
    """The owner picked the customer on the card (None: no customer)."""
    return retry_on_conflict(_pick_customer, factory, expense_id, user_id, customer_id, department)


def _pick_customer(
    factory: Factory, expense_id: int, user_id: str, customer_id: int | None, department: str | None
) -> Outcome:
    with transaction(factory) as session:
        found = _owned_move(session, expense_id, user_id, Move.EDIT)
        if isinstance(found, Refusal):
            return found
        expense, _ = found
        before = audit.expense_snapshot(expense)
        expense.customer_id = customer_id
        expense.customer_confirmed = True
        if customer_id is not None:
            _remember_customer(session, expense, customer_id, user_id, department)
        _choose_deal(session, expense)
        audit.record(
            session,
            actor=user_id,
            action="expense.customer_picked",
            entity="expense",
            entity_id=expense.id,
            before=before,
            after=audit.expense_snapshot(expense),
        )
        return _card_changed(session, expense)


def pick_deal(factory: Factory, expense_id: int, user_id: str, value: str) -> Outcome:
    """The owner picked the deal on the card (``value``: a deal id, or "none")."""
    return retry_on_conflict(_pick_deal, factory, expense_id, user_id, value)


def _pick_deal(factory: Factory, expense_id: int, user_id: str, value: str) -> Outcome:
    with transaction(factory) as session:
        found = _owned_move(session, expense_id, user_id, Move.EDIT)
        if isinstance(found, Refusal):
            return found
        expense, _ = found
        before = {"deal_id": expense.deal_id}
        problem = store_deal_pick(session, expense, value)
        if problem:
            return Refusal(RefusalKind.INVALID, expense_id, owner=expense.employee_id, detail=problem)
        audit.record(
            session,
            actor=user_id,
            action="expense.deal_picked",
            entity="expense",
            entity_id=expense.id,
            before=before,
            after={"deal_id": expense.deal_id},
        )
        return _card_changed(session, expense)


def discard(factory: Factory, expense_id: int, user_id: str) -> Outcome:
    """The owner discarded the expense (before it was submitted, or after it came back)."""
    return retry_on_conflict(_discard, factory, expense_id, user_id)


def _discard(factory: Factory, expense_id: int, user_id: str) -> Outcome:
    with transaction(factory) as session:
        found = _owned_move(session, expense_id, user_id, Move.DISCARD)
        if isinstance(found, Refusal):
            return found
        expense, move = found
        before = audit.expense_snapshot(expense)
        expense.status = move.after
        audit.record(
            session,
            actor=user_id,
            action="expense.discarded",
            entity="expense",
            entity_id=expense.id,
            before=before,
            after=audit.expense_snapshot(expense),
        )
        return _card_changed(session, expense)


# --- what an edit teaches -----------------------------------------------------------------------


def _learn_merchant(session: Session, expense: Expense, edit: Edit, actor: str) -> None:
    """A merchant corrected in the form is recognised by its receipt header next time."""
    state = dict(expense.ocr or {})
    read_as = state.get("read_as") or {}
    header = state.get("header_text")
    if header and edit.merchant and edit.merchant != read_as.get("merchant"):
        session.add(
            MerchantCorrection(
                header_text=header, read_as=read_as.get("merchant"), merchant=edit.merchant, created_by=actor
            )
        )


def _remember_customer(
    session: Session, expense: Expense, customer_id: int, user_id: str, department: str | None
) -> None:
    """A correction becomes an alias for everyone, so the next such note matches whoever writes
    it (an admin sees and removes learned aliases with ``expensebot customers aliases``)."""
    phrase = alias_from_note(expense.note)
    if phrase and add_learned_alias(session, customer_id, phrase, user_id):
        audit.record(
            session,
            actor=user_id,
            action="customer.alias_learned",
            entity="customer",
            entity_id=customer_id,
            after={"alias": phrase, "shared": True, "team": department},
        )


def _set_project(session: Session, expense_id: int, project: str | None, user_id: str) -> None:
    """Book the expense to a project (reports group by it); empty removes it."""
    name = project_name(project)
    row = session.get(ExpenseProject, expense_id)
    if not name:
        if row is not None:
            audit.record(
                session,
                actor=user_id,
                action="expense.project",
                entity="expense",
                entity_id=expense_id,
                before={"project": row.project},
                after={"project": None},
            )
            session.delete(row)
        return
    if row is None:
        session.add(ExpenseProject(expense_id=expense_id, project=name, set_by=user_id))
        audit.record(
            session,
            actor=user_id,
            action="expense.project",
            entity="expense",
            entity_id=expense_id,
            before={"project": None},
            after={"project": name},
        )
    elif row.project != name:
        audit.record(
            session,
            actor=user_id,
            action="expense.project",
            entity="expense",
            entity_id=expense_id,
            before={"project": row.project},
            after={"project": name},
        )
        row.project, row.set_by, row.set_at = name, user_id, utcnow()
        row.project_id = None  # another name typed: no longer the CRM project picked
