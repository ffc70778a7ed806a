"""Submitting for approval and deciding: routing by policy, who may act, one decision per step.

A decision is claimed by a conditional UPDATE (``WHERE status = 'pending'``), so two concurrent
clicks, on one process or many, give exactly one decision and one notification.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot import i18n, identity
from bot.blocks.approvals import outcome_line
from bot.blocks.common import format_money
from bot.budgets import budget_warnings
from bot.context import AppContext
from bot.conversion import convert_at_submit, refresh_payable
from bot.delegation import with_delegations
from bot.delivery import deliver_pending
from bot.i18n import _
from bot.views import per_diem_total, problems_of
from storage import audit, outbox
from storage.approvals import round_tasks
from storage.db import retry_on_conflict, transaction
from storage.fx import rate_lookup
from storage.models import ApprovalTask, Expense, ReceiptFile, utcnow
from storage.splits import parts_of
from workflows.directory import Directory
from workflows.expenses import Move, Status, TransitionError, expense_ref, transition
from workflows.fx import MissingRate
from workflows.money import Money, MoneyError
from workflows.policy import ExpenseFacts
from workflows.policy_anomalies import POSSIBLE_DUPLICATE, Flag, OtherClaim
from workflows.routing import (
    ApprovalStep,
    RoutingError,
    StepKind,
    may_decide,
    partial_approval,
    route_claim,
    route_to_json,
)
from workflows.splits import part_findings

log = logging.getLogger(__name__)

APPROVE, REJECT, SEND_BACK = "approve", "reject", "send_back"


# --- submit -------------------------------------------------------------------------------------


def _submit(ctx: AppContext, expense_id: int, user_id: str, email: str | None, today: dt.date) -> str | None:
    with transaction(ctx.db) as session:
        directory = with_delegations(ctx.directory, session, today)
        expense = session.get(Expense, expense_id)
        if expense is None:
            return "This expense no longer exists."
        ref = expense_ref(expense.id)
        if expense.employee_id != user_id:
            return f"Only <@{expense.employee_id}> can submit {ref}."
        try:
            move = transition(expense.status, Move.SUBMIT, ref=ref)
        except TransitionError as exc:
            return str(exc)
        problems = problems_of(expense)
        if problems:
            return f"{ref} is not ready to submit: " + " ".join(problems)
        if not email:
            return ("I could not find your email address in Slack, so I cannot find your manager. "
                    "Ask a Slack admin to show email addresses to apps.")  # fmt: skip
        assert expense.amount is not None and expense.currency
        facts = ExpenseFacts(
            amount=Money(expense.amount, expense.currency), category=expense.category or "other",
            merchant=expense.merchant, spent_on=expense.spent_on, has_receipt=expense.receipt_id is not None,
            customer_id=str(expense.customer_id) if expense.customer_id else None, submitter_email=email,
            distance=expense.distance, per_diem=per_diem_total(expense),
        )  # fmt: skip
        rates = rate_lookup(session, team=expense.team_id)  # its workspace's own rates first
        try:
            # A split receipt: each part is checked as its own claim (its category, customer, amount).
            parts = part_findings(facts, parts_of(expense), ctx.policy, today=today, rates=rates)
            if any(v.blocking for v in parts):
                return f"{ref} cannot be submitted: " + " ".join(v.message for v in parts if v.blocking)
            flags = [*_photo_duplicate(session, expense), *(Flag(v.rule, v.message) for v in parts)]
            route = route_claim(facts, directory, ctx.policy, today=today, rates=rates,
                                others=other_claims(session, expense, email), flags=flags)  # fmt: skip
        except RoutingError as exc:
            if exc.notify_admins and not directory.admins():
                log.warning("routing needs an admin, but the directory names none: %s", exc.admin_message)
            if exc.notify_admins:
                for admin in directory.admins():
                    outbox.add(session, "dm", {"email": admin.email, "text": f":warning: {exc.admin_message}"},
                               dedup_key=f"admin:{admin.email}:{expense.id}:{expense.version}")  # fmt: skip
            return exc.user_message
        except (MissingRate, MoneyError) as exc:
            return str(exc)
        if route.refused:
            return f"{ref} cannot be submitted: " + " ".join(v.message for v in route.blocking)
        before = audit.expense_snapshot(expense)
        problem = convert_at_submit(session, ctx, expense, email)  # docs/currency.md
        if problem:
            return problem
        expense.employee_email = email
        route = dataclasses.replace(
            route, budgets=tuple(budget_warnings(session, ctx.policy, directory, expense, today))
        )
        expense.round += 1
        expense.submitted_at = utcnow()
        expense.route = route_to_json(route)
        state = dict(expense.ocr or {})
        earlier = set(state.get("policy_warnings", []))  # from an earlier submission: replaced
        findings = [v.message for v in route.violations] + [f.message for f in route.flags]
        state["policy_warnings"] = findings
        state["warnings"] = [w for w in state.get("warnings", []) if w and w not in earlier] + findings
        if route.auto_approved_rule is not None:
            expense.status = Status.APPROVED
            expense.approved_at = utcnow()
            expense.current_step = None
            with i18n.use_locale(identity.stored_locale(session, ctx, expense.employee_id)):
                state["status_detail"] = _("Approved by policy ({rule}).").format(
                    rule=route.auto_approved_rule
                )
                told = ":white_check_mark: " + _(
                    "{ref} ({amount}) was approved by policy ({rule}); it now waits for payout."
                ).format(ref=ref, amount=format_money(expense.amount, expense.currency),
                         rule=route.auto_approved_rule)  # fmt: skip
            expense.ocr = state
            audit.record(session, actor=f"policy:{route.auto_approved_rule}", action="expense.auto_approved",
                         entity="expense", entity_id=expense.id, before=before,
                         after=audit.expense_snapshot(expense), detail="; ".join(route.trace + route.budgets))  # fmt: skip
            outbox.add(session, "dm", {"user_id": expense.employee_id, "text": told},
                       dedup_key=f"notify:{expense.id}:r{expense.round}:auto")  # fmt: skip
        else:
            expense.status = move.after
            expense.current_step = 0
            for index, step in enumerate(route.steps):
                session.add(ApprovalTask(expense_id=expense.id, round=expense.round, step=index, kind=step.kind.value,
                                         approvers=list(step.approvers), reason=step.reason,
                                         status="pending" if index == 0 else "waiting"))  # fmt: skip
            first = route.steps[0]
            with i18n.use_locale(identity.stored_locale(session, ctx, expense.employee_id)):
                state["status_detail"] = _("Waiting for approval: {step} ({approvers}).").format(
                    step=_(first.kind.label), approvers=", ".join(first.approvers)
                )
            expense.ocr = state
            session.flush()
            audit.record(session, actor=user_id, action="expense.submitted", entity="expense", entity_id=expense.id,
                         before=before, after=audit.expense_snapshot(expense), detail="; ".join(route.trace + route.budgets))  # fmt: skip
            task_id = session.scalar(
                select(ApprovalTask.id).where(ApprovalTask.expense_id == expense.id,
                                              ApprovalTask.round == expense.round, ApprovalTask.step == 0)
            )  # fmt: skip
            outbox.add(session, "approval_request", {"task_id": task_id}, dedup_key=f"request:{task_id}")
        session.flush()
        outbox.add(
            session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:v{expense.version}"
        )
    return None


async def submit(ctx: AppContext, expense_id: int, user_id: str) -> str | None:
    email = await identity.email_of(ctx, user_id)
    error = await asyncio.to_thread(
        retry_on_conflict, _submit, ctx, expense_id, user_id, email, dt.date.today()
    )
    if error is not None:
        return error  # nothing changed, nothing to announce
    if ctx.jobs is not None:
        ctx.jobs.enqueue("crm_writeback", expense_id)  # does nothing unless approved by policy
    await deliver_pending(ctx)
    return None


HISTORY_STATUSES = (Status.PENDING, Status.APPROVED, Status.PAID)


def other_claims(session: Session, expense: Expense, email: str) -> list[OtherClaim]:
    """What :func:`workflows.routing.route_claim` compares a claim with: the submitter's recent
    claims of its category (daily limit, usual amount) and anyone's claim of the same total on
    the same day (possible duplicates, a shared bill claimed twice)."""
    mine = (Expense.employee_id == expense.employee_id) & (Expense.category == expense.category)
    same = (Expense.amount == expense.amount) & (Expense.spent_on == expense.spent_on)
    rows = session.execute(
        select(Expense.id, Expense.employee_id, Expense.employee_email, Expense.amount, Expense.currency,
               Expense.category, Expense.spent_on, Expense.merchant, Expense.status)
        .where(Expense.id != expense.id, Expense.status != Status.DISCARDED, Expense.amount.is_not(None),
               Expense.currency.is_not(None), or_(mine, same))
        .order_by(Expense.id.desc())
        .limit(500)
    ).all()  # fmt: skip
    found: list[OtherClaim] = []
    for ref_id, employee, employee_email, amount, currency, category, day, merchant, status in rows:
        if amount is None or not currency:
            continue
        own = employee == expense.employee_id
        found.append(OtherClaim(
            ref=expense_ref(ref_id), submitter_email=email if own else (employee_email or f"<@{employee}>"),
            amount=Money(amount, currency), category=category or "other", spent_on=day, merchant=merchant,
            counts=own and status in HISTORY_STATUSES,
        ))  # fmt: skip
    return found


def _photo_duplicate(session: Session, expense: Expense) -> list[Flag]:
    """The receipt photo looks like the receipt of another claim (the employee's or a colleague's)."""
    if expense.receipt is None or not expense.receipt.phash:
        return []
    from ocr import hamming

    rows = session.execute(
        select(Expense.id, ReceiptFile.phash)
        .join(ReceiptFile, Expense.receipt_id == ReceiptFile.id)
        .where(Expense.id != expense.id, Expense.status != Status.DISCARDED, ReceiptFile.phash.is_not(None),
               ReceiptFile.id != expense.receipt_id)
        .order_by(Expense.id.desc()).limit(2000)
    ).all()  # fmt: skip
    for other_id, phash in rows:
        if phash and hamming(phash, expense.receipt.phash) <= 6:
            return [
                Flag(
                    POSSIBLE_DUPLICATE,
                    f"The receipt photo looks like the receipt of {expense_ref(other_id)}.",
                )
            ]
    return []


# --- decide -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str  # for the person who clicked (only they see it)
    approved_expense: int | None = None  # set when this decision approved the expense for good


def _step(task: ApprovalTask) -> ApprovalStep:
    return ApprovalStep(StepKind(task.kind), tuple(task.approvers), task.reason or "")


def check_actor(task: ApprovalTask, expense: Expense, actor_email: str | None, directory: Directory,
                today: dt.date, others: list[ApprovalTask] | None = None) -> str | None:  # fmt: skip
    """Why ``actor_email`` may not decide ``task`` (None when they may): never the submitter, and
    nobody decides two steps of one claim (``others``: its other steps), even as a delegate."""
    if not actor_email:
        return "I could not find your email address in Slack, so I cannot tell whether you may decide this."
    siblings = others or []
    verdict = may_decide(_step(task), actor_email, expense.employee_email or "", directory, today=today,
                         other_steps=[_step(t) for t in siblings],
                         decided_by=[t.decided_by_email for t in siblings if t.decided_by_email])  # fmt: skip
    return None if verdict.allowed else verdict.reason


def _decide(ctx: AppContext, task_id: int, user_id: str, actor_email: str | None, decision: str,
            reason: str | None, today: dt.date, lower_amount: str | None = None) -> Outcome:  # fmt: skip
    with transaction(ctx.db) as session:
        directory = with_delegations(ctx.directory, session, today)
        task = session.get(ApprovalTask, task_id)
        expense = session.get(Expense, task.expense_id) if task is not None else None
        if task is None or expense is None:
            return Outcome(False, _("This approval request no longer exists."))
        ref = expense_ref(expense.id)
        if task.status != "pending":
            return Outcome(False, _already(task, ref))
        if expense.employee_id == user_id:
            return Outcome(False, _("You cannot approve or reject your own expense."))
        refusal = check_actor(task, expense, actor_email, directory, today, round_tasks(session, task))
        if refusal:
            return Outcome(False, refusal)
        partial = None
        if lower_amount is not None:
            assert expense.amount is not None and expense.currency
            try:
                original = Money(expense.approved_amount or expense.amount, expense.currency)
                partial = partial_approval(original, Money.of(lower_amount, expense.currency), reason or "")
            except MoneyError as exc:
                return Outcome(False, str(exc))
        now = utcnow()
        new_status = {APPROVE: "approved", REJECT: "rejected", SEND_BACK: "changes_requested"}[decision]
        claimed = session.execute(
            update(ApprovalTask)
            .where(ApprovalTask.id == task_id, ApprovalTask.status == "pending")
            .values(status=new_status, decided_by=user_id, decided_by_email=actor_email, decided_at=now,
                    decision_reason=reason)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if getattr(claimed, "rowcount", 0) != 1:
            session.rollback()
            return Outcome(False, _("{ref} was decided a moment ago by someone else.").format(ref=ref))
        before = audit.expense_snapshot(expense)
        label = StepKind(task.kind).label
        if partial is not None:
            expense.approved_amount = partial.approved.amount
            refresh_payable(expense)
        nxt = session.scalars(
            select(ApprovalTask).where(ApprovalTask.expense_id == expense.id, ApprovalTask.round == task.round,
                                       ApprovalTask.step == task.step + 1)
        ).first()  # fmt: skip
        state = dict(expense.ocr or {})
        # What the employee reads (their DM, the status on their card) is in their language.
        with i18n.use_locale(identity.stored_locale(session, ctx, expense.employee_id)):
            amount = format_money(expense.approved_amount or expense.amount, expense.currency)
            if partial is not None:
                amount = _("{approved} of the {original} claimed: “{reason}”").format(
                    approved=format_money(partial.approved.amount, partial.approved.currency),
                    original=format_money(partial.original.amount, partial.original.currency),
                    reason=partial.reason,
                )
            who, step = f"<@{user_id}>", _(label)
            if decision == APPROVE and nxt is not None:
                move = transition(expense.status, Move.APPROVE_STEP, ref=ref)
                nxt.status = "pending"
                expense.current_step = nxt.step
                session.flush()
                outbox.add(session, "approval_request", {"task_id": nxt.id}, dedup_key=f"request:{nxt.id}")
                next_step = _(StepKind(nxt.kind).label)
                employee_text = ":white_check_mark: " + _(
                    "{ref} ({amount}) was approved by {approver} ({step}). It now waits for {next_step}."
                ).format(ref=ref, amount=amount, approver=who, step=step, next_step=next_step)
                state["status_detail"] = _("Approved by {step}; waiting for {next_step}.").format(
                    step=step, next_step=next_step
                )
            elif decision == APPROVE:
                move = transition(expense.status, Move.APPROVE_FINAL, ref=ref)
                expense.approved_at = now
                expense.current_step = None
                employee_text = ":white_check_mark: " + _(
                    "{ref} ({amount}) was approved by {approver} ({step}). It now waits for payout."
                ).format(ref=ref, amount=amount, approver=who, step=step)
                state["status_detail"] = _("Approved; waiting for payout.")
            else:
                move = transition(
                    expense.status, Move.REJECT if decision == REJECT else Move.SEND_BACK, ref=ref
                )
                expense.current_step = None
                session.execute(
                    update(ApprovalTask)
                    .where(ApprovalTask.expense_id == expense.id, ApprovalTask.round == task.round,
                           ApprovalTask.status == "waiting")
                    .values(status="cancelled")
                    .execution_options(synchronize_session=False)
                )  # fmt: skip
                if decision == REJECT:
                    employee_text = ":x: " + _(
                        "{ref} ({amount}) was rejected by {approver}: “{reason}”\n"
                        "You can edit it and submit it again from its card."
                    ).format(ref=ref, amount=amount, approver=who, reason=reason)
                    state["status_detail"] = _("Rejected by {approver}: “{reason}”").format(
                        approver=who, reason=reason
                    )
                else:
                    employee_text = ":leftwards_arrow_with_hook: " + _(
                        "{approver} asked for changes to {ref} ({amount}): “{reason}”\n"
                        "Edit it and submit it again from its card."
                    ).format(ref=ref, amount=amount, approver=who, reason=reason)
                    state["status_detail"] = _("Changes requested by {approver}: “{reason}”").format(
                        approver=who, reason=reason
                    )
        expense.status = move.after
        expense.ocr = state
        session.flush()
        audit.record(session, actor=user_id, action=f"expense.{decision}", entity="expense", entity_id=expense.id,
                     before=before, after=audit.expense_snapshot(expense),
                     detail=f"step {task.step} ({label}) by {actor_email}" + (f": {reason}" if reason else ""))  # fmt: skip
        with i18n.use_locale(None):  # English; each request is updated in its reader's language
            english = outcome_line(decision, user_id, now, reason)
        outbox.add(session, "approval_done", {"task_id": task.id, "outcome": english,
                                              "decision": decision, "actor": user_id, "at": now.isoformat(),
                                              "reason": reason},
                   dedup_key=f"done:{task.id}")  # fmt: skip
        outbox.add(session, "dm", {"user_id": expense.employee_id, "text": employee_text},
                   dedup_key=f"notify:{task.id}")  # fmt: skip
        outbox.add(
            session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:v{expense.version}"
        )
        done = {APPROVE: _("You approved {ref}."), REJECT: _("You rejected {ref}."),
                SEND_BACK: _("You sent {ref} back for changes.")}[decision]  # fmt: skip
        final = expense.id if expense.status == Status.APPROVED else None
        return Outcome(True, done.format(ref=ref), approved_expense=final)


def _already(task: ApprovalTask, ref: str) -> str:
    if task.status == "waiting":
        return f"{ref} is not at this step yet."
    if task.status == "cancelled":
        return f"This request for {ref} is outdated: the expense was rejected or sent back at another step."
    word = {"approved": "approved", "rejected": "rejected", "changes_requested": "sent back"}.get(
        task.status, task.status
    )
    when = f" on {task.decided_at:%d %b at %H:%M} UTC" if task.decided_at else ""
    who = f" by <@{task.decided_by}>" if task.decided_by else ""
    return f"{ref} was already {word}{who}{when}; nothing was changed."


async def decide(
    ctx: AppContext,
    task_id: int,
    user_id: str,
    decision: str,
    reason: str | None = None,
    lower_amount: str | None = None,
) -> Outcome:
    email = await identity.email_of(ctx, user_id)
    with i18n.use_locale(await identity.locale_for(ctx, user_id)):  # what the decider is told
        outcome = await asyncio.to_thread(
            retry_on_conflict,
            _decide,
            ctx,
            task_id,
            user_id,
            email,
            decision,
            reason,
            dt.date.today(),
            lower_amount,
        )
    if outcome.approved_expense is not None and ctx.jobs is not None:
        ctx.jobs.enqueue("crm_writeback", outcome.approved_expense)
    if outcome.ok:
        await deliver_pending(ctx)
    return outcome


def precheck(ctx: AppContext, task_id: int, user_id: str, email: str | None) -> str | None:
    """Before opening the reason modal: refuse early whoever may not decide."""
    with ctx.db() as session:
        task = session.get(ApprovalTask, task_id)
        expense = session.get(Expense, task.expense_id) if task is not None else None
        if task is None or expense is None:
            return "This approval request no longer exists."
        if task.status != "pending":
            return _already(task, expense_ref(expense.id))
        if expense.employee_id == user_id:
            return "You cannot approve or reject your own expense."
        today = dt.date.today()
        return check_actor(task, expense, email, with_delegations(ctx.directory, session, today), today,
                           round_tasks(session, task))  # fmt: skip


def task_ref(ctx: AppContext, task_id: int) -> str:
    with ctx.db() as session:
        task = session.get(ApprovalTask, task_id)
        return expense_ref(task.expense_id) if task else "expense"


def task_claim(ctx: AppContext, task_id: int) -> tuple[str, str, str] | None:
    """(reference, claimed amount for people, currency) of the expense behind a task."""
    with ctx.db() as session:
        task = session.get(ApprovalTask, task_id)
        expense = session.get(Expense, task.expense_id) if task else None
        if expense is None or not expense.currency:
            return None
        claimed = format_money(expense.approved_amount or expense.amount, expense.currency)
        return expense_ref(expense.id), claimed, expense.currency


def check_lower_amount(ctx: AppContext, task_id: int, amount: str, reason: str) -> str | None:
    """Why a lower amount typed by an approver cannot be approved (``None`` when it can)."""
    with ctx.db() as session:
        task = session.get(ApprovalTask, task_id)
        expense = session.get(Expense, task.expense_id) if task else None
        if expense is None or expense.amount is None or not expense.currency:
            return "This approval request no longer exists."
        try:
            original = Money(expense.approved_amount or expense.amount, expense.currency)
            partial_approval(original, Money.of(amount, expense.currency), reason)
        except MoneyError as exc:
            return str(exc)
    return None
