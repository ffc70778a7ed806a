"""Approval requests for approvers, the reason modal, and the message left after a decision."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from bot import i18n
from bot.blocks.card import per_diem_blocks
from bot.blocks.common import (
    Block,
    ExpenseView,
    button,
    context,
    escape,
    field_label,
    format_time,
    header,
    mrkdwn,
    section,
    text,
)
from bot.i18n import _

APPROVE = "approval_approve"
REJECT = "approval_reject"
SEND_BACK = "approval_send_back"
MORE = "approval_more"
REASON_VIEW = "approval_reason_view"
PARTIAL_VIEW = "approval_partial_view"


def build_approval_request(view: ExpenseView, *, step_label: str, step_reason: str | None,
                           task_id: int, trace: list[str] | None = None,
                           budget_warnings: Sequence[str] = ()) -> list[Block]:  # fmt: skip
    """What an approver sees: the expense, why it reached them, and the three decisions."""
    value = str(task_id)
    customer = escape(view.customer.name) if view.customer else _("none")
    blocks: list[Block] = [
        header(_("Approval needed: {ref}").format(ref=view.ref)),
        section(_("{employee} submitted an expense for your approval ({step}).").format(
            employee=f"<@{view.employee_id}>", step=escape(_(step_label)))),
        {
            "type": "section",
            "fields": [
                mrkdwn(field_label(_("Total")) + f"{view.total_text}"),
                mrkdwn(field_label(_("Merchant")) + escape(view.merchant or _("unknown"))),
                mrkdwn(field_label(_("Date")) + (i18n.format_date(view.spent_on) if view.spent_on else _("not given"))),
                mrkdwn(field_label(_("Category")) + f"{view.category_text}"),
                mrkdwn(field_label(_("Customer")) + f"{customer}"),
                mrkdwn(field_label(_("Receipt")) + (_("attached below") if view.has_receipt else _("none"))),
            ],
        },
    ]  # fmt: skip
    if view.conversion:  # a claim in another currency than the one the employee is paid in
        paid_in = _("Paid in {currency}:").format(currency=view.paid_in)
        blocks.append(section(f":currency_exchange: *{paid_in}* {view.conversion}"))
    blocks.extend(per_diem_blocks(view))
    if view.note:
        blocks.append(context(_("Note: {note}").format(note=escape(view.note))))
    for warning in view.warnings:
        blocks.append(section(f":warning: {warning}"))
    for warning in budget_warnings:
        blocks.append(section(f":warning: {escape(warning)}"))
    if step_reason:
        blocks.append(context(_("Why you: {reason}").format(reason=escape(step_reason))))
    blocks.append(
        {
            "type": "section",
            "block_id": "approval_more",
            "text": mrkdwn(_("Part of it is not reimbursable?")),
            "accessory": {
                "type": "overflow",
                "action_id": MORE,
                "options": [{"text": text(_("Approve a lower amount…")), "value": f"partial:{task_id}"}],
            },
        }
    )
    blocks.append(
        {
            "type": "actions",
            "block_id": "approval_actions",
            "elements": [
                button(_("Approve"), APPROVE, value, style="primary"),
                button(_("Reject"), REJECT, value, style="danger"),
                button(_("Ask for changes"), SEND_BACK, value),
            ],
        }
    )
    return blocks


def build_decided(view: ExpenseView, outcome: str) -> list[Block]:
    """The approval message after a decision: the facts and the outcome, no buttons left."""
    return [
        section(
            view.one_line() + "\n" + _("Submitted by {employee}").format(employee=f"<@{view.employee_id}>")
        ),
        context(outcome),
    ]


def build_partial_modal(*, task_id: int, ref: str, total: str, currency: str) -> dict[str, Any]:
    """Approve a lower amount than claimed: the amount and a reason the employee will see."""
    return {
        "type": "modal",
        "callback_id": PARTIAL_VIEW,
        "private_metadata": json.dumps({"task_id": task_id}),
        "title": text(_("Approve part of {ref}").format(ref=ref)[:24]),
        "submit": text(_("Approve")[:24]),
        "close": text(_("Cancel")[:24]),
        "blocks": [
            section(_("The claim is *{total}*. Approve a lower amount in {currency}:").format(total=total, currency=currency)),
            {"type": "input", "block_id": "amount", "label": text(_("Approved amount ({currency})").format(currency=currency)),
             "element": {"type": "plain_text_input", "action_id": "amount"}},
            {"type": "input", "block_id": "reason", "label": text(_("Why is part of it not approved?")),
             "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True}},
        ],
    }  # fmt: skip


def build_reason_modal(*, task_id: int, kind: str, ref: str, channel: str | None = None,
                       ts: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Reject / Ask for changes: a reason is required."""
    verb = _("Reject") if kind == "reject" else _("Ask for changes")
    label = _("Why is it rejected?") if kind == "reject" else _("What should be changed?")
    return {
        "type": "modal",
        "callback_id": REASON_VIEW,
        "private_metadata": json.dumps({"task_id": task_id, "kind": kind, "channel": channel, "ts": ts}),
        "title": text(_("{action} {ref}").format(action=verb, ref=ref)[:24]),
        "submit": text(verb[:24]),
        "close": text(_("Cancel")[:24]),
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": text(label),
                "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True,
                            "min_length": 1, "max_length": 2000},
            }
        ],
    }  # fmt: skip


def outcome_line(decision: str, actor: str, at: dt.datetime, reason: str | None) -> str:
    """What the approval request says once decided (``decision``: approve, reject or send_back),
    in the current locale (bot/i18n.py)."""
    who = f"<@{actor}>"
    verb = {"approve": ":white_check_mark: " + _("Approved by {approver}").format(approver=who),
            "reject": ":x: " + _("Rejected by {approver}").format(approver=who),
            "send_back": ":leftwards_arrow_with_hook: " + _("Sent back for changes by {approver}").format(approver=who)}[decision]  # fmt: skip
    line = f"{verb} · {format_time(at)}"
    return f"{line}\n> {reason}" if reason else line
