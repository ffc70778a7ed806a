"""A near match offered in the receipt's Slack thread: Confirm links it, Not this one never offers it again."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

from tests.support import EMPLOYEE, OTHER, cafe_receipt, recent_day, running_app


def _offer(app: Any, card: Any, *, contains: str = "Confirm", timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in app.slack.thread(card.channel, card.ts):
            if message.ts != card.ts and any(
                contains in str(b.get("text", {}).get("text", "")) for b in message.buttons()
            ):
                return message
        time.sleep(0.1)
    raise AssertionError(f"no near-match question in the thread of {card.ts}")


def _statement(tmp: Path, name: str, amount: str, day: dt.date) -> Path:
    path = tmp / name
    path.write_text(f"date,amount,description\n{day.isoformat()},{amount},SQ *BLUE BOTTLE CAFE SPRINGFIELD\n")
    return path


def _match(app: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in app.cli("transactions", "match", "--json").stdout.splitlines()]


def test_near_match_confirmed_and_another_refused(tmp_path: Path, sqlite_url: str) -> None:
    day = recent_day()
    with running_app(tmp_path, database_url=sqlite_url) as app:
        app.upload(EMPLOYEE, cafe_receipt("42.50", day.strftime("%m/%d/%Y")))
        card = app.wait_card(EMPLOYEE)
        ref = next(part for part in str(card.blocks).split() if part.startswith("EXP-")).strip("',\"")
        # a charge a little above the receipt (a surcharge, or a misread total?): offered, not linked
        tipped = _statement(tmp_path, "card1.csv", "-43.50", day)
        app.cli("transactions", "import", str(tipped), "--account", "emp@example.com")
        (row,) = _match(app)
        assert (row["status"], row["expense"]) == ("suggested", ref)
        question = _offer(app, card)
        assert "43.50" in str(question.blocks) and "42.50" in str(question.blocks)
        # someone else may not answer for the employee
        app.driver.click(OTHER, question, "Confirm")
        app.driver.click(EMPLOYEE, question, "Confirm")
        deadline = time.monotonic() + 60  # a generous wait for the app, not a speed check
        while time.monotonic() < deadline and "Linked" not in str(
            app.slack.message(question.channel, question.ts).blocks
        ):
            time.sleep(0.1)
        answered = app.slack.message(question.channel, question.ts)
        assert "Linked" in str(answered.blocks) and not answered.buttons()
        (row,) = _match(app)
        assert (row["status"], row["expense"]) == ("matched", ref)

        # a second charge, offered against the same receipt? it is linked already, so a new receipt
        app.upload(EMPLOYEE, cafe_receipt("18.00", day.strftime("%m/%d/%Y")), name="second.jpg")
        deadline = time.monotonic() + 40
        cards: list[Any] = []
        while time.monotonic() < deadline and len(cards) < 2:
            cards = [
                m
                for m in app.slack.dm_messages(EMPLOYEE)
                if any("Submit" in str(b.get("text", {}).get("text", "")) for b in m.buttons())
            ]
            time.sleep(0.1)
        second = cards[-1]
        app.cli(
            "transactions",
            "import",
            str(_statement(tmp_path, "card2.csv", "-18.50", day)),
            "--account",
            "emp@example.com",
        )
        rows = _match(app)
        assert rows[1]["status"] == "suggested"
        question = _offer(app, second)
        app.driver.click(EMPLOYEE, question, "Not this one")
        deadline = time.monotonic() + 60  # a generous wait for the app, not a speed check
        while time.monotonic() < deadline and "Noted" not in str(
            app.slack.message(question.channel, question.ts).blocks
        ):
            time.sleep(0.1)
        assert not app.slack.message(question.channel, question.ts).buttons()
        rows = _match(app)
        assert rows[1]["status"] == "unmatched" and rows[1]["expense"] is None  # never offered again
        assert rows[0]["status"] == "matched"
        refusals = [m for m in app.slack.ephemeral(OTHER) if "Only the owner" in (m.text or "")]
        assert refusals


def test_a_missing_receipt_reminder_answered_with_a_photo(tmp_path: Path, sqlite_url: str) -> None:
    bought = recent_day(6)
    booked = bought + dt.timedelta(days=1)
    with running_app(
        tmp_path, database_url=sqlite_url, extra_env={"EXPENSEBOT_MISSING_RECEIPT_DAYS": "3"}
    ) as app:
        app.cli(
            "transactions",
            "import",
            str(_statement(tmp_path, "card.csv", "-88.00", booked)),
            "--account",
            "emp@example.com",
        )
        (row,) = _match(app)
        assert row["status"] == "missing_receipt"
        reminder = app.wait_dm(EMPLOYEE, "no receipt for it")
        assert "88.00 USD" in (reminder.text or "") and booked.isoformat() in (reminder.text or "")
        _match(app)  # a second run does not remind again
        time.sleep(3)
        assert len([m for m in app.slack.dm_messages(EMPLOYEE) if "no receipt for it" in (m.text or "")]) == 1
        app.upload(EMPLOYEE, cafe_receipt("88.00", bought.strftime("%m/%d/%Y")))
        card = app.wait_card(EMPLOYEE)
        ref = next(part for part in str(card.blocks).split() if part.startswith("EXP-")).strip("',\"")
        (row,) = _match(app)
        assert (row["status"], row["expense"]) == ("matched", ref)
