"""Many receipts queued at once on PostgreSQL + Redis: each upload is read once and gets one card."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from devslack import DmUpload, FakeMessage
from storage.db import make_engine, make_sessionmaker
from storage.models import AuditEvent, Expense, OutboxMessage, utcnow
from tests.support import EMPLOYEE, Harness, render_receipt, running_app
from workflows.expenses import Status

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


def maintenance_passes(app: Harness) -> float:
    """Completed stale-reading passes of the app's maintenance loop, from its /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{app.url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "expensebot_maintenance_passes_total" and sample.labels == {
                "step": "stale_readings"
            }:
                return sample.value
    return 0.0


def wait_for_passes(app: Harness, count: int, timeout: float = 60.0) -> None:
    """Wait until the maintenance loop has looked at the stale readings ``count`` more times."""
    target = maintenance_passes(app) + count
    deadline = time.monotonic() + timeout
    while maintenance_passes(app) < target:
        assert time.monotonic() < deadline, "the maintenance loop stopped"
        time.sleep(0.2)


def wait_until_all_stale(database_url: str, count: int, timeout: float = 60.0) -> None:
    """Wait until ``count`` expenses are still being read and were created over STALE_SECONDS ago,
    by the clock the app's stale check uses."""
    engine = make_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with make_sessionmaker(engine)() as session:
                stale = session.scalar(
                    select(func.count())
                    .select_from(Expense)
                    .where(
                        Expense.status == Status.READING,
                        Expense.created_at < utcnow() - dt.timedelta(seconds=STALE_SECONDS),
                    )
                )
            if stale == count:
                return
            assert time.monotonic() < deadline, f"{stale} of {count} expenses are stale"
            time.sleep(0.2)
    finally:
        engine.dispose()


def start_workers(app: Harness, count: int) -> None:
    first = len(app.processes)
    for n in range(first, first + count):
        with open(app.tmp / f"worker-{n}.log", "wb") as log:  # the child keeps its own copy
            app.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "worker"],
                    env={**app.env, "PYTHONFAULTHANDLER": "1"},
                    cwd=app.tmp,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )


def test_receipts_queued_at_once_are_each_read_once_with_one_card(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    """Receipts wait in the queue past the stale time (no worker runs until they have), the app's
    maintenance loop looks at them then, and still each is read once and gets one card.

    The waiting is made so, not hoped for: the workers start only once every expense is older than
    the stale time and the loop has passed over them twice.
    """
    env = {"EXPENSEBOT_STALE_READING_SECONDS": str(STALE_SECONDS)}
    totals = [f"{20 + i}.{(7 * i) % 100:02d}" for i in range(RECEIPTS)]
    with running_app(
        tmp_path, database_url=postgres_url, redis_url=redis_url, extra_env=env, workers=0
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

        wait_until_all_stale(postgres_url, RECEIPTS)
        wait_for_passes(app, 2)  # the loop saw every one of them late, waiting in the queue
        waiting = reading_jobs(redis_url)
        assert not cards(app)
        assert sum(waiting["queued"].values()) == RECEIPTS and set(waiting["queued"].values()) == {1}, waiting

        start_workers(app, 2)
        deadline = time.monotonic() + 30 * RECEIPTS
        while len(cards(app)) < RECEIPTS and time.monotonic() < deadline:
            time.sleep(0.5)
        wait_for_passes(app, 2)  # a second reading would have been queued by now
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # and run to its end
            jobs = reading_jobs(redis_url)
            if not (jobs["queued"] or jobs["running"]):
                break
            time.sleep(0.2)
        posted = cards(app)
        downloads = Counter(d.file_id for d in app.slack.file_downloads if d.authorized)

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
