"""Plain records describing the state of the local Slack stand-in.

Everything here is a snapshot: the fake hands out copies, so a test holding a
``FakeMessage`` keeps what it saw while the workspace moves on.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class ApiCall:
    """One Web API request as the fake received it.

    ``args`` holds every argument from the query string and body (form or JSON),
    with JSON-encoded arguments such as ``blocks`` or ``view`` already decoded;
    the token is kept apart in ``token``; ``response`` is the body sent back.
    """

    method: str
    args: JsonDict
    token: str | None
    at: float
    http_status: int = 200
    error: str | None = None
    response: JsonDict | None = None  # the JSON body the caller received

    @property
    def ok(self) -> bool:
        return self.http_status == 200 and self.error is None


@dataclass
class FakeUser:
    id: str
    email: str
    real_name: str
    tz: str
    team_id: str
    is_bot: bool = False
    is_admin: bool = False
    deleted: bool = False
    display_name: str = ""
    locale: str = "en-US"  # returned by users.info / users.list only when asked (include_locale)

    @property
    def name(self) -> str:
        return self.email.split("@", 1)[0] if self.email else self.real_name.lower().replace(" ", ".")

    def to_api(self, *, include_locale: bool = False) -> JsonDict:
        """The user object as ``users.info`` returns it (with ``locale`` when asked for)."""
        offset, label = _tz_details(self.tz)
        profile: JsonDict = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.display_name,
            "display_name_normalized": self.display_name,
            "first_name": self.real_name.split(" ", 1)[0],
            "last_name": self.real_name.split(" ", 1)[1] if " " in self.real_name else "",
            "team": self.team_id,
            "image_72": f"https://avatars.invalid/{self.id}_72.png",
        }
        if self.email:
            profile["email"] = self.email
        user: JsonDict = {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": label,
            "tz_offset": offset,
            "profile": profile,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }
        if include_locale:
            user["locale"] = self.locale
        return user


def _tz_details(tz: str) -> tuple[int, str]:
    try:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        now = datetime.now(ZoneInfo(tz))
        delta = now.utcoffset()
        return (int(delta.total_seconds()) if delta else 0, now.tzname() or tz)
    except Exception:
        return (0, tz)


@dataclass
class FakeChannel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    im_user: str | None = None
    members: set[str] | None = None  # None: every workspace member
    created: int = 1700000000

    def to_api(self, bot_user_id: str) -> JsonDict:
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        is_member = self.members is None or bot_user_id in self.members
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private and not self.is_mpim,
            "is_group": self.is_private and not self.is_mpim,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private or self.is_mpim,
            "created": self.created,
            "is_archived": False,
            "is_general": self.name == "general",
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_member": is_member,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


@dataclass
class FakeMessage:
    """A message as it currently stands in a channel (or an ephemeral one)."""

    channel: str
    ts: str
    text: str
    user: str
    blocks: list[JsonDict] = field(default_factory=list)
    thread_ts: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    team: str | None = None
    subtype: str | None = None
    files: list[JsonDict] = field(default_factory=list)
    attachments: list[JsonDict] = field(default_factory=list)
    metadata: JsonDict | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    edited_ts: str | None = None
    ephemeral: bool = False
    recipient: str | None = None  # for ephemeral messages: the only user who sees it
    reply_count: int = 0

    @property
    def is_bot(self) -> bool:
        return self.bot_id is not None

    def to_api(self) -> JsonDict:
        """The message object as Slack includes it in API responses and payloads."""
        out: JsonDict = {"type": "message", "text": self.text, "user": self.user, "ts": self.ts}
        if self.subtype:
            out["subtype"] = self.subtype
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = self.app_id
        if self.team:
            out["team"] = self.team
        if self.blocks:
            out["blocks"] = copy.deepcopy(self.blocks)
        if self.attachments:
            out["attachments"] = copy.deepcopy(self.attachments)
        if self.files:
            out["files"] = copy.deepcopy(self.files)
            out["upload"] = False
            out["display_as_bot"] = False
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
            if self.thread_ts == self.ts:
                out["reply_count"] = self.reply_count
        if self.metadata:
            out["metadata"] = copy.deepcopy(self.metadata)
        if self.edited_ts:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        if self.reactions:
            out["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in self.reactions.items()
            ]
        return out

    def buttons(self) -> list[JsonDict]:
        """Every Block Kit button element in the message, in display order."""
        return [copy.deepcopy(button) for _, button in iter_buttons(self.blocks)]

    def button(self, label_contains: str) -> JsonDict:
        """The button whose label matches (exact, then case-insensitive substring)."""
        _, button = find_button(self.blocks, label_contains, where=f"message {self.ts} in {self.channel}")
        return copy.deepcopy(button)

    def all_text(self) -> str:
        """The message text followed by every text found in its blocks, one per line."""
        parts = [self.text, *block_texts(self.blocks)]
        for attachment in self.attachments:
            parts.extend(str(attachment.get(k, "")) for k in ("pretext", "title", "text", "fallback"))
            parts.extend(block_texts(attachment.get("blocks", [])))
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class ResponseUrlPost:
    """A POST the app made to a response_url."""

    url: str
    body: JsonDict
    at: float
    channel: str | None
    message_ts: str | None
    user: str | None


@dataclass(frozen=True)
class FileDownload:
    """A GET of a file's url_private / url_private_download."""

    file_id: str
    authorized: bool
    at: float


def iter_buttons(blocks: list[JsonDict]) -> Iterator[tuple[str | None, JsonDict]]:
    """Yield ``(block_id, button)`` for every button, however deeply nested."""

    def walk(node: Any, block_id: str | None) -> Iterator[tuple[str | None, JsonDict]]:
        if isinstance(node, dict):
            if node.get("type") == "button":
                yield block_id, node
                return
            for key, value in node.items():
                if key in ("text", "label", "placeholder", "confirm", "hint", "title"):
                    continue
                yield from walk(value, block_id)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item, block_id)

    for block in blocks:
        yield from walk(block, block.get("block_id"))


def button_label(button: JsonDict) -> str:
    text = button.get("text")
    if isinstance(text, dict):
        return str(text.get("text", ""))
    return str(text or "")


def find_button(
    blocks: list[JsonDict], label_contains: str, *, where: str = ""
) -> tuple[str | None, JsonDict]:
    """Find one button by label: an exact (case-insensitive) match wins, otherwise a
    unique substring match; raises AssertionError listing the labels when ambiguous or absent."""
    found = list(iter_buttons(blocks))
    wanted = label_contains.casefold()
    exact = [b for b in found if button_label(b[1]).casefold() == wanted]
    if len(exact) == 1:
        return exact[0]
    partial = [b for b in found if wanted in button_label(b[1]).casefold()]
    if len(partial) == 1:
        return partial[0]
    labels = [button_label(b) for _, b in found]
    problem = "no button" if not partial else f"{len(partial)} buttons"
    raise AssertionError(f"{problem} matching {label_contains!r} in {where or 'blocks'}; buttons: {labels}")


def block_texts(node: Any) -> list[str]:
    """All human-visible strings (``text`` fields, rich text) inside blocks."""
    out: list[str] = []
    if isinstance(node, dict):
        text = node.get("text")
        if isinstance(text, str) and node.get("type") in (
            "plain_text",
            "mrkdwn",
            "text",
            "link",
            None,
        ):
            out.append(text)
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                continue
            out.extend(block_texts(value))
    elif isinstance(node, list):
        for item in node:
            out.extend(block_texts(item))
    return out
