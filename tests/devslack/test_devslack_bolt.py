"""The fake and the driver against a real slack-bolt AsyncApp served by FastAPI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from devslack import BackgroundServer, FakeSlack, SlackDriver, text_input
from tests.devslack.recorder import SIGNING_SECRET

BUTTONS = [
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Edit"},
                "action_id": "edit",
                "value": "exp-9",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Approve"},
                "action_id": "approve",
                "value": "exp-9",
            },
        ],
    }
]
MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "edit_modal",
    "title": {"type": "plain_text", "text": "Edit"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "amount",
            "label": {"type": "plain_text", "text": "Amount"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}


def build_app(slack: FakeSlack) -> FastAPI:
    bolt = AsyncApp(
        token=slack.bot_token,
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.base_url),
    )

    @bolt.event("message")
    async def on_message(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("subtype") == "file_share":
            file = (await client.files_info(file=event["files"][0]["id"]))["file"]
            await client.chat_postMessage(
                channel=event["channel"], text=f"Got {file['name']}", blocks=BUTTONS
            )
        else:
            await client.chat_postMessage(channel=event["channel"], text=f"You said: {event['text']}")

    @bolt.event("file_shared")
    async def on_file_shared(event: dict[str, Any]) -> None:
        return None

    @bolt.action("approve")
    async def on_approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")

    @bolt.action("edit")
    async def on_edit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @bolt.view("edit_modal")
    async def on_submit(ack: AsyncAck, view: dict[str, Any]) -> None:
        amount = view["state"]["values"]["amount"]["value"]["value"]
        if not amount.replace(".", "").isdigit():
            await ack(response_action="errors", errors={"amount": "Not a number"})
        else:
            await ack()

    @bolt.command("/expense")
    async def on_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack(f"Filing {command['text']}")

    handler = AsyncSlackRequestHandler(bolt)
    api = FastAPI()

    @api.post("/slack/events")
    async def events(req: Request) -> Response:
        return await handler.handle(req)

    return api


@pytest.fixture
def driver(slack: FakeSlack) -> Iterator[SlackDriver]:
    with (
        BackgroundServer(build_app(slack), name="bolt-app") as server,
        SlackDriver(server.url, SIGNING_SECRET, slack) as drv,
    ):
        yield drv


def test_full_round_trip_through_bolt(slack: FakeSlack, driver: SlackDriver) -> None:
    assert driver.send_dm("U_ANN", "hello").status_code == 200
    reply = slack.wait_for("chat.postMessage", lambda c: c.args.get("text") == "You said: hello")
    assert reply.args["channel"] == slack.dm_channel("U_ANN")
    assert slack.calls_to("auth.test")  # bolt verified its token against the fake

    up = driver.upload_in_dm("U_ANN", b"jpeg", "dinner.jpg", "image/jpeg")
    assert driver.event(up.message_event).status_code == 200
    assert driver.event(up.file_shared_event).status_code == 200
    slack.wait_for("chat.postMessage", lambda c: c.args.get("text") == "Got dinner.jpg")
    card = slack.dm_messages("U_ANN")[-1]
    assert card.text == "Got dinner.jpg" and [b["action_id"] for b in card.buttons()] == ["edit", "approve"]

    assert driver.click("U_ANN", card, "Edit").status_code == 200
    slack.wait_for("views.open", lambda c: c.ok)
    view = driver.latest_view("U_ANN")
    refused = driver.submit_view("U_ANN", view, {"amount": {"value": text_input("lots")}})
    assert refused.json() == {"response_action": "errors", "errors": {"amount": "Not a number"}}
    assert len(slack.open_views("U_ANN")) == 1
    accepted = driver.submit_view("U_ANN", view, {"amount": {"value": text_input("12.50")}})
    assert accepted.status_code == 200 and slack.open_views("U_ANN") == []

    assert driver.click("U_ANN", card, "Approve").status_code == 200
    approved = slack.wait_for_message(
        card.channel, lambda m: m.ts == card.ts and m.text.startswith("Approved")
    )
    assert approved.text == "Approved by <@U_ANN>" and approved.buttons() == []
    assert slack.response_url_posts[-1].body["replace_original"] is True

    command = driver.slash_command("U_BOB", "/expense", "taxi 30")
    assert command.status_code == 200 and command.text == "Filing taxi 30"


def test_bolt_ignores_echoes_of_its_own_messages(slack: FakeSlack, driver: SlackDriver) -> None:
    driver.start_echoes()
    driver.send_dm("U_BOB", "ping")
    slack.wait_for_message("U_BOB", lambda m: m.text == "You said: ping")
    slack.wait_until(lambda: len(driver.echo_responses) >= 1, what="echo delivered")
    time.sleep(0.5)
    assert [m.text for m in slack.dm_messages("U_BOB")] == ["ping", "You said: ping"]
    assert driver.echo_responses[0].status_code == 200


def test_bolt_refuses_bad_and_stale_signatures(driver: SlackDriver) -> None:
    for mode in ("bad", "stale", "missing"):
        with driver.signing(mode):
            assert driver.send_dm("U_ANN", "hi").status_code == 401, mode
    assert driver.url_verification("abc").json() == {"challenge": "abc"}
