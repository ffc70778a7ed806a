"""A local stand-in for Slack, used by the test suite and by ``expensebot demo``.

``FakeSlack`` is Slack's Web API on a loopback port (the app reaches it through
slack_sdk with ``base_url=fake.base_url``, i.e. ``SLACK_API_URL``) plus the
workspace behind it: users, channels, DMs, messages, ephemeral messages, views,
App Homes, files (``url_private`` needs the bot token), response_urls.
``SlackDriver`` is Slack's side of inbound traffic: signed events, interactions
and slash commands posted to the app's ``/slack/events``.

    with FakeSlack() as slack:
        slack.add_user("U1", "ann@example.com", real_name="Ann Lee")
        slack.add_channel("C_FIN", "finance")
        # run the app with SLACK_API_URL=slack.base_url, SLACK_BOT_TOKEN=slack.bot_token
        with BackgroundServer(app) as server, SlackDriver(server.url, secret, slack) as driver:
            up = driver.upload_in_dm("U1", jpeg, "receipt.jpg", "image/jpeg", text="client lunch")
            for event in up.events:
                driver.event(event)
            card = slack.wait_for_message("U1", lambda m: bool(m.buttons()))
            driver.click("U1", card, "Edit")
            view = driver.latest_view("U1")
            driver.submit_view("U1", view, {"amount": {"value": text_input("42.50")}})
            print(slack.transcript("U1"))

Faults: ``slack.rate_limit("chat.postMessage", times=1, retry_after=1)``,
``slack.fail("views.open", error="internal_error", status=500)`` and
``slack.lose_answer("chat.postMessage", hold_seconds=10)`` (carried out, the answer too late).
Recording: ``slack.calls``, ``calls_to``, ``mark``, ``wait_for`` / ``wait_for_async``,
``wait_for_message``, ``wait_for_response_post``, ``subscribe``.
"""

from devslack.driver import DmUpload, SignatureMode, SlackDriver
from devslack.models import ApiCall, FakeChannel, FakeMessage, FakeUser, FileDownload, ResponseUrlPost
from devslack.payloads import (
    channel_select,
    checkboxes,
    conversation_select,
    date,
    email_input,
    external_select,
    file_input,
    multi_select,
    number_input,
    radio,
    select,
    text_input,
    time_of_day,
    user_select,
)
from devslack.render import render_blocks, render_message, render_mrkdwn, render_view
from devslack.server import FakeSlack, SlackApiError
from devslack.serving import BackgroundServer

__all__ = [
    "ApiCall",
    "BackgroundServer",
    "DmUpload",
    "FakeChannel",
    "FakeMessage",
    "FakeSlack",
    "FakeUser",
    "FileDownload",
    "ResponseUrlPost",
    "SignatureMode",
    "SlackApiError",
    "SlackDriver",
    "channel_select",
    "checkboxes",
    "conversation_select",
    "date",
    "email_input",
    "external_select",
    "file_input",
    "multi_select",
    "number_input",
    "radio",
    "render_blocks",
    "render_message",
    "render_mrkdwn",
    "render_view",
    "select",
    "text_input",
    "time_of_day",
    "user_select",
]
