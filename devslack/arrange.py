"""How a test sets the scene in ``FakeSlack``: people, channels, what people typed or uploaded, and the
trigger_ids and response_urls Slack would hand the app with an interaction."""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Iterable
from dataclasses import replace

from devslack.models import FakeChannel, FakeMessage, FakeUser, JsonDict
from devslack.webapi.files import new_file, share_file
from devslack.workspace import ResponseUrlBinding, Trigger, Workspace

__all__ = ["Arrange"]


class Arrange(Workspace):
    def add_user(
        self,
        user_id: str,
        email: str,
        *,
        real_name: str | None = None,
        tz: str = "America/Los_Angeles",
        is_bot: bool = False,
        is_admin: bool = False,
        display_name: str = "",
        locale: str = "en-US",
    ) -> FakeUser:
        user = FakeUser(
            id=user_id,
            email=email,
            real_name=real_name
            if real_name is not None
            else email.split("@", 1)[0].replace(".", " ").title(),
            tz=tz,
            team_id=self.team_id,
            is_bot=is_bot,
            is_admin=is_admin,
            display_name=display_name,
            locale=locale,
        )
        with self._lock:
            self._users[user_id] = user
        return replace(user)

    def user(self, user_id: str) -> FakeUser:
        with self._lock:
            return replace(self._users[user_id])

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        members: Iterable[str] | None = None,
        bot_is_member: bool = True,
    ) -> str:
        """Create a channel. ``members=None`` means everybody (like #general);
        otherwise only the listed users (plus the bot unless ``bot_is_member=False``)."""
        member_set: set[str] | None = None
        if members is not None or not bot_is_member:
            member_set = set(members or ())
            if bot_is_member:
                member_set.add(self.bot_user_id)
        with self._lock:
            self._channels[channel_id] = FakeChannel(
                id=channel_id, name=name.lstrip("#"), is_private=is_private, members=member_set
            )
            self._messages.setdefault(channel_id, [])
        return channel_id

    def channel(self, channel_id: str) -> FakeChannel:
        """A copy of a channel's record (DMs included); KeyError if unknown."""
        with self._lock:
            return replace(self._channels[self._dms.get(channel_id, channel_id)])

    def dm_channel(self, user_id: str) -> str:
        """The stable ``D...`` id of the bot's DM with ``user_id`` (opened on first use)."""
        with self._lock:
            if user_id not in self._users:
                raise KeyError(f"unknown user {user_id}")
            return self._open_dm(user_id)

    def issue_trigger_id(self, user_id: str) -> str:
        """A fresh trigger_id, as Slack attaches to an interaction by ``user_id``."""
        trigger = f"{int(time.time())}.{secrets.randbelow(10**10):010d}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger] = Trigger(user=user_id, issued_at=time.monotonic())
        return trigger

    def new_response_url(
        self,
        *,
        channel: str | None = None,
        user: str | None = None,
        message: FakeMessage | None = None,
    ) -> str:
        """A response_url on the fake. When bound to ``message``, ``replace_original``
        and ``delete_original`` act on it; ``channel``/``user`` say where new
        in-channel and ephemeral responses land."""
        key = secrets.token_urlsafe(18)
        with self._lock:
            self._response_urls[key] = ResponseUrlBinding(
                channel=message.channel if message else channel,
                user=user if user else (message.recipient if message and message.ephemeral else None),
                message_ts=message.ts if message else None,
                ephemeral=bool(message and message.ephemeral),
            )
        return f"{self.root_url}/actions/{key}"

    def post_as_user(
        self,
        user_id: str,
        channel: str,
        text: str,
        *,
        files: list[JsonDict] | None = None,
        thread_ts: str | None = None,
        blocks: list[JsonDict] | None = None,
    ) -> FakeMessage:
        """Record a message a person typed in Slack (``channel`` may be a user id: their DM)."""
        with self._lock:
            ch = self._resolve_channel(channel, allow_user=True)
            subtype = "file_share" if files else None
            msg = FakeMessage(
                channel=ch.id,
                ts=self._next_ts(),
                text=text,
                user=user_id,
                blocks=copy.deepcopy(blocks) if blocks else [],
                thread_ts=thread_ts,
                team=self.team_id,
                subtype=subtype,
                files=copy.deepcopy(files or []),
            )
            self._append_message(msg)
            for f in files or []:
                rec = self._files.get(str(f.get("id")))
                if rec is not None:
                    share_file(rec, ch, msg.ts)
            return copy.deepcopy(msg)

    def add_file(
        self, content: bytes, name: str, mimetype: str, user: str, *, title: str | None = None
    ) -> JsonDict:
        """Register a file as if ``user`` had uploaded it; returns the Slack file object."""
        with self._lock:
            rec = new_file(self, name=name, title=title or name, user=user, mimetype=mimetype)
            rec.content = content
            rec.meta["size"] = len(content)
            return copy.deepcopy(rec.meta)
