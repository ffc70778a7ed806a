"""Issue 16 gaps seen from Slack, through signed requests to the running app (SQLite, in-process
jobs): duplicates across colleagues, weekend claims, daily limits across currencies, delegation,
finance-channel escalation and a receipt attached to the /expense form."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

from devslack import date, file_input, select, text_input
from tests.support import (
    ADMIN,
    EMPLOYEE,
    FINANCE,
    MANAGER,
    OTHER,
    Harness,
    cafe_receipt,
    recent_day,
    running_app,
)

BOSS = "U_BOSS"
AUTO = "company_currency: USD\nauto_approve_below: 25.00\n"


def texts(message: Any) -> str:
    return " ".join([message.text or "", *(str(block) for block in message.blocks)])


def requests_for(app: Harness, user: str) -> list[Any]:
    return [m for m in app.slack.dm_messages(user) if any("Approve" in str(b) for b in m.buttons())]


def policy_app(tmp_path: Path, sqlite_url: str, policy: str, **env: str) -> Any:
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(policy)
    return running_app(
        tmp_path, database_url=sqlite_url, extra_env={"EXPENSEBOT_POLICY_FILE": str(policy_file), **env}
    )


def type_expense(
    app: Harness,
    user: str,
    amount: str,
    *,
    merchant: str = "Noodle Bar",
    day: dt.date | None = None,
    currency: str = "USD",
    category: tuple[str, str] = ("meals", "Meals"),
    receipt: bytes | None = None,
) -> None:
    """Fill in and save the /expense form (optionally with a receipt attached)."""
    before = len(app.slack.views_opened)
    assert app.driver.slash_command(user, "/expense").status_code == 200
    app.slack.wait_until(lambda: len(app.slack.views_opened) > before, timeout=15, what="the /expense form")
    modal = app.wait_view(user, "expense_new_view")
    values: dict[str, Any] = {
        "merchant": {"merchant": text_input(merchant)},
        "date": {"date": date((day or recent_day()).isoformat())},
        "amount": {"amount": text_input(amount)},
        "currency": {"currency": text_input(currency)},
        "category": {"category": select(*category)},
    }
    if receipt is not None:
        file = app.slack.add_file(receipt, "receipt.jpg", "image/jpeg", user)
        values["receipt"] = {"receipt": file_input([file])}
    app.driver.submit_view(user, modal, values)


def card_of(app: Harness, user: str, contains: str, button: str = "Submit") -> Any:
    def find() -> Any:
        for message in app.slack.dm_messages(user):
            if contains in texts(message) and any(button in str(b) for b in message.buttons()):
                return message
        return None

    app.slack.wait_until(lambda: find() is not None, timeout=40, what=f"a card with {contains!r}")
    return find()


def last_saturday() -> dt.date:
    day = dt.date.today() - dt.timedelta(days=1)
    while day.weekday() != 5:
        day -= dt.timedelta(days=1)
    return day


def test_a_colleagues_claim_of_the_same_bill_and_a_weekend_claim_are_not_approved_by_policy(
    tmp_path: Path, sqlite_url: str
) -> None:
    with policy_app(tmp_path, sqlite_url, AUTO) as app:
        type_expense(app, EMPLOYEE, "18.00", merchant="Noodle Bar")
        app.driver.click(EMPLOYEE, card_of(app, EMPLOYEE, "Noodle Bar"), "Submit")
        app.wait_dm(EMPLOYEE, "was approved by policy")

        # a colleague claims the same shared bill: a possible duplicate, so a person decides
        type_expense(app, OTHER, "18.00", merchant="NOODLE BAR")
        app.driver.click(OTHER, card_of(app, OTHER, "NOODLE BAR"), "Submit")
        request = app.wait_card(MANAGER, contains="Approve")
        assert "Possibly the same bill as EXP-1 claimed by emp@example.com" in texts(request)
        assert not [m for m in app.slack.dm_messages(OTHER) if "approved by policy" in (m.text or "")]

        # the same employee's second claim of it
        type_expense(app, EMPLOYEE, "18.00", merchant="Noodle Bar")
        app.slack.wait_until(lambda: len(app.slack.dm_messages(EMPLOYEE)) >= 3, timeout=30, what="card")
        card = [m for m in app.slack.dm_messages(EMPLOYEE) if any("Submit" in str(b) for b in m.buttons())][
            -1
        ]
        app.driver.click(EMPLOYEE, card, "Submit")
        app.slack.wait_until(lambda: len(requests_for(app, MANAGER)) == 2, timeout=40, what="second request")

        # a small claim spent on a Saturday
        type_expense(app, EMPLOYEE, "9.00", merchant="Corner Deli", day=last_saturday())
        app.driver.click(EMPLOYEE, card_of(app, EMPLOYEE, "Corner Deli"), "Submit")
        app.slack.wait_until(lambda: len(requests_for(app, MANAGER)) == 3, timeout=40, what="weekend request")
        out = app.cli("policy", "explain", "EXP-4").stdout
        assert "flag weekend: Spent on a Saturday" in out and "no auto-approval: flagged (weekend)" in out
        assert "Possible duplicate of EXP-1" in app.cli("policy", "explain", "EXP-3").stdout


def test_claims_of_one_day_in_two_currencies_add_up_for_the_daily_limit(
    tmp_path: Path, sqlite_url: str
) -> None:
    day = recent_day()
    rates = tmp_path / "rates.csv"
    rates.write_text(
        "date,from,to,rate\n"
        f"{day.isoformat()},EUR,USD,1.10\n"
        f"{(day - dt.timedelta(days=1)).isoformat()},EUR,USD,3.00\n"
    )
    with policy_app(tmp_path, sqlite_url, "company_currency: USD\n") as app:
        app.cli("fx", "import", str(rates))
        type_expense(app, EMPLOYEE, "50.00", merchant="Brasserie", currency="EUR", day=day)  # 55.00 USD
        app.driver.click(EMPLOYEE, card_of(app, EMPLOYEE, "Brasserie"), "Submit")
        app.wait_card(MANAGER, contains="Approve")
        type_expense(app, EMPLOYEE, "45.01", merchant="Pizzeria", day=day)
        app.driver.click(EMPLOYEE, card_of(app, EMPLOYEE, "Pizzeria"), "Submit")
        app.slack.wait_until(lambda: len(requests_for(app, MANAGER)) == 2, timeout=40, what="second request")
        finding = (
            "Meals are limited to 100.00 USD per day; with the other meals that day (55.00 USD) this makes "
            "100.01 USD."
        )
        assert finding in texts(requests_for(app, MANAGER)[-1])
        explained = app.cli("policy", "explain", "EXP-2").stdout
        assert f"finding over_daily_limit: {finding}" in explained

        # the dry run, given the same earlier claim, routes it the same way (one code path)
        claims = tmp_path / "claims.csv"
        claims.write_text(
            f"submitter,date,amount,currency,category,merchant,status\n"
            f"emp@example.com,{day.isoformat()},50.00,EUR,meals,Brasserie,pending\n"
        )
        dry = app.cli(
            "policy",
            "route",
            "--policy",
            str(tmp_path / "policy.yml"),
            "--directory",
            str(tmp_path / "org.csv"),
            "--rates",
            str(rates),
            "--submitter",
            "emp@example.com",
            "--amount",
            "45.01",
            "--category",
            "meals",
            "--merchant",
            "Pizzeria",
            "--date",
            day.isoformat(),
            "--no-receipt",
            "--claims",
            str(claims),
        ).stdout
        route_line = next(line for line in dry.splitlines() if line.startswith("route: "))
        assert route_line in explained.splitlines()
        assert f"finding: {finding}" in dry


def test_a_delegate_who_approves_a_later_step_cannot_decide_the_earlier_one(
    tmp_path: Path, sqlite_url: str
) -> None:
    policy = "company_currency: USD\napproval_levels:\n  - above: 100.00\n    approver: manager_of_manager\n"
    until = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    with policy_app(tmp_path, sqlite_url, policy) as app:
        answer = app.command(MANAGER, f"delegate <@{BOSS}> until {until}")
        assert "approvals go to" in answer
        type_expense(app, EMPLOYEE, "150.00", merchant="Rail Co", category=("travel", "Travel"))
        app.driver.click(EMPLOYEE, card_of(app, EMPLOYEE, "Rail Co"), "Submit")
        request = app.wait_card(MANAGER, contains="Approve")
        time.sleep(1.0)
        assert requests_for(app, BOSS) == []  # boss@ decides the next step, so is not asked for this one
        button = next(b for b in request.buttons() if b["text"]["text"] == "Approve")
        posts = len(app.slack.response_url_posts)
        app.driver.block_action(BOSS, button["action_id"], button["value"], channel=request.channel)
        app.slack.wait_until(lambda: len(app.slack.response_url_posts) > posts, timeout=15, what="refusal")
        refusal = str(app.slack.response_url_posts[-1].body)
        assert "nobody decides two steps of one claim" in refusal
        # mgr@ is away and boss@ may not act for them here: the admin (no one is above boss@) stands in
        app.wait_card(ADMIN, contains="Approve")
        out = app.cli("policy", "explain", "EXP-1").stdout
        assert "mgr@example.com's delegate boss@example.com approves the manager's manager step" in out
        assert "while mgr@example.com is away, the step also goes to admin@example.com (the admins)" in out
        assert "step 0 (manager) pending" in out


def test_an_escalated_finance_step_reaches_the_admins_with_a_finance_channel(
    tmp_path: Path, sqlite_url: str
) -> None:
    from bot.context import build_context
    from bot.followups import run_followups
    from bot.jobs import InProcessRunner
    from bot.settings import Settings
    from storage.models import utcnow

    with policy_app(
        tmp_path, sqlite_url, "company_currency: USD\n", EXPENSEBOT_FINANCE_CHANNEL="C_FIN"
    ) as app:
        app.slack.add_channel("C_FIN", "finance")
        type_expense(app, EMPLOYEE, "42.00", merchant="Metro Taxi", category=("travel", "Travel"))
        app.driver.click(EMPLOYEE, card_of(app, EMPLOYEE, "Metro Taxi"), "Submit")
        app.driver.click(MANAGER, app.wait_card(MANAGER, contains="Approve"), "Approve")
        app.slack.wait_until(
            lambda: any(m.buttons() for m in app.slack.messages("C_FIN")), timeout=40, what="finance request"
        )
        ctx = build_context(Settings())
        ctx.jobs = InProcessRunner(ctx)
        try:
            asyncio.run(run_followups(ctx, now=utcnow() + dt.timedelta(days=8)))
        finally:
            ctx.engine.dispose()
        request = app.wait_card(ADMIN, contains="Approve")
        assert "EXP-1" in texts(request)
        app.wait_dm(EMPLOYEE, "escalated to the admins admin@example.com")
        reminder = app.wait_dm(FINANCE, "Reminder")
        assert "The request is in <#C_FIN>." in reminder.text
        app.driver.click(ADMIN, request, "Approve")
        app.wait_dm(EMPLOYEE, "It now waits for payout")


def test_a_receipt_attached_to_the_form_is_read_and_checked_for_duplicates(
    tmp_path: Path, sqlite_url: str
) -> None:
    receipt = cafe_receipt("42.50")
    with policy_app(tmp_path, sqlite_url, "company_currency: USD\n") as app:
        type_expense(app, EMPLOYEE, "45.00", merchant="", receipt=receipt)
        first = card_of(app, EMPLOYEE, "BLUE BOTTLE", button="Submit")  # the merchant was read from it
        assert "The attached receipt reads 42.50 USD; the total typed is 45.00 USD." in texts(first)
        type_expense(app, EMPLOYEE, "45.00", merchant="", receipt=receipt)
        second = card_of(app, EMPLOYEE, "EXP-2")
        app.slack.wait_until(
            lambda: (
                "(EXP-1: same merchant, date and total)"
                in texts(app.slack.message(second.channel, second.ts))
            ),
            timeout=60,
            what="the duplicate warning on the second card",
        )
