"""Bad inputs and the employee's other paths, through Slack's protocol (SQLite, in-process jobs)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from devslack import date, external_select, select, text_input
from tests.support import (
    ADMIN,
    EMPLOYEE,
    FINANCE,
    MANAGER,
    Harness,
    cafe_receipt,
    recent_day,
    render_receipt,
    running_app,
)


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str) -> Iterator[Harness]:
    with running_app(
        tmp_path, database_url=sqlite_url, extra_env={"EXPENSEBOT_MAX_UPLOAD_BYTES": "400000"}
    ) as h:
        yield h


def card_text(message: Any) -> str:
    return str(message.blocks)


def wait_until(check: Any, timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def last_ephemeral(app: Harness, before: int) -> str:
    posts = wait_until(lambda: app.slack.response_url_posts[before:])
    return str(posts[-1].body.get("text"))


def test_a_file_that_is_not_a_receipt_gets_a_clear_answer(app: Harness) -> None:
    app.upload(EMPLOYEE, b"just some notes\n", name="notes.txt", mimetype="text/plain")
    reply = wait_until(
        lambda: [m for m in app.slack.dm_messages(EMPLOYEE) if "not a receipt" in (m.text or "")]
    )
    assert "notes.txt" in reply[0].text and "PDF" in reply[0].text
    assert len(reply) == 1
    assert not [m for m in app.slack.dm_messages(EMPLOYEE) if m.buttons()]


def test_a_corrupt_image_keeps_the_file_and_asks_for_the_details(app: Harness) -> None:
    app.upload(EMPLOYEE, b"\xff\xd8\xff\xe0" + b"garbage" * 100, name="broken.jpg")
    card = app.wait_card(EMPLOYEE)
    text = card_text(card)
    assert "Edit" in text and "not read" in text


def test_a_huge_file_is_refused_with_its_size(app: Harness) -> None:
    noise = Image.effect_noise((1400, 1400), 80).convert("RGB")
    out = io.BytesIO()
    noise.save(out, format="PNG")
    assert len(out.getvalue()) > 400_000
    app.upload(EMPLOYEE, out.getvalue(), name="big.png", mimetype="image/png")
    card = app.wait_card(EMPLOYEE)
    assert "MB" in card_text(card) and "smaller" in card_text(card)


def test_no_total_means_the_card_asks_and_submit_is_refused(app: Harness) -> None:
    app.upload(
        EMPLOYEE, render_receipt(["MEETING NOTES", "Agenda for the quarterly review", "Budget and hiring"])
    )
    card = app.wait_card(EMPLOYEE)
    assert "could not read the total" in card_text(card)
    before = len(app.slack.response_url_posts)
    app.driver.click(EMPLOYEE, card, "Submit")
    assert "not ready to submit" in last_ephemeral(app, before)
    assert not app.slack.dm_messages(MANAGER)


def test_edit_validates_and_updates_the_card(app: Harness) -> None:
    app.upload(EMPLOYEE, cafe_receipt("42.50"), note="lunch")
    card = app.wait_card(EMPLOYEE)
    app.driver.click(EMPLOYEE, card, "Edit")
    modal = app.wait_view(EMPLOYEE, "expense_edit_view")
    fields = {b["block_id"]: b for b in modal["blocks"]}
    assert fields["amount"]["element"]["initial_value"] == "42.50"

    def values(amount: str, currency: str) -> dict[str, Any]:
        return {
            "merchant": {"merchant": text_input("Blue Bottle Cafe")},
            "date": {"date": date(recent_day().isoformat())},
            "amount": {"amount": text_input(amount)},
            "currency": {"currency": text_input(currency)},
            "category": {"category": select("meals", "Meals")},
            "note": {"note": text_input("lunch with the Acme team")},
            "project": {"project": text_input("Apollo rollout")},
        }

    for amount, currency, block in [
        ("-5", "USD", "amount"),
        ("abc", "USD", "amount"),
        ("0", "USD", "amount"),
        ("12.00", "XYZ", "currency"),
    ]:
        answer = app.driver.submit_view(EMPLOYEE, modal, values(amount, currency))
        assert answer.json()["response_action"] == "errors"
        assert block in answer.json()["errors"]
    app.driver.submit_view(EMPLOYEE, modal, values("1,234.5", "eur"))
    updated = wait_until(lambda: "1,234.50 EUR" in card_text(app.slack.message(card.channel, card.ts)))
    assert updated
    assert "Blue Bottle Cafe" in card_text(app.slack.message(card.channel, card.ts))
    assert "Project: Apollo rollout" in card_text(app.slack.message(card.channel, card.ts))


def test_someone_else_cannot_use_my_card(app: Harness) -> None:
    app.upload(EMPLOYEE, cafe_receipt("9.90"))
    card = app.wait_card(EMPLOYEE)
    for label in ("Submit", "Discard"):
        before = len(app.slack.response_url_posts)
        app.driver.click(MANAGER, card, label)
        assert f"Only <@{EMPLOYEE}>" in last_ephemeral(app, before)
    assert "Submit" in str(app.slack.message(card.channel, card.ts).buttons())


def test_sender_missing_from_the_directory_is_told_who_to_ask(app: Harness) -> None:
    app.slack.add_user("U_NEW", "newbie@example.com", real_name="New Person")
    app.upload("U_NEW", cafe_receipt("12.00"))
    card = app.wait_card("U_NEW")
    before = len(app.slack.response_url_posts)
    app.driver.click("U_NEW", card, "Submit")
    text = last_ephemeral(app, before)
    assert "not in the company directory" in text and "admin@example.com" in text


def test_no_manager_on_file_tells_the_admins(app: Harness) -> None:
    app.slack.add_user("U_SOLO", "solo@example.com", real_name="Sol Solo")
    app.upload("U_SOLO", cafe_receipt("30.00"))
    card = app.wait_card("U_SOLO")
    before = len(app.slack.response_url_posts)
    app.driver.click("U_SOLO", card, "Submit")
    assert "admins have been told" in last_ephemeral(app, before)
    warned = wait_until(
        lambda: [m for m in app.slack.dm_messages(ADMIN) if "solo@example.com" in (m.text or "")]
    )
    assert warned


def test_slack_rate_limits_are_honoured(app: Harness) -> None:
    app.slack.rate_limit("chat.postMessage", times=2, retry_after=1)
    app.upload(EMPLOYEE, cafe_receipt("15.00"))
    card = app.wait_card(EMPLOYEE, timeout=30)
    assert "15.00" in card_text(card)
    limited = [c for c in app.slack.calls_to("chat.postMessage") if c.http_status == 429]
    assert len(limited) == 2


def test_discard(app: Harness) -> None:
    app.upload(EMPLOYEE, cafe_receipt("5.00"))
    card = app.wait_card(EMPLOYEE)
    app.driver.click(EMPLOYEE, card, "Discard")
    wait_until(lambda: app.slack.message(card.channel, card.ts).buttons() == [])
    assert "Discarded" in card_text(app.slack.message(card.channel, card.ts))


def test_send_back_edit_and_resubmit_keeps_history(app: Harness) -> None:
    app.upload(EMPLOYEE, cafe_receipt("64.00"), note="dinner")
    card = app.wait_card(EMPLOYEE)
    app.driver.click(EMPLOYEE, card, "Submit")
    request = app.wait_card(MANAGER, contains="Ask for changes")
    app.driver.click(MANAGER, request, "Ask for changes")
    app.driver.submit_view(
        MANAGER,
        app.wait_view(MANAGER, "approval_reason_view"),
        {"reason": {"reason": text_input("Add who attended")}},
    )
    told = app.wait_dm(EMPLOYEE, "asked for changes")
    assert "“Add who attended”" in told.text
    wait_until(lambda: "Submit" in str(app.slack.message(card.channel, card.ts).buttons()))
    app.driver.click(EMPLOYEE, card, "Submit")
    second = wait_until(
        lambda: [m for m in app.slack.dm_messages(MANAGER) if m.buttons() and m.ts != request.ts]
    )
    assert second
    # The old request is outdated: a click on it says what happened and changes nothing.
    button = next(b for b in request.buttons() if b["text"]["text"] == "Approve")
    before = len(app.slack.response_url_posts)
    app.driver.block_action(MANAGER, button["action_id"], button["value"], channel=request.channel)
    assert "already sent back" in last_ephemeral(app, before)


def test_slash_command_opens_the_form_and_creates_a_card(app: Harness) -> None:
    assert app.driver.slash_command(EMPLOYEE, "/expense").status_code == 200
    modal = app.wait_view(EMPLOYEE, "expense_new_view")
    app.driver.submit_view(
        EMPLOYEE,
        modal,
        {
            "merchant": {"merchant": text_input("Metro Taxi")},
            "date": {"date": date(recent_day(2).isoformat())},
            "amount": {"amount": text_input("23.40")},
            "currency": {"currency": text_input("USD")},
            "category": {"category": select("travel", "Travel")},
            "note": {"note": text_input("to the Globex office")},
        },
    )
    card = app.wait_card(EMPLOYEE)
    assert "23.40 USD" in card_text(card) and "Metro Taxi" in card_text(card)


def test_message_shortcut_turns_a_message_into_an_expense(app: Harness) -> None:
    file = app.slack.add_file(cafe_receipt("11.00"), "r.jpg", "image/jpeg", EMPLOYEE)
    message = app.slack.post_as_user(EMPLOYEE, EMPLOYEE, "receipt from yesterday", files=[file])
    assert app.driver.message_shortcut(EMPLOYEE, "create_expense", message).status_code == 200
    card = app.wait_card(EMPLOYEE)
    assert "11.00" in card_text(card)


def test_app_home_lists_my_expenses(app: Harness) -> None:
    app.upload(EMPLOYEE, cafe_receipt("8.80"))
    app.wait_card(EMPLOYEE)
    app.driver.app_home_opened(EMPLOYEE)
    home = wait_until(lambda: app.slack.home_view(EMPLOYEE))
    assert "My expenses" in str(home["blocks"]) and "8.80 USD" in str(home["blocks"])


def test_a_receipt_posted_in_the_expenses_channel_works_like_the_dm(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(
        tmp_path, database_url=sqlite_url, extra_env={"EXPENSEBOT_EXPENSES_CHANNELS": "C_EXP"}
    ) as app:
        app.slack.add_channel("C_EXP", "expenses")
        file = app.slack.add_file(cafe_receipt("19.99"), "r.jpg", "image/jpeg", EMPLOYEE)
        message = app.slack.post_as_user(EMPLOYEE, "C_EXP", "taxi to Globex", files=[file])
        event = {
            "type": "message",
            "subtype": "file_share",
            "channel": "C_EXP",
            "channel_type": "channel",
            "user": EMPLOYEE,
            "text": "taxi to Globex",
            "ts": message.ts,
            "files": [app.slack.file(file["id"])],
        }
        assert app.driver.event(event).status_code == 200
        card = app.wait_card(EMPLOYEE)
        assert "19.99" in card_text(card) and card.channel.startswith("D")
        note = wait_until(lambda: app.slack.thread("C_EXP", message.ts)[1:])
        assert "direct message" in note[-1].text
        # A file in a channel that is not an expenses channel is ignored.
        other = app.slack.add_file(cafe_receipt("1.00"), "x.jpg", "image/jpeg", EMPLOYEE)
        app.slack.add_channel("C_RANDOM", "random")
        msg = app.slack.post_as_user(EMPLOYEE, "C_RANDOM", "lol", files=[other])
        app.driver.event(
            {**event, "channel": "C_RANDOM", "ts": msg.ts, "files": [app.slack.file(other["id"])]}
        )
        time.sleep(1.5)
        assert len([m for m in app.slack.dm_messages(EMPLOYEE) if m.buttons()]) == 1


def test_slack_server_errors_while_reading_are_retried(app: Harness) -> None:
    app.slack.fail("files.info", "internal_error", times=3, status=500)
    app.upload(EMPLOYEE, cafe_receipt("27.00"))
    card = app.wait_card(EMPLOYEE, timeout=40)
    assert "27.00" in card_text(card)
    assert len([c for c in app.slack.calls_to("files.info") if c.http_status == 500]) == 3


def test_a_job_that_keeps_failing_ends_with_a_card_to_fill_in(tmp_path: Path, sqlite_url: str) -> None:
    fast = {"EXPENSEBOT_JOB_RETRY_DELAYS": "0.2,0.2"}
    with running_app(tmp_path, database_url=sqlite_url, extra_env=fast) as app:
        app.slack.fail("files.info", "internal_error", times=50)
        app.upload(EMPLOYEE, cafe_receipt("33.00"))
        card = app.wait_card(EMPLOYEE, timeout=30)
        assert "internal error" in card_text(card) and "Edit" in card_text(card)
        assert (
            len(app.slack.calls_to("files.info")) >= 3
        )  # first try + two retries (+ the file_shared lookup)


def test_customer_picker_and_a_correction_changes_the_next_match(app: Harness) -> None:
    app.upload(EMPLOYEE, cafe_receipt("40.00"), note="lunch with the Initrode folks")
    card = app.wait_card(EMPLOYEE)
    assert "Globex" not in card_text(card)
    app.driver.click(EMPLOYEE, card, "Edit")
    modal = app.wait_view(EMPLOYEE, "expense_edit_view")
    options = app.driver.block_suggestion(EMPLOYEE, "customer_search", "glob", view=modal).json()["options"]
    globex = next(o for o in options if o["text"]["text"] == "Globex Industries Inc")
    assert options[-1]["value"] == "none"  # "No customer" is always a choice
    fields = {b["block_id"]: b for b in modal["blocks"]}
    values = {
        "merchant": {"merchant": text_input("Blue Bottle Cafe")},
        "date": {"date": date(fields["date"]["element"].get("initial_date", recent_day().isoformat()))},
        "amount": {"amount": text_input("40.00")},
        "currency": {"currency": text_input("USD")},
        "category": {"category": select("client_entertainment", "Client entertainment")},
        "customer": {"customer_search": external_select(globex["value"], globex["text"]["text"])},
        "note": {"note": text_input("lunch with the Initrode folks")},
    }
    app.driver.submit_view(EMPLOYEE, modal, values)
    wait_until(lambda: "Globex Industries Inc" in card_text(app.slack.message(card.channel, card.ts)))
    # The correction was remembered: the next note with that name matches.
    app.upload(EMPLOYEE, cafe_receipt("55.00"), note="dinner with Initrode")
    second = wait_until(
        lambda: [m for m in app.slack.dm_messages(EMPLOYEE) if m.buttons() and "55.00" in card_text(m)]
    )[0]
    assert "Globex Industries Inc" in card_text(second)
    # ... for everyone, not only the employee's own team (finance is another department).
    app.upload(FINANCE, cafe_receipt("66.00"), note="coffee w/ the Initrode folks")
    third = wait_until(
        lambda: [m for m in app.slack.dm_messages(FINANCE) if m.buttons() and "66.00" in card_text(m)]
    )[0]
    assert "Globex Industries Inc" in card_text(third)


def test_an_approver_can_approve_a_lower_amount_with_a_reason(app: Harness) -> None:
    app.upload(EMPLOYEE, cafe_receipt("64.00"), note="team dinner")
    card = app.wait_card(EMPLOYEE)
    app.driver.click(EMPLOYEE, card, "Submit")
    request = app.wait_card(MANAGER, contains="Approve")
    more = next(b for b in request.blocks if b.get("block_id") == "approval_more")["accessory"]
    app.driver.block_action(
        MANAGER,
        more["action_id"],
        message=request,
        action={"type": "overflow", "selected_option": more["options"][0]},
    )
    modal = app.wait_view(MANAGER, "approval_partial_view")
    too_much = app.driver.submit_view(
        MANAGER, modal, {"amount": {"amount": text_input("80")}, "reason": {"reason": text_input("alcohol")}}
    )
    assert too_much.json()["response_action"] == "errors"
    app.driver.submit_view(
        MANAGER,
        modal,
        {
            "amount": {"amount": text_input("50.00")},
            "reason": {"reason": text_input("Wine is not reimbursed")},
        },
    )
    told = app.wait_dm(EMPLOYEE, "was approved by")
    assert "50.00 USD of the 64.00 USD claimed" in told.text and "Wine is not reimbursed" in told.text


def test_a_merchant_correction_is_recognised_next_time(app: Harness) -> None:
    app.upload(EMPLOYEE, cafe_receipt("12.00"))
    card = app.wait_card(EMPLOYEE)
    app.driver.click(EMPLOYEE, card, "Edit")
    modal = app.wait_view(EMPLOYEE, "expense_edit_view")
    app.driver.submit_view(
        EMPLOYEE,
        modal,
        {
            "merchant": {"merchant": text_input("Blue Bottle Coffee Roasters")},
            "date": {"date": date(recent_day().isoformat())},
            "amount": {"amount": text_input("12.00")},
            "currency": {"currency": text_input("USD")},
            "category": {"category": select("meals", "Meals")},
            "note": {"note": text_input("")},
        },
    )
    wait_until(lambda: "Blue Bottle Coffee Roasters" in card_text(app.slack.message(card.channel, card.ts)))
    app.upload(EMPLOYEE, cafe_receipt("17.50", date="15/11/2026"))
    second = wait_until(
        lambda: [m for m in app.slack.dm_messages(EMPLOYEE) if m.buttons() and "17.50" in card_text(m)]
    )
    assert "Blue Bottle Coffee Roasters" in card_text(second[0])


def test_the_same_receipt_twice_is_flagged_as_a_possible_duplicate(app: Harness) -> None:
    receipt = cafe_receipt("36.40")
    app.upload(EMPLOYEE, receipt, name="first.jpg")
    first = app.wait_card(EMPLOYEE)
    app.driver.click(EMPLOYEE, first, "Submit")
    app.wait_card(MANAGER, contains="Approve")
    app.upload(EMPLOYEE, receipt, name="again.jpg")
    second = wait_until(
        lambda: [m for m in app.slack.dm_messages(EMPLOYEE) if m.buttons() and m.ts != first.ts]
    )[0]
    assert "Looks like the expense you submitted on" in card_text(second) and "EXP-1" in card_text(second)


def test_a_mileage_claim_is_priced_from_the_distance(app: Harness) -> None:
    app.driver.slash_command(EMPLOYEE, "/expense")
    modal = app.wait_view(EMPLOYEE, "expense_new_view")
    values = {
        "merchant": {"merchant": text_input("Own car")},
        "date": {"date": date(recent_day(2).isoformat())},
        "amount": {"amount": text_input(None)},
        "currency": {"currency": text_input("USD")},
        "category": {"category": select("mileage", "Mileage")},
        "note": {"note": text_input("to the Acme plant")},
    }
    answer = app.driver.submit_view(EMPLOYEE, modal, values)
    assert "distance" in answer.json()["errors"]
    app.driver.submit_view(EMPLOYEE, modal, {**values, "distance": {"distance": text_input("100")}})
    card = app.wait_card(EMPLOYEE)
    assert "67.00 USD" in card_text(card) and "Distance: 100" in card_text(card)  # 0.67 per mile by default
