"""Slack users <-> directory emails (users.info / users.lookupByEmail), cached in the database."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

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


def _store(ctx: AppContext, user_id: str, email: str | None, name: str | None, dm: str | None = None) -> None:
    try:
        _write(ctx, user_id, email, name, dm)
    except IntegrityError:  # another request stored the same person a moment ago
        log.debug("identity of %s stored concurrently", user_id)
    except DBAPIError as exc:  # a cache: the next lookup asks Slack again
        log.warning("identity cache not updated: %s", type(exc.orig).__name__)


def _write(ctx: AppContext, user_id: str, email: str | None, name: str | None, dm: str | None) -> None:
    with ctx.db.begin() as session:
        row = session.get(SlackUser, user_id)
        if row is None:
            session.add(
                SlackUser(user_id=user_id, email=email, name=name, dm_channel=dm, refreshed_at=utcnow())
            )
        else:
            row.email = email if email is not None else row.email
            row.name = name if name is not None else row.name
            row.dm_channel = dm if dm is not None else row.dm_channel
            row.refreshed_at = utcnow()


async def email_of(ctx: AppContext, user_id: str) -> str | None:
    row = await asyncio.to_thread(_cached, ctx, user_id=user_id)
    if row is not None and row.email and utcnow() - row.refreshed_at < FRESH_FOR:
        return row.email
    try:
        resp = await ctx.slack.users_info(user=user_id)
    except SlackApiError as exc:
        log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
        return row.email if row is not None else None
    user = resp.get("user") or {}
    profile = user.get("profile") or {}
    email = profile.get("email")
    email = normalise_email(email) if email else None
    await asyncio.to_thread(_store, ctx, user_id, email, user.get("real_name") or user.get("name"))
    return email


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
