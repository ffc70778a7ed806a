"""The running app matches card charges and bank lines on a schedule (see docs/transactions.md).

Every ``EXPENSEBOT_MATCH_EVERY_MINUTES`` minutes (default 60; 0 turns it off; the scheduler as a
whole is ``EXPENSEBOT_SCHEDULER``), from every serving process's maintenance loop,
:func:`scheduled_match` claims the slot (a ``scheduled_runs`` row ``match`` or ``match:<team>``
per slot: whatever the number of processes, one of them runs it) and, when some statement line
is still open (unmatched, missing a receipt or offered), runs what ``expensebot transactions
match`` runs: links, offers, reminders and the weekly digest, under the actor ``schedule``.
Matching is idempotent (a settled line is kept; outbox messages are keyed), so a slot run twice,
or a run beside a manual ``transactions match``, changes nothing twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.context import AppContext
from storage.db import transaction
from storage.models import ScheduledRun, StatementLine, utcnow
from storage.reconcile import run_match
from storage.tenancy import current_team
from workflows import card_matching as cm

log = logging.getLogger(__name__)

OPEN = (cm.UNMATCHED, cm.MISSING_RECEIPT, cm.SUGGESTED)


def match_slot(now: dt.datetime, every_minutes: int) -> str:
    """The slot ``now`` falls in: its start, UTC, to the minute (``2026-12-07T09:00``)."""
    start = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    minutes = int((now.astimezone(dt.UTC) - start).total_seconds() // 60)
    slot_start = start + dt.timedelta(minutes=minutes - minutes % max(1, every_minutes))
    return slot_start.strftime("%Y-%m-%dT%H:%M")


def _open_lines(ctx: AppContext) -> bool:
    with ctx.db() as session:
        return (
            session.scalar(select(StatementLine.id).where(StatementLine.status.in_(OPEN)).limit(1))
            is not None
        )


def _claim(ctx: AppContext, name: str, slot: str) -> bool:
    try:
        with transaction(ctx.db) as session:
            session.add(ScheduledRun(name=name, slot=slot))
        return True
    except IntegrityError:
        return False


def _finish(ctx: AppContext, name: str, slot: str) -> None:
    with transaction(ctx.db) as session:
        run = session.get(ScheduledRun, (name, slot))
        if run is not None:
            run.finished_at = utcnow()


def _match(ctx: AppContext) -> Mapping[str, int]:
    settings = ctx.settings
    rows = run_match(
        ctx.db,
        ctx.directory,
        ctx.policy,
        actor="schedule",
        remind_after_days=settings.missing_receipt_days,
        weekly_digest=settings.missing_receipt_digest == "weekly",
    )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


async def scheduled_match(ctx: AppContext, now: dt.datetime | None = None) -> Mapping[str, int] | None:
    """Match once per slot across all processes when a line is open; the counts per status, or None."""
    every = ctx.settings.match_every_minutes
    if every <= 0 or ctx.stopping.is_set():
        return None
    now = now or dt.datetime.now(dt.UTC)
    team = current_team.get()
    name = f"match:{team}" if team else "match"
    slot = match_slot(now, every)
    if not await asyncio.to_thread(_open_lines, ctx):
        return None
    if not await asyncio.to_thread(_claim, ctx, name, slot):
        return None
    counts = await asyncio.to_thread(_match, ctx)
    await asyncio.to_thread(_finish, ctx, name, slot)
    log.info("scheduled match %s: %s", slot, ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return counts
