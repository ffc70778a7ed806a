"""“Use my card's rate”: the employee sets the rate their card statement shows for a claim.

The rate is checked against the reference rate of the claim's date within the policy's
``card_rate_tolerance_percent``; an empty rate goes back to the reference rate. The change is
audited and the card is queued for an update (a ``card`` outbox row). A change the employee may not
make is answered with a :class:`RateRefusal`, a rate that cannot be kept with a
:class:`RateInvalid`; the Slack edge words them (``bot.blocks.fx``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from services.conversion import reference, reimbursement_currency
from storage import audit, outbox
from storage.db import retry_on_conflict, transaction
from storage.models import Expense
from workflows.conversion import CARD_STATEMENT, Conversion, check_card_rate, parse_rate, rate_text
from workflows.directory import Directory
from workflows.expenses import EDITABLE, Status
from workflows.fx import MissingRate
from workflows.money import MoneyError
from workflows.policy import Policy

Factory = sessionmaker[Session]


class RateRefusalKind(StrEnum):
    GONE = "gone"  # the expense no longer exists
    NOT_OWNER = "not_owner"  # only ``owner`` may set the rate
    NOT_NOW = "not_now"  # its ``status`` no longer allows it
    NO_TOTAL = "no_total"  # the claim has no total or currency yet
    NO_DATE = "no_date"  # the claim has no date yet (the rate is the one of that day)
    SAME_CURRENCY = "same_currency"  # the claim is in ``currency``, the one the employee is paid in
    NO_RATE = "no_rate"  # no reference rate: ``detail`` says why


@dataclass(frozen=True)
class RateRefusal:
    """Why the rate of ``expense_id`` cannot be set. ``detail`` is plain text for people."""

    kind: RateRefusalKind
    expense_id: int
    owner: str | None = None
    status: str = ""
    currency: str = ""
    detail: str = ""


@dataclass(frozen=True)
class RateInvalid:
    """The rate typed cannot be kept: ``detail`` (plain text for people) says why."""

    detail: str


@dataclass(frozen=True)
class RateForm:
    """What the form to type the rate shows: the reference conversion and the card rate given."""

    expense_id: int
    conversion: Conversion
    current: str | None  # the card statement's rate kept on the claim, as typed text


@dataclass(frozen=True)
class RateSet:
    """The rate was saved (None: back to the reference rate); the card waits in the outbox."""

    expense_id: int
    rate: Decimal | None


def _target(
    session: Session, directory: Directory, policy: Policy, expense_id: int, user_id: str, email: str | None
) -> tuple[Expense, str] | RateRefusal:
    """The expense whose rate ``user_id`` may set and the currency they are paid in, or why not."""
    expense = session.get(Expense, expense_id)
    if expense is None:
        return RateRefusal(RateRefusalKind.GONE, expense_id)
    if expense.employee_id != user_id:
        return RateRefusal(RateRefusalKind.NOT_OWNER, expense_id, owner=expense.employee_id)
    if Status(expense.status) not in EDITABLE or expense.status == Status.READING:
        return RateRefusal(RateRefusalKind.NOT_NOW, expense_id, status=expense.status)
    if expense.amount is None or not expense.currency:
        return RateRefusal(RateRefusalKind.NO_TOTAL, expense_id)
    if expense.spent_on is None:
        return RateRefusal(RateRefusalKind.NO_DATE, expense_id)
    return expense, reimbursement_currency(directory, policy, email)


def rate_form(
    db: Factory, directory: Directory, policy: Policy, expense_id: int, user_id: str, email: str | None
) -> RateForm | RateRefusal:
    """What the rate form of ``expense_id`` shows to ``user_id``, or why they may not open it."""
    with db() as session:
        target = _target(session, directory, policy, expense_id, user_id, email)
        if isinstance(target, RateRefusal):
            return target
        expense, to = target
        try:
            conv = reference(session, expense, to)
        except (MissingRate, MoneyError) as exc:
            return RateRefusal(RateRefusalKind.NO_RATE, expense_id, detail=str(exc))
        if conv is None:
            return RateRefusal(RateRefusalKind.SAME_CURRENCY, expense_id, currency=to)
        current = (
            rate_text(expense.fx_rate)
            if expense.fx_rate is not None and expense.fx_rate_source == CARD_STATEMENT
            else None
        )
        return RateForm(expense_id, conv, current)


def set_card_rate(
    db: Factory,
    directory: Directory,
    policy: Policy,
    expense_id: int,
    user_id: str,
    email: str | None,
    raw: str,
) -> RateSet | RateInvalid | RateRefusal:
    """``user_id`` typed ``raw`` as their card statement's rate (empty: back to the reference rate)."""
    return retry_on_conflict(_set_card_rate, db, directory, policy, expense_id, user_id, email, raw)


def _set_card_rate(
    db: Factory,
    directory: Directory,
    policy: Policy,
    expense_id: int,
    user_id: str,
    email: str | None,
    raw: str,
) -> RateSet | RateInvalid | RateRefusal:
    with transaction(db) as session:
        target = _target(session, directory, policy, expense_id, user_id, email)
        if isinstance(target, RateRefusal):
            return target
        expense, to = target
        try:
            conv = reference(session, expense, to)
        except (MissingRate, MoneyError) as exc:
            return RateInvalid(str(exc))
        if conv is None:
            return RateRefusal(RateRefusalKind.SAME_CURRENCY, expense_id, currency=to)
        before = audit.expense_snapshot(expense)
        rate: Decimal | None = None
        if raw.strip():
            try:
                rate = parse_rate(raw)
                check_card_rate(rate, conv, policy.card_rate_tolerance_percent)
            except MoneyError as exc:
                return RateInvalid(str(exc))
            expense.fx_rate, expense.fx_rate_source, expense.fx_rate_day = (
                rate,
                CARD_STATEMENT,
                expense.spent_on,
            )
            expense.reimburse_currency = to
            expense.reimburse_amount = None  # set for good at submission
            detail = f"card statement rate {rate_text(rate)} (reference {conv.rate_text} of {conv.rate_day})"
        else:
            expense.fx_rate = expense.fx_rate_source = expense.fx_rate_day = None
            expense.reimburse_currency = expense.reimburse_amount = None
            detail = f"back to the reference rate {conv.rate_text} of {conv.rate_day}"
        session.flush()
        audit.record(
            session,
            actor=user_id,
            action="expense.rate_set",
            entity="expense",
            entity_id=expense.id,
            before=before,
            after=audit.expense_snapshot(expense),
            detail=detail,
        )
        outbox.add(
            session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:v{expense.version}"
        )
        return RateSet(expense.id, rate)
