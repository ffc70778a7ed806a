"""`/expense policy` (the policy in force, for anyone) and `/expense policy reload` (admins only).

A reload reads the policy file and the directory file at once, whether they changed or not. A
file with a mistake is reported with its line and the previous version stays in force. Every
reload, and every refused attempt, is written to the audit log.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot import identity
from bot.context import AppContext
from storage import audit
from storage.db import transaction
from workflows.directory import Role
from workflows.policy import overview, summary

log = logging.getLogger(__name__)

USAGE = "Usage: `/expense policy` (the policy in force) or, for admins, `/expense policy reload`."
_COMMAND = re.compile(r"^policy(?:\s+(?P<rest>.*))?$", re.I | re.S)


def is_policy_command(text: str) -> bool:
    return _COMMAND.match(text.strip()) is not None


@dataclass(frozen=True)
class Answer:
    text: str


async def handle_command(ctx: AppContext, user_id: str, text: str) -> Answer:
    """`/expense policy [reload]`: what to tell the person (only they see it)."""
    match = _COMMAND.match(text.strip())
    rest = " ".join((match.group("rest") or "").split()).lower() if match else ""
    if not rest:
        return Answer(describe(ctx))
    if rest != "reload":
        return Answer(USAGE)
    email = await identity.email_of(ctx, user_id)
    directory = ctx.directory
    if not email or not directory.is_admin(email):
        admins = [await _mention(ctx, person.email) for person in directory.admins()]
        who = ", ".join(admins) if admins else "none are named in the company directory"
        log.warning("policy reload refused: %s (%s) is not an admin", user_id, email or "no email")
        await asyncio.to_thread(
            _audit, ctx, user_id, "policy.reload_refused", f"{email or user_id} is not an admin"
        )
        return Answer(f"Only admins can reload the policy. Admins: {who}")
    return Answer(await asyncio.to_thread(reload, ctx, user_id))


def describe(ctx: AppContext) -> str:
    """The short summary of the policy in force."""
    source = ctx.policy_source
    origin = source.path.name if source.path is not None else "the built-in default"
    lines = [f"*Expense policy in force* (from {origin})", *overview(ctx.policy)]
    if source.error:
        lines.append(
            f":warning: The policy file has a mistake, so the previous policy is kept: {source.error}"
        )
    return "\n".join(lines)


def reload(ctx: AppContext, user_id: str) -> str:
    """Re-read both files now; the answer for the admin. Audited."""
    lines: list[str] = []
    results: list[str] = []
    policy_path = ctx.policy_source.path
    if policy_path is None:
        lines.append(
            ":information_source: No policy file is configured (EXPENSEBOT_POLICY_FILE), so the built-in "
            f"default is in force: {summary(ctx.policy)}."
        )
        results.append("policy: built-in default")
    else:
        policy, error = ctx.policy_source.reload()
        if error:
            lines.append(f":x: Policy not reloaded: {error}\nThe previous policy stays in force.")
            results.append(f"policy: error: {error}")
        else:
            lines.append(f":white_check_mark: Policy reloaded from {policy_path.name}: {summary(policy)}.")
            results.append(f"policy: loaded {policy_path.name}")
    org_path = ctx.directory_source.path
    if org_path is None:
        lines.append(":information_source: No directory file is configured (EXPENSEBOT_ORG_FILE).")
        results.append("directory: none configured")
    else:
        directory, error = ctx.directory_source.reload()
        if error:
            lines.append(f":x: Directory not reloaded: {error}\nThe previous directory stays in force.")
            results.append(f"directory: error: {error}")
        else:
            roles = Counter(person.role.value for person in directory)
            counts = ", ".join(f"{roles[role.value]} {role.value}" for role in Role if roles[role.value])
            lines.append(
                f":white_check_mark: Directory reloaded from {org_path.name}: {len(directory)} people ({counts})."
            )
            results.append(f"directory: loaded {org_path.name}, {len(directory)} people")
    detail = "; ".join(results)
    log.info("policy reload by %s: %s", user_id, detail)
    _audit(ctx, user_id, "policy.reload", detail)
    return "\n".join(lines)


def _audit(ctx: AppContext, user_id: str, action: str, detail: str) -> None:
    path = ctx.policy_source.path
    with transaction(ctx.db) as session:
        audit.record(session, actor=user_id, action=action, entity="policy",
                     entity_id=(path.name if path is not None else "built-in")[:64], detail=detail)  # fmt: skip


async def _mention(ctx: AppContext, email: str) -> str:
    try:
        user = await identity.user_of(ctx, email)
    except SlackApiError as exc:
        log.warning("users.lookupByEmail failed for %s: %s", email, exc.response.get("error"))
        user = None
    return f"<@{user}>" if user else email
