"""Approval requests for approvers, the reason modal, and the message left after a decision."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.blocks.card import per_diem_blocks
from bot.blocks.common import (
    Block,
    ExpenseView,
    button,
    context,
    escape,
    header,
    mrkdwn,
    section,
    text,
)

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
    customer = escape(view.customer.name) if view.customer else "none"
    blocks: list[Block] = [
        header(f"Approval needed: {view.ref}"),
        section(f"<@{view.employee_id}> submitted an expense for your approval ({escape(step_label)})."),
        {
            "type": "section",
            "fields": [
                mrkdwn(f"*Total*\n{view.total_text}"),
                mrkdwn(f"*Merchant*\n{escape(view.merchant or 'unknown')}"),
                mrkdwn(f"*Date*\n{view.spent_on.isoformat() if view.spent_on else 'not given'}"),
                mrkdwn(f"*Category*\n{view.category_text}"),
                mrkdwn(f"*Customer*\n{customer}"),
                mrkdwn(f"*Receipt*\n{'attached below' if view.has_receipt else 'none'}"),
            ],
        },
    ]
    if view.conversion:  # a claim in another currency than the one the employee is paid in
        blocks.append(section(f":currency_exchange: *Paid in {view.paid_in}:* {view.conversion}"))
    blocks.extend(per_diem_blocks(view))
    if view.note:
        blocks.append(context(f"Note: {escape(view.note)}"))
    for warning in view.warnings:
        blocks.append(section(f":warning: {warning}"))
    for warning in budget_warnings:
        blocks.append(section(f":warning: {escape(warning)}"))
    if step_reason:
        blocks.append(context(f"Why you: {escape(step_reason)}"))
    blocks.append(
        {
            "type": "section",
            "block_id": "approval_more",
            "text": mrkdwn("Part of it is not reimbursable?"),
            "accessory": {
                "type": "overflow",
                "action_id": MORE,
                "options": [{"text": text("Approve a lower amount…"), "value": f"partial:{task_id}"}],
            },
        }
    )
    blocks.append(
        {
            "type": "actions",
            "block_id": "approval_actions",
            "elements": [
                button("Approve", APPROVE, value, style="primary"),
                button("Reject", REJECT, value, style="danger"),
                button("Ask for changes", SEND_BACK, value),
            ],
        }
    )
    return blocks


def build_decided(view: ExpenseView, outcome: str) -> list[Block]:
    """The approval message after a decision: the facts and the outcome, no buttons left."""
    return [
        section(f"{view.one_line()}\nSubmitted by <@{view.employee_id}>"),
        context(outcome),
    ]


def build_partial_modal(*, task_id: int, ref: str, total: str, currency: str) -> dict[str, Any]:
    """Approve a lower amount than claimed: the amount and a reason the employee will see."""
    return {
        "type": "modal",
        "callback_id": PARTIAL_VIEW,
        "private_metadata": json.dumps({"task_id": task_id}),
        "title": text(f"Approve part of {ref}"[:24]),
        "submit": text("Approve"),
        "close": text("Cancel"),
        "blocks": [
            section(f"The claim is *{total}*. Approve a lower amount in {currency}:"),
            {"type": "input", "block_id": "amount", "label": text(f"Approved amount ({currency})"),
             "element": {"type": "plain_text_input", "action_id": "amount"}},
            {"type": "input", "block_id": "reason", "label": text("Why is part of it not approved?"),
             "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True}},
        ],
    }  # fmt: skip


def build_reason_modal(*, task_id: int, kind: str, ref: str, channel: str | None = None,
                       ts: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Reject / Ask for changes: a reason is required."""
    verb = "Reject" if kind == "reject" else "Ask for changes"
    label = "Why is it rejected?" if kind == "reject" else "What should be changed?"
    return {
        "type": "modal",
        "callback_id": REASON_VIEW,
        "private_metadata": json.dumps({"task_id": task_id, "kind": kind, "channel": channel, "ts": ts}),
        "title": text(f"{verb} {ref}"[:24]),
        "submit": text(verb[:24]),
        "close": text("Cancel"),
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
