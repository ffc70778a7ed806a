"""services.submission and services.approvals on a real database: submit, decide, the checks before a form, and the facts
(never Slack text) the use cases queue for the bot to word."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services import approvals, submission
from services.approvals import APPROVE, REJECT, SEND_BACK, Decided, Refusal, Why
from services.submission import Submitted
from storage.db import transaction
from storage.models import ApprovalTask, AuditEvent, Expense, OutboxMessage
from tests.support import ORG_CSV
from workflows.directory import Directory
from workflows.expenses import Status
from workflows.policy import default_policy
from workflows.readiness import ProblemKind

TODAY = dt.date(2026, 11, 20)
DIRECTORY = Directory.from_csv_text(ORG_CSV, "org.csv")
POLICY = default_policy("USD")


def draft(db: sessionmaker[Session], *, amount: str | None = "42.50", employee: str = "U_EMP") -> int:
    with transaction(db) as s:
        exp = Expense(
            status=Status.DRAFT,
            employee_id=employee,
            source="dm",
            merchant="Blue Bottle",
            spent_on=dt.date(2026, 11, 18),
            amount=Decimal(amount) if amount else None,
            currency="USD",
            category="meals",
        )
        s.add(exp)
        s.flush()
        return exp.id


def outbox_rows(db: sessionmaker[Session], kind: str) -> list[dict[str, Any]]:
    with db() as s:
        return [
            row.payload
            for row in s.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
            )
        ]


def submitted(db: sessionmaker[Session], **kwargs: Any) -> tuple[int, int]:
    """A claim submitted by U_EMP: (expense id, the id of its first approval task)."""
    expense_id = draft(db, **kwargs)
    result = submission.submit(db, DIRECTORY, POLICY, expense_id, "U_EMP", "emp@example.com", TODAY)
    assert isinstance(result, Submitted), result
    with db() as s:
        task_id = s.scalar(
            select(ApprovalTask.id).where(ApprovalTask.expense_id == expense_id, ApprovalTask.step == 0)
        )
    assert task_id is not None
    return expense_id, task_id


def test_submit_routes_to_the_manager_and_keeps_the_status_as_facts(factory: sessionmaker[Session]) -> None:
    expense_id = draft(factory)
    result = submission.submit(factory, DIRECTORY, POLICY, expense_id, "U_EMP", "emp@example.com", TODAY)
    assert isinstance(result, Submitted)
    assert (result.expense_id, result.auto_approved_rule) == (expense_id, None)
    assert result.ref.endswith(str(expense_id))
    with factory() as s:
        exp = s.get(Expense, expense_id)
        assert exp is not None
        assert exp.status == Status.PENDING and exp.round == 1 and exp.employee_email == "emp@example.com"
        assert exp.reimburse_currency == "USD" and exp.reimburse_amount == Decimal("42.50")
        facts = (exp.ocr or {})["status_facts"]
        assert facts == {"event": "waiting", "step": "manager", "approvers": ["mgr@example.com"]}
        assert "status_detail" not in (exp.ocr or {})
        tasks = s.scalars(
            select(ApprovalTask).where(ApprovalTask.expense_id == expense_id).order_by(ApprovalTask.step)
        ).all()
        assert [(t.kind, t.status) for t in tasks] == [("manager", "pending"), ("finance", "waiting")]
        assert tasks[0].approvers == ["mgr@example.com"]
        task = tasks[0]
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(expense_id))))
        assert "expense.submitted" in actions
    assert outbox_rows(factory, "approval_request") == [{"task_id": task.id}]
    assert outbox_rows(factory, "card") == [{"expense_id": expense_id}]


def test_submit_refusals_change_nothing(factory: sessionmaker[Session]) -> None:
    expense_id = draft(factory)
    other = submission.submit(factory, DIRECTORY, POLICY, expense_id, "U_OTHER", "other@example.com", TODAY)
    assert isinstance(other, Refusal) and other.why is Why.NOT_OWNER and other.owner == "U_EMP"
    no_email = submission.submit(factory, DIRECTORY, POLICY, expense_id, "U_EMP", None, TODAY)
    assert isinstance(no_email, Refusal) and no_email.why is Why.NO_EMAIL
    gone = submission.submit(factory, DIRECTORY, POLICY, 999_999, "U_EMP", "emp@example.com", TODAY)
    assert isinstance(gone, Refusal) and gone.why is Why.GONE
    unread = draft(factory, amount=None)
    not_ready = submission.submit(factory, DIRECTORY, POLICY, unread, "U_EMP", "emp@example.com", TODAY)
    assert isinstance(not_ready, Refusal) and not_ready.why is Why.NOT_READY
    assert [p.kind for p in not_ready.problems] == [ProblemKind.NO_TOTAL]
    with factory() as s:
        assert {e.status for e in s.scalars(select(Expense))} == {Status.DRAFT}
        assert s.scalars(select(OutboxMessage)).first() is None


def test_each_approval_step_queues_facts_for_the_employee(factory: sessionmaker[Session]) -> None:
    expense_id, task_id = submitted(factory)
    first = approvals.decide(factory, DIRECTORY, task_id, "U_MGR", "mgr@example.com", APPROVE, None, TODAY)
    assert isinstance(first, Decided) and first.approved_expense is None
    with factory() as s:
        finance_task = s.scalars(
            select(ApprovalTask).where(ApprovalTask.expense_id == expense_id, ApprovalTask.step == 1)
        ).one()
        assert finance_task.status == "pending"
        exp = s.get(Expense, expense_id)
        assert exp is not None and exp.status == Status.PENDING and exp.current_step == 1
        assert (exp.ocr or {})["status_facts"]["event"] == "approved_step"
    step_notice = outbox_rows(factory, "notice")[0]
    assert (step_notice["event"], step_notice["step"], step_notice["next_step"]) == (
        "approved_step",
        "manager",
        "finance",
    )
    assert outbox_rows(factory, "approval_request")[-1] == {"task_id": finance_task.id}
    # The manager approved one step: they may not decide the finance step too.
    twice = approvals.decide(
        factory, DIRECTORY, finance_task.id, "U_MGR", "mgr@example.com", APPROVE, None, TODAY
    )
    assert isinstance(twice, Refusal) and twice.why is Why.NOT_ALLOWED
    result = approvals.decide(
        factory, DIRECTORY, finance_task.id, "U_FIN", "fin@example.com", APPROVE, None, TODAY
    )
    assert isinstance(result, Decided)
    assert (result.decision, result.approved_expense) == (APPROVE, expense_id)
    with factory() as s:
        exp = s.get(Expense, expense_id)
        assert exp is not None and exp.status == Status.APPROVED and exp.approved_at is not None
        assert (exp.ocr or {})["status_facts"]["event"] == "approved"
    notice = outbox_rows(factory, "notice")[-1]
    assert notice["user_id"] == "U_EMP" and notice["event"] == "approved"
    assert (notice["approver"], notice["step"], Decimal(notice["amount"]), notice["currency"]) == (
        "U_FIN",
        "finance",
        Decimal("42.50"),
        "USD",
    )
    assert "text" not in notice  # facts, worded by the bot when sent
    done = outbox_rows(factory, "approval_done")
    assert [(d["task_id"], d["decision"], d["actor"]) for d in done] == [
        (task_id, APPROVE, "U_MGR"),
        (finance_task.id, APPROVE, "U_FIN"),
    ]


def test_a_step_is_decided_once(factory: sessionmaker[Session]) -> None:
    _, task_id = submitted(factory)
    first = approvals.decide(
        factory, DIRECTORY, task_id, "U_MGR", "mgr@example.com", REJECT, "No receipt", TODAY
    )
    assert isinstance(first, Decided)
    again = approvals.decide(factory, DIRECTORY, task_id, "U_MGR", "mgr@example.com", APPROVE, None, TODAY)
    assert isinstance(again, Refusal) and again.why is Why.ALREADY
    assert (again.task_status, again.decided_by) == ("rejected", "U_MGR") and again.decided_at is not None
    assert len(outbox_rows(factory, "notice")) == 1


def test_who_may_not_decide(factory: sessionmaker[Session]) -> None:
    _, task_id = submitted(factory)
    own = approvals.decide(factory, DIRECTORY, task_id, "U_EMP", "emp@example.com", APPROVE, None, TODAY)
    assert isinstance(own, Refusal) and own.why is Why.OWN_CLAIM
    stranger = approvals.decide(
        factory, DIRECTORY, task_id, "U_OTHER", "other@example.com", APPROVE, None, TODAY
    )
    assert isinstance(stranger, Refusal) and stranger.why is Why.NOT_ALLOWED and stranger.detail
    no_email = approvals.precheck(factory, DIRECTORY, task_id, "U_MGR", None, TODAY)
    assert no_email is not None and no_email.why is Why.NO_EMAIL
    assert approvals.precheck(factory, DIRECTORY, task_id, "U_MGR", "mgr@example.com", TODAY) is None
    gone = approvals.precheck(factory, DIRECTORY, 999_999, "U_MGR", "mgr@example.com", TODAY)
    assert gone is not None and gone.why is Why.GONE
    with factory() as s:
        assert s.get(ApprovalTask, task_id).status == "pending"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "decision, event, status",
    [(REJECT, "rejected", Status.REJECTED), (SEND_BACK, "sent_back", Status.CHANGES_REQUESTED)],
)
def test_reject_and_send_back_keep_the_reason(
    factory: sessionmaker[Session], decision: str, event: str, status: Status
) -> None:
    expense_id, task_id = submitted(factory)
    result = approvals.decide(
        factory, DIRECTORY, task_id, "U_MGR", "mgr@example.com", decision, "Wrong date", TODAY
    )
    assert isinstance(result, Decided) and result.approved_expense is None
    with factory() as s:
        exp = s.get(Expense, expense_id)
        assert exp is not None and exp.status == status
        facts = (exp.ocr or {})["status_facts"]
        assert (facts["event"], facts["approver"], facts["reason"]) == (event, "U_MGR", "Wrong date")
    [notice] = outbox_rows(factory, "notice")
    assert (notice["event"], notice["reason"]) == (event, "Wrong date")


def test_approve_a_lower_amount(factory: sessionmaker[Session]) -> None:
    expense_id, task_id = submitted(factory)
    too_much = approvals.check_lower_amount(factory, task_id, "50.00", "The tip")
    assert isinstance(too_much, Refusal) and too_much.why is Why.BLOCKED and too_much.detail
    assert approvals.check_lower_amount(factory, task_id, "30.00", "The tip is not reimbursed") is None
    claim = approvals.task_claim(factory, task_id)
    assert claim is not None and (claim.amount, claim.currency) == (Decimal("42.50"), "USD")
    result = approvals.decide(
        factory,
        DIRECTORY,
        task_id,
        "U_MGR",
        "mgr@example.com",
        APPROVE,
        "The tip is not reimbursed",
        TODAY,
        lower_amount="30.00",
    )
    assert isinstance(result, Decided) and result.approved_expense is None  # finance still decides
    with factory() as s:
        exp = s.get(Expense, expense_id)
        assert exp is not None
        assert (exp.approved_amount, exp.reimburse_amount) == (Decimal("30.00"), Decimal("30.00"))
    [notice] = outbox_rows(factory, "notice")
    partial = notice["partial"]
    assert (Decimal(partial["approved"]), Decimal(partial["original"])) == (
        Decimal("30.00"),
        Decimal("42.50"),
    )
    assert (partial["currency"], partial["reason"]) == ("USD", "The tip is not reimbursed")


def test_an_unknown_decision_is_a_programming_error(factory: sessionmaker[Session]) -> None:
    _, task_id = submitted(factory)
    with pytest.raises(ValueError, match="unknown decision"):
        approvals.decide(factory, DIRECTORY, task_id, "U_MGR", "mgr@example.com", "maybe", None, TODAY)
