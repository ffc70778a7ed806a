"""Rendering, call subscriptions, selects and in-view interactions."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from devslack import (
    ApiCall,
    FakeSlack,
    SlackDriver,
    render_message,
    render_mrkdwn,
    render_view,
    text_input,
)
from tests.devslack.recorder import Captured, Recorder

CARD: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Lunch &amp; drinks"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "Filed by <@U_ANN> for <https://acme.example|Acme>"},
        "fields": [
            {"type": "mrkdwn", "text": "*Amount*\n12.50 EUR"},
            {"type": "mrkdwn", "text": "*Date*\n1 Mar"},
        ],
    },
    {
        "type": "actions",
        "block_id": "card",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Submit"}, "action_id": "submit"},
            {
                "type": "static_select",
                "action_id": "category",
                "placeholder": {"type": "plain_text", "text": "Category"},
                "options": [
                    {"text": {"type": "plain_text", "text": "Travel"}, "value": "travel"},
                    {"text": {"type": "plain_text", "text": "Meals"}, "value": "meals"},
                ],
            },
        ],
    },
]
MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "edit",
    "title": {"type": "plain_text", "text": "Edit expense"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "amount",
            "label": {"type": "plain_text", "text": "Amount"},
            "element": {"type": "plain_text_input", "action_id": "value", "initial_value": "12.50"},
        },
        {
            "type": "actions",
            "block_id": "tools",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Split"}, "action_id": "split"}
            ],
        },
    ],
}


def web(slack: FakeSlack) -> WebClient:
    return WebClient(token=slack.bot_token, base_url=slack.base_url)


def payload_of(captured: Captured) -> dict[str, Any]:
    data = json.loads(urllib.parse.parse_qs(captured.body.decode())["payload"][0])
    assert isinstance(data, dict)
    return data


def test_render_message_and_view(slack: FakeSlack) -> None:
    web(slack).chat_postMessage(channel="C_FIN", text="Lunch", blocks=CARD)
    [msg] = slack.messages("C_FIN")
    rendered = render_message(msg, names=slack.display_name)
    assert rendered.splitlines()[0].startswith("expensebot  ")
    assert "# Lunch & drinks" in rendered
    assert "Filed by @Ann Lee for Acme (https://acme.example)" in rendered
    assert "*Amount* 12.50 EUR   *Date* 1 Mar" in rendered
    assert "[Submit] [Category ▾]" in rendered
    view = render_view(MODAL)
    assert view.splitlines()[0] == "┌ Edit expense"
    assert "Amount: [12.50]" in view and "[Split]" in view
    assert view.splitlines()[-1] == "└ [Save]"
    assert render_view({"type": "home", "blocks": []}).splitlines() == ["┌ App Home", "└"]
    assert render_mrkdwn("<!here> see <#C1|finance> &lt;3") == "@here see #finance <3"


def test_transcript_includes_ephemeral_messages(slack: FakeSlack) -> None:
    client = web(slack)
    client.chat_postMessage(channel="C_FIN", text="Public note")
    client.chat_postEphemeral(channel="C_FIN", user="U_ANN", text="Just for Ann")
    text = slack.transcript("C_FIN")
    assert text.index("Public note") < text.index("Just for Ann")
    assert "(only visible to Ann Lee)" in text


def test_subscribe_sees_each_call_after_it_is_applied(slack: FakeSlack) -> None:
    seen: list[tuple[str, int]] = []

    def listener(call: ApiCall) -> None:
        seen.append((call.method, len(slack.messages("C_FIN"))))

    unsubscribe = slack.subscribe(listener)
    client = web(slack)
    client.chat_postMessage(channel="C_FIN", text="one")
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C_NOPE", text="two")
    unsubscribe()
    client.chat_postMessage(channel="C_FIN", text="three")
    assert seen == [("chat.postMessage", 1), ("chat.postMessage", 1)]


def test_choose_sends_the_selected_option(
    slack: FakeSlack, recorded_driver: tuple[SlackDriver, Recorder]
) -> None:
    driver, rec = recorded_driver
    web(slack).chat_postMessage(channel="C_FIN", text="Lunch", blocks=CARD)
    [msg] = slack.messages("C_FIN")
    driver.choose("U_ANN", "category", "meals", message=msg)
    payload = payload_of(rec.last)
    [action] = payload["actions"]
    assert (
        action["type"] == "static_select"
        and action["action_id"] == "category"
        and action["block_id"] == "card"
    )
    assert action["selected_option"] == {
        "text": {"type": "plain_text", "text": "Meals", "emoji": True},
        "value": "meals",
    }
    with pytest.raises(AssertionError, match="no element with action_id 'nope'"):
        driver.choose("U_ANN", "nope", "x", message=msg)


def test_click_in_view_carries_typed_values(
    slack: FakeSlack, recorded_driver: tuple[SlackDriver, Recorder]
) -> None:
    driver, rec = recorded_driver
    web(slack).views_open(trigger_id=slack.issue_trigger_id("U_ANN"), view=MODAL)
    view = driver.latest_view("U_ANN")
    values = {"amount": {"value": text_input("99.00")}}
    driver.click_in_view("U_ANN", view, "Split", values=values)
    payload = payload_of(rec.last)
    assert payload["container"] == {"type": "view", "view_id": view["id"]}
    assert payload["view"]["state"]["values"] == values and "response_url" not in payload
    assert payload["actions"][0]["action_id"] == "split" and payload["actions"][0]["block_id"] == "tools"
    assert slack.view(view["id"])["state"]["values"] == values
    # The app may push a follow-up modal with the trigger from this click.
    assert web(slack).views_push(trigger_id=payload["trigger_id"], view=MODAL)["ok"]


def test_app_home_button(slack: FakeSlack, recorded_driver: tuple[SlackDriver, Recorder]) -> None:
    driver, rec = recorded_driver
    home = {"type": "home", "blocks": CARD}
    web(slack).views_publish(user_id="U_BOB", view=home)
    published = slack.home_view("U_BOB")
    assert published is not None
    driver.click_in_view("U_BOB", published, "Submit")
    payload = payload_of(rec.last)
    assert payload["view"]["type"] == "home" and payload["container"]["view_id"] == published["id"]
    driver.app_home_opened("U_BOB")
    event = rec.last_json()["event"]
    assert isinstance(event, dict)
    assert event["type"] == "app_home_opened" and event["view"]["id"] == published["id"]


def test_updating_a_closed_modal_is_not_found(
    slack: FakeSlack, recorded_driver: tuple[SlackDriver, Recorder]
) -> None:
    driver, _ = recorded_driver
    view = web(slack).views_open(trigger_id=slack.issue_trigger_id("U_ANN"), view=MODAL)["view"]
    driver.submit_view("U_ANN", view, {"amount": {"value": text_input("1")}})  # empty ack closes it
    assert slack.open_views("U_ANN") == []
    with pytest.raises(SlackApiError) as exc:
        web(slack).views_update(view_id=view["id"], view=MODAL)
    assert exc.value.response["error"] == "not_found"


def test_close_view_notifies_only_when_asked(
    slack: FakeSlack, recorded_driver: tuple[SlackDriver, Recorder]
) -> None:
    driver, rec = recorded_driver
    web(slack).views_open(trigger_id=slack.issue_trigger_id("U_ANN"), view=MODAL)
    assert driver.close_view("U_ANN") is None and rec.requests == []
    web(slack).views_open(trigger_id=slack.issue_trigger_id("U_ANN"), view={**MODAL, "notify_on_close": True})
    response = driver.close_view("U_ANN")
    assert response is not None and payload_of(rec.last)["type"] == "view_closed"
    assert slack.open_views("U_ANN") == []


def test_echoes_of_the_apps_own_dm_messages(
    slack: FakeSlack, recorded_driver: tuple[SlackDriver, Recorder]
) -> None:
    driver, rec = recorded_driver
    driver.start_echoes()
    client = web(slack)
    client.chat_postMessage(channel="C_FIN", text="not a DM: no echo")
    posted = client.chat_postMessage(channel="U_ANN", text="Your card")
    slack.wait_until(lambda: len(rec.requests) >= 1, what="echo of the post")
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Your card (updated)")
    slack.wait_until(lambda: len(rec.requests) >= 2, what="echo of the edit")
    driver.stop_echoes()
    echo, changed = (json.loads(r.body)["event"] for r in rec.requests)
    assert echo["bot_id"] == slack.bot_id and echo["user"] == slack.bot_user_id
    assert (
        echo["channel"] == posted["channel"] and echo["ts"] == posted["ts"] and echo["channel_type"] == "im"
    )
    assert changed["subtype"] == "message_changed" and changed["message"]["text"] == "Your card (updated)"
    assert changed["message"]["ts"] == posted["ts"]
    client.chat_postMessage(channel="U_ANN", text="after stop")
    assert len(rec.requests) == 2
    assert all(r.status_code == 200 for r in driver.echo_responses)
    assert slack.calls_to("chat.postMessage")[-1].response["ts"]  # type: ignore[index]
