"""The App Home tab: my expenses, what waits for my decision, and finance's payout queue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot import i18n
from bot.blocks.common import Block, ExpenseView, context, header, section
from bot.i18n import N_, _
from integrations.crm.registry import REGISTRY
from integrations.crm.sync import SyncStatus
from storage.reconcile import HomeSummary

CRM_NAMES = {"csv": "CSV", **{name: entry.label for name, entry in REGISTRY.items()}}
_COUNTED = {
    "created": N_("{count} created"),
    "updated": N_("{count} updated"),
    "archived": N_("{count} archived"),
    "merged": N_("{count} merged"),
}
_OBJECTS = {
    "companies": N_("companies"),
    "contacts": N_("contacts"),
    "deals": N_("deals"),
    "owners": N_("owners"),
}


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
        blocks.append(context(_("and {count} more").format(count=len(items) - 25)))
    return blocks


def build_home(view: HomeView) -> dict[str, Any]:
    blocks: list[Block] = []
    if view.notice:
        blocks.append(context(view.notice))
    blocks.append(header(_("Waiting for my decision")))
    blocks += _list(view.waiting_for_me, _("Nothing waits for you."), with_status=False)
    blocks.append({"type": "divider"})
    blocks.append(header(_("My expenses")))
    blocks += _list(view.mine, _("No expenses yet: send me a receipt photo or use /expense."))
    if view.payout_queue is not None:
        blocks.append({"type": "divider"})
        blocks.append(header(_("Payout queue (finance)")))
        blocks += _list(view.payout_queue, _("Nothing is waiting for payout."), with_status=False)
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
        return _("just now")
    if minutes < 120:
        return _("{minutes} min ago").format(minutes=minutes)
    if minutes < 48 * 60:
        return _("{hours} h ago").format(hours=minutes // 60)
    return _("{days} days ago").format(days=minutes // (24 * 60))


def _counts(counts: dict[str, dict[str, int]]) -> str:
    parts = []
    for object_type, c in counts.items():
        done = [_(_COUNTED[k]).format(count=c[k]) for k in _COUNTED if c.get(k)]
        if done:
            parts.append(_(_OBJECTS.get(object_type, object_type)) + " " + ", ".join(done))
    return "; ".join(parts) or _("no changes")


def crm_status_line(status: SyncStatus, now: dt.datetime) -> str:
    """``HubSpot: synced 12 min ago (2026-12-08 10:02 UTC) · 7,854 customers, 312 open deals ·
    last run: companies 3 created, 1 merged · ⚠ deals failed 3 min ago: …``"""
    name = CRM_NAMES.get(status.source, status.source)
    if status.last_ok_at:
        at = status.last_ok_at.astimezone(dt.UTC)
        when = _("synced {ago} ({day} {time} UTC)").format(
            ago=_ago(status.last_ok_at, now), day=i18n.format_date(at.date()), time=f"{at:%H:%M}"
        )
    else:
        when = _("never synced successfully")
    counts = _("{customers} customers, {deals} open deals").format(
        customers=i18n.format_count(status.customers), deals=i18n.format_count(status.open_deals)
    )
    line = f"*{name}*: {when} · {counts} · " + _("last run: {changes}").format(changes=_counts(status.counts))
    if status.errors:
        failed = "; ".join(f"{kind}: {error[:300]}" for kind, error in status.errors.items())
        if status.last_run_at:
            said = _("last error {ago}: {errors}").format(ago=_ago(status.last_run_at, now), errors=failed)
        else:
            said = _("last error: {errors}").format(errors=failed)
        line += f"\n:warning: {said}"
    return line


def crm_status_blocks(statuses: Iterable[SyncStatus], *, configured: bool, now: dt.datetime) -> list[Block]:
    """The admins' CRM sync section: one line per CRM, or why there is none."""
    lines = [crm_status_line(s, now) for s in statuses]
    if not lines:
        if not configured:
            return []
        lines = [_("A CRM is configured but has not been synced yet (`expensebot customers sync`).")]
    return [header(_("CRM sync (admin)")), *(context(line[:3000]) for line in lines)]


def build_statements(summary: HomeSummary, *, finance: bool) -> list[Block]:
    """The statements section: my card charges without a receipt; for finance, what is still open."""
    blocks: list[Block] = []
    if summary.mine:
        lines = []
        for item in summary.mine:
            what = (
                f"is it {item.expense}?"
                if item.status == "suggested"
                else "no receipt yet: send me the photo"
            )
            lines.append(f"{item.date} · {item.description} · {item.amount} {item.currency} · _{what}_")
        blocks.append(
            {"type": "header", "text": {"type": "plain_text", "text": "My card charges without a receipt"}}
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    if finance and (summary.counts or summary.unreconciled_batches):
        c = summary.counts
        text = (
            f"*Card charges:* {c.get('missing_receipt', 0)} missing a receipt, {c.get('suggested', 0)} offered, "
            f"{c.get('unmatched', 0)} unmatched, {c.get('matched', 0)} matched, "
            f"{c.get('no_receipt', 0)} without a receipt (reason given)\n"
            f"*Bank:* {c.get('reconciled', 0)} transfers reconciled"
        )
        if summary.unreconciled_batches:
            text += "\n*Payout batches not seen on a bank statement:* " + ", ".join(
                f"#{b}" for b in summary.unreconciled_batches
            )
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Statements (finance)"}})
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    return blocks
