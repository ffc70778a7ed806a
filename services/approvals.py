"""Deciding approval steps: who may act, one decision per step, approving a lower amount.

Submitting is :mod:`services.submission`; the refusals of both are :class:`Refusal`.

A decision is claimed by a conditional UPDATE (``WHERE status = 'pending'``), so two concurrent
clicks, on one process or many, give exactly one decision and one notification.

What the employee is told (a direct message, the status line on their card) is written as facts
(``notice`` outbox rows, ``status_facts`` on the expense) and worded by ``bot/blocks/approvals.py``
in their language when it is shown.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from services.conversion import refresh_payable
from storage import audit, outbox
from storage.approvals import round_tasks
from storage.db import retry_on_conflict, transaction
from storage.delegations import with_delegations
from storage.models import ApprovalTask, Expense, utcnow
from workflows.directory import Directory
from workflows.expenses import Move, Status, expense_ref, transition
from workflows.money import Money, MoneyError
from workflows.readiness import Problem
from workflows.routing import (
    ApprovalStep,
    PartialApproval,
    StepKind,
    may_decide,
    partial_approval,
)

log = logging.getLogger(__name__)

APPROVE, REJECT, SEND_BACK = "approve", "reject", "send_back"
DECISIONS = (APPROVE, REJECT, SEND_BACK)


class Why(StrEnum):
    """Why a submission or a decision was refused (the bot words it)."""

    GONE = "gone"  # the expense or the approval request no longer exists
    NOT_OWNER = "not_owner"  # only ``owner`` may submit the claim
    NOT_READY = "not_ready"  # ``problems`` to fix first
    NO_EMAIL = "no_email"  # Slack does not show the person's email, so nothing can be routed or checked
    POLICY = "policy"  # ``detail``: what the policy refuses in the claim (or in a part of a split)
    BLOCKED = "blocked"  # ``detail``: the rules' plain-text reason (routing, conversion, state, amount)
    OWN_CLAIM = "own_claim"  # an approver deciding their own claim
    ALREADY = (
        "already"  # the step was decided (or is not due): ``task_status``, ``decided_by``, ``decided_at``
    )
    RACE = "race"  # decided a moment ago by someone else
    NOT_ALLOWED = "not_allowed"  # ``detail``: why this person may not decide this step


@dataclass(frozen=True)
class Refusal:
    why: Why
    ref: str = ""
    detail: str = ""  # plain text from the rules (workflows) or the conversion, already for people
    owner: str | None = None
    problems: tuple[Problem, ...] = ()
    task_status: str | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None


@dataclass(frozen=True)
class Decided:
    ref: str
    decision: str
    approved_expense: int | None  # set when this decision approved the expense for good


@dataclass(frozen=True)
class TaskClaim:
    """The claim behind an approval request, for the "approve a lower amount" form."""

    ref: str
    amount: Decimal | None
    currency: str


def with_status(state: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    """The expense's ``ocr`` state with the status line on its card as facts (worded when shown)."""
    state = dict(state)
    state.pop("status_detail", None)  # an older worded line (or one of the reconciliation's)
    state["status_facts"] = facts
    return state


# --- decide -------------------------------------------------------------------------------------


def _step(task: ApprovalTask) -> ApprovalStep:
    return ApprovalStep(StepKind(task.kind), tuple(task.approvers), task.reason or "")


def check_actor(
    task: ApprovalTask,
    expense: Expense,
    actor_email: str | None,
    directory: Directory,
    today: dt.date,
    others: list[ApprovalTask] | None = None,
) -> Refusal | None:
    """Why ``actor_email`` may not decide ``task`` (None when they may): never the submitter, and
    nobody decides two steps of one claim (``others``: its other steps), even as a delegate."""
    if not actor_email:
        return Refusal(Why.NO_EMAIL, ref=expense_ref(expense.id))
    siblings = others or []
    verdict = may_decide(
        _step(task),
        actor_email,
        expense.employee_email or "",
        directory,
        today=today,
        other_steps=[_step(t) for t in siblings],
        decided_by=[t.decided_by_email for t in siblings if t.decided_by_email],
    )
    return (
        None
        if verdict.allowed
        else Refusal(Why.NOT_ALLOWED, ref=expense_ref(expense.id), detail=verdict.reason)
    )


def _already(task: ApprovalTask, ref: str) -> Refusal:
    return Refusal(
        Why.ALREADY, ref=ref, task_status=task.status, decided_by=task.decided_by, decided_at=task.decided_at
    )


def _refusal_before_deciding(
    session: Session,
    directory: Directory,
    task: ApprovalTask | None,
    expense: Expense | None,
    user_id: str,
    email: str | None,
    today: dt.date,
) -> Refusal | None:
    if task is None or expense is None:
        return Refusal(Why.GONE)
    ref = expense_ref(expense.id)
    if task.status != "pending":
        return _already(task, ref)
    if expense.employee_id == user_id:
        return Refusal(Why.OWN_CLAIM, ref=ref)
    return check_actor(task, expense, email, directory, today, round_tasks(session, task))


def decide(
    db: sessionmaker[Session],
    directory: Directory,
    task_id: int,
    user_id: str,
    actor_email: str | None,
    decision: str,
    reason: str | None,
    today: dt.date,
    lower_amount: str | None = None,
) -> Decided | Refusal:
    """Decide one approval step (approve, possibly a lower amount; reject; send back), once."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    return retry_on_conflict(
        _decide, db, directory, task_id, user_id, actor_email, decision, reason, today, lower_amount
    )


def _decide(
    db: sessionmaker[Session],
    base: Directory,
    task_id: int,
    user_id: str,
    actor_email: str | None,
    decision: str,
    reason: str | None,
    today: dt.date,
    lower_amount: str | None,
) -> Decided | Refusal:
    with transaction(db) as session:
        directory = with_delegations(base, session, today)
        task = session.get(ApprovalTask, task_id)
        expense = session.get(Expense, task.expense_id) if task is not None else None
        refusal = _refusal_before_deciding(session, directory, task, expense, user_id, actor_email, today)
        if refusal is not None:
            return refusal
        assert task is not None and expense is not None
        ref = expense_ref(expense.id)
        partial: PartialApproval | None = None
        if lower_amount is not None:
            assert expense.amount is not None and expense.currency
            try:
                original = Money(expense.approved_amount or expense.amount, expense.currency)
                partial = partial_approval(original, Money.of(lower_amount, expense.currency), reason or "")
            except MoneyError as exc:
                return Refusal(Why.BLOCKED, ref=ref, detail=str(exc))
        now = utcnow()
        new_status = {APPROVE: "approved", REJECT: "rejected", SEND_BACK: "changes_requested"}[decision]
        claimed = session.execute(
            update(ApprovalTask)
            .where(ApprovalTask.id == task_id, ApprovalTask.status == "pending")
            .values(
                status=new_status,
                decided_by=user_id,
                decided_by_email=actor_email,
                decided_at=now,
                decision_reason=reason,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            session.rollback()
            return Refusal(Why.RACE, ref=ref)
        before = audit.expense_snapshot(expense)
        label = StepKind(task.kind).label
        if partial is not None:
            expense.approved_amount = partial.approved.amount
            refresh_payable(expense)
        nxt = session.scalars(
            select(ApprovalTask).where(
                ApprovalTask.expense_id == expense.id,
                ApprovalTask.round == task.round,
                ApprovalTask.step == task.step + 1,
            )
        ).first()
        # The facts of the decision: the employee's message and their card's status line are worded
        # from them, in the employee's language, when they are shown.
        facts: dict[str, Any] = {
            "ref": ref,
            "approver": user_id,
            "step": task.kind,
            "reason": reason,
            "amount": str(expense.approved_amount or expense.amount),
            "currency": expense.currency,
        }
        if partial is not None:
            facts["partial"] = {
                "approved": str(partial.approved.amount),
                "original": str(partial.original.amount),
                "currency": partial.original.currency,
                "reason": partial.reason,
            }
        if decision == APPROVE and nxt is not None:
            move = transition(expense.status, Move.APPROVE_STEP, ref=ref)
            nxt.status = "pending"
            expense.current_step = nxt.step
            session.flush()
            outbox.add(session, "approval_request", {"task_id": nxt.id}, dedup_key=f"request:{nxt.id}")
            facts.update(event="approved_step", next_step=nxt.kind)
        elif decision == APPROVE:
            move = transition(expense.status, Move.APPROVE_FINAL, ref=ref)
            expense.approved_at = now
            expense.current_step = None
            facts.update(event="approved")
        else:
            move = transition(expense.status, Move.REJECT if decision == REJECT else Move.SEND_BACK, ref=ref)
            expense.current_step = None
            session.execute(
                update(ApprovalTask)
                .where(
                    ApprovalTask.expense_id == expense.id,
                    ApprovalTask.round == task.round,
                    ApprovalTask.status == "waiting",
                )
                .values(status="cancelled")
                .execution_options(synchronize_session=False)
            )
            facts.update(event="rejected" if decision == REJECT else "sent_back")
        expense.status = move.after
        expense.ocr = with_status(expense.ocr or {}, facts)
        session.flush()
        audit.record(
            session,
            actor=user_id,
            action=f"expense.{decision}",
            entity="expense",
            entity_id=expense.id,
            before=before,
            after=audit.expense_snapshot(expense),
            detail=f"step {task.step} ({label}) by {actor_email}" + (f": {reason}" if reason else ""),
        )
        outbox.add(
            session,
            "approval_done",
            {
                "task_id": task.id,
                "decision": decision,
                "actor": user_id,
                "at": now.isoformat(),
                "reason": reason,
            },
            dedup_key=f"done:{task.id}",
        )
        outbox.add(
            session, "notice", {"user_id": expense.employee_id, **facts}, dedup_key=f"notify:{task.id}"
        )
        outbox.add(
            session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:v{expense.version}"
        )
        final = expense.id if expense.status == Status.APPROVED else None
        return Decided(ref, decision, approved_expense=final)


def precheck(
    db: sessionmaker[Session],
    directory: Directory,
    task_id: int,
    user_id: str,
    email: str | None,
    today: dt.date,
) -> Refusal | None:
    """Before opening a form (the reason, a lower amount): refuse early whoever may not decide."""
    with db() as session:
        task = session.get(ApprovalTask, task_id)
        expense = session.get(Expense, task.expense_id) if task is not None else None
        acting = with_delegations(directory, session, today)
        return _refusal_before_deciding(session, acting, task, expense, user_id, email, today)


def task_claim(db: sessionmaker[Session], task_id: int) -> TaskClaim | None:
    """The reference, amount claimed (approved so far) and currency of the expense behind a task."""
    with db() as session:
        task = session.get(ApprovalTask, task_id)
        expense = session.get(Expense, task.expense_id) if task else None
        if expense is None or not expense.currency:
            return None
        return TaskClaim(expense_ref(expense.id), expense.approved_amount or expense.amount, expense.currency)


def check_lower_amount(db: sessionmaker[Session], task_id: int, amount: str, reason: str) -> Refusal | None:
    """Why a lower amount typed by an approver cannot be approved (``None`` when it can)."""
    with db() as session:
        task = session.get(ApprovalTask, task_id)
        expense = session.get(Expense, task.expense_id) if task else None
        if expense is None or expense.amount is None or not expense.currency:
            return Refusal(Why.GONE)
        try:
            original = Money(expense.approved_amount or expense.amount, expense.currency)
            partial_approval(original, Money.of(amount, expense.currency), reason)
        except MoneyError as exc:
            return Refusal(Why.BLOCKED, ref=expense_ref(expense.id), detail=str(exc))
    return None
