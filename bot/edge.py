"""The first look at a request to ``POST /slack/events``, before Bolt parses anything.

Bolt parses a body before it checks the signature, so a body that is not JSON (or a form whose
``payload`` is not JSON) made it raise, an HTTP 500 with a traceback for anyone who can reach the
URL. Here the signature is checked first, on the raw bytes (slack_sdk's ``SignatureVerifier``):
anything unsigned, badly signed or stale is refused with 401 whatever its body. A signed body is
then parsed the way Bolt will parse it, and refused with 400 and a short message when it cannot
be a Slack payload.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

# Fields Bolt reads to find the team, user and channel of a request: a string or an object.
_ID_FIELDS = ("enterprise", "team", "user", "channel")
# Fields Bolt expects to be objects when present.
_OBJECT_FIELDS = ("event",)
# Fields Bolt expects to be lists of objects when present.
_LIST_FIELDS = ("authorizations", "response_urls")


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str


def check_signature(verifier: SignatureVerifier, body: bytes, headers: Mapping[str, str]) -> bool:
    """True when the request carries Slack's v0 signature of ``body``, made in the last five minutes."""
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if not timestamp or not signature or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    try:
        text = body.decode("utf-8")  # Slack signs UTF-8 text; anything else is not from Slack
    except UnicodeDecodeError:
        return False
    return verifier.is_valid(body=text, timestamp=timestamp, signature=signature)


def _shape_problem(payload: dict[str, Any]) -> str | None:
    for name in _ID_FIELDS:
        value = payload.get(name)
        if value is not None and not isinstance(value, str | dict):
            return f"'{name}' must be a string or an object"
    for name in _OBJECT_FIELDS:
        value = payload.get(name)
        if value is not None and not isinstance(value, dict):
            return f"'{name}' must be an object"
    for name in _LIST_FIELDS:
        value = payload.get(name)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            return f"'{name}' must be a list of objects"
    event = payload.get("event")
    if isinstance(event, dict):
        return _shape_problem(event)
    return None


def screen(verifier: SignatureVerifier, body: bytes, headers: Mapping[str, str]) -> Refusal | dict[str, Any]:
    """The parsed payload when Bolt may handle the request; otherwise the answer to give instead."""
    if not check_signature(verifier, body, headers):
        log.info("refused a request to /slack/events: missing, invalid or stale signature")
        return Refusal(401, "invalid request")
    if not body:
        return Refusal(400, "empty body")
    header = headers.get("content-type")
    content_type = header.split(";")[0].strip() if header else None
    text = body.decode("utf-8")  # the signature check has decoded it already
    try:
        payload = parse_body(text, content_type)
    except ValueError:  # json.JSONDecodeError included
        is_json = content_type == "application/json" or text.startswith("{")
        log.info("refused a signed request to /slack/events: its body is not JSON")
        return Refusal(400, "body is not JSON" if is_json else "the form's payload is not JSON")
    if not isinstance(payload, dict) or not payload:
        log.info("refused a signed request to /slack/events: not a Slack payload")
        return Refusal(400, "body is not a Slack payload (a JSON object)")
    problem = _shape_problem(payload)
    if problem is not None:
        log.info("refused a signed request to /slack/events: %s", problem)
        return Refusal(400, f"not a Slack payload: {problem}")
    return payload


def _text(value: Any) -> str | None:
    return value[:100] if isinstance(value, str) and value else None


def describe(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """The workspace and what Slack sent, for the logs: (``T123``, ``event:file_shared``), (``T123``,
    ``block_actions:approve``), (``T123``, ``command:/expense``)… ``None`` where the payload does not say."""
    team = payload.get("team")
    team_id = _text(payload.get("team_id")) or _text(team.get("id") if isinstance(team, dict) else team)
    kind = _text(payload.get("type"))
    detail: str | None = None
    if kind == "event_callback":
        event = payload.get("event")
        kind, detail = "event", _text(event.get("type")) if isinstance(event, dict) else None
    elif kind in ("block_actions", "interactive_message"):
        actions = payload.get("actions")
        first = actions[0] if isinstance(actions, list) and actions else None
        detail = _text(first.get("action_id") or first.get("name")) if isinstance(first, dict) else None
    elif kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        detail = _text(view.get("callback_id")) if isinstance(view, dict) else None
    elif kind in ("shortcut", "message_action", "dialog_submission"):
        detail = _text(payload.get("callback_id"))
    elif kind in ("block_suggestion", "dialog_suggestion"):
        detail = _text(payload.get("action_id"))
    elif kind is None and _text(payload.get("command")):
        kind, detail = "command", _text(payload.get("command"))
    if kind is None:
        return team_id, None
    return team_id, f"{kind}:{detail}" if detail else kind
