"""Delivery of outbox rows to Slack, after the state change that wrote them has committed.

Each kind of row has one sender here. Senders render from the current database state, so a
late delivery shows the latest truth. Failures are retried with backoff (Slack's Retry-After
when it gives one); permanent Slack errors stop after a few attempts and are logged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import aiohttp
from babel import Locale
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select, update

from bot import i18n, identity
from bot.blocks.approvals import build_approval_request, build_decided, notice_text, outcome_line
from bot.blocks.card import build_receipt_card, card_fallback_text
from bot.context import AppContext
from bot.conversion import with_conversion
from bot.views import expense_view
from services.budgets import budget_warnings
from storage import outbox
from storage.approvals import round_tasks
from storage.db import DatabaseUnavailable, transaction
from storage.delegations import with_delegations
from storage.models import (
    ApprovalMessage,
    ApprovalTask,
    Expense,
    OutboxMessage,
    ReceiptFile,
    SlackUser,
)
from storage.receipts import content_of
from storage.tenancy import TEAM_KEY, team_scope
from workflows.routing import ApprovalStep, StepKind, deciders

log = logging.getLogger(__name__)

Sender = Callable[[AppContext, dict[str, Any]], Awaitable[dict[str, Any] | None]]
_SENDERS: dict[str, Sender] = {}
_PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "user_not_found",
    "users_not_found",
    "invalid_blocks",
    "msg_too_long",
    "cant_update_message",
    "message_not_found",
    "invalid_arguments",
    "no_text",
}


def register_sender(kind: str, fn: Sender) -> None:
    """Deliver outbox rows of ``kind`` with ``fn``. The senders of this module register themselves
    (``@sender``); those of the modules above it are registered by ``bot.wiring.wire``."""
    _SENDERS[kind] = fn


def senders() -> dict[str, Sender]:
    """Outbox kind -> its sender, as registered so far."""
    return dict(_SENDERS)


def sender(kind: str) -> Callable[[Sender], Sender]:
    def register(fn: Sender) -> Sender:
        register_sender(kind, fn)
        return fn

    return register


async def deliver_pending(ctx: AppContext, *, limit: int = 100) -> int:
    """Send every due outbox row this process can claim; returns how many were sent."""
    try:
        ids = await asyncio.to_thread(_due, ctx, limit)
    except DatabaseUnavailable:
        return 0
    sent = 0
    for message_id in ids:
        if await deliver_one(ctx, message_id):
            sent += 1
    return sent


def _due(ctx: AppContext, limit: int) -> list[int]:
    with transaction(ctx.db) as session:
        return outbox.due_ids(session, limit)


@dataclass(frozen=True)
class Attempt:
    """The outbox row being delivered, as :func:`post` needs it."""

    key: str  # the row's dedup_key, carried in each message's metadata
    since: float  # when the row was written (Unix time): where to start looking in history
    look_first: bool  # the last attempt may have been carried out by Slack: look before posting


_attempt: ContextVar[Attempt | None] = ContextVar("outbox_attempt", default=None)

# A failure whose outcome is known: Slack answered and refused (rate limit, bad channel...).
_REFUSED = "slack: "


def _claim(ctx: AppContext, message_id: int) -> tuple[str, dict[str, Any], int, Attempt] | None:
    with transaction(ctx.db) as session:
        row: OutboxMessage | None = outbox.claim(session, message_id)
        if row is None:
            return None
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
        uncertain = row.last_error is not None and not row.last_error.startswith(_REFUSED)
        attempt = Attempt(key=row.dedup_key, since=created.timestamp(), look_first=uncertain)
        return row.kind, dict(row.payload), row.attempts, attempt


def _sender_for(kind: str) -> Sender | None:
    return _SENDERS.get(kind)


async def deliver_one(ctx: AppContext, message_id: int) -> bool:
    claimed = await asyncio.to_thread(_claim, ctx, message_id)
    if claimed is None:
        return False
    kind, payload, attempts, attempt = claimed
    send = _sender_for(kind)
    token = _attempt.set(attempt)
    try:
        if send is None:
            raise RuntimeError(f"no sender for outbox kind {kind!r} (bot.wiring.wire() registers them)")
        with team_scope(payload.pop(TEAM_KEY, None)):
            result = await send(ctx, payload)
    except SlackApiError as exc:
        error = str(exc.response.get("error", "slack_error"))
        retry_after = float(exc.response.headers.get("Retry-After", 0) or 0) if exc.response.headers else 0.0
        permanent = error in _PERMANENT
        delay = retry_after or min(300.0, 2.0**attempts)
        if permanent and attempts >= 3:
            delay = 10**7  # give up; kept for inspection
        log.warning("outbox %s (%s) failed: %s; retry in %.0fs", message_id, kind, error, delay)
        # A server error may come after Slack carried the call out: the retry looks first.
        prefix = _REFUSED if exc.response.status_code < 500 else "slack server error: "
        await asyncio.to_thread(_failed, ctx, message_id, f"{prefix}{error}", delay)
        return False
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:  # the answer may be lost, not the call
        delay = min(300.0, 2.0**attempts)
        log.warning(
            "outbox %s (%s): no answer from Slack (%s); retry in %.0fs, looking first whether it "
            "was delivered",
            message_id,
            kind,
            type(exc).__name__,
            delay,
        )
        await asyncio.to_thread(_failed, ctx, message_id, f"no answer: {exc!r}", delay)
        return False
    except Exception as exc:  # retried: database blips, bugs fixed by a deploy
        log.exception("outbox %s (%s) failed", message_id, kind)
        await asyncio.to_thread(_failed, ctx, message_id, repr(exc), min(300.0, 2.0**attempts))
        return False
    finally:
        _attempt.reset(token)
    await asyncio.to_thread(_sent, ctx, message_id, result)
    return True


def _failed(ctx: AppContext, message_id: int, error: str, delay: float) -> None:
    with transaction(ctx.db) as session:
        outbox.mark_failed(session, message_id, error, delay)


def _sent(ctx: AppContext, message_id: int, result: dict[str, Any] | None) -> None:
    with transaction(ctx.db) as session:
        outbox.mark_sent(session, message_id, result)


OUTBOX_EVENT_TYPE = "expensebot_outbox"


async def post(client: AsyncWebClient, **kwargs: Any) -> dict[str, Any]:
    """``chat.postMessage``, delivered effectively once when called for an outbox row.

    The row's key goes in the message's ``metadata``. Slack may carry a call out and the answer
    be lost (a timeout, a dropped connection, a 5xx): the row's next attempt then looks for the
    key in the conversation (``conversations.history``/``replies`` with
    ``include_all_metadata``, from the row's creation on) and records the message found instead
    of posting it again. Such failures are not retried inside the call for the same reason.
    """
    attempt = _attempt.get()
    if attempt is None:
        resp = await client.chat_postMessage(**kwargs)
        return {"channel": resp["channel"], "ts": resp["ts"]}
    channel = str(kwargs["channel"])
    if attempt.look_first:
        found = await find_delivered(client, channel, kwargs.get("thread_ts"), attempt)
        if found is not None:
            log.info(
                "outbox %s: already delivered to %s (ts %s); not posting again", attempt.key, channel, found
            )
            return {"channel": channel, "ts": found, "found_in_history": True}
    metadata = {"event_type": OUTBOX_EVENT_TYPE, "event_payload": {"key": attempt.key}}
    resp = await _without_blind_retries(client).chat_postMessage(metadata=metadata, **kwargs)
    return {"channel": resp["channel"], "ts": resp["ts"]}


def _without_blind_retries(web: AsyncWebClient) -> AsyncWebClient:
    """The same client, minus the retries of calls whose outcome is unknown (connection errors,
    server errors): those are retried by the outbox, which looks first. Rate limits (the call
    was refused) are still retried in place."""
    keep = [
        h
        for h in web.retry_handlers
        if isinstance(h, AsyncRateLimitErrorRetryHandler) or not _retries_blind(h)
    ]
    # The same class (a TeamRoutedClient carries each workspace's token in multi-workspace mode).
    copy = type(web)(
        token=web.token,
        base_url=web.base_url,
        timeout=web.timeout,
        ssl=web.ssl,
        proxy=web.proxy,
        headers=dict(web.headers),
        retry_handlers=keep,
    )
    tokens = getattr(web, "tokens", None)
    if tokens is not None:
        copy.tokens = tokens  # type: ignore[attr-defined]
    return copy


def _retries_blind(handler: Any) -> bool:
    return isinstance(handler, AsyncConnectionErrorRetryHandler | AsyncServerErrorRetryHandler)


async def find_delivered(
    client: AsyncWebClient, channel: str, thread_ts: str | None, attempt: Attempt, pages: int = 5
) -> str | None:
    """The ts of a message carrying ``attempt``'s key in ``channel`` (or its thread), if any."""
    oldest = f"{max(0.0, attempt.since - 60):.6f}"
    cursor: str | None = None
    try:
        for _ in range(pages):
            args: dict[str, Any] = {
                "channel": channel,
                "oldest": oldest,
                "include_all_metadata": True,
                "limit": 200,
            }
            if cursor:
                args["cursor"] = cursor
            if thread_ts:
                resp = await client.conversations_replies(ts=thread_ts, **args)
            else:
                resp = await client.conversations_history(**args)
            for message in resp.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == OUTBOX_EVENT_TYPE and payload.get("key") == attempt.key:
                    return str(message["ts"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
    except SlackApiError as exc:
        if exc.response.status_code >= 500 or exc.response.status_code == 429:
            raise  # try again later, still looking first
        # e.g. missing_scope: we cannot look, so we post (at least once rather than never)
        log.warning(
            "outbox %s: cannot look in %s's history (%s); posting",
            attempt.key,
            channel,
            exc.response.get("error"),
        )
    return None


# --- senders --------------------------------------------------------------------------------


def _employee_of(ctx: AppContext, expense_id: int) -> str | None:
    with ctx.db() as session:
        exp = session.get(Expense, expense_id)
        return exp.employee_id if exp is not None else None


@sender("card")
async def send_card(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The employee's card, in their language (bot/i18n.py)."""
    expense_id = int(payload["expense_id"])
    employee = await asyncio.to_thread(_employee_of, ctx, expense_id)
    locale = await _locale(ctx, employee)
    with i18n.use_locale(locale):
        return await _send_card(ctx, expense_id)


async def _locale(ctx: AppContext, user_id: str | None) -> Locale:
    if user_id is None:
        return i18n.choose(None, ctx.settings.default_locale)
    return await identity.locale_for(ctx, user_id)


async def _send_card(ctx: AppContext, expense_id: int) -> dict[str, Any] | None:
    def load() -> tuple[Any, str | None, str | None, str | None, str | None, str]:
        with ctx.db() as session:
            exp = session.get(Expense, expense_id)
            if exp is None:
                raise LookupError(f"expense {expense_id} is gone")
            return (
                with_conversion(session, ctx, exp, expense_view(exp)),
                exp.card_channel,
                exp.card_ts,
                exp.channel_id,
                exp.thread_ts,
                exp.employee_id,
            )

    view, card_channel, card_ts, channel_id, thread_ts, employee = await asyncio.to_thread(load)
    blocks = build_receipt_card(view)
    fallback = card_fallback_text(view)
    if card_channel and card_ts:
        await ctx.slack.chat_update(channel=card_channel, ts=card_ts, blocks=blocks, text=fallback)
        return {"channel": card_channel, "ts": card_ts}
    dm = await identity.dm_channel(ctx, employee)
    in_thread = thread_ts if channel_id == dm else None
    result = await post(ctx.slack, channel=dm, thread_ts=in_thread, blocks=blocks, text=fallback)

    def save() -> None:
        # Where the card is shown is not a change to the expense: no version bump, so it never
        # conflicts with the employee's click on the card it just posted.
        with transaction(ctx.db) as session:
            session.execute(
                update(Expense)
                .where(Expense.id == expense_id)
                .values(card_channel=result["channel"], card_ts=result["ts"])
                .execution_options(synchronize_session=False)
            )

    await asyncio.to_thread(save)
    if channel_id and channel_id != dm and thread_ts:
        await post(
            ctx.slack,
            channel=channel_id,
            thread_ts=thread_ts,
            text=i18n._(
                "{employee} I read your receipt and sent the expense card to you in a direct message."
            ).format(employee=f"<@{employee}>"),
        )
    return result


@sender("dm")
async def send_dm(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any] | None:
    user_id = payload.get("user_id")
    if not user_id and payload.get("email"):
        user_id = await identity.user_of(ctx, str(payload["email"]))
    if not user_id:
        log.warning("dm to %s skipped: no Slack user", payload.get("email"))
        return {"skipped": "no Slack user"}
    channel = await identity.dm_channel(ctx, str(user_id))
    return await post(ctx.slack, channel=channel, text=payload["text"], blocks=payload.get("blocks"))


@sender("notice")
async def send_notice(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any] | None:
    """A direct message worded from the facts a use case queued (a decision on a claim, a payout,
    a routing problem for admins), in the reader's language at the time it is sent."""
    user_id = payload.get("user_id")
    if not user_id and payload.get("email"):
        user_id = await identity.user_of(ctx, str(payload["email"]))
    if not user_id:
        log.warning("notice to %s skipped: no Slack user", payload.get("email"))
        return {"skipped": "no Slack user"}
    with i18n.use_locale(await identity.locale_for(ctx, str(user_id))):
        text = notice_text(payload)
    channel = await identity.dm_channel(ctx, str(user_id))
    return await post(ctx.slack, channel=channel, text=text)


@sender("channel_message")
async def send_channel_message(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any] | None:
    return await post(
        ctx.slack,
        channel=payload["channel"],
        text=payload["text"],
        thread_ts=payload.get("thread_ts"),
        blocks=payload.get("blocks"),
    )


def _task_bundle(
    ctx: AppContext, task_id: int
) -> tuple[ApprovalTask, Any, list[tuple[str, str]], int | None]:
    with ctx.db() as session:
        task = session.get(ApprovalTask, task_id)
        if task is None:
            raise LookupError(f"approval task {task_id} is gone")
        exp = session.get(Expense, task.expense_id)
        assert exp is not None
        messages = [(m.channel, m.ts) for m in task.messages]
        return task, expense_view(exp), messages, exp.receipt_id


def _budget_lines(ctx: AppContext, task: ApprovalTask) -> list[str]:
    """The claim's budgets as they stand now (spend approved since it was submitted counts)."""
    with ctx.db() as session:
        exp = session.get(Expense, task.expense_id)
        if exp is None:
            return []
        return budget_warnings(session, ctx.policy, ctx.directory, exp, dt.date.today())


def _with_delegates(ctx: AppContext, task_id: int) -> list[str]:
    """Who may decide the task today: its approvers and, for those away, the delegate acting for
    them, unless that delegate decides another step of the claim (see ``workflows.routing.deciders``)."""
    today = dt.date.today()
    with ctx.db() as session:
        directory = with_delegations(ctx.directory, session, today)
        task = session.get(ApprovalTask, task_id)
        exp = session.get(Expense, task.expense_id) if task is not None else None
        if task is None or exp is None:
            return []
        others = round_tasks(session, task)
        step = ApprovalStep(StepKind(task.kind), tuple(task.approvers), task.reason or "")
        return list(
            deciders(
                step,
                exp.employee_email or "",
                directory,
                today=today,
                other_steps=[
                    ApprovalStep(StepKind(t.kind), tuple(t.approvers), t.reason or "") for t in others
                ],
                decided_by=[t.decided_by_email for t in others if t.decided_by_email],
            )
        )


@sender("approval_request")
async def send_approval_request(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any] | None:
    task_id = int(payload["task_id"])
    task, view, existing, receipt_id = await asyncio.to_thread(_task_bundle, ctx, task_id)
    if task.status != "pending":
        return {"skipped": f"task is {task.status}"}
    already = {channel for channel, _ in existing}
    budgets = await asyncio.to_thread(_budget_lines, ctx, task)
    # Each approver reads the request in their language; a channel in the company's.
    targets: list[tuple[str, Locale]] = []
    people = await asyncio.to_thread(_with_delegates, ctx, task_id)
    if task.kind == StepKind.FINANCE and ctx.settings.finance_channel:
        # Finance members decide in the finance channel; anyone else on the step (admins standing in
        # or escalated to, delegates) is asked in a direct message.
        targets.append((ctx.settings.finance_channel, await _locale(ctx, None)))
        people = [email for email in people if not ctx.directory.is_finance(email)]
    for email in people:
        user_id = await identity.user_of(ctx, email)
        if user_id:
            targets.append((await identity.dm_channel(ctx, user_id), await _locale(ctx, user_id)))
        else:
            log.warning("approver %s has no Slack account", email)
    posted: list[list[str]] = []
    for channel, locale in targets:
        if channel in already:
            continue
        with i18n.use_locale(locale):
            blocks = build_approval_request(
                view,
                step_label=StepKind(task.kind).label,
                step_reason=task.reason,
                task_id=task_id,
                budget_warnings=budgets,
            )
            text = i18n._("Approval needed: {ref} from {employee}, {total}").format(
                ref=view.ref, employee=f"<@{view.employee_id}>", total=view.total_text
            )
        result = await post(ctx.slack, channel=channel, blocks=blocks, text=text)

        def save(channel: str = result["channel"], ts: str = result["ts"]) -> None:
            with transaction(ctx.db) as session:
                session.add(ApprovalMessage(task_id=task_id, channel=channel, ts=ts))

        await asyncio.to_thread(save)
        posted.append([result["channel"], result["ts"]])
        if receipt_id is not None:
            await _share_receipt(ctx, receipt_id, result["channel"], result["ts"])
    if not posted and not existing:
        raise RuntimeError(f"no approver of task {task_id} could be reached on Slack")
    return {"messages": posted}


async def _share_receipt(ctx: AppContext, receipt_id: int, channel: str, thread_ts: str) -> None:
    def load() -> tuple[bytes, str]:
        with ctx.db() as session:
            receipt = session.get(ReceiptFile, receipt_id)
            assert receipt is not None
            return content_of(receipt, ctx.receipts), receipt.filename or f"receipt-{receipt_id}"

    content, name = await asyncio.to_thread(load)
    try:
        await ctx.slack.files_upload_v2(
            channel=channel, thread_ts=thread_ts, content=content, filename=name, title=f"Receipt ({name})"
        )
    except SlackApiError as exc:  # the request itself is already out; the receipt is a courtesy
        log.warning("could not share receipt %s: %s", receipt_id, exc.response.get("error"))


@sender("approval_done")
async def send_approval_done(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any] | None:
    task_id = int(payload["task_id"])
    _task, view, messages, _ = await asyncio.to_thread(_task_bundle, ctx, task_id)
    for channel, ts in messages:
        # In the language the request was written in: its reader's (a DM) or the company's.
        with i18n.use_locale(await _channel_locale(ctx, channel)):
            outcome = str(payload.get("outcome", ""))  # rows written before the facts carried the decision
            if payload.get("decision"):
                outcome = outcome_line(
                    str(payload["decision"]),
                    str(payload["actor"]),
                    dt.datetime.fromisoformat(str(payload["at"])),
                    payload.get("reason"),
                )
            blocks = build_decided(view, outcome)
        await ctx.slack.chat_update(channel=channel, ts=ts, blocks=blocks, text=outcome)
    return {"updated": len(messages)}


async def _channel_locale(ctx: AppContext, channel: str) -> Locale:
    """The locale of the person whose DM with the bot ``channel`` is, else the company's."""

    def owner() -> str | None:
        with ctx.db() as session:
            return session.scalars(select(SlackUser.user_id).where(SlackUser.dm_channel == channel)).first()

    return await _locale(ctx, await asyncio.to_thread(owner))
