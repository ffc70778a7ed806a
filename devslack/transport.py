"""How ``SlackDriver`` talks to the app: signed POSTs to ``/slack/events`` (v0 signatures, or
deliberately bad, stale or missing ones), event envelopes with stable ``event_id``s, Slack's
retry policy, and echoes of the app's own DM posts back to it as events."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal, cast

import httpx

from devslack.models import ApiCall, JsonDict
from devslack.server import FakeSlack

__all__ = ["SIGNATURE_MODES", "USER_AGENT", "SignatureMode", "Transport"]

SignatureMode = Literal["valid", "bad", "stale", "missing"]
SIGNATURE_MODES: tuple[str, ...] = ("valid", "bad", "stale", "missing")
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


class Transport:
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

    # ---------------------------------------------------- who, where (payload parts)

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
