"""How a test reads ``FakeSlack``'s workspace as it stands: messages (and waiting for one), views and
modal stacks, response_url posts, files and their downloads."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable

from devslack.models import FakeMessage, FileDownload, JsonDict, ResponseUrlPost
from devslack.render import render_message
from devslack.webapi.views import build_view, close_stack, push_view
from devslack.workspace import Workspace

__all__ = ["Inspection"]


class Inspection(Workspace):
    def display_name(self, user_id: str) -> str:
        """How Slack shows a user: display name, else real name, else the id."""
        with self._lock:
            user = self._users.get(user_id)
        if user is None:
            return user_id
        return user.display_name or user.real_name or user.name

    def transcript(self, channel: str) -> str:
        """The channel (or a user's bot DM) as readable text, ephemeral messages included."""
        with self._lock:
            ch_id = self._dms.get(channel, channel)
            everything = [
                *self.messages(ch_id),
                *[copy.deepcopy(m) for m in self._ephemeral if m.channel == ch_id],
            ]
        everything.sort(key=lambda m: float(m.ts))
        return "\n\n".join(render_message(m, names=self.display_name) for m in everything)

    def wait_for_message(
        self,
        channel: str,
        predicate: Callable[[FakeMessage], bool] | None = None,
        timeout: float = 5.0,
    ) -> FakeMessage:
        """The first message in ``channel`` (current state; a user id means the bot DM)
        matching ``predicate``, waiting for it to appear or change."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                channel_id = self._dms.get(channel, channel)
                current = self.messages(channel_id)
            for msg in current:
                if predicate is None or predicate(msg):
                    return msg
            if time.monotonic() > deadline:
                listing = "\n".join(f"  {m.ts} {m.user}: {m.text[:120]!r}" for m in current[-15:])
                raise AssertionError(
                    f"no matching message in {channel} within {timeout}s; messages:\n{listing or '  (none)'}"
                )
            time.sleep(0.02)

    def messages(self, channel: str, *, include_replies: bool = True) -> list[FakeMessage]:
        """Messages in ``channel`` (a C/G/D id, or a user id for the bot DM) in
        posting order, as they currently stand."""
        with self._lock:
            ch_id = self._dms.get(channel, channel)
            msgs = self._messages.get(ch_id, [])
            return [
                copy.deepcopy(m)
                for m in msgs
                if include_replies or m.thread_ts is None or m.thread_ts == m.ts
            ]

    def dm_messages(self, user_id: str) -> list[FakeMessage]:
        """Messages in the bot's DM with ``user_id`` (empty if never opened)."""
        with self._lock:
            dm = self._dms.get(user_id)
            return self.messages(dm) if dm else []

    def thread(self, channel: str, thread_ts: str) -> list[FakeMessage]:
        """The parent message and its replies."""
        return [m for m in self.messages(channel) if m.ts == thread_ts or m.thread_ts == thread_ts]

    def message(self, channel: str, ts: str) -> FakeMessage:
        """The current state of one message (ephemeral ones included)."""
        with self._lock:
            ch_id = self._dms.get(channel, channel)
            for m in self._messages.get(ch_id, []):
                if m.ts == ts:
                    return copy.deepcopy(m)
            for m in self._ephemeral:
                if m.channel == ch_id and m.ts == ts:
                    return copy.deepcopy(m)
        raise KeyError(f"no message {ts} in {channel}")

    def ephemeral(self, user_id: str, channel: str | None = None) -> list[FakeMessage]:
        """Ephemeral messages shown to ``user_id`` (optionally only in ``channel``)."""
        with self._lock:
            ch_id = self._dms.get(channel, channel) if channel else None
            return [
                copy.deepcopy(m)
                for m in self._ephemeral
                if m.recipient == user_id and (ch_id is None or m.channel == ch_id)
            ]

    @property
    def views_opened(self) -> list[JsonDict]:
        """Every view returned by views.open / views.push, as it was at that moment."""
        with self._lock:
            return copy.deepcopy(self._opened)

    def view(self, view_id: str) -> JsonDict:
        """The current state of a view."""
        with self._lock:
            return copy.deepcopy(self._views[view_id].view)

    def view_user(self, view_id: str) -> str:
        with self._lock:
            return self._views[view_id].user

    def open_views(self, user_id: str) -> list[JsonDict]:
        """The user's modal stack, root first (empty when no modal is open)."""
        with self._lock:
            return [copy.deepcopy(self._views[v].view) for v in self._stacks.get(user_id, [])]

    def latest_view(self, user_id: str) -> JsonDict | None:
        """The current state of the view most recently opened or pushed for ``user_id``."""
        with self._lock:
            for opened in reversed(self._opened):
                rec = self._views.get(opened["id"])
                if rec is not None and rec.user == user_id:
                    return copy.deepcopy(rec.view)
        return None

    def home_view(self, user_id: str) -> JsonDict | None:
        """The App Home view last published for ``user_id``."""
        with self._lock:
            view_id = self._homes.get(user_id)
            return copy.deepcopy(self._views[view_id].view) if view_id else None

    def close_views(self, user_id: str, view_id: str | None = None) -> None:
        """Close the top modal (or, with ``view_id=None`` and clear, the whole stack)
        as Slack does after a submission or when the user dismisses it."""
        with self._lock:
            close_stack(self, user_id, view_id)

    def apply_view_update(self, view_id: str, spec: JsonDict) -> JsonDict:
        """Replace a view's content, as a ``response_action: update`` does."""
        with self._lock:
            rec = self._views[view_id]
            rec.view = build_view(self, spec, view_id=view_id, previous=rec.view)
            return copy.deepcopy(rec.view)

    def apply_view_push(self, user_id: str, spec: JsonDict) -> JsonDict:
        """Push a view onto the user's stack, as a ``response_action: push`` does."""
        with self._lock:
            return copy.deepcopy(push_view(self, user_id, spec))

    def set_view_state(self, view_id: str, values: JsonDict) -> None:
        """Record what the user typed into a view (``state.values``)."""
        with self._lock:
            self._views[view_id].view["state"] = {"values": copy.deepcopy(values)}

    @property
    def response_url_posts(self) -> list[ResponseUrlPost]:
        with self._lock:
            return list(self._response_posts)

    def wait_for_response_post(
        self,
        predicate: Callable[[ResponseUrlPost], bool] | None = None,
        timeout: float = 5.0,
        *,
        after: int = 0,
    ) -> ResponseUrlPost:
        """Wait for a POST to a response_url matching ``predicate``; ``after`` skips the
        first posts (take ``len(slack.response_url_posts)`` before the interaction)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                posts = self._response_posts[after:]
            for post in posts:
                if predicate is None or predicate(post):
                    return post
            if time.monotonic() > deadline:
                listing = "\n".join(f"  {json.dumps(p.body, default=str)[:200]}" for p in posts[-10:])
                raise AssertionError(
                    f"no matching response_url post within {timeout}s; posts:\n{listing or '  (none)'}"
                )
            time.sleep(0.02)

    @property
    def file_downloads(self) -> list[FileDownload]:
        with self._lock:
            return list(self._downloads)

    def file(self, file_id: str) -> JsonDict:
        with self._lock:
            return copy.deepcopy(self._files[file_id].meta)

    def file_content(self, file_id: str) -> bytes | None:
        with self._lock:
            return self._files[file_id].content
