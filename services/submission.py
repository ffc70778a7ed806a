"""Submitting a claim for approval: the checks, routing by policy, and the first request.

The claim is checked (state, what the employee must fix, the policy and each part of a split),
routed (``workflows.routing.route_claim``) and converted into the currency the employee is paid
in; then either approved by policy at once or its approval steps are created and the first
approver is asked. Refusals are :class:`services.approvals.Refusal`; the employee's messages and
the card's status line are kept as facts, worded by the bot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from services.approvals import Refusal, Why, with_status
from services.budgets import budget_warnings
from services.conversion import convert_at_submit
from storage import audit, outbox
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
from workflows.readiness import submit_problems
from workflows.routing import RoutingError, route_claim, route_to_json
from workflows.splits import part_findings

log = logging.getLogger(__name__)

HISTORY_STATUSES = (Status.PENDING, Status.APPROVED, Status.PAID)


@dataclass(frozen=True)
class Submitted:
    expense_id: int
    ref: str
    auto_approved_rule: str | None  # approved by policy at once (no approval steps)


def submit(
    db: sessionmaker[Session],
    directory: Directory,
    policy: Policy,
    expense_id: int,
    user_id: str,
    email: str | None,
    today: dt.date,
) -> Submitted | Refusal:
    """Route the claim and ask its first approver (or approve it by policy), in one transaction."""
    return retry_on_conflict(_submit, db, directory, policy, expense_id, user_id, email, today)


def _submit(
    db: sessionmaker[Session],
    base: Directory,
    policy: Policy,
    expense_id: int,
    user_id: str,
    email: str | None,
    today: dt.date,
) -> Submitted | Refusal:
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
            reading_error=expense.ocr_error,
            amount=expense.amount,
            currency=expense.currency,
            spent_on=expense.spent_on,
            split_amounts=[s.amount for s in expense.splits or ()],
        )
        if problems:
            return Refusal(Why.NOT_READY, ref=ref, problems=tuple(problems))
        if not email:
            return Refusal(Why.NO_EMAIL, ref=ref)
        assert expense.amount is not None and expense.currency
        facts = ExpenseFacts(
            amount=Money(expense.amount, expense.currency),
            category=expense.category or "other",
            merchant=expense.merchant,
            spent_on=expense.spent_on,
            has_receipt=expense.receipt_id is not None,
            customer_id=str(expense.customer_id) if expense.customer_id else None,
            submitter_email=email,
            distance=expense.distance,
            per_diem=per_diem_total(expense),
        )
        rates = rate_lookup(session, team=expense.team_id)  # its workspace's own rates first
        try:
            # A split receipt: each part is checked as its own claim (its category, customer, amount).
            parts = part_findings(facts, parts_of(expense), policy, today=today, rates=rates)
            if any(v.blocking for v in parts):
                return Refusal(Why.POLICY, ref=ref, detail=" ".join(v.message for v in parts if v.blocking))
            flags = [*_photo_duplicate(session, expense), *(Flag(v.rule, v.message) for v in parts)]
            route = route_claim(
                facts,
                directory,
                policy,
                today=today,
                rates=rates,
                others=other_claims(session, expense, email),
                flags=flags,
            )
        except RoutingError as exc:
            if exc.notify_admins and not directory.admins():
                log.warning("routing needs an admin, but the directory names none: %s", exc.admin_message)
            if exc.notify_admins:
                for admin in directory.admins():
                    outbox.add(
                        session,
                        "notice",
                        {"email": admin.email, "event": "routing_problem", "message": exc.admin_message},
                        dedup_key=f"admin:{admin.email}:{expense.id}:{expense.version}",
                    )
            return Refusal(Why.BLOCKED, ref=ref, detail=exc.user_message)
        except (MissingRate, MoneyError) as exc:
            return Refusal(Why.BLOCKED, ref=ref, detail=str(exc))
        if route.refused:
            return Refusal(Why.POLICY, ref=ref, detail=" ".join(v.message for v in route.blocking))
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
            audit.record(
                session,
                actor=f"policy:{rule}",
                action="expense.auto_approved",
                entity="expense",
                entity_id=expense.id,
                before=before,
                after=audit.expense_snapshot(expense),
                detail="; ".join(route.trace + route.budgets),
            )
            outbox.add(
                session,
                "notice",
                {
                    "user_id": expense.employee_id,
                    "event": "auto_approved",
                    "ref": ref,
                    "amount": str(expense.amount),
                    "currency": expense.currency,
                    "rule": rule,
                },
                dedup_key=f"notify:{expense.id}:r{expense.round}:auto",
            )
        else:
            expense.status = move.after
            expense.current_step = 0
            for index, step in enumerate(route.steps):
                session.add(
                    ApprovalTask(
                        expense_id=expense.id,
                        round=expense.round,
                        step=index,
                        kind=step.kind.value,
                        approvers=list(step.approvers),
                        reason=step.reason,
                        status="pending" if index == 0 else "waiting",
                    )
                )
            first = route.steps[0]
            expense.ocr = with_status(
                state, {"event": "waiting", "step": first.kind.value, "approvers": list(first.approvers)}
            )
            session.flush()
            audit.record(
                session,
                actor=user_id,
                action="expense.submitted",
                entity="expense",
                entity_id=expense.id,
                before=before,
                after=audit.expense_snapshot(expense),
                detail="; ".join(route.trace + route.budgets),
            )
            task_id = session.scalar(
                select(ApprovalTask.id).where(
                    ApprovalTask.expense_id == expense.id,
                    ApprovalTask.round == expense.round,
                    ApprovalTask.step == 0,
                )
            )
            outbox.add(session, "approval_request", {"task_id": task_id}, dedup_key=f"request:{task_id}")
        session.flush()
        outbox.add(
            session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:v{expense.version}"
        )
        return Submitted(expense.id, ref, route.auto_approved_rule)


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
        select(
            Expense.id,
            Expense.employee_id,
            Expense.employee_email,
            Expense.amount,
            Expense.currency,
            Expense.category,
            Expense.spent_on,
            Expense.merchant,
            Expense.status,
        )
        .where(
            Expense.id != expense.id,
            Expense.status != Status.DISCARDED,
            Expense.amount.is_not(None),
            Expense.currency.is_not(None),
            or_(mine, same),
        )
        .order_by(Expense.id.desc())
        .limit(500)
    ).all()
    found: list[OtherClaim] = []
    for ref_id, employee, employee_email, amount, currency, category, day, merchant, status in rows:
        if amount is None or not currency:
            continue
        own = employee == expense.employee_id
        found.append(
            OtherClaim(
                ref=expense_ref(ref_id),
                submitter_email=email if own else (employee_email or f"<@{employee}>"),
                amount=Money(amount, currency),
                category=category or "other",
                spent_on=day,
                merchant=merchant,
                counts=own and status in HISTORY_STATUSES,
            )
        )
    return found


def _photo_duplicate(session: Session, expense: Expense) -> list[Flag]:
    """The receipt photo looks like the receipt of another claim (the employee's or a colleague's)."""
    if expense.receipt is None or not expense.receipt.phash:
        return []
    from ocr import hamming  # loaded when used: the ocr package brings the receipt reader's libraries

    rows = session.execute(
        select(Expense.id, ReceiptFile.phash)
        .join(ReceiptFile, Expense.receipt_id == ReceiptFile.id)
        .where(
            Expense.id != expense.id,
            Expense.status != Status.DISCARDED,
            ReceiptFile.phash.is_not(None),
            ReceiptFile.id != expense.receipt_id,
        )
        .order_by(Expense.id.desc())
        .limit(2000)
    ).all()
    for other_id, phash in rows:
        if phash and hamming(phash, expense.receipt.phash) <= 6:
            return [
                Flag(
                    POSSIBLE_DUPLICATE,
                    f"The receipt photo looks like the receipt of {expense_ref(other_id)}.",
                )
            ]
    return []
