"""Approval requests for approvers, the reason modal, and the message left after a decision."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bot import i18n
from bot.blocks.card import per_diem_blocks, problems_text
from bot.blocks.common import (
    Block,
    ExpenseView,
    button,
    context,
    escape,
    field_label,
    format_money,
    format_time,
    header,
    mrkdwn,
    section,
    text,
)
from bot.i18n import _
from services.approvals import APPROVE as APPROVE_DECISION
from services.approvals import REJECT as REJECT_DECISION
from services.approvals import SEND_BACK as SEND_BACK_DECISION
from services.approvals import Decided, Refusal, Why
from workflows.routing import StepKind

APPROVE = "approval_approve"
REJECT = "approval_reject"
SEND_BACK = "approval_send_back"
MORE = "approval_more"
REASON_VIEW = "approval_reason_view"
PARTIAL_VIEW = "approval_partial_view"


def build_approval_request(
    view: ExpenseView,
    *,
    step_label: str,
    step_reason: str | None,
    task_id: int,
    trace: list[str] | None = None,
    budget_warnings: Sequence[str] = (),
) -> list[Block]:
    """What an approver sees: the expense, why it reached them, and the three decisions."""
    value = str(task_id)
    customer = escape(view.customer.name) if view.customer else _("none")
    blocks: list[Block] = [
        header(_("Approval needed: {ref}").format(ref=view.ref)),
        section(
            _("{employee} submitted an expense for your approval ({step}).").format(
                employee=f"<@{view.employee_id}>", step=escape(_(step_label))
            )
        ),
        {
            "type": "section",
            "fields": [
                mrkdwn(field_label(_("Total")) + f"{view.total_text}"),
                mrkdwn(field_label(_("Merchant")) + escape(view.merchant or _("unknown"))),
                mrkdwn(
                    field_label(_("Date"))
                    + (i18n.format_date(view.spent_on) if view.spent_on else _("not given"))
                ),
                mrkdwn(field_label(_("Category")) + f"{view.category_text}"),
                mrkdwn(field_label(_("Customer")) + f"{customer}"),
                mrkdwn(field_label(_("Receipt")) + (_("attached below") if view.has_receipt else _("none"))),
            ],
        },
    ]
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


def build_partial_modal(*, task_id: int, ref: str, total: Decimal | None, currency: str) -> dict[str, Any]:
    """Approve a lower amount than claimed: the amount and a reason the employee will see; the
    claim's ``total`` in the reader's formats."""
    return {
        "type": "modal",
        "callback_id": PARTIAL_VIEW,
        "private_metadata": json.dumps({"task_id": task_id}),
        "title": text(_("Approve part of {ref}").format(ref=ref)[:24]),
        "submit": text(_("Approve")[:24]),
        "close": text(_("Cancel")[:24]),
        "blocks": [
            section(
                _("The claim is *{total}*. Approve a lower amount in {currency}:").format(
                    total=format_money(total, currency), currency=currency
                )
            ),
            {
                "type": "input",
                "block_id": "amount",
                "label": text(_("Approved amount ({currency})").format(currency=currency)),
                "element": {"type": "plain_text_input", "action_id": "amount"},
            },
            {
                "type": "input",
                "block_id": "reason",
                "label": text(_("Why is part of it not approved?")),
                "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True},
            },
        ],
    }


def build_reason_modal(
    *, task_id: int, kind: str, ref: str, channel: str | None = None, ts: str | None = None
) -> dict[str, Any]:
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
                "element": {
                    "type": "plain_text_input",
                    "action_id": "reason",
                    "multiline": True,
                    "min_length": 1,
                    "max_length": 2000,
                },
            }
        ],
    }


def outcome_line(decision: str, actor: str, at: dt.datetime, reason: str | None) -> str:
    """What the approval request says once decided (``decision``: approve, reject or send_back),
    in the current locale (bot/i18n.py)."""
    who = f"<@{actor}>"
    verb = {
        "approve": ":white_check_mark: " + _("Approved by {approver}").format(approver=who),
        "reject": ":x: " + _("Rejected by {approver}").format(approver=who),
        "send_back": ":leftwards_arrow_with_hook: "
        + _("Sent back for changes by {approver}").format(approver=who),
    }[decision]
    line = f"{verb} · {format_time(at)}"
    return f"{line}\n> {reason}" if reason else line


# --- the use cases' results and facts, worded (services/approvals.py) ---------------------------


def submit_refusal_text(refusal: Refusal) -> str:
    """Why a claim was not submitted, for its employee (only they see it)."""
    ref = refusal.ref
    match refusal.why:
        case Why.GONE:
            return "This expense no longer exists."
        case Why.NOT_OWNER:
            return f"Only <@{refusal.owner}> can submit {ref}."
        case Why.NOT_READY:
            return f"{ref} is not ready to submit: " + " ".join(problems_text(list(refusal.problems)))
        case Why.NO_EMAIL:
            return (
                "I could not find your email address in Slack, so I cannot find your manager. "
                "Ask a Slack admin to show email addresses to apps."
            )
        case Why.POLICY:
            return f"{ref} cannot be submitted: {refusal.detail}"
        case _:
            return refusal.detail


def decision_refusal_text(refusal: Refusal) -> str:
    """Why an approver's click or form did nothing, in the current locale (only they see it)."""
    ref = refusal.ref
    match refusal.why:
        case Why.GONE:
            return _("This approval request no longer exists.")
        case Why.OWN_CLAIM:
            return _("You cannot approve or reject your own expense.")
        case Why.RACE:
            return _("{ref} was decided a moment ago by someone else.").format(ref=ref)
        case Why.NO_EMAIL:
            return (
                "I could not find your email address in Slack, so I cannot tell whether you may decide this."
            )
        case Why.ALREADY:
            return _already_text(refusal)
        case _:
            return refusal.detail


def _already_text(refusal: Refusal) -> str:
    ref = refusal.ref
    if refusal.task_status == "waiting":
        return f"{ref} is not at this step yet."
    if refusal.task_status == "cancelled":
        return f"This request for {ref} is outdated: the expense was rejected or sent back at another step."
    word = {"approved": "approved", "rejected": "rejected", "changes_requested": "sent back"}.get(
        refusal.task_status or "", refusal.task_status or ""
    )
    when = f" on {refusal.decided_at:%d %b at %H:%M} UTC" if refusal.decided_at else ""
    who = f" by <@{refusal.decided_by}>" if refusal.decided_by else ""
    return f"{ref} was already {word}{who}{when}; nothing was changed."


def decided_text(decided: Decided) -> str:
    """What the approver is told after deciding, in the current locale."""
    done = {
        APPROVE_DECISION: _("You approved {ref}."),
        REJECT_DECISION: _("You rejected {ref}."),
        SEND_BACK_DECISION: _("You sent {ref} back for changes."),
    }[decided.decision]
    return done.format(ref=decided.ref)


def _claimed(facts: dict[str, Any]) -> str:
    """The amount of a decision's facts: the claim, or the lower amount approved and why."""
    partial = facts.get("partial")
    if partial:
        return _("{approved} of the {original} claimed: “{reason}”").format(
            approved=format_money(Decimal(partial["approved"]), partial["currency"]),
            original=format_money(Decimal(partial["original"]), partial["currency"]),
            reason=partial["reason"],
        )
    return format_money(_decimal(facts.get("amount")), facts.get("currency"))


def _decimal(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value not in (None, "None") else None


def _step(kind: Any) -> str:
    return _(StepKind(str(kind)).label)


def notice_text(facts: dict[str, Any]) -> str:
    """A ``notice`` outbox row worded for its reader, in the current locale (their language)."""
    event = facts.get("event")
    ref, who = facts.get("ref", ""), f"<@{facts.get('approver')}>"
    if event == "auto_approved":
        return ":white_check_mark: " + _(
            "{ref} ({amount}) was approved by policy ({rule}); it now waits for payout."
        ).format(
            ref=ref,
            amount=format_money(_decimal(facts.get("amount")), facts.get("currency")),
            rule=facts.get("rule"),
        )
    if event == "approved_step":
        return ":white_check_mark: " + _(
            "{ref} ({amount}) was approved by {approver} ({step}). It now waits for {next_step}."
        ).format(
            ref=ref,
            amount=_claimed(facts),
            approver=who,
            step=_step(facts["step"]),
            next_step=_step(facts["next_step"]),
        )
    if event == "approved":
        return ":white_check_mark: " + _(
            "{ref} ({amount}) was approved by {approver} ({step}). It now waits for payout."
        ).format(ref=ref, amount=_claimed(facts), approver=who, step=_step(facts["step"]))
    if event == "rejected":
        return ":x: " + _(
            "{ref} ({amount}) was rejected by {approver}: “{reason}”\n"
            "You can edit it and submit it again from its card."
        ).format(ref=ref, amount=_claimed(facts), approver=who, reason=facts.get("reason"))
    if event == "sent_back":
        return ":leftwards_arrow_with_hook: " + _(
            "{approver} asked for changes to {ref} ({amount}): “{reason}”\n"
            "Edit it and submit it again from its card."
        ).format(ref=ref, amount=_claimed(facts), approver=who, reason=facts.get("reason"))
    if event == "paid":
        amounts = facts.get("amounts") or {}
        total = _(" and ").join(format_money(Decimal(a), c) for c, a in sorted(amounts.items()))
        refs = ", ".join(facts.get("refs") or ())
        return ":moneybag: " + _("You have been paid {total} for {refs}.").format(total=total, refs=refs)
    if event == "routing_problem":
        return f":warning: {facts.get('message')}"
    raise ValueError(f"unknown notice {event!r}")


def status_text(facts: dict[str, Any]) -> str:
    """The status line on a claim's card from the facts kept on it, in the current locale."""
    event = facts.get("event")
    who = f"<@{facts.get('approver')}>"
    if event == "auto_approved":
        return _("Approved by policy ({rule}).").format(rule=facts.get("rule"))
    if event == "waiting":
        return _("Waiting for approval: {step} ({approvers}).").format(
            step=_step(facts["step"]), approvers=", ".join(facts.get("approvers") or ())
        )
    if event == "approved_step":
        return _("Approved by {step}; waiting for {next_step}.").format(
            step=_step(facts["step"]), next_step=_step(facts["next_step"])
        )
    if event == "approved":
        return _("Approved; waiting for payout.")
    if event == "rejected":
        return _("Rejected by {approver}: “{reason}”").format(approver=who, reason=facts.get("reason"))
    if event == "sent_back":
        return _("Changes requested by {approver}: “{reason}”").format(
            approver=who, reason=facts.get("reason")
        )
    if event == "paid":
        return _("Paid in batch #{batch}.").format(batch=facts.get("batch"))
    return ""
