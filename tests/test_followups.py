"""Reminders and escalation of approvals that sit (time moved forward, not slept)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from bot.context import build_context
from bot.followups import run_followups
from bot.jobs import InProcessRunner
from bot.settings import Settings
from storage.models import utcnow
from tests.support import EMPLOYEE, MANAGER, cafe_receipt, running_app


def test_reminder_then_escalation_then_the_new_approver_decides(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(tmp_path, database_url=sqlite_url) as app:
        app.upload(EMPLOYEE, cafe_receipt("42.00"), note="lunch")
        app.driver.click(EMPLOYEE, app.wait_card(EMPLOYEE), "Submit")
        app.wait_card(MANAGER, contains="Approve")
        ctx = build_context(Settings())
        ctx.jobs = InProcessRunner(ctx)
        start = utcnow()
        assert asyncio.run(run_followups(ctx, now=start + dt.timedelta(hours=1))) == 0

        later = start + dt.timedelta(days=1, hours=1)
        if later.weekday() >= 5:  # a weekend does not count as working time
            later += dt.timedelta(days=2)
        assert asyncio.run(run_followups(ctx, now=later)) >= 1
        reminder = app.wait_dm(MANAGER, "Reminder")
        assert "EXP-1" in reminder.text
        assert asyncio.run(run_followups(ctx, now=later)) == 0  # once per due time

        much_later = start + dt.timedelta(days=6)
        asyncio.run(run_followups(ctx, now=much_later))
        request = app.wait_card("U_BOSS", contains="Approve")  # the manager's manager
        app.wait_dm(EMPLOYEE, "escalated")
        app.driver.click("U_BOSS", request, "Approve")
        app.wait_dm(EMPLOYEE, "was approved by")
        ctx.engine.dispose()


def test_policy_explain_prints_the_route_and_the_decisions(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(tmp_path, database_url=sqlite_url) as app:
        app.upload(EMPLOYEE, cafe_receipt("42.00"), note="lunch")
        card = app.wait_card(EMPLOYEE)
        assert "Not submitted yet" in app.cli("policy", "explain", "EXP-1").stdout
        app.driver.click(EMPLOYEE, card, "Submit")
        app.driver.click(MANAGER, app.wait_card(MANAGER, contains="Approve"), "Approve")
        app.wait_dm(EMPLOYEE, "was approved by")
        out = app.cli("policy", "explain", "EXP-1").stdout
        assert "route: manager (mgr@example.com) → finance" in out
        assert "step 0 (manager) approved — mgr@example.com" in out
        assert "expense.submitted" in out and "expense.approve" in out
        missing = app.cli("policy", "explain", "EXP-99", check=False)
        assert missing.returncode != 0 and "no expense EXP-99" in missing.stderr
