"""Outbox delivery is effectively once: a message Slack posted but whose answer was lost is not
posted again. The key travels in the message's metadata; the retry looks for it first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.context import AppContext, build_context
from bot.delivery import OUTBOX_EVENT_TYPE, deliver_pending
from bot.settings import Settings
from devslack import FakeSlack
from storage import outbox
from storage.db import transaction
from storage.models import OutboxMessage
from tests.support import EMPLOYEE, workspace


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with workspace() as fake:
        yield fake


@pytest.fixture
def ctx(slack: FakeSlack, db_url: str, tmp_path: Path) -> Iterator[AppContext]:
    settings = Settings(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET="x",
        SLACK_API_URL=slack.base_url,
        DATABASE_URL=db_url,
        EXPENSEBOT_SLACK_TIMEOUT=1,
    )
    context = build_context(settings)
    yield context
    context.engine.dispose()


def _add(ctx: AppContext, key: str, kind: str, payload: dict[str, object]) -> None:
    with transaction(ctx.db) as session:
        outbox.add(session, kind, payload, dedup_key=key)


def _due_now(ctx: AppContext) -> None:
    """Skip the backoff: the retry is due now (what time would do)."""
    with transaction(ctx.db) as session:
        session.execute(
            update(OutboxMessage).values(not_before=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )


def _row(ctx: AppContext, key: str) -> OutboxMessage:
    with ctx.db() as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == key))
        assert row is not None
        session.expunge(row)
        return row


async def test_a_dm_whose_answer_was_lost_is_not_sent_twice(ctx: AppContext, slack: FakeSlack) -> None:
    _add(ctx, "decision:1", "dm", {"user_id": EMPLOYEE, "text": "Your expense EXP-1 was approved."})
    slack.lose_answer("chat.postMessage", hold_seconds=3)
    assert await deliver_pending(ctx) == 0  # timed out: Slack posted it, we never heard
    first = _row(ctx, "decision:1")
    assert first.sent_at is None and first.last_error and "no answer" in first.last_error
    assert [m.text for m in slack.dm_messages(EMPLOYEE)] == ["Your expense EXP-1 was approved."]

    _due_now(ctx)
    assert await deliver_pending(ctx) == 1
    assert [m.text for m in slack.dm_messages(EMPLOYEE)] == ["Your expense EXP-1 was approved."]  # once
    row = _row(ctx, "decision:1")
    message = slack.dm_messages(EMPLOYEE)[0]
    assert row.sent_at is not None and row.result is not None and row.result["ts"] == message.ts
    assert message.metadata == {"event_type": OUTBOX_EVENT_TYPE, "event_payload": {"key": "decision:1"}}
    looked = slack.calls_to("conversations.history")
    assert looked and all(str(c.args.get("include_all_metadata")).lower() in ("1", "true") for c in looked)
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_a_lost_answer_in_a_thread_is_found_in_the_thread(ctx: AppContext, slack: FakeSlack) -> None:
    dm = (await ctx.slack.conversations_open(users=EMPLOYEE))["channel"]["id"]
    parent = (await ctx.slack.chat_postMessage(channel=dm, text="receipt thread"))["ts"]
    _add(ctx, "note:1", "channel_message", {"channel": dm, "thread_ts": parent, "text": "a reply"})
    slack.lose_answer("chat.postMessage", hold_seconds=3)
    await deliver_pending(ctx)
    _due_now(ctx)
    assert await deliver_pending(ctx) == 1
    assert [m.text for m in slack.dm_messages(EMPLOYEE)].count("a reply") == 1
    assert slack.calls_to("conversations.replies")


async def test_a_refused_call_is_retried_without_looking(ctx: AppContext, slack: FakeSlack) -> None:
    _add(ctx, "decision:2", "dm", {"user_id": EMPLOYEE, "text": "rejected"})
    slack.fail("chat.postMessage", error="internal_error", times=1, status=200)  # Slack said no
    assert await deliver_pending(ctx) == 0
    _due_now(ctx)
    assert await deliver_pending(ctx) == 1
    assert [m.text for m in slack.dm_messages(EMPLOYEE)] == ["rejected"]
    assert slack.calls_to("conversations.history") == []


async def test_a_message_lost_for_real_is_posted_on_retry(ctx: AppContext, slack: FakeSlack) -> None:
    """A server error before anything was posted: the retry looks, finds nothing, posts once."""
    _add(ctx, "decision:3", "dm", {"user_id": EMPLOYEE, "text": "paid"})
    slack.fail("chat.postMessage", error="internal_error", times=1, status=503)
    assert await deliver_pending(ctx) == 0
    assert slack.dm_messages(EMPLOYEE) == []
    assert len(slack.calls_to("chat.postMessage")) == 1  # not retried blindly inside the call
    _due_now(ctx)
    assert await deliver_pending(ctx) == 1
    assert [m.text for m in slack.dm_messages(EMPLOYEE)] == ["paid"]
    assert slack.calls_to("conversations.history")
