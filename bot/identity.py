"""Slack users <-> directory emails (users.info / users.lookupByEmail), cached in the database,
with each person's Slack locale (the language of their messages, see bot/i18n.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from babel import Locale
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bot import i18n
from bot.context import AppContext
from storage.models import SlackUser, utcnow
from workflows.directory import normalise_email

log = logging.getLogger(__name__)
FRESH_FOR = dt.timedelta(hours=12)


def _cached(ctx: AppContext, *, user_id: str | None = None, email: str | None = None) -> SlackUser | None:
    """The cached mapping; ``None`` (ask Slack) when the database cannot answer right now."""
    try:
        with ctx.db() as session:
            if user_id:
                return session.get(SlackUser, user_id)
            stmt = select(SlackUser).where(SlackUser.email == email).order_by(SlackUser.refreshed_at.desc())
            return session.scalars(stmt).first()
    except DBAPIError as exc:
        log.warning("identity cache unavailable: %s", type(exc.orig).__name__)
        return None


def _store(
    ctx: AppContext,
    user_id: str,
    email: str | None,
    name: str | None,
    dm: str | None = None,
    locale: str | None = None,
) -> None:
    try:
        _write(ctx, user_id, email, name, dm, locale)
    except IntegrityError:  # another request stored the same person a moment ago
        log.debug("identity of %s stored concurrently", user_id)
    except DBAPIError as exc:  # a cache: the next lookup asks Slack again
        log.warning("identity cache not updated: %s", type(exc.orig).__name__)


def _write(
    ctx: AppContext, user_id: str, email: str | None, name: str | None, dm: str | None, locale: str | None
) -> None:
    with ctx.db.begin() as session:
        row = session.get(SlackUser, user_id)
        if row is None:
            session.add(
                SlackUser(
                    user_id=user_id,
                    email=email,
                    name=name,
                    dm_channel=dm,
                    locale=locale,
                    refreshed_at=utcnow(),
                )
            )
        else:
            row.email = email if email is not None else row.email
            row.name = name if name is not None else row.name
            row.dm_channel = dm if dm is not None else row.dm_channel
            row.locale = locale if locale is not None else row.locale
            row.refreshed_at = utcnow()


async def _ask_slack(ctx: AppContext, user_id: str) -> tuple[str | None, str] | None:
    """users.info (with the locale): stores and returns (email, locale; "" when Slack gives none),
    or ``None`` when Slack refuses."""
    try:
        resp = await ctx.slack.users_info(user=user_id, include_locale=True)
    except SlackApiError as exc:
        log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
        return None
    user = resp.get("user") or {}
    profile = user.get("profile") or {}
    email = profile.get("email")
    email = normalise_email(email) if email else None
    locale = str(user.get("locale") or "")[:35]
    await asyncio.to_thread(
        _store, ctx, user_id, email, user.get("real_name") or user.get("name"), None, locale
    )
    return email, locale


async def email_of(ctx: AppContext, user_id: str) -> str | None:
    row = await asyncio.to_thread(_cached, ctx, user_id=user_id)
    if row is not None and row.email and utcnow() - row.refreshed_at < FRESH_FOR:
        return row.email
    answer = await _ask_slack(ctx, user_id)
    if answer is None:
        return row.email if row is not None else None
    return answer[0]


async def slack_locale_of(ctx: AppContext, user_id: str) -> str | None:
    """The person's Slack locale (``de-DE``), cached like their email; ``None`` when unknown."""
    row = await asyncio.to_thread(_cached, ctx, user_id=user_id)
    if row is not None and row.locale is not None and utcnow() - row.refreshed_at < FRESH_FOR:
        return row.locale or None
    answer = await _ask_slack(ctx, user_id)
    if answer is None:
        return (row.locale or None) if row is not None else None
    return answer[1] or None


async def locale_for(ctx: AppContext, user_id: str) -> Locale:
    """The locale of the messages for one person: their Slack locale or the company default."""
    return i18n.choose(await slack_locale_of(ctx, user_id), ctx.settings.default_locale)


def stored_locale(session: Session, ctx: AppContext, user_id: str) -> Locale:
    """:func:`locale_for` from the cache only, for messages written inside a transaction (the
    person's locale is cached by the time anything is decided about their claims)."""
    row = session.get(SlackUser, user_id)
    return i18n.choose(row.locale if row is not None else None, ctx.settings.default_locale)


async def user_of(ctx: AppContext, email: str) -> str | None:
    email = normalise_email(email)
    row = await asyncio.to_thread(_cached, ctx, email=email)
    if row is not None and utcnow() - row.refreshed_at < FRESH_FOR:
        return row.user_id
    try:
        resp = await ctx.slack.users_lookupByEmail(email=email)
    except SlackApiError as exc:
        if exc.response.get("error") == "users_not_found":
            return None
        raise
    user = resp.get("user") or {}
    user_id = user.get("id")
    if not user_id:
        return None
    await asyncio.to_thread(_store, ctx, user_id, email, user.get("real_name") or user.get("name"))
    return str(user_id)


async def dm_channel(ctx: AppContext, user_id: str) -> str:
    row = await asyncio.to_thread(_cached, ctx, user_id=user_id)
    if row is not None and row.dm_channel:
        return row.dm_channel
    resp = await ctx.slack.conversations_open(users=user_id)
    channel = str((resp.get("channel") or {}).get("id"))
    await asyncio.to_thread(_store, ctx, user_id, None, None, channel)
    return channel
