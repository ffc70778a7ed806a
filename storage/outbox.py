"""The transactional outbox for messages to Slack.

A state change and the messages that announce it are written in one transaction
(:func:`add`). Delivery happens after commit: a sender claims a row atomically (:func:`claim`),
calls Slack, and marks it sent (:func:`mark_sent`) or schedules a retry (:func:`mark_failed`).
A unique ``dedup_key`` per change means a message is never queued twice; a rolled-back change
leaves no row, so nothing is sent for it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import OutboxMessage, utcnow
from storage.tenancy import TEAM_KEY, current_team

CLAIM_SECONDS = 60
MAX_ATTEMPTS = 10


def add(session: Session, kind: str, payload: dict[str, Any], *, dedup_key: str) -> None:
    """Queue a message in the caller's transaction; a second row with the same key is ignored.

    In multi-workspace mode the payload records the current workspace, whose token sends it.
    """
    team = current_team.get()
    if team is not None and TEAM_KEY not in payload:
        payload = {**payload, TEAM_KEY: team}
    values = {
        "dedup_key": dedup_key,
        "kind": kind,
        "payload": payload,
        "created_at": utcnow(),
        "not_before": utcnow(),
        "attempts": 0,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(pg_insert(OutboxMessage).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite_insert(OutboxMessage).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - other databases
        if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)) is None:
            session.add(OutboxMessage(**values))


def due_ids(session: Session, limit: int = 50) -> list[int]:
    now = utcnow()
    stmt = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.attempts < MAX_ATTEMPTS,
            OutboxMessage.not_before <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def claim(session: Session, message_id: int) -> OutboxMessage | None:
    """Take one row for sending; ``None`` when another sender has it or it is done."""
    now = utcnow()
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.sent_at.is_(None),
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .values(claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS), attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    return session.get(OutboxMessage, message_id, populate_existing=True)


def mark_sent(session: Session, message_id: int, result: dict[str, Any] | None = None) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(sent_at=utcnow(), claimed_until=None, result=result, last_error=None)
        .execution_options(synchronize_session=False)
    )


def mark_failed(session: Session, message_id: int, error: str, retry_in: float) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            claimed_until=None,
            last_error=error[:2000],
            not_before=utcnow() + dt.timedelta(seconds=retry_in),
        )
        .execution_options(synchronize_session=False)
    )


def pending_count(session: Session) -> int:
    return len(due_ids(session, limit=10_000))
