"""The finance payout digest: who is owed what, per currency, with Mark paid."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.blocks.common import Block, button, confirm_dialog, context, format_money, header, mrkdwn, section
from workflows.exports import EXPORT_FORMATS

MARK_PAID = "payout_mark_paid"
EXPORT = "payout_export"
MAX_PAYEE_ROWS = 300  # a message holds at most 50 blocks


@dataclass(frozen=True)
class PayeeLine:
    employee_id: str
    currency: str
    amount: Decimal
    count: int
    refs: tuple[str, ...]


@dataclass(frozen=True)
class DigestView:
    batch_id: int
    lines: tuple[PayeeLine, ...]
    totals: dict[str, Decimal]
    oldest_approved: dt.datetime | None
    paid_by: str | None = None
    paid_at: dt.datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)  # currency -> number of expenses
    oldest_ref: str | None = None  # the expense that has waited longest since approval
    oldest_employee: str | None = None
    home_url: str | None = None  # the app's Home tab


def export_menu(batch_id: int) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": EXPORT,
        "placeholder": {"type": "plain_text", "text": "Export…"},
        "options": [
            {"text": {"type": "plain_text", "text": f.label}, "value": f"{batch_id}:{f.name}"}
            for f in EXPORT_FORMATS.values()
        ],
    }


def build_digest(view: DigestView) -> list[Block]:
    count = sum(line.count for line in view.lines)
    blocks: list[Block] = [
        header(f"Payout batch #{view.batch_id}: {count} approved expense{'s' if count != 1 else ''}"),
    ]
    rows = [
        f"• <@{line.employee_id}>: *{format_money(line.amount, line.currency)}* "
        f"({line.count} expense{'s' if line.count != 1 else ''}: {', '.join(line.refs[:10])})"
        for line in view.lines
    ]
    shown = rows[:MAX_PAYEE_ROWS]
    for start in range(0, len(shown), 20):
        blocks.append(section("\n".join(shown[start : start + 20])))
    if len(rows) > len(shown):
        blocks.append(
            context(f"…and {len(rows) - len(shown)} more payees: see the export file in the thread.")
        )
    totals = "\n".join(
        f"{format_money(amount, cur)} · {view.counts.get(cur, 0)} expense{'s' if view.counts.get(cur, 0) != 1 else ''}"
        for cur, amount in sorted(view.totals.items())
    )
    people = len({ln.employee_id for ln in view.lines})
    blocks.append({"type": "section", "fields": [mrkdwn(f"*Totals per currency*\n{totals or 'nothing'}"),
                                                 mrkdwn(f"*People to pay*\n{people}")]})  # fmt: skip
    if view.oldest_approved:
        who = f" (<@{view.oldest_employee}>)" if view.oldest_employee else ""
        ref = f"{view.oldest_ref}{who}, " if view.oldest_ref else ""
        blocks.append(context(f"Oldest item waiting: {ref}approved {view.oldest_approved:%d %b %Y}"))
    elements: list[dict[str, Any]] = []
    if view.paid_at and view.paid_by:
        blocks.append(
            context(
                f":white_check_mark: Paid · marked by <@{view.paid_by}> · {view.paid_at:%d %b %Y %H:%M} UTC"
            )
        )
    else:
        elements.append(
            button("Mark batch paid", MARK_PAID, str(view.batch_id), style="primary",
                   confirm=confirm_dialog("Mark this batch paid?",
                                          f"Each employee in batch #{view.batch_id} will be told they were paid.",
                                          "Mark paid"))
        )  # fmt: skip
    elements.append(export_menu(view.batch_id))
    blocks.append({"type": "actions", "block_id": "payout_actions", "elements": elements})
    if view.home_url:
        blocks.append(context(f"<{view.home_url}|Open the App Home> for the payout queue and spend reports."))
    return blocks


def digest_fallback(view: DigestView) -> str:
    totals = ", ".join(format_money(a, c) for c, a in sorted(view.totals.items()))
    return f"Payout batch #{view.batch_id}: {totals}"
