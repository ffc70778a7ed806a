"""Logs are JSON lines with tokens and personal data redacted, each with its time and the request
(and workspace, Slack event or action, background job) it was written for."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from bot import logs
from bot.edge import describe
from bot.logs import ContextFilter, RedactingJsonFormatter, redact
from storage.tenancy import team_scope
from tests.support import EMPLOYEE, Harness, cafe_receipt, running_app


@pytest.mark.parametrize(
    ("raw", "hidden"),
    [
        ("token xoxb-1234-5678-abcdEFGH used", "xoxb-1234-5678-abcdEFGH"),
        ("app token xapp-1-A0-123-abc", "xapp-1-A0-123-abc"),
        ("Authorization: Bearer s3cr3t.value", "s3cr3t.value"),
        ("user ann.lee@example.com not found", "ann.lee@example.com"),
    ],
)
def test_redact(raw: str, hidden: str) -> None:
    assert hidden not in redact(raw)


def test_formatter_writes_redacted_json() -> None:
    record = logging.LogRecord(
        "bot", logging.WARNING, __file__, 1, "users.info %s for %s", ("xoxb-9-9-z", "a@b.co"), None
    )
    line = json.loads(RedactingJsonFormatter().format(record))
    assert line["level"] == "WARNING" and line["logger"] == "bot"
    assert "xoxb-9-9-z" not in line["message"] and "a@b.co" not in line["message"]
    assert "[token]" in line["message"] and "[email]" in line["message"]


# --- the request id and the rest of a line's context ---------------------------------------------


class Lines(logging.Handler):
    """The JSON lines the app writes, as the production handler writes them (context pinned)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(RedactingJsonFormatter())
        self.addFilter(ContextFilter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def with_message(self, start: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["message"].startswith(start)]


@contextlib.contextmanager
def captured() -> Iterator[Lines]:
    lines = Lines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(lines)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(lines)
        root.setLevel(level)


def test_a_line_carries_its_time_and_the_context_it_was_written_in() -> None:
    record = logging.LogRecord("bot.x", logging.INFO, __file__, 1, "hello", None, None)
    plain = json.loads(RedactingJsonFormatter().format(record))
    assert set(plain) == {"ts", "level", "logger", "message"}
    assert dt.datetime.fromisoformat(plain["ts"]).tzinfo is not None
    with logs.fresh(request_id="req-12345678", team="T1"), logs.bound(slack_type="event:message"):
        line = json.loads(RedactingJsonFormatter().format(record))
        with logs.bound(job="read_receipt", team=None):  # None leaves the team as it is
            assert logs.log_context() == {
                "request_id": "req-12345678",
                "team": "T1",
                "slack_type": "event:message",
                "job": "read_receipt",
            }
    assert (
        line["request_id"] == "req-12345678"
        and line["team"] == "T1"
        and line["slack_type"] == "event:message"
    )
    assert logs.log_context() == {}  # the block's context ended with it
    with pytest.raises(ValueError, match="password"):
        logs.bind(password="x")


def test_context_values_are_redacted_too() -> None:
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, "x", None, None)
    with logs.fresh(slack_type="command:/expense ann@example.com xoxb-1-2-abc"):
        line = json.loads(RedactingJsonFormatter().format(record))
    assert "ann@example.com" not in line["slack_type"] and "xoxb-1-2-abc" not in line["slack_type"]


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        ("3f2b8c1e-5a4d-4e2f-9b1a-0c6d7e8f9a0b", True),
        ("Root=1-67891233-abcdef012345678912345678", False),  # '=' is not in an id
        ("abc", False),  # too short to be an id
        ("x" * 129, False),
        ("req 1234 5678", False),
        ('req-1234"}, {"level": "ERROR', False),
        ("ann.lee@example.com", False),
        ("xoxb-1234-5678-abcdEFGH", False),
        ("", False),
        (None, False),
    ],
)
def test_an_incoming_request_id_is_reused_only_when_it_is_an_id(header: str | None, kept: bool) -> None:
    request_id = logs.request_id_from(header)
    assert (request_id == header) is kept
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]{7,127}", request_id)


@pytest.mark.parametrize(
    ("payload", "team", "kind"),
    [
        (
            {"type": "event_callback", "team_id": "T1", "event": {"type": "file_shared"}},
            "T1",
            "event:file_shared",
        ),
        (
            {"type": "block_actions", "team": {"id": "T2"}, "actions": [{"action_id": "approve"}]},
            "T2",
            "block_actions:approve",
        ),
        (
            {"type": "view_submission", "team": {"id": "T3"}, "view": {"callback_id": "edit"}},
            "T3",
            "view_submission:edit",
        ),
        ({"command": "/expense", "team_id": "T4", "text": "help"}, "T4", "command:/expense"),
        (
            {"type": "shortcut", "team": {"id": "T5"}, "callback_id": "create_expense"},
            "T5",
            "shortcut:create_expense",
        ),
        ({"type": "url_verification", "challenge": "x"}, None, "url_verification"),
        ({"token": "x"}, None, None),
    ],
)
def test_what_slack_sent_is_named_for_the_logs(
    payload: dict[str, Any], team: str | None, kind: str | None
) -> None:
    assert describe(payload) == (team, kind)


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str, redis_url: str) -> Iterator[Harness]:
    # Redis and no worker: the receipt's job waits in the queue, where its meta can be read.
    with running_app(tmp_path, database_url=sqlite_url, redis_url=redis_url, workers=0) as harness:
        yield harness


def test_every_answer_carries_a_request_id_and_every_line_written_for_it_too(app: Harness) -> None:
    with captured() as lines:
        given = "3f2b8c1e-5a4d-4e2f-9b1a-0c6d7e8f9a0b"
        kept = app.driver.url_verification("abc")
        assert re.fullmatch(r"[0-9a-f]{32}", kept.headers["X-Request-ID"])
        echoed = app.driver.post(
            b'{"type": "url_verification", "challenge": "x"}',
            "application/json",
            headers={"X-Request-ID": given},
        )
        assert echoed.headers["X-Request-ID"] == given
        forged = app.driver.post(b"{}", "application/json", headers={"X-Request-ID": "no good\tid"})
        assert forged.headers["X-Request-ID"] != "no good\tid"
        with app.driver.signing("bad"):
            refused = app.driver.post(b"{}", "application/json")
        assert refused.status_code == 401 and refused.headers["X-Request-ID"]
        malformed = app.driver.post(b"{not json", "application/json")
        assert malformed.status_code == 400
        health = httpx.get(f"{app.url}/healthz", headers={"X-Request-ID": given}, timeout=30)
        assert health.headers["X-Request-ID"] == given
        ids = {answer.headers["X-Request-ID"] for answer in (kept, echoed, forged, refused, malformed)}
        assert len(ids) == 5  # one id per request
    [refusal] = lines.with_message("refused a signed request to /slack/events: its body is not JSON")
    assert refusal["request_id"] == malformed.headers["X-Request-ID"]
    [verification] = [line for line in lines.with_message("slack request") if line["request_id"] == given]
    assert verification["slack_type"] == "url_verification"


def test_a_receipt_job_carries_the_id_of_the_request_that_queued_it(app: Harness, redis_url: str) -> None:
    from redis import Redis
    from rq import Queue

    from bot.jobs import QUEUE_NAME

    with captured() as lines:
        up = app.driver.upload_in_dm(EMPLOYEE, cafe_receipt("12.30"), "receipt.jpg", "image/jpeg", text="")
        answers = [app.driver.event(event) for event in up.events]
        deadline = time.monotonic() + 60  # the listener queues the job after Slack's answer
        queue = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))
        while not queue.job_ids and time.monotonic() < deadline:
            time.sleep(0.05)
    [job_id] = queue.job_ids
    job = queue.fetch_job(job_id)
    assert job is not None
    request_ids = {answer.headers["X-Request-ID"] for answer in answers}
    assert job.meta["request_id"] in request_ids
    [queued] = lines.with_message("queued job read_receipt")
    assert queued["request_id"] == job.meta["request_id"]
    assert queued["team"] == app.slack.team_id and queued["slack_type"].startswith("event:")


def test_a_worker_logs_the_request_id_its_job_came_with(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An RQ job's lines (in the worker) carry the id of the request that queued it, its workspace
    and its name; a job it queues in turn carries the same id."""
    from redis import Redis
    from rq import Queue

    from bot import jobs
    from bot.settings import Settings

    probe = logging.getLogger("bot.probe")

    async def first(ctx: Any, n: int) -> None:
        probe.info("first job ran with %s", n)
        ctx.jobs.enqueue("second", n + 1)

    async def second(ctx: Any, n: int) -> None:
        probe.info("second job ran with %s", n)

    settings = Settings(REDIS_URL=redis_url, EXPENSEBOT_JOB_RETRY_DELAYS="")
    ctx = SimpleNamespace(settings=settings)
    ctx.jobs = jobs._WorkerRunner(ctx)  # type: ignore[arg-type]
    monkeypatch.setattr(jobs, "registry", lambda: {"first": (first, None), "second": (second, None)})
    monkeypatch.setattr(jobs, "_worker_ctx", ctx)
    runner = jobs.RQRunner(ctx, redis_url, jobs.InProcessRunner(ctx))  # type: ignore[arg-type]
    with logs.fresh(request_id="req-from-slack-1"), team_scope("T9"):
        runner.enqueue("first", 1)
    assert logs.log_context() == {}
    connection = Redis.from_url(redis_url)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with captured() as lines:
            jobs.worker_class()([jobs.QUEUE_NAME], connection=connection).work(burst=True)
    finally:  # the worker installs its own (in this process: pytest's)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    [ran] = lines.with_message("first job ran with 1")
    assert ran["request_id"] == "req-from-slack-1" and ran["team"] == "T9" and ran["job"] == "first"
    [then] = lines.with_message("second job ran with 2")
    assert then["request_id"] == "req-from-slack-1" and then["team"] == "T9" and then["job"] == "second"
    assert Queue(jobs.QUEUE_NAME, connection=connection).failed_job_registry.count == 0


def test_in_process_jobs_log_the_request_that_queued_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import jobs
    from bot.settings import Settings

    probe = logging.getLogger("bot.probe")

    async def work(ctx: Any) -> None:
        probe.info("in-process job ran")

    monkeypatch.setattr(jobs, "registry", lambda: {"work": (work, None)})
    ctx = SimpleNamespace(settings=Settings(EXPENSEBOT_JOB_RETRY_DELAYS=""))

    async def go() -> None:
        runner = jobs.InProcessRunner(ctx)  # type: ignore[arg-type]
        with logs.fresh(request_id="req-in-process-1"):
            runner.enqueue("work")
        await runner.drain(60)

    with captured() as lines:
        asyncio.run(go())
    [ran] = lines.with_message("in-process job ran")
    assert ran["request_id"] == "req-in-process-1" and ran["job"] == "work"
