"""Interactions as Slack sends them to the app: button clicks and menu choices on messages and
views, options loads, shortcuts, view submissions and closes, and slash commands. After a view
submission the app's answer is applied to the fake's view stack, as Slack does."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import httpx

from devslack.models import FakeMessage, JsonDict, find_button
from devslack.payloads import action_ts, find_element
from devslack.transport import Transport

__all__ = ["Interactions"]


class Interactions(Transport):
    def click(
        self, user: str, message: FakeMessage, label_contains: str, *, channel: str | None = None
    ) -> httpx.Response:
        """Click the button labelled ``label_contains`` in ``message`` (looked up in its
        current state)."""
        current = message
        with suppress(KeyError):
            current = self.fake.message(message.channel, message.ts)
        block_id, button = find_button(current.blocks, label_contains, where=f"message {current.ts}")
        action: JsonDict = {
            "action_id": button.get("action_id"),
            "block_id": block_id,
            "text": button.get("text"),
            "type": "button",
            "action_ts": action_ts(),
        }
        if "value" in button:
            action["value"] = button["value"]
        if "style" in button:
            action["style"] = button["style"]
        return self._post_payload(self._message_action_payload(user, current, action, channel))

    def click_in_view(
        self,
        user: str,
        view: JsonDict,
        label_contains: str,
        *,
        values: dict[str, dict[str, JsonDict]] | None = None,
    ) -> httpx.Response:
        """Click a button in a modal or App Home ``view``; ``values`` is what the user
        has typed into the view so far (sent as ``view.state.values``)."""
        current = self._with_values(self._current_view(view), values)
        block_id, button = find_button(
            current.get("blocks", []), label_contains, where=f"view {current['id']}"
        )
        action: JsonDict = {
            "action_id": button.get("action_id"),
            "block_id": block_id,
            "text": button.get("text"),
            "type": "button",
            "action_ts": action_ts(),
        }
        if "value" in button:
            action["value"] = button["value"]
        return self._post_payload(self._view_action_payload(user, current, action))

    def block_action(
        self,
        user: str,
        action_id: str,
        value: str | None = None,
        *,
        block_id: str | None = None,
        message: FakeMessage | None = None,
        view: JsonDict | None = None,
        channel: str | None = None,
        action: JsonDict | None = None,
        values: dict[str, dict[str, JsonDict]] | None = None,
    ) -> httpx.Response:
        """A ``block_actions`` payload for ``action_id`` in ``message`` or ``view``.

        ``action`` overrides the generated action (e.g. a ``static_select`` with
        ``selected_option``); otherwise a button action with ``value`` is sent.
        ``values`` sets ``state.values`` (of the view, or of the message's inputs)."""
        blocks: list[JsonDict] = []
        if message is not None:
            with suppress(KeyError):
                message = self.fake.message(message.channel, message.ts)
            blocks = message.blocks
        elif view is not None:
            view = self._with_values(self._current_view(view), values)
            blocks = view.get("blocks", [])
        found_block, element = find_element(blocks, action_id)
        act: JsonDict = {
            "action_id": action_id,
            "block_id": block_id or found_block or "",
            "type": "button",
            "action_ts": action_ts(),
        }
        if element is not None and element.get("type") == "button":
            act["text"] = element.get("text")
        if value is not None:
            act["value"] = value
        if action is not None:
            act.update(action)
        if message is not None:
            payload = self._message_action_payload(user, message, act, channel)
            if values is not None:
                payload["state"] = {"values": values}
        elif view is not None:
            payload = self._view_action_payload(user, view, act)
        else:
            channel_id = channel or self.fake.dm_channel(user)
            payload = {
                **self._interaction_base("block_actions", user),
                "container": {"type": "message", "channel_id": channel_id, "is_ephemeral": False},
                "channel": self._channel(channel_id),
                "state": {"values": {}},
                "response_url": self.fake.new_response_url(channel=channel_id, user=user),
                "actions": [act],
            }
        return self._post_payload(payload)

    def choose(
        self,
        user: str,
        action_id: str,
        value: str,
        text: str | None = None,
        *,
        message: FakeMessage | None = None,
        view: JsonDict | None = None,
        values: dict[str, dict[str, JsonDict]] | None = None,
    ) -> httpx.Response:
        """Pick ``value`` in the select menu ``action_id`` of ``message`` or ``view``
        (a ``block_actions`` payload carrying ``selected_option``)."""
        blocks: list[JsonDict] = []
        if message is not None:
            blocks = message.blocks
        elif view is not None:
            blocks = self._current_view(view).get("blocks", [])
        _, element = find_element(blocks, action_id)
        if element is None:
            where = f"message {message.ts}" if message else f"view {view.get('id') if view else None}"
            raise AssertionError(f"no element with action_id {action_id!r} in {where}")
        label = text
        if label is None:
            for option in _options_of(element):
                if option.get("value") == value:
                    label = str(option.get("text", {}).get("text", value))
        kind = str(element.get("type", "static_select"))
        option = {"text": {"type": "plain_text", "text": label or value, "emoji": True}, "value": value}
        action: JsonDict = {"type": kind, "selected_option": option}
        return self.block_action(user, action_id, message=message, view=view, action=action, values=values)

    def block_suggestion(
        self,
        user: str,
        action_id: str,
        value: str,
        *,
        view: JsonDict | None = None,
        block_id: str | None = None,
    ) -> httpx.Response:
        """The options load Slack sends while ``user`` types ``value`` into an
        external select (in ``view``, by default the user's latest view)."""
        current = self._current_view(view if view is not None else self.latest_view(user))
        found_block, _ = find_element(current.get("blocks", []), action_id)
        payload: JsonDict = {
            "type": "block_suggestion",
            "user": self._user(user),
            "container": {"type": "view", "view_id": current["id"]},
            "api_app_id": self.fake.app_id,
            "token": self.verification_token,
            "action_id": action_id,
            "block_id": block_id or found_block or "",
            "value": value,
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": current,
        }
        return self._post_payload(payload)

    def message_shortcut(
        self, user: str, callback_id: str, message: FakeMessage, channel: str | None = None
    ) -> httpx.Response:
        channel_id = channel or message.channel
        payload: JsonDict = {
            "type": "message_action",
            "token": self.verification_token,
            "action_ts": action_ts(),
            "team": self._team(),
            "user": self._user(user),
            "channel": self._channel(channel_id),
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.fake.issue_trigger_id(user),
            "response_url": self.fake.new_response_url(channel=channel_id, user=user),
            "message_ts": message.ts,
            "message": message.to_api(),
        }
        return self._post_payload(payload)

    def global_shortcut(self, user: str, callback_id: str) -> httpx.Response:
        payload: JsonDict = {
            "type": "shortcut",
            "token": self.verification_token,
            "action_ts": action_ts(),
            "team": self._team(),
            "user": self._user(user),
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.fake.issue_trigger_id(user),
        }
        return self._post_payload(payload)

    def latest_view(self, user: str) -> JsonDict:
        """The current state of the view last opened/pushed for ``user``."""
        view = self.fake.latest_view(user)
        if view is None:
            opened = [c.args.get("view", {}).get("callback_id") for c in self.fake.calls_to("views.open")]
            raise AssertionError(f"no view was opened for {user}; views.open calls: {opened}")
        return view

    def submit_view(
        self, user: str, view: JsonDict | None, values: dict[str, dict[str, JsonDict]]
    ) -> httpx.Response:
        """Submit ``view`` (default: the user's latest) with ``state.values = values``.

        Like Slack, applies the app's answer to the fake's view stack: an empty
        acknowledgement closes the view, ``response_action`` ``update``/``push``/
        ``clear`` update/push/close, ``errors`` leaves it open."""
        current = self._current_view(view if view is not None else self.latest_view(user))
        current["state"] = {"values": values}
        tracked = self._is_tracked(current["id"])
        if tracked:
            self.fake.set_view_state(current["id"], values)
        payload: JsonDict = {
            **self._interaction_base("view_submission", user),
            "view": current,
            "response_urls": [],
        }
        response = self._post_payload(payload)
        if tracked and response.status_code == 200:
            self._apply_submission_answer(user, current, response)
        return response

    def close_view(self, user: str, view: JsonDict | None = None) -> httpx.Response | None:
        """The user dismisses the modal; sends ``view_closed`` when the view asked
        for ``notify_on_close`` (otherwise nothing is sent and ``None`` returned)."""
        current = self._current_view(view if view is not None else self.latest_view(user))
        if self._is_tracked(current["id"]):
            self.fake.close_views(user, current["id"])
        if not current.get("notify_on_close"):
            return None
        payload: JsonDict = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user),
            "api_app_id": self.fake.app_id,
            "token": self.verification_token,
            "view": current,
            "is_cleared": False,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._post_payload(payload)

    def slash_command(
        self, user: str, command: str, text: str = "", *, channel: str | None = None
    ) -> httpx.Response:
        """A slash command typed by ``user`` (in the bot DM unless ``channel`` is given)."""
        channel_id = channel or self.fake.dm_channel(user)
        fields = {
            "token": self.verification_token,
            "team_id": self.fake.team_id,
            "team_domain": self.fake.team_domain,
            "channel_id": channel_id,
            "channel_name": self._channel(channel_id)["name"],
            "user_id": user,
            "user_name": self._user(user)["username"],
            "command": command,
            "text": text,
            "api_app_id": self.fake.app_id,
            "is_enterprise_install": "false",
            "response_url": self.fake.new_response_url(channel=channel_id, user=user),
            "trigger_id": self.fake.issue_trigger_id(user),
        }
        return self._post_form(fields)

    # --------------------------------------------------------------- internals

    def _interaction_base(self, kind: str, user: str) -> JsonDict:
        return {
            "type": kind,
            "user": self._user(user),
            "api_app_id": self.fake.app_id,
            "token": self.verification_token,
            "trigger_id": self.fake.issue_trigger_id(user),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _message_action_payload(
        self, user: str, message: FakeMessage, action: JsonDict, channel: str | None
    ) -> JsonDict:
        channel_id = channel or message.channel
        payload: JsonDict = {
            **self._interaction_base("block_actions", user),
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": channel_id,
                "is_ephemeral": message.ephemeral,
            },
            "channel": self._channel(channel_id),
            "state": {"values": {}},
            "response_url": self.fake.new_response_url(message=message, user=user),
            "actions": [action],
        }
        if not message.ephemeral:
            payload["message"] = message.to_api()
        return payload

    def _view_action_payload(self, user: str, view: JsonDict, action: JsonDict) -> JsonDict:
        return {
            **self._interaction_base("block_actions", user),
            "container": {"type": "view", "view_id": view["id"]},
            "view": view,
            "actions": [action],
        }

    def _with_values(self, view: JsonDict, values: dict[str, dict[str, JsonDict]] | None) -> JsonDict:
        if values is None:
            return view
        view["state"] = {"values": values}
        if self._is_tracked(view["id"]):
            self.fake.set_view_state(view["id"], values)
        return view

    def _is_tracked(self, view_id: str) -> bool:
        try:
            self.fake.view(view_id)
        except KeyError:
            return False
        return True

    def _current_view(self, view: JsonDict) -> JsonDict:
        view_id = view.get("id")
        if isinstance(view_id, str) and self._is_tracked(view_id):
            return self.fake.view(view_id)
        return dict(view)

    def _apply_submission_answer(self, user: str, view: JsonDict, response: httpx.Response) -> None:
        answer: Any = None
        if response.content.strip():
            try:
                answer = response.json()
            except ValueError:
                answer = None
        action = answer.get("response_action") if isinstance(answer, dict) else None
        if action is None:
            self.fake.close_views(user, view["id"])
        elif action == "clear":
            self.fake.close_views(user)
        elif action == "update" and isinstance(answer.get("view"), dict):
            self.fake.apply_view_update(view["id"], answer["view"])
        elif action == "push" and isinstance(answer.get("view"), dict):
            self.fake.apply_view_push(user, answer["view"])


def _options_of(element: JsonDict) -> list[JsonDict]:
    options: list[JsonDict] = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options
