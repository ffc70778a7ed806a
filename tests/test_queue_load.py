"""Many receipts queued at once on PostgreSQL + Redis: each upload is read once and gets one card."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from devslack import DmUpload, FakeMessage
from storage.db import make_engine, make_sessionmaker
from storage.models import AuditEvent, Expense, OutboxMessage
from tests.support import EMPLOYEE, Harness, render_receipt, running_app

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")

RECEIPTS = 40
STALE_SECONDS = 6  # far less than the queue's wait: every receipt is "late" while it waits


def receipt(total: str) -> bytes:
    return render_receipt(["BLUE BOTTLE CAFE", "Date: 14/11/2026", f"TOTAL USD {total}"], width=560, size=30)


def reading_jobs(redis_url: str) -> dict[str, Counter[int]]:
    """Receipt-reading jobs per expense in each state of the queue."""
    import redis
    from rq import Queue
    from rq.job import Job

    from bot.jobs import QUEUE_NAME

    connection = redis.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    registries = {
        "queued": queue.get_job_ids(),
        "running": queue.started_job_registry.get_job_ids(),
        "scheduled": queue.scheduled_job_registry.get_job_ids(),
        "failed": queue.failed_job_registry.get_job_ids(),
        "finished": queue.finished_job_registry.get_job_ids(),
    }
    found: dict[str, Counter[int]] = {}
    for state, ids in registries.items():
        jobs = [j for j in Job.fetch_many(ids, connection=connection) if j is not None]
        found[state] = Counter(int(j.args[1]) for j in jobs if j.args and j.args[0] == "read_receipt")
    connection.close()
    return found


def cards(app: Harness) -> list[FakeMessage]:
    return [m for m in app.slack.dm_messages(EMPLOYEE) if m.buttons()]


def test_receipts_queued_at_once_are_each_read_once_with_one_card(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    env = {"EXPENSEBOT_STALE_READING_SECONDS": str(STALE_SECONDS)}
    totals = [f"{20 + i}.{(7 * i) % 100:02d}" for i in range(RECEIPTS)]
    with running_app(
        tmp_path, database_url=postgres_url, redis_url=redis_url, extra_env=env, workers=2
    ) as app:

        def upload(i: int) -> tuple[str, str, str]:
            up, _ = app.upload(EMPLOYEE, receipt(totals[i]), name=f"r{i}.jpg")
            assert isinstance(up, DmUpload)
            if i % 5 == 0:  # Slack redelivers some of them
                for event in up.events:
                    assert (
                        app.driver.event(event, retry_num=1, retry_reason="http_timeout").status_code == 200
                    )
            return str(up.file["id"]), up.message.ts, totals[i]

        with ThreadPoolExecutor(8) as pool:
            uploads = list(pool.map(upload, range(RECEIPTS)))

        deadline = time.monotonic() + 30 * RECEIPTS
        while len(cards(app)) < RECEIPTS and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2 * STALE_SECONDS)  # a second reading would show up by now
        posted = cards(app)
        downloads = Counter(d.file_id for d in app.slack.file_downloads if d.authorized)
        jobs = reading_jobs(redis_url)

    by_thread = Counter(m.thread_ts for m in posted)
    for file_id, ts, total in uploads:
        assert by_thread[ts] == 1, f"upload {file_id} has {by_thread[ts]} cards"
        card = next(m for m in posted if m.thread_ts == ts)
        assert total in str(card.blocks)
        assert downloads[file_id] == 1, f"{file_id} downloaded {downloads[file_id]} times"
    assert len(posted) == RECEIPTS

    engine = make_engine(postgres_url)
    with make_sessionmaker(engine)() as session:
        expenses = {e.id: e for e in session.scalars(select(Expense))}
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.entity == "expense")))
        card_rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "card")))
    engine.dispose()

    assert sorted(str(e.slack_file_id) for e in expenses.values()) == sorted(f for f, _, _ in uploads)
    actions = Counter((int(e.entity_id), e.action) for e in events)
    for expense_id in expenses:
        for action in ("expense.created", "receipt.stored", "expense.read"):
            assert actions[(expense_id, action)] == 1, (
                f"expense {expense_id}: {action} x{actions[(expense_id, action)]}"
            )
    assert sorted(int(r.payload["expense_id"]) for r in card_rows) == sorted(expenses)
    # One reading job per upload, finished; none queued again while it waited its turn.
    assert jobs["finished"] == Counter(dict.fromkeys(expenses, 1))
    assert not (jobs["queued"] or jobs["running"] or jobs["scheduled"] or jobs["failed"]), jobs
    assert all(r.sent_at is not None for r in card_rows)
    # The scenario really happened: receipts waited in the queue past the stale time.
    created = {int(e.entity_id): e.at for e in events if e.action == "expense.created"}
    read = {int(e.entity_id): e.at for e in events if e.action == "expense.read"}
    assert max((read[i] - created[i]).total_seconds() for i in expenses) > STALE_SECONDS
