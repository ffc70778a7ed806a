"""Picking the CRM project of an expense on its card (``storage.projects`` does the work)."""

from __future__ import annotations

import asyncio

from bot import i18n, identity
from bot.context import AppContext
from bot.delivery import deliver_pending
from bot.i18n import _
from storage import outbox
from storage.db import retry_on_conflict, transaction
from storage.models import Expense, utcnow
from storage.projects import ProjectRefusal, ProjectRefusalKind
from storage.projects import pick_project as book_to_project
from workflows.expenses import Move, TransitionError, expense_ref, transition


def project_refusal_text(refusal: ProjectRefusal) -> str:
    """Why the project cannot be picked, in the current locale."""
    match refusal.kind:
        case ProjectRefusalKind.UNKNOWN:
            return _("That is not a project I know.")
        case ProjectRefusalKind.GONE:
            return _("That project is not in the CRM any more.")
        case ProjectRefusalKind.OTHER_CUSTOMER:
            return _("That project is not one of this customer's projects.")
        case ProjectRefusalKind.CLOSED:
            return _("The project {name} is closed: new expenses cannot go on it.").format(name=refusal.name)


def _pick(ctx: AppContext, expense_id: int, user_id: str, value: str) -> str | None:
    with transaction(ctx.db) as session:
        expense = session.get(Expense, expense_id)
        if expense is None:
            return "This expense no longer exists."
        if expense.employee_id != user_id:
            return f"Only <@{expense.employee_id}> can change {expense_ref(expense.id)}."
        try:
            transition(expense.status, Move.EDIT, ref=expense_ref(expense.id))
        except TransitionError as exc:
            return str(exc)
        problem = book_to_project(session, expense, value, user_id)
        if problem is not None:
            return project_refusal_text(problem)
        expense.updated_at = utcnow()  # a new version: the card is redrawn with the project
        session.flush()
        outbox.add(
            session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:v{expense.version}"
        )
    return None


async def pick_project(ctx: AppContext, expense_id: int, user_id: str, value: str) -> str | None:
    """The employee picked one of the customer's open projects on the card ("none": no CRM
    project); a message for people when it cannot be."""
    with i18n.use_locale(await identity.locale_for(ctx, user_id)):  # the thread keeps the locale
        error = await asyncio.to_thread(retry_on_conflict, _pick, ctx, expense_id, user_id, value)
    await deliver_pending(ctx)
    return error
