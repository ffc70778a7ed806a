"""Multi-workspace mode: which workspace's bot token a Slack call carries.

In multi-workspace mode (``SLACK_CLIENT_ID`` set) there is no ``SLACK_BOT_TOKEN``: each workspace
that installed the app has its own bot token in the installation store. ``ctx.slack`` is then a
:class:`TeamRoutedClient`: every call it makes carries the token of the workspace in
``storage.tenancy.current_team`` (set by the Bolt middleware for a Slack request, by the job
runner for a job, by the outbox for a message). A token close to expiry (token rotation) is
refreshed with ``oauth.v2.access`` first, as Bolt does for requests.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from storage.installations import AsyncInstallations
from storage.tenancy import current_team

CACHE_SECONDS = 30.0
ROTATE_MINUTES_BEFORE_EXPIRY = 10


class NoWorkspace(RuntimeError):
    """A Slack call was made with no workspace in scope, or for a workspace not installed."""


class WorkspaceTokens:
    """Bot tokens by workspace, from the installation store, cached briefly, rotated when due."""

    def __init__(self, installations: AsyncInstallations, rotator: AsyncTokenRotator | None) -> None:
        self.installations = installations
        self.rotator = rotator
        self._cache: dict[str, tuple[float, Bot]] = {}
        self._lock = asyncio.Lock()

    def forget(self, team_id: str) -> None:
        self._cache.pop(team_id, None)

    async def bot(self, team_id: str) -> Bot:
        cached = self._cache.get(team_id)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS and not _expiring(cached[1]):
            return cached[1]
        async with self._lock:
            bot = await self.installations.async_find_bot(enterprise_id=None, team_id=team_id)
            if bot is None or not bot.bot_token:
                self._cache.pop(team_id, None)
                raise NoWorkspace(f"expensebot is not installed in workspace {team_id}")
            if self.rotator is not None and bot.bot_refresh_token and _expiring(bot):
                bot = await self._rotate(team_id, bot, self.rotator)
            self._cache[team_id] = (time.monotonic(), bot)
            return bot

    async def _rotate(self, team_id: str, bot: Bot, rotator: AsyncTokenRotator) -> Bot:
        """A fresh token for a bot close to expiry, saved where Bolt reads it too.

        Bolt's own authorize reads the workspace's *installation* and rotates with its refresh
        token; a refresh token is good for one refresh only. So the new token and refresh token go
        into the installation as well as the bot row: saving only the bot would leave Bolt with a
        spent refresh token (``invalid_refresh_token``) at its next request."""
        refreshed = await rotator.perform_bot_token_rotation(
            bot=bot, minutes_before_expiration=ROTATE_MINUTES_BEFORE_EXPIRY
        )
        if refreshed is None:
            return bot
        installation = await self.installations.async_find_installation(enterprise_id=None, team_id=team_id)
        if installation is None:
            await self.installations.async_save_bot(refreshed)
            return refreshed
        installation.bot_token = refreshed.bot_token
        installation.bot_refresh_token = refreshed.bot_refresh_token
        installation.bot_token_expires_at = refreshed.bot_token_expires_at
        await self.installations.async_save(installation)  # the installation and its bot row
        return refreshed

    async def token(self, team_id: str) -> str:
        token = (await self.bot(team_id)).bot_token
        assert token is not None
        return token


def _expiring(bot: Bot) -> bool:
    expires_at = bot.bot_token_expires_at
    return expires_at is not None and expires_at - time.time() < ROTATE_MINUTES_BEFORE_EXPIRY * 60


def _carries_token(*parts: Any) -> bool:
    return any(isinstance(part, dict) and part.get("token") for part in parts)


class TeamRoutedClient(AsyncWebClient):
    """A Web API client without a token of its own: each call carries the current workspace's."""

    tokens: WorkspaceTokens | None = None

    async def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        if (
            self.token is None
            and auth is None
            and self.tokens is not None
            and not _carries_token(data, params, json)
        ):
            team = current_team.get()
            if team is None:
                raise NoWorkspace(
                    f"{api_method} was called with no workspace in scope (multi-workspace mode)"
                )
            headers = {**(headers or {}), "Authorization": f"Bearer {await self.tokens.token(team)}"}
        return await super().api_call(
            api_method,
            http_verb=http_verb,
            files=files,
            data=data,
            params=params,
            json=json,
            headers=headers,
            auth=auth,
        )
