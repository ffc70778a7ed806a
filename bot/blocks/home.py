"""The App Home tab: my expenses, what waits for my decision, and finance's payout queue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.blocks.common import Block, ExpenseView, context, header, section
from integrations.crm.registry import REGISTRY
from integrations.crm.sync import SyncStatus

CRM_NAMES = {"csv": "CSV", **{name: entry.label for name, entry in REGISTRY.items()}}


@dataclass(frozen=True)
class HomeView:
    mine: tuple[ExpenseView, ...]
    waiting_for_me: tuple[ExpenseView, ...]
    payout_queue: tuple[ExpenseView, ...] | None  # None: not finance
    notice: str | None = None
    finance: tuple[Block, ...] = ()  # the finance section (reports), for finance and admins
    statements: tuple[Block, ...] = ()  # card charges without a receipt; finance's open statement items
    crm_status: tuple[Block, ...] = ()  # the CRM sync status line, for admins


def _list(items: tuple[ExpenseView, ...], empty: str, *, with_status: bool = True) -> list[Block]:
    if not items:
        return [context(empty)]
    lines = [f"{v.one_line()}" + (f" · _{v.status_text}_" if with_status else "") for v in items[:25]]
    blocks = [section("\n".join(lines[i : i + 10])) for i in range(0, len(lines), 10)]
    if len(items) > 25:
        blocks.append(context(f"and {len(items) - 25} more"))
    return blocks


def build_home(view: HomeView) -> dict[str, Any]:
    blocks: list[Block] = []
    if view.notice:
        blocks.append(context(view.notice))
    blocks.append(header("Waiting for my decision"))
    blocks += _list(view.waiting_for_me, "Nothing waits for you.", with_status=False)
    blocks.append({"type": "divider"})
    blocks.append(header("My expenses"))
    blocks += _list(view.mine, "No expenses yet: send me a receipt photo or use /expense.")
    if view.payout_queue is not None:
        blocks.append({"type": "divider"})
        blocks.append(header("Payout queue (finance)"))
        blocks += _list(view.payout_queue, "Nothing is waiting for payout.", with_status=False)
    if view.finance:
        blocks.append({"type": "divider"})
        blocks += list(view.finance)
    if view.statements:
        blocks.append({"type": "divider"})
        blocks += list(view.statements)
    if view.crm_status:
        blocks.append({"type": "divider"})
        blocks += list(view.crm_status)
    return {"type": "home", "blocks": blocks[:100]}


def _ago(when: dt.datetime, now: dt.datetime) -> str:
    minutes = int((now - when).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} days ago"


def _counts(counts: dict[str, dict[str, int]]) -> str:
    parts = []
    for object_type, c in counts.items():
        done = [f"{c[k]} {k}" for k in ("created", "updated", "archived", "merged") if c.get(k)]
        if done:
            parts.append(f"{object_type} {', '.join(done)}")
    return "; ".join(parts) or "no changes"


def crm_status_line(status: SyncStatus, now: dt.datetime) -> str:
    """``HubSpot: synced 12 min ago (2026-12-08 10:02 UTC) · 7,854 customers, 312 open deals ·
    last run: companies 3 created, 1 merged · ⚠ deals failed 3 min ago: …``"""
    name = CRM_NAMES.get(status.source, status.source)
    if status.last_ok_at:
        when = f"synced {_ago(status.last_ok_at, now)} ({status.last_ok_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC)"
    else:
        when = "never synced successfully"
    line = (
        f"*{name}*: {when} · {status.customers:,} customers, {status.open_deals:,} open deals"
        f" · last run: {_counts(status.counts)}"
    )
    if status.errors:
        failed = "; ".join(f"{kind}: {error[:300]}" for kind, error in status.errors.items())
        ago = f" {_ago(status.last_run_at, now)}" if status.last_run_at else ""
        line += f"\n:warning: last error{ago}: {failed}"
    return line


def crm_status_blocks(statuses: Iterable[SyncStatus], *, configured: bool, now: dt.datetime) -> list[Block]:
    """The admins' CRM sync section: one line per CRM, or why there is none."""
    lines = [crm_status_line(s, now) for s in statuses]
    if not lines:
        if not configured:
            return []
        lines = ["A CRM is configured but has not been synced yet (`expensebot customers sync`)."]
    return [header("CRM sync (admin)"), *(context(line[:3000]) for line in lines)]
