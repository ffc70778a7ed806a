"""The running app fetches the reference rates once a day (see docs/currency.md).

The ECB publishes a working day's rates at about 16:00 CET. From every serving process's
maintenance loop, :func:`scheduled_fx_update` checks whether the rates of the newest day that
should be out are stored; when they are not, one process (a ``scheduled_runs`` row per hour,
whatever the number of processes) fetches the feed. A failure is logged and tried again the next
hour; storing the same rates twice changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from bot.context import AppContext
from storage.db import transaction
from storage.fx_feed import Stopped, latest_feed_day, update_rates
from storage.models import ScheduledRun
from workflows.fx_feed import FeedError

log = logging.getLogger(__name__)

FRANKFURT = ZoneInfo("Europe/Berlin")
PUBLISHED_AT = dt.time(16, 15)  # a little after the ECB's usual 16:00 CET


def expected_day(now: dt.datetime) -> dt.date:
    """The newest working day whose reference rates should be published at ``now``."""
    local = now.astimezone(FRANKFURT)
    day = local.date() if local.time() >= PUBLISHED_AT else local.date() - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def _due(ctx: AppContext, now: dt.datetime) -> bool:
    with ctx.db() as session:
        have = latest_feed_day(session)
    return have is None or have < expected_day(now)


def _claim(ctx: AppContext, slot: str) -> bool:
    try:
        with transaction(ctx.db) as session:
            session.add(ScheduledRun(name="fx", slot=slot))
        return True
    except IntegrityError:
        return False


async def scheduled_fx_update(ctx: AppContext, now: dt.datetime | None = None) -> None:
    """Fetch the day's rates when they are missing, at most once an hour across all processes."""
    url = ctx.settings.fx_feed_url.strip()
    if not url or ctx.stopping.is_set():
        return
    now = now or dt.datetime.now(dt.UTC)
    if not await asyncio.to_thread(_due, ctx, now):
        return
    if not await asyncio.to_thread(_claim, ctx, now.strftime("%Y-%m-%dT%H")):
        return
    try:
        outcome = await asyncio.to_thread(
            update_rates,
            ctx.db,
            feed_url=url,
            history_url=ctx.settings.fx_history_url,
            actor="schedule",
            stop=ctx.stopping,
        )
    except Stopped:
        log.info("exchange-rate feed: given up, the app is stopping (fetched again after the restart)")
        return
    except FeedError as exc:
        log.warning("exchange-rate feed: %s (tried again next hour)", exc)
        return
    log.info("exchange-rate feed: %s", outcome.message().replace("\n", "; "))
