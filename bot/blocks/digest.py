"""The finance payout digest: who is owed what, per currency, with Mark paid."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from bot.blocks.common import Block, button, confirm_dialog, context, format_money, header, mrkdwn, section

MARK_PAID = "payout_mark_paid"


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
    for start in range(0, len(rows), 20):
        blocks.append(section("\n".join(rows[start : start + 20])))
    totals = " · ".join(format_money(amount, cur) for cur, amount in sorted(view.totals.items()))
    blocks.append({"type": "section", "fields": [mrkdwn(f"*Totals*\n{totals or 'nothing'}"),
                                                 mrkdwn(f"*People*\n{len({ln.employee_id for ln in view.lines})}")]})  # fmt: skip
    if view.oldest_approved:
        blocks.append(context(f"Oldest approved item waiting since {view.oldest_approved:%d %b %Y}"))
    if view.paid_at and view.paid_by:
        blocks.append(
            context(
                f":white_check_mark: Paid · marked by <@{view.paid_by}> · {view.paid_at:%d %b %Y %H:%M} UTC"
            )
        )
    else:
        blocks.append(
            {
                "type": "actions",
                "block_id": "payout_actions",
                "elements": [
                    button("Mark batch paid", MARK_PAID, str(view.batch_id), style="primary",
                           confirm=confirm_dialog("Mark this batch paid?",
                                                  f"Each employee in batch #{view.batch_id} will be told they were paid.",
                                                  "Mark paid")),
                ],
            }
        )  # fmt: skip
    return blocks


def digest_fallback(view: DigestView) -> str:
    totals = ", ".join(format_money(a, c) for c, a in sorted(view.totals.items()))
    return f"Payout batch #{view.batch_id}: {totals}"
