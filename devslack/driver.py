"""``SlackDriver``: Slack's side of inbound traffic to the app.

Every request goes to the app's ``POST /slack/events`` exactly as Slack sends
it: events as JSON ``event_callback`` envelopes, interactions form-encoded as
``payload=<json>``, slash commands form-encoded, all signed with the v0
signing secret (``X-Slack-Signature`` / ``X-Slack-Request-Timestamp``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Literal, cast

import httpx

from devslack.models import ApiCall, FakeMessage, JsonDict, find_button
from devslack.payloads import action_ts, find_element
from devslack.server import FakeSlack

__all__ = ["DmUpload", "SignatureMode", "SlackDriver"]

SignatureMode = Literal["valid", "bad", "stale", "missing"]
SIGNATURE_MODES: tuple[str, ...] = ("valid", "bad", "stale", "missing")
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


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


class SlackDriver:
    """Sends signed Slack requests to the app.

    Usage::

        driver = SlackDriver("http://127.0.0.1:8000", signing_secret, fake)
        up = driver.upload_in_dm("U1", jpeg_bytes, "receipt.jpg", "image/jpeg")
        assert driver.event(up.message_event).status_code == 200
        msg = fake.wait_for("chat.postMessage")
        driver.click("U1", fake.dm_messages("U1")[-1], "Submit")
    """

    def __init__(
        self,
        app_url: str,
        signing_secret: str,
        fake: FakeSlack,
        *,
        path: str = "/slack/events",
        timeout: float = 30.0,
        verification_token: str = "devslack-verification-token",
        echo_bot_messages: bool = False,
        max_connections: int = 100,
    ) -> None:
        base = app_url.rstrip("/")
        self.url = base if base.endswith(path) else base + path
        self.signing_secret = signing_secret
        self.fake = fake
        self.verification_token = verification_token
        self.signature_mode: SignatureMode = "valid"
        self.last_event_id: str | None = None
        self._timeout = timeout
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client = httpx.Client(timeout=timeout, limits=limits)
        self._event_ids: dict[str, tuple[str, int]] = {}
        self._event_lock = threading.Lock()
        self.echo_responses: list[httpx.Response] = []
        self._echo_queue: queue.Queue[JsonDict | None] = queue.Queue()
        self._echo_thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        if echo_bot_messages:
            self.start_echoes()

    def close(self) -> None:
        self.stop_echoes()
        self._client.close()

    # ------------------------------------------------------------------ echoes

    def start_echoes(self) -> None:
        """Deliver the app's own DM posts and edits back to it as ``message`` /
        ``message_changed`` events, as Slack does for apps subscribed to
        ``message.im``. Delivery happens on a background thread; the responses
        are kept in ``echo_responses``."""
        if self._echo_thread is not None:
            return
        self._unsubscribe = self.fake.subscribe(self._on_api_call)
        self._echo_thread = threading.Thread(target=self._deliver_echoes, name="devslack-echo", daemon=True)
        self._echo_thread.start()

    def stop_echoes(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._echo_thread is not None:
            self._echo_queue.put(None)
            self._echo_thread.join(timeout=self._timeout)
            self._echo_thread = None

    def _on_api_call(self, call: ApiCall) -> None:
        body = call.response
        if not call.ok or body is None or call.method not in ("chat.postMessage", "chat.update"):
            return
        channel = str(body.get("channel", ""))
        try:
            if not self.fake.channel(channel).is_im:
                return
        except KeyError:
            return
        message = dict(body.get("message") or {})
        if call.method == "chat.postMessage":
            event = {**message, "channel": channel, "event_ts": message.get("ts"), "channel_type": "im"}
        else:
            edited = message.get("edited", {}).get("ts") or f"{time.time():.6f}"
            event = {
                "type": "message",
                "subtype": "message_changed",
                "message": message,
                "channel": channel,
                "hidden": True,
                "ts": edited,
                "event_ts": edited,
                "channel_type": "im",
            }
        self._echo_queue.put(event)

    def _deliver_echoes(self) -> None:
        with httpx.Client(timeout=self._timeout) as client:
            while True:
                event = self._echo_queue.get()
                if event is None:
                    return
                body = json.dumps(self.envelope(event)).encode()
                headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **self.sign(body)}
                try:
                    self.echo_responses.append(client.post(self.url, content=body, headers=headers))
                except httpx.HTTPError:
                    continue

    def __enter__(self) -> SlackDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- signing

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The two headers Slack adds to a request carrying ``body``."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        base = b"v0:" + ts.encode() + b":" + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}

    @contextmanager
    def signing(self, mode: SignatureMode | str) -> Iterator[None]:
        """Temporarily send ``bad`` signatures, ``stale`` (10 minutes old) timestamps,
        or ``missing`` headers (``valid`` restores normal signing)."""
        if mode not in SIGNATURE_MODES:
            raise ValueError(f"signature mode must be one of {SIGNATURE_MODES}, not {mode!r}")
        previous, self.signature_mode = self.signature_mode, cast(SignatureMode, mode)
        try:
            yield
        finally:
            self.signature_mode = previous

    def _signature_headers(self, body: bytes) -> dict[str, str]:
        mode = self.signature_mode
        if mode == "missing":
            return {}
        if mode == "stale":
            return self.sign(body, int(time.time()) - 600)
        headers = self.sign(body)
        if mode == "bad":
            forged = hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
            headers["X-Slack-Signature"] = f"v0={forged}"
        return headers

    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """POST a raw body to the app, signed according to ``signature_mode``."""
        all_headers = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            **self._signature_headers(body),
        }
        all_headers.update(headers or {})
        if timeout is None:
            return self._client.post(self.url, content=body, headers=all_headers)
        return self._client.post(self.url, content=body, headers=all_headers, timeout=timeout)

    def _post_json(
        self, data: JsonDict, headers: dict[str, str] | None = None, timeout: float | None = None
    ) -> httpx.Response:
        return self.post(json.dumps(data).encode(), "application/json", headers=headers, timeout=timeout)

    def _post_form(self, fields: dict[str, str]) -> httpx.Response:
        return self.post(urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded")

    def _post_payload(self, payload: JsonDict) -> httpx.Response:
        return self._post_form({"payload": json.dumps(payload)})

    # ------------------------------------------------------------------ events

    def url_verification(self, challenge: str) -> httpx.Response:
        return self._post_json(
            {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        )

    def envelope(self, event: JsonDict, *, event_id: str | None = None) -> JsonDict:
        """The ``event_callback`` envelope Slack wraps ``event`` in. The same event dict
        always gets the same ``event_id`` and ``event_time`` unless ``event_id`` is given."""
        key = json.dumps(event, sort_keys=True)
        with self._event_lock:
            known = self._event_ids.get(key)
            if event_id is None:
                if known is None:
                    known = (f"Ev{secrets.token_hex(5).upper()}", int(time.time()))
                    self._event_ids[key] = known
                event_id, event_time = known
            else:
                event_time = known[1] if known else int(time.time())
                self._event_ids.setdefault(key, (event_id, event_time))
        fake = self.fake
        return {
            "token": self.verification_token,
            "team_id": fake.team_id,
            "context_team_id": fake.team_id,
            "context_enterprise_id": None,
            "api_app_id": fake.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": event_time,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": fake.team_id,
                    "user_id": fake.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_urlsafe(24)}",
        }

    def event(
        self,
        event: JsonDict,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> httpx.Response:
        """Deliver ``event``; with ``retry_num`` it is a redelivery (same ``event_id``)
        carrying ``X-Slack-Retry-Num`` / ``X-Slack-Retry-Reason``."""
        envelope = self.envelope(event, event_id=event_id)
        self.last_event_id = str(envelope["event_id"])
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        return self._post_json(envelope, headers)

    def deliver(
        self,
        event: JsonDict,
        *,
        ack_timeout: float = 3.0,
        retry_delays: tuple[float, ...] = (0.0, 0.0, 0.0),
    ) -> list[httpx.Response | None]:
        """Deliver ``event`` with Slack's retry policy: an attempt fails when the app
        does not answer 2xx within ``ack_timeout`` seconds, and is retried (same
        ``event_id``, ``X-Slack-Retry-Num`` 1..3, ``X-Slack-Retry-Reason``) up to
        ``len(retry_delays)`` times, unless the app answered with
        ``X-Slack-No-Retry: 1``. Slack waits about 0 s, 1 min and 5 min between
        attempts; the defaults retry at once. Returns one entry per attempt
        (``None`` for a timeout)."""
        attempts: list[httpx.Response | None] = []
        envelope = self.envelope(event)
        self.last_event_id = str(envelope["event_id"])
        headers: dict[str, str] = {}
        reason = "http_error"
        for attempt in range(len(retry_delays) + 1):
            if attempt:
                time.sleep(retry_delays[attempt - 1])
                headers = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": reason}
            try:
                response = self._post_json(envelope, headers, timeout=ack_timeout)
            except httpx.TimeoutException:
                attempts.append(None)
                reason = "http_timeout"
                continue
            attempts.append(response)
            if 200 <= response.status_code < 300 or response.headers.get("x-slack-no-retry") == "1":
                break
            reason = "too_many_requests" if response.status_code == 429 else "http_error"
        return attempts

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

    # ------------------------------------------------------------ interactions

    def _user(self, user: str) -> JsonDict:
        try:
            info = self.fake.user(user)
            name = info.name
        except KeyError:
            name = user.lower()
        return {"id": user, "username": name, "name": name, "team_id": self.fake.team_id}

    def _team(self) -> JsonDict:
        return {"id": self.fake.team_id, "domain": self.fake.team_domain}

    def _channel(self, channel_id: str) -> JsonDict:
        if channel_id.startswith("D"):
            return {"id": channel_id, "name": "directmessage"}
        try:
            name = self.fake.channel(channel_id).name
        except KeyError:
            name = channel_id
        return {"id": channel_id, "name": name}

    def click(
        self, user: str, message: FakeMessage, label_contains: str, *, channel: str | None = None
    ) -> httpx.Response:
        """Click the button labelled ``label_contains`` in ``message`` (looked up in its
        current state)."""
        current = message
        with suppress(KeyError):
            current = self.fake.message(message.channel, message.ts)
        block_id, button = find_button(current.blocks, label_contains, where=f"message {current.ts}")
        action: JsonDict = {
            "action_id": button.get("action_id"),
            "block_id": block_id,
            "text": button.get("text"),
            "type": "button",
            "action_ts": action_ts(),
        }
        if "value" in button:
            action["value"] = button["value"]
        if "style" in button:
            action["style"] = button["style"]
        return self._post_payload(self._message_action_payload(user, current, action, channel))

    def click_in_view(
        self,
        user: str,
        view: JsonDict,
        label_contains: str,
        *,
        values: dict[str, dict[str, JsonDict]] | None = None,
    ) -> httpx.Response:
        """Click a button in a modal or App Home ``view``; ``values`` is what the user
        has typed into the view so far (sent as ``view.state.values``)."""
        current = self._with_values(self._current_view(view), values)
        block_id, button = find_button(
            current.get("blocks", []), label_contains, where=f"view {current['id']}"
        )
        action: JsonDict = {
            "action_id": button.get("action_id"),
            "block_id": block_id,
            "text": button.get("text"),
            "type": "button",
            "action_ts": action_ts(),
        }
        if "value" in button:
            action["value"] = button["value"]
        return self._post_payload(self._view_action_payload(user, current, action))

    def block_action(
        self,
        user: str,
        action_id: str,
        value: str | None = None,
        *,
        block_id: str | None = None,
        message: FakeMessage | None = None,
        view: JsonDict | None = None,
        channel: str | None = None,
        action: JsonDict | None = None,
        values: dict[str, dict[str, JsonDict]] | None = None,
    ) -> httpx.Response:
        """A ``block_actions`` payload for ``action_id`` in ``message`` or ``view``.

        ``action`` overrides the generated action (e.g. a ``static_select`` with
        ``selected_option``); otherwise a button action with ``value`` is sent.
        ``values`` sets ``state.values`` (of the view, or of the message's inputs)."""
        blocks: list[JsonDict] = []
        if message is not None:
            with suppress(KeyError):
                message = self.fake.message(message.channel, message.ts)
            blocks = message.blocks
        elif view is not None:
            view = self._with_values(self._current_view(view), values)
            blocks = view.get("blocks", [])
        found_block, element = find_element(blocks, action_id)
        act: JsonDict = {
            "action_id": action_id,
            "block_id": block_id or found_block or "",
            "type": "button",
            "action_ts": action_ts(),
        }
        if element is not None and element.get("type") == "button":
            act["text"] = element.get("text")
        if value is not None:
            act["value"] = value
        if action is not None:
            act.update(action)
        if message is not None:
            payload = self._message_action_payload(user, message, act, channel)
            if values is not None:
                payload["state"] = {"values": values}
        elif view is not None:
            payload = self._view_action_payload(user, view, act)
        else:
            channel_id = channel or self.fake.dm_channel(user)
            payload = {
                **self._interaction_base("block_actions", user),
                "container": {"type": "message", "channel_id": channel_id, "is_ephemeral": False},
                "channel": self._channel(channel_id),
                "state": {"values": {}},
                "response_url": self.fake.new_response_url(channel=channel_id, user=user),
                "actions": [act],
            }
        return self._post_payload(payload)

    def choose(
        self,
        user: str,
        action_id: str,
        value: str,
        text: str | None = None,
        *,
        message: FakeMessage | None = None,
        view: JsonDict | None = None,
        values: dict[str, dict[str, JsonDict]] | None = None,
    ) -> httpx.Response:
        """Pick ``value`` in the select menu ``action_id`` of ``message`` or ``view``
        (a ``block_actions`` payload carrying ``selected_option``)."""
        blocks: list[JsonDict] = []
        if message is not None:
            blocks = message.blocks
        elif view is not None:
            blocks = self._current_view(view).get("blocks", [])
        _, element = find_element(blocks, action_id)
        if element is None:
            where = f"message {message.ts}" if message else f"view {view.get('id') if view else None}"
            raise AssertionError(f"no element with action_id {action_id!r} in {where}")
        label = text
        if label is None:
            for option in _options_of(element):
                if option.get("value") == value:
                    label = str(option.get("text", {}).get("text", value))
        kind = str(element.get("type", "static_select"))
        option = {"text": {"type": "plain_text", "text": label or value, "emoji": True}, "value": value}
        action: JsonDict = {"type": kind, "selected_option": option}
        return self.block_action(user, action_id, message=message, view=view, action=action, values=values)

    def block_suggestion(
        self,
        user: str,
        action_id: str,
        value: str,
        *,
        view: JsonDict | None = None,
        block_id: str | None = None,
    ) -> httpx.Response:
        """The options load Slack sends while ``user`` types ``value`` into an
        external select (in ``view``, by default the user's latest view)."""
        current = self._current_view(view if view is not None else self.latest_view(user))
        found_block, _ = find_element(current.get("blocks", []), action_id)
        payload: JsonDict = {
            "type": "block_suggestion",
            "user": self._user(user),
            "container": {"type": "view", "view_id": current["id"]},
            "api_app_id": self.fake.app_id,
            "token": self.verification_token,
            "action_id": action_id,
            "block_id": block_id or found_block or "",
            "value": value,
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": current,
        }
        return self._post_payload(payload)

    def message_shortcut(
        self, user: str, callback_id: str, message: FakeMessage, channel: str | None = None
    ) -> httpx.Response:
        channel_id = channel or message.channel
        payload: JsonDict = {
            "type": "message_action",
            "token": self.verification_token,
            "action_ts": action_ts(),
            "team": self._team(),
            "user": self._user(user),
            "channel": self._channel(channel_id),
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.fake.issue_trigger_id(user),
            "response_url": self.fake.new_response_url(channel=channel_id, user=user),
            "message_ts": message.ts,
            "message": message.to_api(),
        }
        return self._post_payload(payload)

    def global_shortcut(self, user: str, callback_id: str) -> httpx.Response:
        payload: JsonDict = {
            "type": "shortcut",
            "token": self.verification_token,
            "action_ts": action_ts(),
            "team": self._team(),
            "user": self._user(user),
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.fake.issue_trigger_id(user),
        }
        return self._post_payload(payload)

    def latest_view(self, user: str) -> JsonDict:
        """The current state of the view last opened/pushed for ``user``."""
        view = self.fake.latest_view(user)
        if view is None:
            opened = [c.args.get("view", {}).get("callback_id") for c in self.fake.calls_to("views.open")]
            raise AssertionError(f"no view was opened for {user}; views.open calls: {opened}")
        return view

    def submit_view(
        self, user: str, view: JsonDict | None, values: dict[str, dict[str, JsonDict]]
    ) -> httpx.Response:
        """Submit ``view`` (default: the user's latest) with ``state.values = values``.

        Like Slack, applies the app's answer to the fake's view stack: an empty
        acknowledgement closes the view, ``response_action`` ``update``/``push``/
        ``clear`` update/push/close, ``errors`` leaves it open."""
        current = self._current_view(view if view is not None else self.latest_view(user))
        current["state"] = {"values": values}
        tracked = self._is_tracked(current["id"])
        if tracked:
            self.fake.set_view_state(current["id"], values)
        payload: JsonDict = {
            **self._interaction_base("view_submission", user),
            "view": current,
            "response_urls": [],
        }
        response = self._post_payload(payload)
        if tracked and response.status_code == 200:
            self._apply_submission_answer(user, current, response)
        return response

    def close_view(self, user: str, view: JsonDict | None = None) -> httpx.Response | None:
        """The user dismisses the modal; sends ``view_closed`` when the view asked
        for ``notify_on_close`` (otherwise nothing is sent and ``None`` returned)."""
        current = self._current_view(view if view is not None else self.latest_view(user))
        if self._is_tracked(current["id"]):
            self.fake.close_views(user, current["id"])
        if not current.get("notify_on_close"):
            return None
        payload: JsonDict = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user),
            "api_app_id": self.fake.app_id,
            "token": self.verification_token,
            "view": current,
            "is_cleared": False,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._post_payload(payload)

    def slash_command(
        self, user: str, command: str, text: str = "", *, channel: str | None = None
    ) -> httpx.Response:
        """A slash command typed by ``user`` (in the bot DM unless ``channel`` is given)."""
        channel_id = channel or self.fake.dm_channel(user)
        fields = {
            "token": self.verification_token,
            "team_id": self.fake.team_id,
            "team_domain": self.fake.team_domain,
            "channel_id": channel_id,
            "channel_name": self._channel(channel_id)["name"],
            "user_id": user,
            "user_name": self._user(user)["username"],
            "command": command,
            "text": text,
            "api_app_id": self.fake.app_id,
            "is_enterprise_install": "false",
            "response_url": self.fake.new_response_url(channel=channel_id, user=user),
            "trigger_id": self.fake.issue_trigger_id(user),
        }
        return self._post_form(fields)

    # --------------------------------------------------------------- internals

    def _interaction_base(self, kind: str, user: str) -> JsonDict:
        return {
            "type": kind,
            "user": self._user(user),
            "api_app_id": self.fake.app_id,
            "token": self.verification_token,
            "trigger_id": self.fake.issue_trigger_id(user),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _message_action_payload(
        self, user: str, message: FakeMessage, action: JsonDict, channel: str | None
    ) -> JsonDict:
        channel_id = channel or message.channel
        payload: JsonDict = {
            **self._interaction_base("block_actions", user),
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": channel_id,
                "is_ephemeral": message.ephemeral,
            },
            "channel": self._channel(channel_id),
            "state": {"values": {}},
            "response_url": self.fake.new_response_url(message=message, user=user),
            "actions": [action],
        }
        if not message.ephemeral:
            payload["message"] = message.to_api()
        return payload

    def _view_action_payload(self, user: str, view: JsonDict, action: JsonDict) -> JsonDict:
        return {
            **self._interaction_base("block_actions", user),
            "container": {"type": "view", "view_id": view["id"]},
            "view": view,
            "actions": [action],
        }

    def _with_values(self, view: JsonDict, values: dict[str, dict[str, JsonDict]] | None) -> JsonDict:
        if values is None:
            return view
        view["state"] = {"values": values}
        if self._is_tracked(view["id"]):
            self.fake.set_view_state(view["id"], values)
        return view

    def _is_tracked(self, view_id: str) -> bool:
        try:
            self.fake.view(view_id)
        except KeyError:
            return False
        return True

    def _current_view(self, view: JsonDict) -> JsonDict:
        view_id = view.get("id")
        if isinstance(view_id, str) and self._is_tracked(view_id):
            return self.fake.view(view_id)
        return dict(view)

    def _apply_submission_answer(self, user: str, view: JsonDict, response: httpx.Response) -> None:
        answer: Any = None
        if response.content.strip():
            try:
                answer = response.json()
            except ValueError:
                answer = None
        action = answer.get("response_action") if isinstance(answer, dict) else None
        if action is None:
            self.fake.close_views(user, view["id"])
        elif action == "clear":
            self.fake.close_views(user)
        elif action == "update" and isinstance(answer.get("view"), dict):
            self.fake.apply_view_update(view["id"], answer["view"])
        elif action == "push" and isinstance(answer.get("view"), dict):
            self.fake.apply_view_push(user, answer["view"])


def _rich_text(text: str) -> JsonDict:
    return {
        "type": "rich_text",
        "block_id": secrets.token_urlsafe(4)[:5],
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }


def _options_of(element: JsonDict) -> list[JsonDict]:
    options: list[JsonDict] = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options
