"""Builders for the values Slack puts in interaction payloads.

``state.values`` in a ``view_submission`` is ``{block_id: {action_id: element_state}}``;
the helpers below build one ``element_state`` each, shaped as Slack sends them::

    values = {
        "amount": {"amount_input": text_input("42.50")},
        "category": {"category_select": select("travel", "Travel")},
        "spent_on": {"date_pick": date("2024-03-01")},
    }
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from devslack.models import JsonDict


def _option(value: str, text: str | None = None) -> JsonDict:
    return {
        "text": {"type": "plain_text", "text": text if text is not None else value, "emoji": True},
        "value": value,
    }


def text_input(value: str | None, *, multiline: bool = False) -> JsonDict:
    """State of a ``plain_text_input`` (``None``: left empty)."""
    del multiline  # Slack reports single- and multi-line inputs identically
    return {"type": "plain_text_input", "value": value}


def number_input(value: str | float | None) -> JsonDict:
    """State of a ``number_input``: Slack reports the typed text as a string."""
    return {"type": "number_input", "value": None if value is None else str(value)}


def email_input(value: str | None) -> JsonDict:
    return {"type": "email_text_input", "value": value}


def select(value: str | None, text: str | None = None, *, kind: str = "static_select") -> JsonDict:
    """State of a single select (``static_select`` unless ``kind`` says otherwise)."""
    return {"type": kind, "selected_option": None if value is None else _option(value, text)}


def external_select(value: str | None, text: str | None = None) -> JsonDict:
    return select(value, text, kind="external_select")


def multi_select(values: Iterable[str | tuple[str, str]], *, kind: str = "multi_static_select") -> JsonDict:
    """State of a multi select; items are values or ``(value, text)`` pairs."""
    options = [_option(v) if isinstance(v, str) else _option(v[0], v[1]) for v in values]
    return {"type": kind, "selected_options": options}


def checkboxes(values: Iterable[str | tuple[str, str]]) -> JsonDict:
    return multi_select(values, kind="checkboxes")


def radio(value: str | None, text: str | None = None) -> JsonDict:
    return {"type": "radio_buttons", "selected_option": None if value is None else _option(value, text)}


def date(value: str | None) -> JsonDict:
    """State of a ``datepicker`` (``YYYY-MM-DD``)."""
    return {"type": "datepicker", "selected_date": value}


def time_of_day(value: str | None) -> JsonDict:
    """State of a ``timepicker`` (``HH:mm``)."""
    return {"type": "timepicker", "selected_time": value}


def user_select(user_id: str | None) -> JsonDict:
    return {"type": "users_select", "selected_user": user_id}


def conversation_select(channel_id: str | None) -> JsonDict:
    return {"type": "conversations_select", "selected_conversation": channel_id}


def channel_select(channel_id: str | None) -> JsonDict:
    return {"type": "channels_select", "selected_channel": channel_id}


def file_input(files: list[JsonDict]) -> JsonDict:
    """State of a ``file_input``: the Slack file objects the user attached."""
    return {"type": "file_input", "files": files}


def action_ts() -> str:
    """An ``action_ts``-style timestamp for now."""
    return f"{time.time():.6f}"


def find_element(blocks: list[JsonDict], action_id: str) -> tuple[str | None, JsonDict | None]:
    """The ``(block_id, element)`` carrying ``action_id`` in ``blocks``."""

    def walk(node: Any, block_id: str | None) -> tuple[str | None, JsonDict | None]:
        if isinstance(node, dict):
            if node.get("action_id") == action_id:
                return block_id, node
            for value in node.values():
                found = walk(value, block_id)
                if found[1] is not None:
                    return found
        elif isinstance(node, list):
            for item in node:
                found = walk(item, block_id)
                if found[1] is not None:
                    return found
        return None, None

    for block in blocks:
        found = walk(block, block.get("block_id"))
        if found[1] is not None:
            return found
    return None, None
