"""Multi-workspace mode: Bolt's OAuth v2 install flow on the product's database.

``GET /slack/install`` redirects (302) to ``SLACK_OAUTH_URL`` with ``client_id``, ``scope`` and a
one-time ``state`` (stored in ``slack_oauth_states``, expiring after ten minutes, and tied to the
installer's browser by a cookie). ``GET /slack/oauth_redirect`` checks the state, exchanges the
code with ``oauth.v2.access`` on ``SLACK_API_URL`` and stores the installation, tokens encrypted.
Every outcome is a short page saying what happened; failures are 4xx.
"""

from __future__ import annotations

import html
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse

from bot.context import AppContext

STATE_SECONDS = 600

_FAILURES: dict[str, tuple[int, str]] = {
    "invalid_browser": (
        400,
        "This install did not start in this browser (its cookie is missing). "
        "Start again from the install link.",
    ),
    "invalid_state": (
        400,
        "This install link has expired or was already used. Start again from the install link.",
    ),
    "missing_code": (400, "Slack did not send an authorization code. Start again from the install link."),
    "invalid_code": (
        400,
        "Slack did not accept the authorization (the code may have expired or been "
        "used already, or the app's client ID or secret is wrong). Start again from "
        "the install link; if it keeps failing, check SLACK_CLIENT_ID and "
        "SLACK_CLIENT_SECRET.",
    ),
    "access_denied": (403, "The installation was cancelled in Slack; nothing was installed."),
    "storage_error": (
        503,
        "The installation could not be saved (the database did not answer). Try again in a moment.",
    ),
}


def page(title: str, message: str, status: int, *, link: str | None = None) -> BoltResponse:
    more = f'<p><a href="{html.escape(link)}">Install again</a></p>' if link else ""
    body = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>expensebot: "
        f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(message)}</p>{more}</body></html>"
    )
    return BoltResponse(status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"})


async def _success(args: AsyncSuccessArgs) -> BoltResponse:
    installation = args.installation
    where = installation.team_name or installation.team_id or installation.enterprise_name or "your workspace"
    return page(
        "expensebot is installed",
        f"expensebot is installed in {where}. Send it a photo of a receipt in a direct message to start.",
        200,
    )


async def _failure(args: AsyncFailureArgs) -> BoltResponse:
    status, message = _FAILURES.get(
        args.reason,
        (400, f"The installation did not complete ({args.reason}). Start again from the install link."),
    )
    if args.reason not in _FAILURES and args.error is not None:
        status = 503
    return page("expensebot was not installed", message, status, link=args.settings.install_path)


def oauth_settings(ctx: AppContext) -> AsyncOAuthSettings:
    settings = ctx.settings
    assert ctx.installations is not None and ctx.oauth_states is not None
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=settings.bot_scopes,
        authorization_url=settings.slack_oauth_url,
        install_path="/slack/install",
        redirect_uri_path="/slack/oauth_redirect",
        install_page_rendering_enabled=False,  # a plain 302 to Slack's authorize page
        installation_store=ctx.installations,
        state_store=ctx.oauth_states,
        state_expiration_seconds=STATE_SECONDS,
        callback_options=AsyncCallbackOptions(success=_success, failure=_failure),
    )


def register_revocation(app: AsyncApp, ctx: AppContext) -> None:
    """``app_uninstalled`` ends the workspace's installation; ``tokens_revoked`` forgets the tokens
    Slack revoked (Bolt's own handlers on our store), and the tokens cached in this process go too."""
    assert ctx.installations is not None
    revocation = AsyncTokenRevocationListeners(ctx.installations)

    def forget(team_id: str | None) -> None:
        if ctx.tokens is not None and team_id:
            ctx.tokens.forget(team_id)

    @app.event("app_uninstalled")
    async def on_app_uninstalled(context: AsyncBoltContext) -> None:
        await revocation.handle_app_uninstalled_events(context)
        forget(context.team_id)

    @app.event("tokens_revoked")
    async def on_tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        await revocation.handle_tokens_revoked_events(event, context)
        forget(context.team_id)
