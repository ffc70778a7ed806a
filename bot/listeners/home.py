"""The App Home tab: published afresh each time the person opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.home import publish_home
from bot.listeners.common import app_context


async def on_home(event: dict[str, Any], context: AsyncBoltContext) -> None:
    if event.get("tab", "home") == "home":
        await publish_home(app_context(context), event["user"])


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(on_home)
