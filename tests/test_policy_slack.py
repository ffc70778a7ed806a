"""The approval policy seen from Slack: multi-level routes, approval by policy, budget warnings."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from tests.support import EMPLOYEE, FINANCE, MANAGER, Harness, cafe_receipt, recent_day, running_app

BOSS = "U_BOSS"  # the manager's manager in the harness directory

POLICY = """company_currency: USD
auto_approve_below: 25.00
approval_levels:
  - above: 100.00
    approver: manager_of_manager
  - above: 5000.00
    approver: department_head
"""


def last_weekday() -> str:
    """A recent working day as a US receipt prints it, month first (the receipts here are in USD)."""
    return recent_day().strftime("%m/%d/%Y")


def texts(message: Any) -> str:
    return " ".join([message.text or "", *(str(block) for block in message.blocks)])


def requests_for(app: Harness, user: str) -> list[Any]:
    return [m for m in app.slack.dm_messages(user) if any("Approve" in str(b) for b in m.buttons())]


def policy_app(tmp_path: Path, sqlite_url: str, policy: str = POLICY) -> Any:
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(policy)
    return running_app(
        tmp_path, database_url=sqlite_url, extra_env={"EXPENSEBOT_POLICY_FILE": str(policy_file)}
    )


def test_above_the_first_threshold_goes_manager_then_their_manager_then_finance(
    tmp_path: Path, sqlite_url: str
) -> None:
    with policy_app(tmp_path, sqlite_url) as app:
        app.upload(EMPLOYEE, cafe_receipt("150.00", date=last_weekday()), note="taxi to the airport")
        card = app.wait_card(EMPLOYEE)
        assert "150.00" in texts(card)
        app.driver.click(EMPLOYEE, card, "Submit")

        first = app.wait_card(MANAGER, contains="Approve")
        assert "manager" in texts(first)
        time.sleep(1.0)  # nothing else goes out before the manager decides
        assert requests_for(app, BOSS) == [] and requests_for(app, FINANCE) == []
        app.driver.click(MANAGER, first, "Approve")
        told = app.wait_dm(EMPLOYEE, "It now waits for manager's manager")
        assert f"was approved by <@{MANAGER}> (manager)" in told.text

        second = app.wait_card(BOSS, contains="Approve")
        assert "above 100.00 USD: manager's manager" in texts(second)
        time.sleep(1.0)
        assert requests_for(app, FINANCE) == []
        app.driver.click(BOSS, second, "Approve")
        told = app.wait_dm(EMPLOYEE, "It now waits for finance")
        assert f"was approved by <@{BOSS}> (manager's manager)" in told.text

        third = app.wait_card(FINANCE, contains="Approve")
        app.driver.click(FINANCE, third, "Approve")
        told = app.wait_dm(EMPLOYEE, "It now waits for payout")
        assert f"was approved by <@{FINANCE}> (finance)" in told.text
        # one request each, and none is left with buttons after its decision
        for user in (MANAGER, BOSS, FINANCE):
            app.slack.wait_until(lambda u=user: requests_for(app, u) == [], timeout=15, what=f"{user} closed")
        out = app.cli("policy", "explain", "EXP-1").stdout
        assert "route: manager (mgr@example.com) → manager's manager (boss@example.com) → finance" in out


def test_a_small_clean_claim_is_approved_by_policy_and_no_one_is_asked(
    tmp_path: Path, sqlite_url: str
) -> None:
    with policy_app(tmp_path, sqlite_url) as app:
        app.upload(EMPLOYEE, cafe_receipt("12.00", date=last_weekday()), note="lunch")
        app.driver.click(EMPLOYEE, app.wait_card(EMPLOYEE), "Submit")
        told = app.wait_dm(EMPLOYEE, "was approved by policy")
        assert "(auto_approve_below 25.00 USD)" in told.text and "12.00 USD" in told.text
        rule = "Approved by policy (auto_approve_below 25.00 USD)"
        app.slack.wait_until(
            lambda: any(rule in texts(m) for m in app.slack.dm_messages(EMPLOYEE)),
            timeout=15,
            what="the card names the rule",
        )
        time.sleep(1.0)
        for approver in (MANAGER, BOSS, FINANCE):
            assert requests_for(app, approver) == []
            assert app.slack.dm_messages(approver) == []


def test_approvers_are_warned_when_a_claim_takes_the_department_over_its_budget(
    tmp_path: Path, sqlite_url: str
) -> None:
    budget = "company_currency: USD\napproval_levels: []\nbudgets:\n  - department: sales\n    period: month\n    amount: 100\n"
    day = last_weekday()
    month = dt.datetime.strptime(day, "%m/%d/%Y").strftime("%b %Y")
    with policy_app(tmp_path, sqlite_url, budget) as app:
        # a first claim of the sales department is approved: 60.00 of the 100.00 budget
        app.upload(EMPLOYEE, cafe_receipt("60.00", date=day), note="lunch")
        app.driver.click(EMPLOYEE, app.wait_card(EMPLOYEE), "Submit")
        first = app.wait_card(MANAGER, contains="Approve")
        assert "budget" not in texts(first)  # 60% of it: nothing to say
        app.driver.click(MANAGER, first, "Approve")
        app.driver.click(FINANCE, app.wait_card(FINANCE, contains="Approve"), "Approve")
        app.wait_dm(EMPLOYEE, "It now waits for payout")

        # a second one of 50.00 would take it to 110%: each approver sees it, nothing is blocked
        app.upload(EMPLOYEE, cafe_receipt("50.00", date=day), note="lunch")
        app.driver.click(EMPLOYEE, app.wait_card(EMPLOYEE), "Submit")
        warning = (
            f":warning: Sales budget for {month}: 60.00 of 100.00 USD approved; this claim (50.00 USD) "
            "would take it to 110.00 (110%)."
        )
        app.slack.wait_until(lambda: len(requests_for(app, MANAGER)) == 1, timeout=40, what="second request")
        second = requests_for(app, MANAGER)[0]
        assert warning in texts(second)
        app.driver.click(MANAGER, second, "Approve")
        app.slack.wait_until(lambda: len(requests_for(app, FINANCE)) == 1, timeout=40, what="finance request")
        assert warning in texts(requests_for(app, FINANCE)[0])
        employee_dms = " ".join(texts(m) for m in app.slack.dm_messages(EMPLOYEE))
        assert "budget" not in employee_dms  # budgets are for approvers

        out = app.cli("policy", "explain", "EXP-2").stdout
        assert f"budget warning: Sales budget for {month}: 60.00 of 100.00 USD approved" in out


def test_a_claim_sent_back_and_submitted_again_shows_its_findings_once(
    tmp_path: Path, sqlite_url: str
) -> None:
    from devslack import text_input

    with policy_app(tmp_path, sqlite_url) as app:
        app.upload(EMPLOYEE, cafe_receipt("90.00", date=last_weekday()), note="lunch")
        app.driver.click(EMPLOYEE, app.wait_card(EMPLOYEE), "Submit")
        request = app.wait_card(MANAGER, contains="Approve")
        finding = "Meals are limited to 75.00 USD per expense; this one is 90.00 USD."
        assert texts(request).count(finding) == 1
        app.driver.click(MANAGER, request, "Ask for changes")
        view = app.wait_view(MANAGER, "approval_reason_view")
        app.driver.submit_view(MANAGER, view, {"reason": {"reason": text_input("Which client was it?")}})
        app.wait_dm(EMPLOYEE, "asked for changes")

        app.driver.click(EMPLOYEE, app.wait_card(EMPLOYEE), "Submit")
        app.slack.wait_until(lambda: len(requests_for(app, MANAGER)) == 1, timeout=40, what="second request")
        again = requests_for(app, MANAGER)[0]
        assert again.ts != request.ts
        assert texts(again).count(finding) == 1
