"""SlackDriver: what reaches the app, and how it is signed."""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

import httpx
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from devslack import FakeSlack, SlackDriver, date, select, text_input
from tests.devslack.recorder import SIGNING_SECRET, Captured, Recorder

BLOCKS: list[dict[str, Any]] = [
    {
        "type": "actions",
        "block_id": "decide",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": "e1",
                "action_id": "approve",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Reject"},
                "value": "e1",
                "action_id": "reject",
            },
        ],
    }
]
MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "expense_edit",
    "private_metadata": "exp-1",
    "title": {"type": "plain_text", "text": "Edit expense"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "amount",
            "label": {"type": "plain_text", "text": "Amount"},
            "element": {"type": "plain_text_input", "action_id": "amount_input"},
        }
    ],
}


def verified(captured: Captured) -> bool:
    return SignatureVerifier(SIGNING_SECRET).is_valid_request(captured.body, captured.headers)


def payload_of(captured: Captured) -> dict[str, Any]:
    assert captured.headers["content-type"] == "application/x-www-form-urlencoded"
    form = urllib.parse.parse_qs(captured.body.decode())
    assert list(form) == ["payload"]
    data = json.loads(form["payload"][0])
    assert isinstance(data, dict)
    return data


def web(slack: FakeSlack) -> WebClient:
    return WebClient(token=slack.bot_token, base_url=slack.base_url)


def test_signatures_verify_with_slack_sdk(recorded_driver: tuple[SlackDriver, Recorder]) -> None:
    driver, rec = recorded_driver
    assert driver.url.endswith("/slack/events")
    assert driver.url_verification("chal-123").status_code == 200
    assert verified(rec.last)
    assert rec.last_json() == {
        "token": driver.verification_token,
        "challenge": "chal-123",
        "type": "url_verification",
    }
    assert rec.last.headers["user-agent"].startswith("Slackbot 1.0")

    for mode in ("bad", "stale", "missing"):
        with driver.signing(mode):
            driver.url_verification("x")
        assert not verified(rec.last), mode
    driver.url_verification("y")
    assert verified(rec.last)

    body = b'{"hello": "world"}'
    headers = driver.sign(body, timestamp=int(time.time()))
    assert SignatureVerifier(SIGNING_SECRET).is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )


def test_event_envelope_and_retries(slack: FakeSlack, recorded_driver: tuple[SlackDriver, Recorder]) -> None:
    driver, rec = recorded_driver
    event = driver.dm_message_event("U_ANN", "lunch 12.50")
    driver.event(event)
    first = rec.last_json()
    assert verified(rec.last) and rec.last.headers["content-type"] == "application/json"
    assert first["type"] == "event_callback" and first["team_id"] == slack.team_id
    assert first["api_app_id"] == slack.app_id and first["token"] == driver.verification_token
    assert first["authorizations"][0]["user_id"] == slack.bot_user_id  # type: ignore[index]
    assert first["event"] == event and driver.last_event_id == first["event_id"]
    assert event["channel"] == slack.dm_channel("U_ANN") and event["channel_type"] == "im"
    assert "x-slack-retry-num" not in rec.last.headers
    assert [m.text for m in slack.dm_messages("U_ANN")] == ["lunch 12.50"]

    driver.event(event, retry_num=1, retry_reason="http_timeout")
    retry = rec.last_json()
    assert retry["event_id"] == first["event_id"] and retry["event_time"] == first["event_time"]
    assert rec.last.headers["x-slack-retry-num"] == "1"
    assert rec.last.headers["x-slack-retry-reason"] == "http_timeout"

    driver.event(driver.dm_message_event("U_ANN", "another"))
    assert rec.last_json()["event_id"] != first["event_id"]
    driver.event(event, event_id="EvCUSTOM")
    assert rec.last_json()["event_id"] == "EvCUSTOM"


def test_upload_in_dm(slack: FakeSlack, recorded_driver: tuple[SlackDriver, Recorder]) -> None:
    driver, rec = recorded_driver
    up = driver.upload_in_dm("U_ANN", b"\xff\xd8jpeg", "taxi.jpg", "image/jpeg", text="taxi")
    dm = slack.dm_channel("U_ANN")
    msg_event, shared = up.events
    assert (
        msg_event["subtype"] == "file_share" and msg_event["channel"] == dm and msg_event["user"] == "U_ANN"
    )
    assert msg_event["files"][0]["id"] == up.file["id"] and msg_event["text"] == "taxi"
    assert up.file["ims"] == [dm] and up.file["user"] == "U_ANN"
    assert shared == {
        "type": "file_shared",
        "channel_id": dm,
        "file_id": up.file["id"],
        "user_id": "U_ANN",
        "file": {"id": up.file["id"]},
        "event_ts": shared["event_ts"],
    }
    [stored] = slack.dm_messages("U_ANN")
    assert (
        stored.files[0]["id"] == up.file["id"] and stored.user == "U_ANN" and stored.subtype == "file_share"
    )
    got = httpx.get(up.file["url_private_download"], headers={"Authorization": f"Bearer {slack.bot_token}"})
    assert got.content == b"\xff\xd8jpeg"
    assert web(slack).files_info(file=up.file["id"])["file"]["name"] == "taxi.jpg"

    driver.event(shared)
    first_id = rec.last_json()["event_id"]
    driver.event(shared, retry_num=2, retry_reason="http_error")
    assert rec.last_json()["event_id"] == first_id


def test_click_builds_block_actions(slack: FakeSlack, recorded_driver: tuple[SlackDriver, Recorder]) -> None:
    driver, rec = recorded_driver
    posted = web(slack).chat_postMessage(channel="C_FIN", text="Approve?", blocks=BLOCKS)
    message = slack.messages("C_FIN")[0]
    driver.click("U_ANN", message, "Reject")
    assert verified(rec.last)
    payload = payload_of(rec.last)
    assert payload["type"] == "block_actions"
    assert payload["user"] == {"id": "U_ANN", "username": "ann", "name": "ann", "team_id": slack.team_id}
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "C_FIN",
        "is_ephemeral": False,
    }
    assert payload["channel"] == {"id": "C_FIN", "name": "finance"}
    assert (
        payload["message"]["ts"] == posted["ts"] and payload["message"]["blocks"][0]["block_id"] == "decide"
    )
    [action] = payload["actions"]
    assert action["action_id"] == "reject" and action["block_id"] == "decide" and action["value"] == "e1"
    assert action["type"] == "button" and action["text"]["text"] == "Reject"

    # The trigger_id is live: the app can open a modal with it exactly once.
    assert web(slack).views_open(trigger_id=payload["trigger_id"], view=MODAL)["ok"]
    # The response_url is bound to the clicked message.
    httpx.post(payload["response_url"], json={"replace_original": True, "text": "Rejected"})
    assert slack.message("C_FIN", posted["ts"]).text == "Rejected"


def test_click_on_ephemeral_message(slack: FakeSlack, recorded_driver: tuple[SlackDriver, Recorder]) -> None:
    driver, rec = recorded_driver
    web(slack).chat_postEphemeral(channel="C_FIN", user="U_ANN", text="Only you", blocks=BLOCKS)
    [eph] = slack.ephemeral("U_ANN")
    driver.click("U_ANN", eph, "Approve")
    payload = payload_of(rec.last)
    assert payload["container"]["is_ephemeral"] is True and "message" not in payload
    httpx.post(payload["response_url"], json={"replace_original": True, "text": "Done"})
    assert [m.text for m in slack.ephemeral("U_ANN")] == ["Done"]


def test_view_submission_and_stack(slack: FakeSlack, recorded_driver: tuple[SlackDriver, Recorder]) -> None:
    driver, rec = recorded_driver
    web(slack).views_open(trigger_id=slack.issue_trigger_id("U_ANN"), view=MODAL)
    view = driver.latest_view("U_ANN")
    values = {
        "amount": {"amount_input": text_input("42.50")},
        "category": {"cat": select("travel", "Travel")},
        "when": {"day": date("2024-03-01")},
    }
    rec.reply = {"response_action": "errors", "errors": {"amount": "Too much"}}
    driver.submit_view("U_ANN", view, values)
    payload = payload_of(rec.last)
    assert payload["type"] == "view_submission" and payload["trigger_id"]
    assert payload["view"]["id"] == view["id"] and payload["view"]["callback_id"] == "expense_edit"
    assert payload["view"]["private_metadata"] == "exp-1"
    assert payload["view"]["state"]["values"]["amount"]["amount_input"] == {
        "type": "plain_text_input",
        "value": "42.50",
    }
    assert payload["view"]["state"]["values"]["category"]["cat"]["selected_option"]["value"] == "travel"
    assert payload["view"]["state"]["values"]["when"]["day"]["selected_date"] == "2024-03-01"
    assert len(slack.open_views("U_ANN")) == 1  # errors keep the modal open

    rec.reply = {"response_action": "update", "view": {**MODAL, "private_metadata": "step-2"}}
    driver.submit_view("U_ANN", None, values)
    assert slack.view(view["id"])["private_metadata"] == "step-2"

    rec.reply = None
    driver.submit_view("U_ANN", None, values)
    assert slack.open_views("U_ANN") == []


def test_slash_command_suggestion_and_shortcut(
    slack: FakeSlack, recorded_driver: tuple[SlackDriver, Recorder]
) -> None:
    driver, rec = recorded_driver
    driver.slash_command("U_BOB", "/expense", "new lunch")
    assert verified(rec.last)
    form = {k: v[0] for k, v in urllib.parse.parse_qs(rec.last.body.decode()).items()}
    assert form["command"] == "/expense" and form["text"] == "new lunch" and form["user_id"] == "U_BOB"
    assert form["channel_id"] == slack.dm_channel("U_BOB") and form["team_id"] == slack.team_id
    assert form["trigger_id"] and form["response_url"].startswith(slack.root_url)
    httpx.post(form["response_url"], json={"text": "Working on it"})
    assert [m.text for m in slack.ephemeral("U_BOB")] == ["Working on it"]

    web(slack).views_open(trigger_id=slack.issue_trigger_id("U_BOB"), view=MODAL)
    driver.block_suggestion("U_BOB", "amount_input", "42")
    suggestion = payload_of(rec.last)
    assert suggestion["type"] == "block_suggestion" and suggestion["value"] == "42"
    assert suggestion["block_id"] == "amount" and suggestion["view"]["callback_id"] == "expense_edit"

    message = slack.post_as_user("U_ANN", "C_FIN", "Paid the team lunch")
    driver.message_shortcut("U_ANN", "file_expense", message)
    shortcut = payload_of(rec.last)
    assert shortcut["type"] == "message_action" and shortcut["callback_id"] == "file_expense"
    assert shortcut["message"]["text"] == "Paid the team lunch" and shortcut["message_ts"] == message.ts
    assert shortcut["channel"]["id"] == "C_FIN"


def test_deliver_retries_like_slack(recorded_driver: tuple[SlackDriver, Recorder]) -> None:
    driver, rec = recorded_driver
    event = driver.dm_message_event("U_ANN", "hello")
    rec.statuses = [500, 429]
    rec.delays = [0, 0, 1.0]
    attempts = driver.deliver(event, ack_timeout=0.3)
    assert [a.status_code if a else None for a in attempts] == [500, 429, None, 200]
    assert len({json.loads(r.body)["event_id"] for r in rec.requests}) == 1
    assert [r.headers.get("x-slack-retry-num") for r in rec.requests] == [None, "1", "2", "3"]
    assert [r.headers.get("x-slack-retry-reason") for r in rec.requests] == [
        None,
        "http_error",
        "too_many_requests",
        "http_timeout",
    ]
    assert all(verified(r) for r in rec.requests)


def test_deliver_stops_on_no_retry_and_gives_up_after_three_retries(
    recorded_driver: tuple[SlackDriver, Recorder],
) -> None:
    driver, rec = recorded_driver
    rec.statuses = [503]
    rec.no_retry = True
    assert len(driver.deliver(driver.dm_message_event("U_ANN", "a"))) == 1
    rec.no_retry = False
    rec.statuses = [500, 500, 500, 500]
    attempts = driver.deliver(driver.dm_message_event("U_ANN", "b"))
    assert [a.status_code if a else None for a in attempts] == [500, 500, 500, 500]
