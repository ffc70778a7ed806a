"""The Web API methods ``FakeSlack`` serves, one module per method family, joined in one table.

Each family module defines functions ``(workspace, args) -> response body`` (raising
``SlackApiError`` for ``{"ok": false}``) and a ``METHODS`` dict naming them by their Slack method
name. To serve a new method, add it to its family's ``METHODS`` (or add a family module and list
it below); ``FakeSlack`` takes care of tokens, argument parsing, faults and recording.
"""

from __future__ import annotations

from devslack.webapi import auth, chat, conversations, files, reactions, users, views
from devslack.workspace import Method

__all__ = ["FAMILIES", "METHODS", "Method"]

FAMILIES = (auth, chat, conversations, files, reactions, users, views)

METHODS: dict[str, Method] = {name: method for family in FAMILIES for name, method in family.METHODS.items()}
