"""Submitting for approval and deciding: routing by policy, who may act, one decision per step.

A decision is claimed by a conditional UPDATE (``WHERE status = 'pending'``), so two concurrent
clicks, on one process or many, give exactly one decision and one notification.

What the employee is told (a direct message, the status line on their card) is written as facts
(``notice`` outbox rows, ``status_facts`` on the expense) and worded by ``bot/blocks/approvals.py``
in their language when it is shown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.budgets import budget_warnings
from services.conversion import convert_at_submit, refresh_payable
from storage import audit, outbox
from storage.approvals import round_tasks
from storage.db import retry_on_conflict, transaction
from storage.delegations import with_delegations
from storage.fx import rate_lookup
from storage.models import ApprovalTask, Expense, ReceiptFile, utcnow
from storage.splits import parts_of
from workflows.directory import Directory
from workflows.expenses import Move, Status, TransitionError, expense_ref, transition
from workflows.fx import MissingRate
from workflows.money import Money, MoneyError
from workflows.policy import ExpenseFacts, Policy
from workflows.policy_anomalies import POSSIBLE_DUPLICATE, Flag, OtherClaim
from workflows.readiness import Problem, submit_problems
from workflows.routing import (
    ApprovalStep,
    PartialApproval,
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
DECISIONS = (APPROVE, REJECT, SEND_BACK)
HISTORY_STATUSES = (Status.PENDING, Status.APPROVED, Status.PAID)


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
class Submitted:
    expense_id: int
    ref: str
    auto_approved_rule: str | None  # approved by policy at once (no approval steps)


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


# --- submit -------------------------------------------------------------------------------------


def submit(db: sessionmaker[Session], directory: Directory, policy: Policy, expense_id: int, user_id: str,
           email: str | None, today: dt.date) -> Submitted | Refusal:  # fmt: skip
    """Route the claim and ask its first approver (or approve it by policy), in one transaction."""
    return retry_on_conflict(_submit, db, directory, policy, expense_id, user_id, email, today)


def _submit(db: sessionmaker[Session], base: Directory, policy: Policy, expense_id: int, user_id: str,
            email: str | None, today: dt.date) -> Submitted | Refusal:  # fmt: skip
    with transaction(db) as session:
        directory = with_delegations(base, session, today)
        expense = session.get(Expense, expense_id)
        if expense is None:
            return Refusal(Why.GONE)
        ref = expense_ref(expense.id)
        if expense.employee_id != user_id:
            return Refusal(Why.NOT_OWNER, ref=ref, owner=expense.employee_id)
        try:
            move = transition(expense.status, Move.SUBMIT, ref=ref)
        except TransitionError as exc:
            return Refusal(Why.BLOCKED, ref=ref, detail=str(exc))
        problems = submit_problems(
            reading_error=expense.ocr_error, amount=expense.amount, currency=expense.currency,
            spent_on=expense.spent_on, split_amounts=[s.amount for s in expense.splits or ()],
        )  # fmt: skip
        if problems:
            return Refusal(Why.NOT_READY, ref=ref, problems=tuple(problems))
        if not email:
            return Refusal(Why.NO_EMAIL, ref=ref)
        assert expense.amount is not None and expense.currency
        facts = ExpenseFacts(
            amount=Money(expense.amount, expense.currency), category=expense.category or "other",
            merchant=expense.merchant, spent_on=expense.spent_on, has_receipt=expense.receipt_id is not None,
            customer_id=str(expense.customer_id) if expense.customer_id else None, submitter_email=email,
            distance=expense.distance, per_diem=per_diem_total(expense),
        )  # fmt: skip
        rates = rate_lookup(session)
        try:
            # A split receipt: each part is checked as its own claim (its category, customer, amount).
            parts = part_findings(facts, parts_of(expense), policy, today=today, rates=rates)
            if any(v.blocking for v in parts):
                return Refusal(Why.POLICY, ref=ref,
                               detail=" ".join(v.message for v in parts if v.blocking))  # fmt: skip
            flags = [*_photo_duplicate(session, expense), *(Flag(v.rule, v.message) for v in parts)]
            route = route_claim(facts, directory, policy, today=today, rates=rates,
                                others=other_claims(session, expense, email), flags=flags)  # fmt: skip
        except RoutingError as exc:
            if exc.notify_admins and not directory.admins():
                log.warning("routing needs an admin, but the directory names none: %s", exc.admin_message)
            if exc.notify_admins:
                for admin in directory.admins():
                    outbox.add(session, "notice", {"email": admin.email, "event": "routing_problem",
                                                   "message": exc.admin_message},
                               dedup_key=f"admin:{admin.email}:{expense.id}:{expense.version}")  # fmt: skip
            return Refusal(Why.BLOCKED, ref=ref, detail=exc.user_message)
        except (MissingRate, MoneyError) as exc:
            return Refusal(Why.BLOCKED, ref=ref, detail=str(exc))
        if route.refused:
            return Refusal(Why.POLICY, ref=ref,
                           detail=" ".join(v.message for v in route.blocking))  # fmt: skip
        before = audit.expense_snapshot(expense)
        problem = convert_at_submit(session, base, policy, expense, email)  # docs/currency.md
        if problem:
            return Refusal(Why.BLOCKED, ref=ref, detail=problem)
        expense.employee_email = email
        route = dataclasses.replace(
            route, budgets=tuple(budget_warnings(session, policy, directory, expense, today))
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
            rule = route.auto_approved_rule
            expense.ocr = with_status(state, {"event": "auto_approved", "rule": rule})
            audit.record(session, actor=f"policy:{rule}", action="expense.auto_approved",
                         entity="expense", entity_id=expense.id, before=before,
                         after=audit.expense_snapshot(expense), detail="; ".join(route.trace + route.budgets))  # fmt: skip
            outbox.add(session, "notice", {"user_id": expense.employee_id, "event": "auto_approved", "ref": ref,
                                           "amount": str(expense.amount), "currency": expense.currency,
                                           "rule": rule},
                       dedup_key=f"notify:{expense.id}:r{expense.round}:auto")  # fmt: skip
        else:
            expense.status = move.after
            expense.current_step = 0
            for index, step in enumerate(route.steps):
                session.add(ApprovalTask(expense_id=expense.id, round=expense.round, step=index, kind=step.kind.value,
                                         approvers=list(step.approvers), reason=step.reason,
                                         status="pending" if index == 0 else "waiting"))  # fmt: skip
            first = route.steps[0]
            expense.ocr = with_status(state, {"event": "waiting", "step": first.kind.value,
                                              "approvers": list(first.approvers)})  # fmt: skip
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
        return Submitted(expense.id, ref, route.auto_approved_rule)


def with_status(state: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    """The expense's ``ocr`` state with the status line on its card as facts (worded when shown)."""
    state = dict(state)
    state.pop("status_detail", None)  # an older worded line (or one of the reconciliation's)
    state["status_facts"] = facts
    return state


def per_diem_total(expense: Expense) -> Money | None:
    """What the rates gave for a per diem claim's trip, or None for any other claim."""
    priced = (expense.ocr or {}).get("per_diem")
    if not isinstance(priced, dict):
        return None
    try:
        return Money(Decimal(str(priced["total"])), str(priced["currency"]))
    except (KeyError, ArithmeticError, MoneyError):
        return None


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
    from ocr import hamming  # loaded when used: the ocr package brings the receipt reader's libraries

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


def _step(task: ApprovalTask) -> ApprovalStep:
    return ApprovalStep(StepKind(task.kind), tuple(task.approvers), task.reason or "")


def check_actor(task: ApprovalTask, expense: Expense, actor_email: str | None, directory: Directory,
                today: dt.date, others: list[ApprovalTask] | None = None) -> Refusal | None:  # fmt: skip
    """Why ``actor_email`` may not decide ``task`` (None when they may): never the submitter, and
    nobody decides two steps of one claim (``others``: its other steps), even as a delegate."""
    if not actor_email:
        return Refusal(Why.NO_EMAIL, ref=expense_ref(expense.id))
    siblings = others or []
    verdict = may_decide(_step(task), actor_email, expense.employee_email or "", directory, today=today,
                         other_steps=[_step(t) for t in siblings],
                         decided_by=[t.decided_by_email for t in siblings if t.decided_by_email])  # fmt: skip
    return (
        None
        if verdict.allowed
        else Refusal(Why.NOT_ALLOWED, ref=expense_ref(expense.id), detail=verdict.reason)
    )


def _already(task: ApprovalTask, ref: str) -> Refusal:
    return Refusal(Why.ALREADY, ref=ref, task_status=task.status, decided_by=task.decided_by,
                   decided_at=task.decided_at)  # fmt: skip


def _refusal_before_deciding(session: Session, directory: Directory, task: ApprovalTask | None,
                             expense: Expense | None, user_id: str, email: str | None,
                             today: dt.date) -> Refusal | None:  # fmt: skip
    if task is None or expense is None:
        return Refusal(Why.GONE)
    ref = expense_ref(expense.id)
    if task.status != "pending":
        return _already(task, ref)
    if expense.employee_id == user_id:
        return Refusal(Why.OWN_CLAIM, ref=ref)
    return check_actor(task, expense, email, directory, today, round_tasks(session, task))


def decide(db: sessionmaker[Session], directory: Directory, task_id: int, user_id: str, actor_email: str | None,
           decision: str, reason: str | None, today: dt.date, lower_amount: str | None = None) -> Decided | Refusal:  # fmt: skip
    """Decide one approval step (approve, possibly a lower amount; reject; send back), once."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    return retry_on_conflict(_decide, db, directory, task_id, user_id, actor_email, decision, reason, today,
                             lower_amount)  # fmt: skip


def _decide(db: sessionmaker[Session], base: Directory, task_id: int, user_id: str, actor_email: str | None,
            decision: str, reason: str | None, today: dt.date, lower_amount: str | None) -> Decided | Refusal:  # fmt: skip
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
            .values(status=new_status, decided_by=user_id, decided_by_email=actor_email, decided_at=now,
                    decision_reason=reason)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if getattr(claimed, "rowcount", 0) != 1:
            session.rollback()
            return Refusal(Why.RACE, ref=ref)
        before = audit.expense_snapshot(expense)
        label = StepKind(task.kind).label
        if partial is not None:
            expense.approved_amount = partial.approved.amount
            refresh_payable(expense)
        nxt = session.scalars(
            select(ApprovalTask).where(ApprovalTask.expense_id == expense.id, ApprovalTask.round == task.round,
                                       ApprovalTask.step == task.step + 1)
        ).first()  # fmt: skip
        # The facts of the decision: the employee's message and their card's status line are worded
        # from them, in the employee's language, when they are shown.
        facts: dict[str, Any] = {
            "ref": ref, "approver": user_id, "step": task.kind, "reason": reason,
            "amount": str(expense.approved_amount or expense.amount), "currency": expense.currency,
        }  # fmt: skip
        if partial is not None:
            facts["partial"] = {"approved": str(partial.approved.amount), "original": str(partial.original.amount),
                                "currency": partial.original.currency, "reason": partial.reason}  # fmt: skip
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
                .where(ApprovalTask.expense_id == expense.id, ApprovalTask.round == task.round,
                       ApprovalTask.status == "waiting")
                .values(status="cancelled")
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            facts.update(event="rejected" if decision == REJECT else "sent_back")
        expense.status = move.after
        expense.ocr = with_status(expense.ocr or {}, facts)
        session.flush()
        audit.record(session, actor=user_id, action=f"expense.{decision}", entity="expense", entity_id=expense.id,
                     before=before, after=audit.expense_snapshot(expense),
                     detail=f"step {task.step} ({label}) by {actor_email}" + (f": {reason}" if reason else ""))  # fmt: skip
        outbox.add(session, "approval_done", {"task_id": task.id, "decision": decision, "actor": user_id,
                                              "at": now.isoformat(), "reason": reason},
                   dedup_key=f"done:{task.id}")  # fmt: skip
        outbox.add(
            session, "notice", {"user_id": expense.employee_id, **facts}, dedup_key=f"notify:{task.id}"
        )
        outbox.add(
            session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:v{expense.version}"
        )
        final = expense.id if expense.status == Status.APPROVED else None
        return Decided(ref, decision, approved_expense=final)


def precheck(db: sessionmaker[Session], directory: Directory, task_id: int, user_id: str, email: str | None,
             today: dt.date) -> Refusal | None:  # fmt: skip
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
