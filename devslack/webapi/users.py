"""``users.*``: people in the workspace, looked up by id or email, listed a page at a time."""

from __future__ import annotations

import time
from typing import Any

from devslack.errors import SlackApiError, missing
from devslack.models import JsonDict
from devslack.workspace import Method, Workspace, truthy


def page(items: list[Any], args: JsonDict) -> tuple[list[Any], str]:
    """One page of ``items`` by ``limit`` and ``cursor``, and the next cursor ("" at the end)."""
    try:
        limit = max(1, min(int(args.get("limit") or 1000), 1000))
        start = int(str(args.get("cursor") or "0").removeprefix("cur:") or 0)
    except ValueError as exc:
        raise SlackApiError("invalid_cursor") from exc
    chunk = items[start : start + limit]
    next_cursor = f"cur:{start + limit}" if start + limit < len(items) else ""
    return chunk, next_cursor


def info(ws: Workspace, args: JsonDict) -> JsonDict:
    user = ws._users.get(str(args.get("user") or ""))
    if user is None:
        raise SlackApiError("user_not_found")
    return {"ok": True, "user": user.to_api(include_locale=truthy(args.get("include_locale")))}


def list_(ws: Workspace, args: JsonDict) -> JsonDict:
    with_locale = truthy(args.get("include_locale"))
    users = [u.to_api(include_locale=with_locale) for u in ws._users.values()]
    chunk, cursor = page(users, args)
    return {
        "ok": True,
        "members": chunk,
        "cache_ts": int(time.time()),
        "response_metadata": {"next_cursor": cursor},
    }


def lookup_by_email(ws: Workspace, args: JsonDict) -> JsonDict:
    email = args.get("email")
    if not email:
        raise missing("email")
    for user in ws._users.values():
        if user.email and user.email.casefold() == str(email).casefold() and not user.deleted:
            return {"ok": True, "user": user.to_api()}
    raise SlackApiError("users_not_found")


METHODS: dict[str, Method] = {
    "users.info": info,
    "users.lookupByEmail": lookup_by_email,
    "users.list": list_,
}
