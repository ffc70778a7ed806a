"""``chat.*``: posting, updating, deleting messages, ephemeral messages and permalinks."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from devslack.errors import SlackApiError, missing
from devslack.models import JsonDict
from devslack.validation import validate_blocks
from devslack.workspace import Method, Workspace, fallback_text, fill_block_ids

MAX_TEXT = 40_000


def message_content(
    args: JsonDict, *, require: bool
) -> tuple[str | None, list[JsonDict] | None, list[JsonDict] | None]:
    """A message's ``text``, ``blocks`` and ``attachments`` from the arguments, checked as Slack does."""
    text = args.get("text")
    if text is not None and not isinstance(text, str):
        text = str(text)
    blocks = args.get("blocks")
    if blocks is not None:
        errors = validate_blocks(blocks, surface="message")
        if errors:
            raise SlackApiError("invalid_blocks", messages=errors)
        blocks = fill_block_ids(blocks)
    attachments = args.get("attachments")
    if attachments is not None and not isinstance(attachments, list):
        raise SlackApiError("invalid_attachments")
    if require and not text and not blocks and not attachments:
        raise SlackApiError("no_text")
    if text and len(text) > MAX_TEXT:
        raise SlackApiError("msg_too_long")
    return text, blocks, attachments


def message_metadata(value: Any) -> JsonDict | None:
    """chat.postMessage's ``metadata``: ``{"event_type": str, "event_payload": object}``, as Slack
    checks it (``invalid_metadata_format`` otherwise)."""
    if value is None or value == "":
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not re.fullmatch(r"[A-Za-z0-9_]{1,255}", value["event_type"])
        or not isinstance(value.get("event_payload"), dict)
    ):
        raise SlackApiError("invalid_metadata_format")
    if len(json.dumps(value)) > 8000:
        raise SlackApiError("metadata_too_large")
    return {"event_type": value["event_type"], "event_payload": copy.deepcopy(value["event_payload"])}


def post_message(ws: Workspace, args: JsonDict) -> JsonDict:
    ch = ws._resolve_channel(args.get("channel"), allow_user=True)
    ws._require_bot_member(ch)
    text, blocks, attachments = message_content(args, require=True)
    thread_ts = args.get("thread_ts") or None
    metadata = message_metadata(args.get("metadata"))
    msg = ws._bot_message(ch.id, fallback_text(text, blocks), blocks or [], thread_ts, attachments)
    msg.metadata = metadata
    ws._append_message(msg)
    return {"ok": True, "channel": ch.id, "ts": msg.ts, "message": msg.to_api()}


def update(ws: Workspace, args: JsonDict) -> JsonDict:
    ch = ws._resolve_channel(args.get("channel"), allow_user=False)
    ts = args.get("ts")
    if not ts:
        raise SlackApiError("message_not_found")
    msg = ws._find_message(ch.id, str(ts))
    if msg is None:
        raise SlackApiError("message_not_found")
    if msg.user != ws.bot_user_id:
        raise SlackApiError("cant_update_message")
    text, blocks, attachments = message_content(args, require=False)
    if text is None and blocks is None and attachments is None:
        raise SlackApiError("no_text")
    if text is not None or blocks:
        msg.text = fallback_text(text, blocks)
    if blocks is not None:
        msg.blocks = blocks
    if attachments is not None:
        msg.attachments = attachments
    msg.edited_ts = ws._next_ts()
    return {"ok": True, "channel": ch.id, "ts": msg.ts, "text": msg.text, "message": msg.to_api()}


def post_ephemeral(ws: Workspace, args: JsonDict) -> JsonDict:
    ch = ws._resolve_channel(args.get("channel"), allow_user=False)
    user = args.get("user")
    if not user:
        raise missing("user")
    if user not in ws._users:
        raise SlackApiError("user_not_found")
    ws._require_bot_member(ch)
    if not ws._is_member(ch, str(user)):
        raise SlackApiError("user_not_in_channel")
    text, blocks, attachments = message_content(args, require=True)
    msg = ws._bot_message(
        ch.id, fallback_text(text, blocks), blocks or [], args.get("thread_ts") or None, attachments
    )
    msg.ephemeral, msg.recipient = True, str(user)
    ws._ephemeral.append(msg)
    return {"ok": True, "message_ts": msg.ts}


def delete(ws: Workspace, args: JsonDict) -> JsonDict:
    ch = ws._resolve_channel(args.get("channel"), allow_user=False)
    msg = ws._find_message(ch.id, str(args.get("ts") or ""))
    if msg is None:
        raise SlackApiError("message_not_found")
    if msg.user != ws.bot_user_id:
        raise SlackApiError("cant_delete_message")
    ws._remove_message(ch.id, msg.ts)
    return {"ok": True, "channel": ch.id, "ts": msg.ts}


def get_permalink(ws: Workspace, args: JsonDict) -> JsonDict:
    ch = ws._resolve_channel(args.get("channel"), allow_user=False)
    ts = str(args.get("message_ts") or "")
    if ws._find_message(ch.id, ts) is None:
        raise SlackApiError("message_not_found")
    return {
        "ok": True,
        "channel": ch.id,
        "permalink": f"https://{ws.team_domain}.slack.com/archives/{ch.id}/p{ts.replace('.', '')}",
    }


METHODS: dict[str, Method] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.postEphemeral": post_ephemeral,
    "chat.delete": delete,
    "chat.getPermalink": get_permalink,
}
