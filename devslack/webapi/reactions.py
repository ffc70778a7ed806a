"""``reactions.*``: the bot's emoji reactions on messages."""

from __future__ import annotations

from devslack.errors import SlackApiError
from devslack.models import FakeMessage, JsonDict
from devslack.workspace import Method, Workspace


def _target(ws: Workspace, args: JsonDict) -> tuple[FakeMessage, str]:
    ch = ws._resolve_channel(args.get("channel"), allow_user=False)
    name = args.get("name")
    if not name:
        raise SlackApiError("invalid_name")
    msg = ws._find_message(ch.id, str(args.get("timestamp") or ""))
    if msg is None:
        raise SlackApiError("message_not_found")
    return msg, str(name).strip(":")


def add(ws: Workspace, args: JsonDict) -> JsonDict:
    msg, name = _target(ws, args)
    users = msg.reactions.setdefault(name, [])
    if ws.bot_user_id in users:
        raise SlackApiError("already_reacted")
    users.append(ws.bot_user_id)
    return {"ok": True}


def remove(ws: Workspace, args: JsonDict) -> JsonDict:
    msg, name = _target(ws, args)
    users = msg.reactions.get(name, [])
    if ws.bot_user_id not in users:
        raise SlackApiError("no_reaction")
    users.remove(ws.bot_user_id)
    if not users:
        del msg.reactions[name]
    return {"ok": True}


METHODS: dict[str, Method] = {
    "reactions.add": add,
    "reactions.remove": remove,
}
