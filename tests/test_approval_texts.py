"""What people read about approvals and payouts, worded by bot/blocks from the use cases' results
and from the facts their outbox rows carry (services/approvals.py, services/payouts.py)."""

from __future__ import annotations

import datetime as dt

from bot import i18n
from bot.blocks.approvals import (
    decided_text,
    decision_refusal_text,
    notice_text,
    status_text,
    submit_refusal_text,
)
from bot.payouts import mark_paid_text
from bot.views import _status_line
from services.approvals import Decided, Refusal, Why
from services.payouts import MarkPaidResult, PaidRefusal
from workflows.readiness import Problem, ProblemKind


def test_notices_from_decision_facts() -> None:
    facts = {
        "ref": "EXP-0007",
        "approver": "U_MGR",
        "step": "manager",
        "amount": "42.5000",
        "currency": "USD",
        "reason": None,
    }
    step = notice_text({**facts, "event": "approved_step", "next_step": "finance"})
    assert step == (
        ":white_check_mark: EXP-0007 (42.50 USD) was approved by <@U_MGR> (manager). "
        "It now waits for finance."
    )
    final = notice_text({**facts, "event": "approved"})
    assert final.endswith("It now waits for payout.")
    rejected = notice_text({**facts, "event": "rejected", "reason": "No receipt"})
    assert rejected.startswith(":x: EXP-0007 (42.50 USD) was rejected by <@U_MGR>: “No receipt”")
    partial = notice_text(
        {
            **facts,
            "event": "approved",
            "partial": {"approved": "30.00", "original": "42.50", "currency": "USD", "reason": "Tip"},
        }
    )
    assert "30.00 USD of the 42.50 USD claimed: “Tip”" in partial
    paid = notice_text(
        {"event": "paid", "batch": 3, "amounts": {"USD": "15.5", "EUR": "7"}, "refs": ["EXP-1"]}
    )
    assert paid == ":moneybag: You have been paid 7.00 EUR and 15.50 USD for EXP-1."
    assert notice_text({"event": "routing_problem", "message": "No manager"}) == ":warning: No manager"


def test_notices_are_worded_in_the_readers_language() -> None:
    with i18n.use_locale(i18n.choose("de-DE")):
        text = notice_text({"event": "paid", "batch": 3, "amounts": {"EUR": "7"}, "refs": ["EXP-1"]})
    assert "You have been paid" not in text and "EXP-1" in text


def test_the_cards_status_line_from_facts_or_older_text() -> None:
    waiting = {"event": "waiting", "step": "manager", "approvers": ["mgr@example.com"]}
    assert status_text(waiting) == "Waiting for approval: manager (mgr@example.com)."
    assert status_text({"event": "paid", "batch": 12}) == "Paid in batch #12."
    assert _status_line({"status_facts": {"event": "approved"}, "status_detail": "old"}) == (
        "Approved; waiting for payout."
    )
    assert _status_line({"status_detail": "Paid with the company card."}) == "Paid with the company card."
    assert _status_line({}) is None


def test_refusals_and_results_worded() -> None:
    problems = (Problem(ProblemKind.NO_TOTAL), Problem(ProblemKind.NO_DATE))
    not_ready = submit_refusal_text(Refusal(Why.NOT_READY, ref="EXP-0001", problems=problems))
    assert not_ready.startswith("EXP-0001 is not ready to submit: I could not read the total")
    assert submit_refusal_text(Refusal(Why.NOT_OWNER, ref="EXP-0001", owner="U_EMP")) == (
        "Only <@U_EMP> can submit EXP-0001."
    )
    assert submit_refusal_text(Refusal(Why.POLICY, ref="EXP-0001", detail="Alcohol is not reimbursed.")) == (
        "EXP-0001 cannot be submitted: Alcohol is not reimbursed."
    )
    already = Refusal(
        Why.ALREADY,
        ref="EXP-0001",
        task_status="rejected",
        decided_by="U_MGR",
        decided_at=dt.datetime(2026, 11, 3, 9, 30, tzinfo=dt.UTC),
    )
    assert decision_refusal_text(already) == (
        "EXP-0001 was already rejected by <@U_MGR> on 03 Nov at 09:30 UTC; nothing was changed."
    )
    assert decision_refusal_text(Refusal(Why.RACE, ref="EXP-0001")) == (
        "EXP-0001 was decided a moment ago by someone else."
    )
    assert decided_text(Decided("EXP-0001", "send_back", None)) == "You sent EXP-0001 back for changes."
    assert mark_paid_text(MarkPaidResult(4, people=2)) == "Batch #4 is marked paid; 2 people were told."
    assert (
        mark_paid_text(MarkPaidResult(4, PaidRefusal.NOT_FINANCE)) == "Only finance can mark payouts as paid."
    )
