"""``conversations.*``: opening DMs and group DMs, channel info, history, threads and members."""

from __future__ import annotations

from devslack.errors import SlackApiError
from devslack.models import FakeChannel, FakeMessage, JsonDict
from devslack.webapi.users import page
from devslack.workspace import Method, Workspace, truthy


def open_(ws: Workspace, args: JsonDict) -> JsonDict:
    if args.get("channel"):
        ch = ws._resolve_channel(args["channel"], allow_user=False)
        return {
            "ok": True,
            "channel": ch.to_api(ws.bot_user_id) if truthy(args.get("return_im")) else {"id": ch.id},
        }
    raw = args.get("users")
    if not raw:
        raise SlackApiError("users_list_not_supplied")
    users = [u.strip() for u in str(raw).split(",") if u.strip()]
    for u in users:
        if u not in ws._users:
            raise SlackApiError("user_not_found")
    if len(users) > 8:
        raise SlackApiError("too_many_users")
    if len(users) == 1:
        existed = users[0] in ws._dms
        ch = ws._channels[ws._open_dm(users[0])]
    else:
        key = frozenset([*users, ws.bot_user_id])
        existed = key in ws._mpims
        if not existed:
            ch_id = ws._new_id("G")
            ws._mpims[key] = ch_id
            ws._channels[ch_id] = FakeChannel(
                id=ch_id, name=f"mpdm-{'--'.join(sorted(key))}-1", is_mpim=True, members=set(key)
            )
            ws._messages.setdefault(ch_id, [])
        ch = ws._channels[ws._mpims[key]]
    out: JsonDict = {"ok": True}
    if existed:
        out["no_op"] = True
        out["already_open"] = True
    out["channel"] = ch.to_api(ws.bot_user_id) if truthy(args.get("return_im")) else {"id": ch.id}
    return out


def info(ws: Workspace, args: JsonDict) -> JsonDict:
    ch = ws._resolve_channel(args.get("channel"), allow_user=False)
    if ch.is_private and not ws._is_member(ch, ws.bot_user_id):
        raise SlackApiError("channel_not_found")
    return {"ok": True, "channel": ch.to_api(ws.bot_user_id)}


def listed(message: FakeMessage, with_metadata: bool) -> JsonDict:
    """A message in conversations.history/replies: its metadata only when asked for
    (``include_all_metadata``), as Slack does."""
    out = message.to_api()
    if not with_metadata:
        out.pop("metadata", None)
    return out


def history(ws: Workspace, args: JsonDict) -> JsonDict:
    ch = ws._resolve_channel(args.get("channel"), allow_user=False)
    if not ws._is_member(ch, ws.bot_user_id):
        raise SlackApiError("not_in_channel")
    limit = int(args.get("limit") or 100)
    msgs = [m for m in ws._messages.get(ch.id, []) if m.thread_ts is None or m.thread_ts == m.ts]
    oldest, latest = args.get("oldest"), args.get("latest")
    if oldest:
        msgs = [m for m in msgs if float(m.ts) > float(oldest)]
    if latest:
        msgs = [m for m in msgs if float(m.ts) < float(latest)]
    msgs = list(reversed(msgs))
    with_metadata = truthy(args.get("include_all_metadata"))
    return {
        "ok": True,
        "messages": [listed(m, with_metadata) for m in msgs[:limit]],
        "has_more": len(msgs) > limit,
        "pin_count": 0,
        "response_metadata": {"next_cursor": ""},
    }


def replies(ws: Workspace, args: JsonDict) -> JsonDict:
    ch = ws._resolve_channel(args.get("channel"), allow_user=False)
    ts = str(args.get("ts") or "")
    parent = ws._find_message(ch.id, ts)
    if parent is None:
        raise SlackApiError("thread_not_found")
    root = parent.thread_ts or parent.ts
    msgs = [m for m in ws._messages.get(ch.id, []) if m.ts == root or m.thread_ts == root]
    oldest, latest = args.get("oldest"), args.get("latest")
    if oldest:
        msgs = [m for m in msgs if m.ts == root or float(m.ts) > float(oldest)]
    if latest:
        msgs = [m for m in msgs if m.ts == root or float(m.ts) < float(latest)]
    with_metadata = truthy(args.get("include_all_metadata"))
    return {
        "ok": True,
        "messages": [listed(m, with_metadata) for m in msgs],
        "has_more": False,
        "response_metadata": {"next_cursor": ""},
    }


def members(ws: Workspace, args: JsonDict) -> JsonDict:
    ch = ws._resolve_channel(args.get("channel"), allow_user=False)
    if ch.is_private and not ws._is_member(ch, ws.bot_user_id):
        raise SlackApiError("channel_not_found")
    if ch.members is None:
        ids = [u.id for u in ws._users.values() if not u.deleted]
    else:
        ids = [u for u in ws._users if u in ch.members]
    chunk, cursor = page(ids, args)
    return {"ok": True, "members": chunk, "response_metadata": {"next_cursor": cursor}}


METHODS: dict[str, Method] = {
    "conversations.open": open_,
    "conversations.info": info,
    "conversations.history": history,
    "conversations.replies": replies,
    "conversations.members": members,
}
