"""Approvals on Slack: the thin edge of :mod:`services.submission` and :mod:`services.approvals`.

Each function finds who clicked (their email, their language), runs the use case in a thread,
words its result with ``bot/blocks/approvals.py`` and delivers what the use case queued.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from bot import i18n, identity
from bot.blocks.approvals import decided_text, decision_refusal_text, submit_refusal_text
from bot.context import AppContext
from bot.delivery import deliver_pending
from services import approvals as service
from services import submission
from services.approvals import APPROVE, REJECT, SEND_BACK, Refusal

__all__ = [
    "APPROVE",
    "REJECT",
    "SEND_BACK",
    "Outcome",
    "check_lower_amount",
    "decide",
    "precheck",
    "submit",
    "task_claim",
    "task_ref",
]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str  # for the person who clicked (only they see it), in their language


async def submit(ctx: AppContext, expense_id: int, user_id: str) -> str | None:
    """Submit the claim; what to tell the employee when it was not submitted (None when it was)."""
    email = await identity.email_of(ctx, user_id)
    result = await asyncio.to_thread(
        submission.submit, ctx.db, ctx.directory, ctx.policy, expense_id, user_id, email, dt.date.today()
    )
    if isinstance(result, Refusal):
        return submit_refusal_text(result)  # nothing changed, nothing to announce
    if ctx.jobs is not None:
        ctx.jobs.enqueue("crm_writeback", expense_id)  # does nothing unless approved by policy
    await deliver_pending(ctx)
    return None


async def decide(
    ctx: AppContext,
    task_id: int,
    user_id: str,
    decision: str,
    reason: str | None = None,
    lower_amount: str | None = None,
) -> Outcome:
    """Decide one step (``decision``: APPROVE, REJECT or SEND_BACK) and tell what happened."""
    email = await identity.email_of(ctx, user_id)
    outcome = await asyncio.to_thread(
        service.decide,
        ctx.db,
        ctx.directory,
        task_id,
        user_id,
        email,
        decision,
        reason,
        dt.date.today(),
        lower_amount,
    )
    with i18n.use_locale(await identity.locale_for(ctx, user_id)):  # what the decider is told
        if isinstance(outcome, Refusal):
            return Outcome(False, decision_refusal_text(outcome))
        message = decided_text(outcome)
    if outcome.approved_expense is not None and ctx.jobs is not None:
        ctx.jobs.enqueue("crm_writeback", outcome.approved_expense)
    await deliver_pending(ctx)
    return Outcome(True, message)


def precheck(ctx: AppContext, task_id: int, user_id: str, email: str | None) -> str | None:
    """Before opening a form: why this person may not decide (None when they may)."""
    refusal = service.precheck(ctx.db, ctx.directory, task_id, user_id, email, dt.date.today())
    return decision_refusal_text(refusal) if refusal is not None else None


def task_ref(ctx: AppContext, task_id: int) -> str:
    claim = service.task_claim(ctx.db, task_id)
    return claim.ref if claim is not None else "expense"


def task_claim(ctx: AppContext, task_id: int) -> tuple[str, Decimal | None, str] | None:
    """(reference, amount claimed, currency) of the expense behind a task: formatted where it is
    shown, in the reader's locale (:func:`bot.blocks.approvals.build_partial_modal`)."""
    claim = service.task_claim(ctx.db, task_id)
    if claim is None:
        return None
    return claim.ref, claim.amount, claim.currency


def check_lower_amount(ctx: AppContext, task_id: int, amount: str, reason: str) -> str | None:
    """Why a lower amount typed by an approver cannot be approved (``None`` when it can)."""
    refusal = service.check_lower_amount(ctx.db, task_id, amount, reason)
    return decision_refusal_text(refusal) if refusal is not None else None
