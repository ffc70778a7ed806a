"""The finance payout digest: who is owed what, per currency, with Mark paid."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot import i18n
from bot.blocks.common import (
    Block,
    button,
    confirm_dialog,
    context,
    field_label,
    format_money,
    header,
    mrkdwn,
    section,
)
from bot.i18n import _, ngettext
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
        "placeholder": {"type": "plain_text", "text": _("Export…")},
        "options": [
            {"text": {"type": "plain_text", "text": f.label}, "value": f"{batch_id}:{f.name}"}
            for f in EXPORT_FORMATS.values()
        ],
    }


def _expenses(count: int) -> str:
    return ngettext("{count} expense", "{count} expenses", count).format(count=count)


def build_digest(view: DigestView) -> list[Block]:
    """The digest in the current locale (bot/i18n.py): finance's, the company's language."""
    count = sum(line.count for line in view.lines)
    blocks: list[Block] = [
        header(
            ngettext(
                "Payout batch #{batch}: {count} approved expense",
                "Payout batch #{batch}: {count} approved expenses",
                count,
            ).format(batch=view.batch_id, count=count)
        ),
    ]
    rows = [
        f"• <@{line.employee_id}>: *{format_money(line.amount, line.currency)}* "
        f"({_expenses(line.count)}: {', '.join(line.refs[:10])})"
        for line in view.lines
    ]
    shown = rows[:MAX_PAYEE_ROWS]
    for start in range(0, len(shown), 20):
        blocks.append(section("\n".join(shown[start : start + 20])))
    if len(rows) > len(shown):
        blocks.append(
            context(
                _("…and {count} more payees: see the export file in the thread.").format(
                    count=len(rows) - len(shown)
                )
            )
        )
    totals = "\n".join(
        f"{format_money(amount, cur)} · {_expenses(view.counts.get(cur, 0))}"
        for cur, amount in sorted(view.totals.items())
    )
    people = len({ln.employee_id for ln in view.lines})
    blocks.append(
        {
            "type": "section",
            "fields": [
                mrkdwn(field_label(_("Totals per currency")) + (totals or _("nothing"))),
                mrkdwn(field_label(_("People to pay")) + str(people)),
            ],
        }
    )
    if view.oldest_approved:
        who = f" (<@{view.oldest_employee}>)" if view.oldest_employee else ""
        day = i18n.format_date(view.oldest_approved.date(), "%d %b %Y")
        if view.oldest_ref:
            oldest = _("Oldest item waiting: {ref}, approved {day}").format(
                ref=f"{view.oldest_ref}{who}", day=day
            )
        else:
            oldest = _("Oldest item waiting: approved {day}").format(day=day)
        blocks.append(context(oldest))
    elements: list[dict[str, Any]] = []
    if view.paid_at and view.paid_by:
        paid = _("Paid · marked by {person} · {day} {time} UTC").format(
            person=f"<@{view.paid_by}>",
            day=i18n.format_date(view.paid_at.date(), "%d %b %Y"),
            time=f"{view.paid_at:%H:%M}",
        )
        blocks.append(context(f":white_check_mark: {paid}"))
    else:
        elements.append(
            button(
                _("Mark batch paid"),
                MARK_PAID,
                str(view.batch_id),
                style="primary",
                confirm=confirm_dialog(
                    _("Mark this batch paid?"),
                    _("Each employee in batch #{batch} will be told they were paid.").format(
                        batch=view.batch_id
                    ),
                    _("Mark paid"),
                ),
            )
        )
    elements.append(export_menu(view.batch_id))
    blocks.append({"type": "actions", "block_id": "payout_actions", "elements": elements})
    if view.home_url:
        blocks.append(
            context(
                _("<{url}|Open the App Home> for the payout queue and spend reports.").format(
                    url=view.home_url
                )
            )
        )
    return blocks


def digest_fallback(view: DigestView) -> str:
    totals = ", ".join(format_money(a, c) for c, a in sorted(view.totals.items()))
    return _("Payout batch #{batch}: {totals}").format(batch=view.batch_id, totals=totals)
