"""The card's view of a claim's conversion into the employee's reimbursement currency.

The conversion itself (submission converts for good and keeps the rate) is in
:mod:`services.conversion`; this module shows it, or what submitting would give now.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot.blocks.common import ExpenseView, describe_conversion
from bot.i18n import _
from services import conversion as core
from services.conversion import kept, reference
from storage.models import Expense, SlackUser
from workflows.conversion import Conversion
from workflows.expenses import EDITABLE, Status
from workflows.fx import MissingRate
from workflows.money import MoneyError

if TYPE_CHECKING:
    from bot.context import AppContext

__all__ = ["kept", "preview", "reference", "reimbursement_currency", "with_conversion"]


def reimbursement_currency(ctx: AppContext, email: str | None) -> str:
    """The directory's ``currency`` of this person, else the company's."""
    return core.reimbursement_currency(ctx.directory, ctx.policy, email)


def preview(session: Session, ctx: AppContext, expense: Expense) -> tuple[Conversion | None, str | None]:
    """For the card: the kept conversion once submitted, else what submitting would give now.

    The second value explains why there is no conversion yet (no rate stored for the day).
    """
    if expense.fx_rate is not None and Status(expense.status) not in EDITABLE:
        return kept(expense), None
    email = expense.employee_email
    if email is None:
        cached = session.get(SlackUser, expense.employee_id)
        email = cached.email if cached is not None else None
    to = reimbursement_currency(ctx, email)
    try:
        return core.conversion_for(session, ctx.policy, expense, to), None
    except (MissingRate, MoneyError) as exc:
        return None, _("Paid in {currency}:").format(currency=to) + f" {exc}"


def with_conversion(session: Session, ctx: AppContext, expense: Expense, view: ExpenseView) -> ExpenseView:
    """The card's view with the conversion (or why there is none yet) filled in."""
    conversion, note = preview(session, ctx, expense)
    if conversion is None:
        return dataclasses.replace(view, conversion=None, conversion_note=note, paid_in=None)
    return dataclasses.replace(
        view,
        conversion=describe_conversion(conversion),
        conversion_note=None,
        paid_in=conversion.converted.currency,
    )
