"""The App Home tab: my expenses, what waits for my decision, and finance's payout queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.blocks.common import Block, ExpenseView, context, header, section


@dataclass(frozen=True)
class HomeView:
    mine: tuple[ExpenseView, ...]
    waiting_for_me: tuple[ExpenseView, ...]
    payout_queue: tuple[ExpenseView, ...] | None  # None: not finance
    notice: str | None = None
    finance: tuple[Block, ...] = ()  # the finance section (reports), for finance and admins
    statements: tuple[Block, ...] = ()  # card charges without a receipt; finance's open statement items


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
    return {"type": "home", "blocks": blocks[:100]}
