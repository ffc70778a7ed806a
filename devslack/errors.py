"""The error a Web API method raises: it becomes ``{"ok": false, "error": ...}``."""

from __future__ import annotations

from typing import Any

from devslack.models import JsonDict

__all__ = ["SlackApiError", "missing"]


class SlackApiError(Exception):
    """Raised inside a method handler; becomes ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, *, messages: list[str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []
        self.extra = extra

    def body(self) -> JsonDict:
        out: JsonDict = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            out["response_metadata"] = {"messages": self.messages}
        return out


def missing(name: str) -> SlackApiError:
    """Slack's answer to a missing required argument."""
    return SlackApiError("invalid_arguments", messages=[f"[ERROR] missing required field: {name}"])
