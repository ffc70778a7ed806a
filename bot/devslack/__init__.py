"""A local stand-in for Slack: the Web API (``FakeSlack``) and Slack's inbound
requests to the app (``SlackDriver``). Used by the test suite and by
``expensebot demo``.

    with FakeSlack() as slack:
        slack.add_user("U1", "ann@example.com", real_name="Ann Lee")
        # run the app with SLACK_API_URL=slack.base_url, SLACK_BOT_TOKEN=slack.bot_token
        driver = SlackDriver(app_url, signing_secret, slack)
        driver.send_dm("U1", "hello")
        slack.wait_for("chat.postMessage")
"""

from bot.devslack.driver import DmUpload, SignatureMode, SlackDriver
from bot.devslack.models import ApiCall, FakeChannel, FakeMessage, FakeUser, FileDownload, ResponseUrlPost
from bot.devslack.payloads import (
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
from bot.devslack.render import render_blocks, render_message, render_mrkdwn, render_view
from bot.devslack.server import FakeSlack, SlackApiError
from bot.devslack.serving import BackgroundServer

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
