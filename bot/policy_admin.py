"""`/expense policy` (the policy in force, for anyone) and `/expense policy reload` (admins only).

A reload reads the policy file and the directory file at once, whether they changed or not. A
file with a mistake is reported with its line and the previous version stays in force. Every
reload, and every refused attempt, is written to the audit log.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from slack_sdk.errors import SlackApiError

from bot import i18n, identity
from bot.context import AppContext
from bot.i18n import N_, _, ngettext
from storage import audit
from storage.db import transaction
from workflows.directory import Role
from workflows.policy import LevelApprover, Policy, category_key

log = logging.getLogger(__name__)

USAGE = N_("Usage: `/expense policy` (the policy in force) or, for admins, `/expense policy reload`.")
_COMMAND = re.compile(r"^policy(?:\s+(?P<rest>.*))?$", re.I | re.S)


def is_policy_command(text: str) -> bool:
    return _COMMAND.match(text.strip()) is not None


@dataclass(frozen=True)
class Answer:
    text: str


async def handle_command(ctx: AppContext, user_id: str, text: str) -> Answer:
    """`/expense policy [reload]`: what to tell the person (only they see it), in the current locale
    (the slash command renders in the language of the person who typed it)."""
    match = _COMMAND.match(text.strip())
    rest = " ".join((match.group("rest") or "").split()).lower() if match else ""
    if not rest:
        return Answer(describe(ctx))
    if rest != "reload":
        return Answer(_(USAGE))
    email = await identity.email_of(ctx, user_id)
    directory = ctx.directory
    if not email or not directory.is_admin(email):
        admins = [await _mention(ctx, person.email) for person in directory.admins()]
        who = ", ".join(admins) if admins else _("none are named in the company directory")
        log.warning("policy reload refused: %s (%s) is not an admin", user_id, email or "no email")
        await asyncio.to_thread(
            _audit, ctx, user_id, "policy.reload_refused", f"{email or user_id} is not an admin"
        )
        return Answer(_("Only admins can reload the policy. Admins: {admins}").format(admins=who))
    return Answer(await asyncio.to_thread(reload, ctx, user_id))


def describe(ctx: AppContext) -> str:
    """The short summary of the policy in force."""
    source = ctx.policy_source
    origin = source.path.name if source.path is not None else _("the built-in default")
    lines = [_("*Expense policy in force* (from {origin})").format(origin=origin), *overview(ctx.policy)]
    if source.error:
        lines.append(
            ":warning: "
            + _("The policy file has a mistake, so the previous policy is kept: {error}").format(
                error=source.error
            )
        )
    return "\n".join(lines)


def reload(ctx: AppContext, user_id: str) -> str:
    """Re-read both files now; the answer for the admin (in the current locale). Audited (in English)."""
    lines: list[str] = []
    results: list[str] = []
    policy_path = ctx.policy_source.path
    if policy_path is None:
        lines.append(
            ":information_source: "
            + _(
                "No policy file is configured (EXPENSEBOT_POLICY_FILE), so the built-in default is in force: "
                "{summary}."
            ).format(summary=summary(ctx.policy))
        )
        results.append("policy: built-in default")
    else:
        policy, error = ctx.policy_source.reload()
        if error:
            lines.append(
                ":x: "
                + _("Policy not reloaded: {error}\nThe previous policy stays in force.").format(error=error)
            )
            results.append(f"policy: error: {error}")
        else:
            lines.append(
                ":white_check_mark: "
                + _("Policy reloaded from {file}: {summary}.").format(
                    file=policy_path.name, summary=summary(policy)
                )
            )
            results.append(f"policy: loaded {policy_path.name}")
    org_path = ctx.directory_source.path
    if org_path is None:
        lines.append(":information_source: " + _("No directory file is configured (EXPENSEBOT_ORG_FILE)."))
        results.append("directory: none configured")
    else:
        directory, error = ctx.directory_source.reload()
        if error:
            lines.append(
                ":x: "
                + _("Directory not reloaded: {error}\nThe previous directory stays in force.").format(
                    error=error
                )
            )
            results.append(f"directory: error: {error}")
        else:
            roles = Counter(person.role.value for person in directory)
            counts = ", ".join(
                _("{count} {role}").format(
                    count=i18n.format_count(roles[role.value]), role=_(ROLE_LABELS[role])
                )
                for role in Role
                if roles[role.value]
            )
            lines.append(
                ":white_check_mark: "
                + ngettext(
                    "Directory reloaded from {file}: {count} person ({roles}).",
                    "Directory reloaded from {file}: {count} people ({roles}).",
                    len(directory),
                ).format(file=org_path.name, count=i18n.format_count(len(directory)), roles=counts)
            )
            results.append(f"directory: loaded {org_path.name}, {len(directory)} people")
    detail = "; ".join(results)
    log.info("policy reload by %s: %s", user_id, detail)
    _audit(ctx, user_id, "policy.reload", detail)
    return "\n".join(lines)


# --- the policy for people, in the reader's language ------------------------------------------

ROLE_LABELS: dict[Role, str] = {
    Role.EMPLOYEE: N_("employee"),
    Role.MANAGER: N_("manager"),
    Role.FINANCE: N_("finance"),
    Role.ADMIN: N_("admin"),
}
_SCOPES = {"department": N_("department"), "customer": N_("customer"), "project": N_("project")}
_PER_PERIOD = {
    "month": N_("{amount} a month"),
    "quarter": N_("{amount} a quarter"),
    "year": N_("{amount} a year"),
}


def _money(policy: Policy, amount: Decimal) -> str:
    return i18n.format_money(amount, policy.company_currency)


def _list(items: list[str]) -> str:
    return ", ".join(items)


def summary(policy: Policy) -> str:
    """One paragraph describing the policy (the reload's answer; ``workflows.policy.summary`` is the
    CLI's English)."""
    cur = policy.company_currency
    parts = [
        _("company currency {currency}").format(currency=cur),
        ngettext("{count} category ({names})", "{count} categories ({names})", len(policy.categories)).format(
            count=len(policy.categories), names=_list(list(policy.categories))
        ),
        _("receipts required above {amount}").format(amount=_money(policy, policy.receipt_required_above)),
        ngettext("claims up to {days} day old", "claims up to {days} days old", policy.max_age_days).format(
            days=policy.max_age_days
        ),
    ]
    if policy.approval_levels:
        levels = "; ".join(
            _("above {amount}: {approver}").format(
                amount=_money(policy, level.above), approver=_(_APPROVERS[level.approver])
            )
            for level in policy.approval_levels
        )
        parts.append(_("extra approval levels: {levels}").format(levels=levels))
    else:
        parts.append(_("no extra approval levels"))
    if policy.auto_approve_below is not None:
        parts.append(
            _("auto-approval below {amount}").format(amount=_money(policy, policy.auto_approve_below))
        )
    else:
        parts.append(_("no auto-approval"))
    if policy.prohibited_merchants:
        count = len(policy.prohibited_merchants)
        parts.append(
            ngettext("{count} prohibited merchant", "{count} prohibited merchants", count).format(count=count)
        )
    if policy.budgets:
        count = len(policy.budgets)
        parts.append(ngettext("{count} budget", "{count} budgets", count).format(count=count))
    return ", ".join(parts)


_APPROVERS = {
    LevelApprover.MANAGER_OF_MANAGER: N_("manager's manager"),
    LevelApprover.DEPARTMENT_HEAD: N_("department head"),
}


def overview(policy: Policy) -> list[str]:
    """The policy in force in a few lines for people (``/expense policy``): currency, limits,
    thresholds and who approves, in the current locale."""
    money = functools.partial(_money, policy)

    def label(key: str) -> str:  # a category's label, translated when it is one of ours
        return _(policy.label_of(key))

    lines = [
        _(
            "Company currency: {currency}. Claims in other currencies are converted on the day of the expense."
        ).format(currency=policy.company_currency),
        ngettext(
            "Receipts are required above {amount}; expenses older than {days} day cannot be claimed.",
            "Receipts are required above {amount}; expenses older than {days} days cannot be claimed.",
            policy.max_age_days,
        ).format(amount=money(policy.receipt_required_above), days=policy.max_age_days),
    ]
    limits: list[str] = []
    for key, rule in policy.categories.items():
        if policy.is_prohibited_category(key):
            continue
        parts: list[str] = []
        if rule.limit is not None:
            parts.append(_("{amount} per expense").format(amount=money(rule.limit)))
        if rule.daily_limit is not None:
            parts.append(_("{amount} per day").format(amount=money(rule.daily_limit)))
        if rule.rate_per_unit is not None:
            parts.append(
                _("{amount} per {unit}").format(amount=money(rule.rate_per_unit), unit=rule.unit or "km")
            )
        if rule.per_diem:
            parts.append(_("the per diem rates (`/expense perdiem`, no receipt)"))
        if parts:
            limits.append(_("{category} {limits}").format(category=label(key), limits=_(" and ").join(parts)))
    lines.append(_("Limits: {limits}.").format(limits="; ".join(limits)) if limits else _("Limits: none."))
    if policy.auto_approve_below is not None:
        never = [label(k) for k, rule in policy.categories.items() if not rule.auto_approve]
        amount = money(policy.auto_approve_below)
        if never:
            lines.append(
                _(
                    "Approved by policy: claims below {amount} with no findings and no anomaly flags (never for "
                    "{categories})."
                ).format(amount=amount, categories=_list(never))
            )
        else:
            lines.append(
                _("Approved by policy: claims below {amount} with no findings and no anomaly flags.").format(
                    amount=amount
                )
            )
    else:
        lines.append(_("Approved by policy: none; every claim goes to a person."))
    route = [_("manager")]
    for level in policy.approval_levels:
        route.append(
            _("above {amount}: {approver}").format(
                amount=money(level.above), approver=_(_APPROVERS[level.approver])
            )
        )
    route.append(_("finance"))
    lines.append(_("Approval route: {route}.").format(route=" → ".join(route)))
    prohibited = [label(k) for k in policy.categories if policy.is_prohibited_category(k)]
    prohibited += [c for c in policy.prohibited_categories if category_key(c) not in policy.categories]
    if prohibited or policy.prohibited_merchants:
        what = []
        if prohibited:
            what.append(_("categories {names}").format(names=_list(prohibited)))
        if policy.prohibited_merchants:
            what.append(
                _("merchants matching {patterns}").format(patterns=", ".join(policy.prohibited_merchants))
            )
        lines.append(_("Never reimbursed: {what}.").format(what="; ".join(what)))
    if policy.budgets:
        budgets = [
            _("{name} ({scope}) {amount}").format(
                name=b.display,
                scope=_(_SCOPES[b.scope]),
                amount=_(_PER_PERIOD[b.period]).format(amount=money(b.amount)),
            )
            for b in policy.budgets
        ]
        lines.append(
            _("Budgets (approvers are warned from 90%): {budgets}.").format(budgets="; ".join(budgets))
        )
    return lines


def _audit(ctx: AppContext, user_id: str, action: str, detail: str) -> None:
    path = ctx.policy_source.path
    with transaction(ctx.db) as session:
        audit.record(
            session,
            actor=user_id,
            action=action,
            entity="policy",
            entity_id=(path.name if path is not None else "built-in")[:64],
            detail=detail,
        )


async def _mention(ctx: AppContext, email: str) -> str:
    try:
        user = await identity.user_of(ctx, email)
    except SlackApiError as exc:
        log.warning("users.lookupByEmail failed for %s: %s", email, exc.response.get("error"))
        user = None
    return f"<@{user}>" if user else email
