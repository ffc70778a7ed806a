"""The CRM side of the running app: write-back of approved expenses and the scheduled sync."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy.exc import IntegrityError

from bot.context import AppContext
from integrations.crm.sync import sync_all
from integrations.crm.writeback import retry_pending, writeback_expense
from storage.db import transaction
from storage.models import ScheduledRun
from storage.tenancy import team_scope

log = logging.getLogger(__name__)


class WritebackPending(RuntimeError):
    """The CRM did not take the entry yet; the job is retried."""


async def writeback_job(ctx: AppContext, expense_id: int) -> None:
    """Log an approved expense on its customer in the CRM, exactly once (see integrations.crm.writeback)."""
    settings = ctx.settings.crm
    if not settings.configured:
        return

    def run() -> str:
        connectors = settings.connectors()
        try:
            result = writeback_expense(ctx.db, expense_id, connectors)
        finally:
            for connector in connectors:
                connector.close()
        if result.status == "pending" and "another worker" not in result.message:
            raise WritebackPending(result.message)
        return f"{result.status} {result.message}".strip()

    outcome = await asyncio.to_thread(run)
    log.info("CRM write-back of expense %s: %s", expense_id, outcome)


def _claim_slot(ctx: AppContext, name: str, slot: str) -> bool:
    try:
        with transaction(ctx.db) as session:
            session.add(ScheduledRun(name=name, slot=slot))
        return True
    except IntegrityError:
        return False


async def scheduled_crm_work(ctx: AppContext, now: dt.datetime) -> None:
    """Hourly, once across all processes: sync customers (full at 03:00 UTC), retry write-backs."""
    settings = ctx.settings.crm
    if not settings.configured or ctx.stopping.is_set():
        return
    team: str | None = None
    if ctx.installations is not None:  # multi-workspace mode: the CRM is one workspace's
        installed = await asyncio.to_thread(ctx.installations.store.installed_teams)
        team = ctx.settings.crm_team or (installed[0] if len(installed) == 1 else None)
        if team is None:
            if installed and ctx.kv.first_time("crm:no-team", ttl_seconds=86400):
                log.warning(
                    "CRM sync skipped: %d workspaces are installed; set EXPENSEBOT_CRM_TEAM to the "
                    "team id whose CRM this is",
                    len(installed),
                )
            return
    slot = now.strftime("%Y-%m-%dT%H")
    if not await asyncio.to_thread(_claim_slot, ctx, "crm", slot):
        return

    def run() -> None:
        with team_scope(team):  # the customers, deals and write-backs of the CRM's workspace
            sync_and_retry()

    def sync_and_retry() -> None:
        # Incremental every hour; a full pass at 03:00 UTC also archives what the CRM deleted.
        report = sync_all(ctx.db, settings, full=now.hour == 3, actor="schedule")
        for line in report.lines():
            log.info("CRM sync: %s", line)
        connectors = settings.connectors()
        try:
            retry_pending(ctx.db, connectors)
        finally:
            for connector in connectors:
                connector.close()

    await asyncio.to_thread(run)
    ctx.customers.invalidate()
