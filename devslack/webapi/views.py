"""``views.*``: modals (open, push, update; a stack of at most three) and App Home tabs (publish).

``open`` and ``push`` need a fresh ``trigger_id`` (``FakeSlack.issue_trigger_id``), used once and
within ``trigger_ttl`` seconds, as Slack requires.
"""

from __future__ import annotations

import copy
import json
import secrets
import time

from devslack.errors import SlackApiError, missing
from devslack.models import JsonDict
from devslack.validation import validate_view
from devslack.workspace import Method, ViewRecord, Workspace, fill_block_ids

MAX_VIEW_STACK = 3


def view_spec(ws: Workspace, args: JsonDict, expected: tuple[str, ...]) -> JsonDict:
    spec = args.get("view")
    if spec is None or spec == "":
        raise missing("view")
    errors = validate_view(spec, expected=expected)
    if errors:
        raise SlackApiError("invalid_arguments", messages=errors)
    if len(json.dumps(spec)) > 250_000:
        raise SlackApiError("view_too_large")
    assert isinstance(spec, dict)
    external_id = spec.get("external_id")
    if external_id:
        for rec in ws._views.values():
            if rec.view.get("external_id") == external_id and rec.open:
                raise SlackApiError("duplicate_external_id")
    return spec


def exchange_trigger(ws: Workspace, args: JsonDict) -> str:
    """The user a ``trigger_id`` was issued to; the trigger is used up."""
    trigger_id = args.get("trigger_id") or args.get("interactivity_pointer")
    if not trigger_id:
        raise missing("trigger_id")
    trigger = ws._triggers.get(str(trigger_id))
    if trigger is None:
        raise SlackApiError("invalid_trigger_id")
    if trigger.used:
        raise SlackApiError("exchanged_trigger_id")
    if time.monotonic() - trigger.issued_at > ws.trigger_ttl:
        raise SlackApiError("expired_trigger_id")
    trigger.used = True
    return trigger.user


def build_view(
    ws: Workspace,
    spec: JsonDict,
    *,
    view_id: str,
    previous: JsonDict | None = None,
    root_view_id: str | None = None,
    previous_view_id: str | None = None,
) -> JsonDict:
    """The view object Slack returns for ``spec``; ``previous`` keeps the state of blocks still there."""
    blocks = fill_block_ids(spec.get("blocks") or [])
    view: JsonDict = {
        "id": view_id,
        "team_id": ws.team_id,
        "type": spec["type"],
        "blocks": blocks,
        "private_metadata": spec.get("private_metadata") or "",
        "callback_id": spec.get("callback_id") or "",
        "external_id": spec.get("external_id") or "",
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "clear_on_close": bool(spec.get("clear_on_close", False)),
        "notify_on_close": bool(spec.get("notify_on_close", False)),
        "root_view_id": root_view_id or view_id,
        "previous_view_id": previous_view_id,
        "app_id": ws.app_id,
        "app_installed_team_id": ws.team_id,
        "bot_id": ws.bot_id,
    }
    for key in ("title", "submit", "close"):
        if spec.get(key) is not None:
            view[key] = copy.deepcopy(spec[key])
        elif spec["type"] == "modal" and key == "close":
            view[key] = {"type": "plain_text", "text": "Cancel", "emoji": True}
    if previous is not None:
        view["root_view_id"] = previous.get("root_view_id", view_id)
        view["previous_view_id"] = previous.get("previous_view_id")
        kept = {b.get("block_id") for b in blocks}
        old_values = previous.get("state", {}).get("values", {})
        view["state"] = {"values": {k: v for k, v in old_values.items() if k in kept}}
    return view


def push_view(ws: Workspace, user: str, spec: JsonDict) -> JsonDict:
    """Push ``spec`` onto ``user``'s modal stack."""
    stack = ws._stacks.setdefault(user, [])
    if not stack:
        raise SlackApiError("not_found")
    if len(stack) >= MAX_VIEW_STACK:
        raise SlackApiError("push_limit_reached")
    view_id = ws._new_id("V")
    root = ws._views[stack[0]].view["id"]
    view = build_view(ws, spec, view_id=view_id, root_view_id=root, previous_view_id=stack[-1])
    ws._views[view_id] = ViewRecord(view=view, user=user)
    stack.append(view_id)
    ws._opened.append(copy.deepcopy(view))
    return view


def close_stack(ws: Workspace, user_id: str, view_id: str | None = None) -> None:
    """Close ``view_id`` and the views above it on ``user_id``'s stack (``None``: the whole stack)."""
    stack = ws._stacks.get(user_id, [])
    if view_id is None:
        for v in stack:
            ws._views[v].open = False
        stack.clear()
    elif view_id in stack:
        idx = stack.index(view_id)
        for v in stack[idx:]:
            ws._views[v].open = False
        del stack[idx:]


def open_(ws: Workspace, args: JsonDict) -> JsonDict:
    spec = view_spec(ws, args, ("modal",))
    user = exchange_trigger(ws, args)
    view_id = ws._new_id("V")
    view = build_view(ws, spec, view_id=view_id)
    close_stack(ws, user)
    ws._views[view_id] = ViewRecord(view=view, user=user)
    ws._stacks[user] = [view_id]
    ws._opened.append(copy.deepcopy(view))
    return {"ok": True, "view": copy.deepcopy(view)}


def push(ws: Workspace, args: JsonDict) -> JsonDict:
    spec = view_spec(ws, args, ("modal",))
    user = exchange_trigger(ws, args)
    return {"ok": True, "view": copy.deepcopy(push_view(ws, user, spec))}


def update(ws: Workspace, args: JsonDict) -> JsonDict:
    view_id, external_id = args.get("view_id"), args.get("external_id")
    if not view_id and not external_id:
        raise missing("view_id")
    rec: ViewRecord | None = None
    if view_id:
        rec = ws._views.get(str(view_id))
    else:
        rec = next((r for r in ws._views.values() if r.view.get("external_id") == external_id), None)
    if rec is None or (rec.view["type"] == "modal" and not rec.open):
        raise SlackApiError("not_found")
    spec = args.get("view")
    if spec is None or spec == "":
        raise missing("view")
    errors = validate_view(spec, expected=(str(rec.view["type"]),))
    if errors:
        raise SlackApiError("invalid_arguments", messages=errors)
    if args.get("hash") and args["hash"] != rec.view.get("hash"):
        raise SlackApiError("hash_conflict")
    assert isinstance(spec, dict)
    rec.view = build_view(ws, spec, view_id=rec.view["id"], previous=rec.view)
    return {"ok": True, "view": copy.deepcopy(rec.view)}


def publish(ws: Workspace, args: JsonDict) -> JsonDict:
    user_id = args.get("user_id")
    if not user_id:
        raise missing("user_id")
    if user_id not in ws._users:
        raise SlackApiError("user_not_found")
    spec = args.get("view")
    if spec is None or spec == "":
        raise missing("view")
    errors = validate_view(spec, expected=("home",))
    if errors:
        raise SlackApiError("invalid_arguments", messages=errors)
    assert isinstance(spec, dict)
    existing = ws._homes.get(str(user_id))
    if existing and args.get("hash") and args["hash"] != ws._views[existing].view.get("hash"):
        raise SlackApiError("hash_conflict")
    if existing:
        rec = ws._views[existing]
        rec.view = build_view(ws, spec, view_id=existing, previous=rec.view)
    else:
        view_id = ws._new_id("V")
        rec = ViewRecord(view=build_view(ws, spec, view_id=view_id), user=str(user_id))
        ws._views[view_id] = rec
        ws._homes[str(user_id)] = view_id
    return {"ok": True, "view": copy.deepcopy(rec.view)}


METHODS: dict[str, Method] = {
    "views.open": open_,
    "views.push": push,
    "views.update": update,
    "views.publish": publish,
}
