"""``SlackDriver``: Slack's side of inbound traffic to the app.

Every request goes to the app's ``POST /slack/events`` exactly as Slack sends
it: events as JSON ``event_callback`` envelopes, interactions form-encoded as
``payload=<json>``, slash commands form-encoded, all signed with the v0
signing secret (``X-Slack-Signature`` / ``X-Slack-Request-Timestamp``).

``SlackDriver`` is built in layers: ``devslack.transport`` (signing, posting, event envelopes,
retries, echoes), ``devslack.interactions`` (clicks, menus, shortcuts, views, slash commands), and
here the events a person causes in their DM (messages, uploads, opening the App Home).
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

import httpx

from devslack.interactions import Interactions
from devslack.models import FakeMessage, JsonDict
from devslack.transport import SIGNATURE_MODES, USER_AGENT, SignatureMode

__all__ = ["SIGNATURE_MODES", "USER_AGENT", "DmUpload", "SignatureMode", "SlackDriver"]


@dataclass(frozen=True)
class DmUpload:
    """What Slack delivers when a person drops a file into the bot DM.

    Slack sends both events, in no guaranteed order; send one or both with
    ``driver.event(...)`` (sending the same dict again is a redelivery with the
    same ``event_id``)."""

    file: JsonDict
    message: FakeMessage
    message_event: JsonDict
    file_shared_event: JsonDict

    @property
    def events(self) -> tuple[JsonDict, JsonDict]:
        return (self.message_event, self.file_shared_event)


class SlackDriver(Interactions):
    """Sends signed Slack requests to the app.

    Usage::

        driver = SlackDriver("http://127.0.0.1:8000", signing_secret, fake)
        up = driver.upload_in_dm("U1", jpeg_bytes, "receipt.jpg", "image/jpeg")
        assert driver.event(up.message_event).status_code == 200
        msg = fake.wait_for("chat.postMessage")
        driver.click("U1", fake.dm_messages("U1")[-1], "Submit")
    """

    def __enter__(self) -> SlackDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ events

    def dm_message_event(self, user: str, text: str, *, thread_ts: str | None = None) -> JsonDict:
        """Record ``user`` typing ``text`` in the bot DM; returns the ``message`` event."""
        msg = self.fake.post_as_user(user, user, text, thread_ts=thread_ts)
        event: JsonDict = {
            "type": "message",
            "client_msg_id": str(uuid.uuid4()),
            "text": text,
            "user": user,
            "ts": msg.ts,
            "team": self.fake.team_id,
            "blocks": [_rich_text(text)] if text else [],
            "channel": msg.channel,
            "event_ts": msg.ts,
            "channel_type": "im",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    def send_dm(self, user: str, text: str, *, thread_ts: str | None = None) -> httpx.Response:
        """``dm_message_event`` + deliver it."""
        return self.event(self.dm_message_event(user, text, thread_ts=thread_ts))

    def upload_in_dm(self, user: str, content: bytes, name: str, mimetype: str, text: str = "") -> DmUpload:
        """Register the file, record the user's message in the bot DM, and return the
        ``message``/``file_share`` and ``file_shared`` events Slack would deliver."""
        file = self.fake.add_file(content, name, mimetype, user)
        msg = self.fake.post_as_user(user, user, text, files=[file])
        file = self.fake.file(file["id"])
        message_event: JsonDict = {
            "type": "message",
            "subtype": "file_share",
            "text": text,
            "files": [file],
            "upload": False,
            "user": user,
            "display_as_bot": False,
            "ts": msg.ts,
            "blocks": [_rich_text(text)] if text else [],
            "client_msg_id": str(uuid.uuid4()),
            "channel": msg.channel,
            "event_ts": msg.ts,
            "channel_type": "im",
        }
        file_shared_event: JsonDict = {
            "type": "file_shared",
            "channel_id": msg.channel,
            "file_id": file["id"],
            "user_id": user,
            "file": {"id": file["id"]},
            "event_ts": f"{time.time():.6f}",
        }
        return DmUpload(
            file=file, message=msg, message_event=message_event, file_shared_event=file_shared_event
        )

    def app_home_opened(self, user: str, tab: str = "home") -> httpx.Response:
        event: JsonDict = {
            "type": "app_home_opened",
            "user": user,
            "channel": self.fake.dm_channel(user),
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        home = self.fake.home_view(user)
        if home is not None:
            event["view"] = home
        return self.event(event)


def _rich_text(text: str) -> JsonDict:
    return {
        "type": "rich_text",
        "block_id": secrets.token_urlsafe(4)[:5],
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }
