"""The missing-receipt reminder's **No receipt…** button: the card holder gives a reason in a form;
the policy's ``no_receipt_allowed_up_to`` decides whether that is allowed (signed requests from the
Slack stand-in to the real app)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from bot.blocks.transactions import NO_RECEIPT_VIEW
from tests.support import EMPLOYEE, OTHER, recent_day, running_app

POLICY = """company_currency: USD
receipt_required_above: 75.00
no_receipt_allowed_up_to: 100.00
"""


def _match(app: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in app.cli("transactions", "match", "--json").stdout.splitlines()]


def _wait(condition: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"waited in vain for {what}")


def _reminder(app: Any, amount: str) -> Any:
    return _wait(
        lambda: next(
            (
                m
                for m in app.slack.dm_messages(EMPLOYEE)
                if "no receipt for it" in (m.text or "") and amount in (m.text or "")
            ),
            None,
        ),
        f"the reminder of the {amount} charge",
    )


def _ephemeral(app: Any, user: str, contains: str) -> Any:
    return _wait(lambda: [m for m in app.slack.ephemeral(user) if contains in (m.text or "")], repr(contains))


def test_no_receipt_within_the_policy_is_noted_and_above_it_refused(tmp_path: Path, sqlite_url: str) -> None:
    booked = recent_day(6) + dt.timedelta(days=1)
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    statement = tmp_path / "card.csv"
    statement.write_text(
        f"date,amount,description\n{booked.isoformat()},-88.00,CITY PARKING GARAGE 12\n"
        f"{booked.isoformat()},-240.00,HOTEL LE GRAND PARIS\n"
    )
    env = {"EXPENSEBOT_MISSING_RECEIPT_DAYS": "3", "EXPENSEBOT_POLICY_FILE": str(policy)}
    with running_app(tmp_path, database_url=sqlite_url, extra_env=env) as app:
        app.cli("transactions", "import", str(statement), "--account", "emp@example.com")
        assert [row["status"] for row in _match(app)] == ["missing_receipt", "missing_receipt"]
        parking, hotel = _reminder(app, "88.00 USD"), _reminder(app, "240.00 USD")
        assert "No receipt" in str(parking.buttons())

        # above the policy's limit: a refusal only the card holder sees, no form
        assert app.driver.click(EMPLOYEE, hotel, "No receipt").status_code == 200
        (refusal,) = _ephemeral(app, EMPLOYEE, "needs a receipt for anything above 100.00 USD")
        assert "240.00 USD" in (refusal.text or "") and "ask finance" in (refusal.text or "")
        # someone else may not answer for the card holder
        app.driver.click(OTHER, parking, "No receipt")
        _ephemeral(app, OTHER, "Only the card holder")
        assert all(v.get("callback_id") != NO_RECEIPT_VIEW for v in app.slack.views_opened)

        # within it: a form asks why; a reason is required
        app.driver.click(EMPLOYEE, parking, "No receipt")
        view = app.wait_view(EMPLOYEE, NO_RECEIPT_VIEW)
        answer = app.driver.submit_view(
            EMPLOYEE, view, {"reason": {"reason": {"type": "plain_text_input", "value": " x "}}}
        )
        assert (
            answer.status_code == 200 and "Say why there is no receipt" in answer.json()["errors"]["reason"]
        )
        answer = app.driver.submit_view(
            EMPLOYEE,
            view,
            {"reason": {"reason": {"type": "plain_text_input", "value": "Parking meter,  it gives no slip"}}},
        )
        assert answer.status_code == 200 and not answer.content.strip()
        updated = _wait(
            lambda: (m := app.slack.message(parking.channel, parking.ts)) and "Noted" in (m.text or "") and m,
            "the reminder answered",
        )
        assert not updated.buttons() and "Parking meter, it gives no slip" in (updated.text or "")

        rows = _match(app)  # a later run keeps it, and the hotel still misses its receipt
        assert (
            rows[0]["status"] == "no_receipt"
            and rows[0]["reason"] == "no receipt: Parking meter, it gives no slip"
        )
        assert rows[1]["status"] == "missing_receipt"
        with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
            events = db.execute(
                "SELECT actor, before, after, detail FROM audit_events "
                "WHERE action = 'statement_line.no_receipt'"
            ).fetchall()
        assert len(events) == 1
        actor, before, after, detail = events[0]
        assert actor == EMPLOYEE and detail == "slack"
        assert json.loads(before)["status"] == "missing_receipt"
        assert json.loads(after)["reason"] == "Parking meter, it gives no slip"
