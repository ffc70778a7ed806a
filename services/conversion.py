"""Converting claims into the employee's reimbursement currency (see workflows.conversion).

Submission converts for good and keeps the rate, its date and its source on the expense, so a
later change of that rate (a re-import, a corrected feed) never changes the claim. Payouts and
exports use the kept amount. The card's preview (``bot.conversion``) uses the same functions.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from storage.fx import dated_rate
from storage.models import Expense
from workflows.conversion import CARD_STATEMENT, Conversion, check_card_rate, convert_at
from workflows.directory import Directory
from workflows.fx import MissingRate
from workflows.money import Money, MoneyError, is_currency
from workflows.policy import Policy


def reimbursement_currency(directory: Directory, policy: Policy, email: str | None) -> str:
    """The directory's ``currency`` of this person, else the company's."""
    person = directory.get(email or "") if email else None
    if person is not None and person.currency:
        return person.currency
    return policy.company_currency


def reference(session: Session, expense: Expense, to: str) -> Conversion | None:
    """The claim converted at the stored rate of its date; None when no conversion is needed.

    Raises :class:`MissingRate` (with a message for people) when no rate is stored.
    """
    if expense.amount is None or not is_currency(expense.currency) or expense.spent_on is None:
        return None
    assert expense.currency is not None
    original = Money(expense.approved_amount or expense.amount, expense.currency)
    if original.currency == to.upper():
        return None
    # The claim's workspace's own rate when it imported one, else the shared reference rate.
    rate, day, source = dated_rate(session, original.currency, to, expense.spent_on, team=expense.team_id)
    return convert_at(original, to, rate, day, source or "reference")


def conversion_for(session: Session, policy: Policy, expense: Expense, to: str) -> Conversion | None:
    """The conversion to use: the employee's card-statement rate when they gave one (checked
    against the policy's tolerance), else the reference rate."""
    ref = reference(session, expense, to)
    if ref is None:
        return None
    card = (
        expense.fx_rate
        if expense.fx_rate_source == CARD_STATEMENT and expense.reimburse_currency == to
        else None
    )
    if card is None:
        return ref
    check_card_rate(card, ref, policy.card_rate_tolerance_percent)
    assert expense.spent_on is not None
    return convert_at(ref.original, to, card, expense.spent_on, CARD_STATEMENT)


def keep(expense: Expense, to: str, conversion: Conversion | None) -> None:
    """Store the conversion on the expense (or the plain amount when none is needed)."""
    expense.reimburse_currency = to
    if conversion is None:
        expense.fx_rate = expense.fx_rate_day = expense.fx_rate_source = None
        expense.reimburse_amount = expense.approved_amount or expense.amount
        return
    expense.fx_rate = conversion.rate
    expense.fx_rate_day = conversion.rate_day
    expense.fx_rate_source = conversion.source
    expense.reimburse_amount = conversion.converted.amount


def convert_at_submit(
    session: Session, directory: Directory, policy: Policy, expense: Expense, email: str | None
) -> str | None:
    """Convert the claim for good; why not (plain text for the employee) when it cannot be converted."""
    to = reimbursement_currency(directory, policy, email)
    try:
        conversion = conversion_for(session, policy, expense, to)
    except (MissingRate, MoneyError) as exc:
        return f"I cannot convert {expense.currency} into {to}, the currency you are paid in: {exc}"
    keep(expense, to, conversion)
    return None


def refresh_payable(expense: Expense) -> None:
    """After a lower amount was approved: the amount paid, at the rate kept at submission."""
    if expense.reimburse_currency is None:
        return
    claimed = expense.approved_amount or expense.amount
    if claimed is None:
        return
    if expense.fx_rate is None:
        expense.reimburse_amount = claimed
    else:
        expense.reimburse_amount = Money(claimed * expense.fx_rate, expense.reimburse_currency).amount


def kept(expense: Expense) -> Conversion | None:
    """The conversion stored on a submitted claim, if it has one."""
    if (
        expense.fx_rate is None
        or expense.fx_rate_day is None
        or expense.reimburse_currency is None
        or expense.amount is None
        or not is_currency(expense.currency)
    ):
        return None
    assert expense.currency is not None
    original = Money(expense.approved_amount or expense.amount, expense.currency)
    return Conversion(
        original,
        expense.fx_rate,
        expense.fx_rate_day,
        expense.fx_rate_source or "reference",
        Money(expense.reimburse_amount or Decimal(0), expense.reimburse_currency),
    )
