"""Delegation while an approver is away: set in Slack (`/expense delegate`) or in the directory.

A delegation set in Slack overrides the directory's columns for that approver until its end
date. Admins may set one on behalf of someone else.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import delete, select

from bot import i18n, identity
from bot.context import AppContext
from bot.i18n import N_, _
from storage import audit
from storage.db import transaction
from storage.models import Delegation

USAGE = N_(
    "Usage: `/expense delegate @someone until 2026-12-31` (your approvals go to them while you are away), "
    "`/expense delegate off`, or for admins `/expense delegate @someone for @approver until 2026-12-31`."
)
_MENTION = r"<@(\w+)(?:\|[^>]*)?>"
_SET = re.compile(
    rf"^delegate\s+{_MENTION}(?:\s+for\s+{_MENTION})?\s+until\s+(\d{{4}}-\d{{2}}-\d{{2}})\s*$", re.I
)
_OFF = re.compile(rf"^delegate\s+off(?:\s+for\s+{_MENTION})?\s*$", re.I)


@dataclass(frozen=True)
class Answer:
    text: str


async def handle_command(ctx: AppContext, user_id: str, text: str, today: dt.date) -> Answer:
    """`/expense delegate ...`: returns what to tell the person (only they see it), in the current
    locale (the slash command renders in the language of the person who typed it)."""
    actor_email = await identity.email_of(ctx, user_id)
    directory = ctx.directory
    if not actor_email or directory.get(actor_email) is None:
        return Answer(_("You are not in the company directory, so you have no approvals to delegate."))
    off = _OFF.match(text.strip())
    if off:
        target_email = actor_email
        if off.group(1):
            if not directory.is_admin(actor_email):
                return Answer(_("Only admins can change someone else's delegation."))
            target_email = await identity.email_of(ctx, off.group(1)) or ""
        removed = await asyncio.to_thread(_remove, ctx, target_email, user_id)
        return Answer(_("Delegation removed.") if removed else _("There was no delegation to remove."))
    match = _SET.match(text.strip())
    if not match:
        return Answer(_(USAGE))
    delegate_id, approver_id, until_text = match.groups()
    try:
        until = dt.date.fromisoformat(until_text)
    except ValueError:
        return Answer(_("“{text}” is not a date; write it as YYYY-MM-DD.").format(text=until_text))
    if until < today:
        return Answer(
            _("{day} is in the past; pick the last day you will be away.").format(day=i18n.format_date(until))
        )
    approver_email = actor_email
    if approver_id:
        if approver_id != user_id and not directory.is_admin(actor_email):
            return Answer(_("Only admins can set a delegate on behalf of someone else."))
        approver_email = await identity.email_of(ctx, approver_id) or ""
    delegate_email = await identity.email_of(ctx, delegate_id)
    if not delegate_email or directory.get(delegate_email) is None:
        return Answer(
            _("{person} is not in the company directory, so they cannot approve expenses.").format(
                person=f"<@{delegate_id}>"
            )
        )
    if delegate_email == approver_email:
        return Answer(_("A delegate must be someone else."))
    await asyncio.to_thread(_store, ctx, approver_email, delegate_email, until, user_id)
    until_text = i18n.format_date(until, "%d %b %Y")
    if approver_email == actor_email:
        return Answer(
            _(
                "Your approvals go to {delegate} until {day} (inclusive). They may decide them as well "
                "as you."
            ).format(delegate=f"<@{delegate_id}>", day=until_text)
        )
    return Answer(
        _(
            "The approvals of {approver} go to {delegate} until {day} (inclusive). They may decide them "
            "as well as {approver}."
        ).format(approver=approver_email, delegate=f"<@{delegate_id}>", day=until_text)
    )


def _store(ctx: AppContext, approver: str, delegate: str, until: dt.date, actor: str) -> None:
    with transaction(ctx.db) as session:
        session.execute(delete(Delegation).where(Delegation.approver_email == approver))
        row = Delegation(approver_email=approver, delegate_email=delegate, until=until, created_by=actor)
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="delegation.set",
            entity="delegation",
            entity_id=row.id,
            after={"approver": approver, "delegate": delegate, "until": until.isoformat()},
        )


def _remove(ctx: AppContext, approver: str, actor: str) -> bool:
    with transaction(ctx.db) as session:
        rows = session.scalars(select(Delegation).where(Delegation.approver_email == approver)).all()
        for row in rows:
            audit.record(
                session,
                actor=actor,
                action="delegation.removed",
                entity="delegation",
                entity_id=row.id,
                before={"approver": approver, "delegate": row.delegate_email, "until": row.until.isoformat()},
            )
            session.delete(row)
        return bool(rows)
