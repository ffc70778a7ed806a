"""Approvals that sit: reminders to the approvers, then escalation one level up.

Run from every serving process's maintenance loop; the decisions are recorded on the task
(``reminded_at``, ``escalated_at``) in the same transaction as the outbox messages, so a
reminder is sent once per due time however many processes run, and survives restarts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy import select, update

from bot.blocks.common import format_money
from bot.context import AppContext
from bot.delivery import deliver_pending
from storage import audit, outbox
from storage.approvals import round_tasks
from storage.db import transaction
from storage.models import ApprovalTask, Expense, utcnow
from workflows.expenses import expense_ref
from workflows.reminders import follow_up, with_escalation
from workflows.routing import ApprovalStep, StepKind

log = logging.getLogger(__name__)


def plan_followups(ctx: AppContext, now: dt.datetime) -> int:
    """Record due reminders and escalations and queue their messages; returns how many."""
    directory = ctx.directory
    policy = ctx.policy
    done = 0
    with transaction(ctx.db) as session:
        rows = session.execute(
            select(ApprovalTask, Expense)
            .join(Expense, Expense.id == ApprovalTask.expense_id)
            .where(ApprovalTask.status == "pending")
            .order_by(ApprovalTask.id)
            .limit(5000)
        ).all()
        for task, expense in rows:
            step = ApprovalStep(StepKind(task.kind), tuple(task.approvers), task.reason or "")
            busy = {
                email
                for other in round_tasks(session, task)
                for email in [*other.approvers, *([other.decided_by_email] if other.decided_by_email else [])]
            }
            plan = follow_up(
                step,
                assigned_at=task.created_at,
                now=now,
                policy=policy,
                directory=directory,
                submitter_email=expense.employee_email or "",
                last_reminded_at=task.reminded_at,
                escalated=task.escalated_at is not None,
                busy=busy,
            )
            ref = expense_ref(expense.id)
            amount = format_money(expense.approved_amount or expense.amount, expense.currency)
            if plan.remind:
                unchanged = (
                    ApprovalTask.reminded_at.is_(None)
                    if task.reminded_at is None
                    else ApprovalTask.reminded_at == task.reminded_at
                )
                claimed = session.execute(
                    update(ApprovalTask)
                    .where(ApprovalTask.id == task.id, ApprovalTask.status == "pending", unchanged)
                    .values(reminded_at=now)
                    .execution_options(synchronize_session=False)
                )
                if getattr(claimed, "rowcount", 0) == 1:
                    since = task.created_at.strftime("%d %b %H:%M UTC").lstrip("0")
                    channel = ctx.settings.finance_channel if task.kind == StepKind.FINANCE else None
                    for email in task.approvers:
                        where = (
                            f"in <#{channel}>"
                            if channel and directory.is_finance(email)
                            else "in your messages with me"
                        )
                        outbox.add(
                            session,
                            "dm",
                            {
                                "email": email,
                                "text": (
                                    f":alarm_clock: Reminder: {ref} ({amount}) from <@{expense.employee_id}> has waited "
                                    f"for your decision since {since}. The request is {where}."
                                ),
                            },
                            dedup_key=f"remind:{task.id}:{email}:{now:%Y%m%d%H%M}",
                        )
                    audit.record(
                        session,
                        actor="system",
                        action="approval.reminded",
                        entity="expense",
                        entity_id=expense.id,
                        detail=f"step {task.step}: {', '.join(task.approvers)}",
                    )
                    done += 1
            if plan.escalation is not None and plan.escalation.to:
                widened = with_escalation(step, plan.escalation)
                claimed = session.execute(
                    update(ApprovalTask)
                    .where(
                        ApprovalTask.id == task.id,
                        ApprovalTask.status == "pending",
                        ApprovalTask.escalated_at.is_(None),
                    )
                    .values(approvers=list(widened.approvers), reason=widened.reason, escalated_at=now)
                    .execution_options(synchronize_session=False)
                )
                if getattr(claimed, "rowcount", 0) != 1:
                    continue
                before = {"approvers": list(task.approvers)}
                audit.record(
                    session,
                    actor="system",
                    action="approval.escalated",
                    entity="expense",
                    entity_id=expense.id,
                    before=before,
                    after={"approvers": list(widened.approvers)},
                    detail=plan.escalation.reason,
                )
                outbox.add(
                    session,
                    "approval_request",
                    {"task_id": task.id},
                    dedup_key=f"request:{task.id}:escalated",
                )
                outbox.add(
                    session,
                    "dm",
                    {
                        "user_id": expense.employee_id,
                        "text": (
                            f":arrow_up: {ref} ({amount}) has waited too long for a decision, so it was escalated: "
                            f"{plan.escalation.reason}."
                        ),
                    },
                    dedup_key=f"escalated:{task.id}",
                )
                done += 1
    return done


async def run_followups(ctx: AppContext, now: dt.datetime | None = None) -> int:
    count = await asyncio.to_thread(plan_followups, ctx, now or utcnow())
    if count:
        await deliver_pending(ctx)
    return count
