"""Prometheus metrics (prometheus-client), served at ``GET /metrics``.

Two kinds:

- measured where things happen: HTTP request latency by route and Slack surface, job runs and
  their duration, OCR seconds per receipt, Slack Web API calls, errors and rate limits;
- read at scrape time from the shared state, so they are right whichever process did the work:
  the outbox backlog and the age of its oldest message, the job queue by state (RQ's registries
  in Redis, or the in-process runner), the database connection pool of this process.

Workers are separate processes. With ``PROMETHEUS_MULTIPROC_DIR`` set (the same empty directory
for the web process and every worker on a host, emptied before they start), prometheus-client's
multiprocess mode is used: every process writes its measurements there and ``/metrics`` of any
web process serves the sum. Without it, ``/metrics`` carries the measurements of the serving
process only (which is everything when jobs run in-process, without ``REDIS_URL``); the queue and
outbox figures are right either way.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.settings import QUEUE_NAME, Settings

if TYPE_CHECKING:
    import asyncio

    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

# Decided once, as prometheus-client decides it when imported.
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

SURFACES = ("event", "action", "view", "command", "options", "shortcut", "other")

REQUEST_SECONDS = Histogram(
    "expensebot_http_request_duration_seconds",
    "Time to answer an HTTP request, by route and Slack surface (none for non-Slack routes).",
    ["route", "surface", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
)
JOBS = Counter(
    "expensebot_jobs_total",
    "Background job runs by job name and outcome (succeeded, retried, failed).",
    ["job", "outcome"],
)
JOB_SECONDS = Histogram(
    "expensebot_job_duration_seconds",
    "Time one background job run took, by job name and outcome.",
    ["job", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
OCR_SECONDS = Histogram(
    "expensebot_ocr_seconds",
    "Time reading one receipt took (OCR and field extraction), by outcome (read, unreadable).",
    ["outcome"],
    buckets=(0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 60.0),
)
MAINTENANCE_PASSES = Counter(
    "expensebot_maintenance_passes_total",
    "Completed passes of the serving process's maintenance loop, by step (stale_readings, ...).",
    ["step"],
)
MAINTENANCE_FAILURES = Counter(
    "expensebot_maintenance_failures_total",
    "Maintenance loop passes that failed, by reason (database, other).",
    ["reason"],
)
STALE_REREAD = Counter(
    "expensebot_stale_readings_requeued_total",
    "Receipts read again because their reading job was lost with its process.",
)
SLACK_CALLS = Counter(
    "expensebot_slack_api_calls_total",
    "Slack Web API responses, by method and status (ok, the API's error code, http_NNN, or an exception name).",
    ["method", "status"],
)
SLACK_RATE_LIMITED = Counter(
    "expensebot_slack_api_rate_limited_total",
    "Slack Web API answers with HTTP 429 (the call is retried after Retry-After).",
    ["method"],
)


def slack_method(url: str) -> str:
    """``https://slack.com/api/chat.postMessage`` -> ``chat.postMessage``."""
    path = urlsplit(url).path.rstrip("/")
    name = path.rsplit("/", 1)[-1]
    return name if "." in name else "other"


class SlackCallMetrics(AsyncRetryHandler):
    """Sees every Slack Web API answer (slack_sdk shows each one to its retry handlers) and
    counts it; never asks for a retry itself, so the handlers after it decide."""

    def __init__(self) -> None:
        super().__init__(max_retry_count=0)

    async def can_retry_async(  # every answer, whatever the attempt
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = slack_method(request.url)
        if error is not None:
            SLACK_CALLS.labels(method, type(error).__name__).inc()
        elif response is not None:
            if response.status_code == 429:
                SLACK_RATE_LIMITED.labels(method).inc()
                SLACK_CALLS.labels(method, "http_429").inc()
            elif response.status_code >= 400:
                SLACK_CALLS.labels(method, f"http_{response.status_code}").inc()
            else:
                body = response.body if isinstance(response.body, dict) else {}
                ok = body.get("ok", True)
                SLACK_CALLS.labels(method, "ok" if ok else str(body.get("error") or "error")[:64]).inc()
        return False


@contextmanager
def timed_job(name: str) -> Iterator[Callable[[str], None]]:
    """Time a job run; the body calls the yielded function with its outcome if not "succeeded"."""
    outcome = ["succeeded"]
    started = time.perf_counter()

    def set_outcome(value: str) -> None:
        outcome[0] = value

    try:
        yield set_outcome
    except BaseException:
        if outcome[0] == "succeeded":
            outcome[0] = "failed"
        raise
    finally:
        JOBS.labels(name, outcome[0]).inc()
        JOB_SECONDS.labels(name, outcome[0]).observe(time.perf_counter() - started)


def slack_surface(payload: dict[str, Any]) -> str:
    """Which Slack surface a request to /slack/events comes from."""
    kind = payload.get("type")
    if kind in ("event_callback", "url_verification", "app_rate_limited"):
        return "event"
    if "command" in payload and kind is None:
        return "command"
    if kind in ("block_actions", "interactive_message"):
        return "action"
    if kind in ("view_submission", "view_closed"):
        return "view"
    if kind in ("block_suggestion", "dialog_suggestion"):
        return "options"
    if kind in ("shortcut", "message_action"):
        return "shortcut"
    return "other"


class Observed(Protocol):
    """What the scrape-time figures read of the running app (``bot.context.AppContext`` is one;
    this module sits below it: the context's Slack client counts its calls here)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def db(self) -> sessionmaker[Session]: ...

    @property
    def jobs(self) -> object: ...


@runtime_checkable
class RunsInProcess(Protocol):
    """A job runner whose jobs are tasks of this process (``bot.jobs.InProcessRunner``)."""

    tasks: set[asyncio.Future[None]]


class StateCollector(Collector):
    """Figures read at scrape time from the database and the queue."""

    def __init__(self, ctx: Observed) -> None:
        self.ctx = ctx

    def collect(self) -> Iterable[GaugeMetricFamily]:
        yield from self._outbox()
        yield from self._queue()
        yield from self._pool()

    def _outbox(self) -> Iterator[GaugeMetricFamily]:
        from sqlalchemy import func, select

        from storage.models import OutboxMessage

        backlog = GaugeMetricFamily(
            "expensebot_outbox_backlog", "Slack messages written but not delivered yet."
        )
        oldest = GaugeMetricFamily(
            "expensebot_outbox_oldest_age_seconds",
            "Age of the oldest undelivered Slack message (0 when none).",
        )
        up = GaugeMetricFamily(
            "expensebot_database_up", "1 when the database answered this scrape's queries, else 0."
        )
        try:
            with self.ctx.db() as session:
                count, first = session.execute(
                    select(func.count(), func.min(OutboxMessage.created_at)).where(
                        OutboxMessage.sent_at.is_(None)
                    )
                ).one()
        except Exception as exc:  # a scrape during an outage still answers
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        backlog.add_metric([], int(count or 0))
        age = 0.0
        if first is not None:
            if first.tzinfo is None:
                first = first.replace(tzinfo=dt.UTC)
            age = max(0.0, (dt.datetime.now(dt.UTC) - first).total_seconds())
        oldest.add_metric([], age)
        yield from (up, backlog, oldest)

    def _queue(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "expensebot_queue_jobs",
            "Background jobs by state (queued, started, scheduled, deferred, failed); "
            "from Redis when REDIS_URL is set, else the in-process runner's running jobs.",
            labels=["state"],
        )
        url = self.ctx.settings.redis_url
        if not url:
            runner = self.ctx.jobs
            running = len(runner.tasks) if isinstance(runner, RunsInProcess) else 0
            jobs.add_metric(["started"], running)
            yield jobs
            return
        import redis
        from rq import Queue

        try:
            with redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) as connection:
                queue = Queue(QUEUE_NAME, connection=connection)
                counts = {
                    "queued": queue.count,
                    "started": queue.started_job_registry.count,
                    "scheduled": queue.scheduled_job_registry.count,
                    "deferred": queue.deferred_job_registry.count,
                    "failed": queue.failed_job_registry.count,
                }
        except redis.RedisError as exc:
            log.warning("metrics: Redis did not answer (%s)", type(exc).__name__)
            up = GaugeMetricFamily("expensebot_redis_up", "1 when Redis answered this scrape, else 0.")
            up.add_metric([], 0)
            yield up
            return
        for state, value in counts.items():
            jobs.add_metric([state], value)
        up = GaugeMetricFamily("expensebot_redis_up", "1 when Redis answered this scrape, else 0.")
        up.add_metric([], 1)
        yield from (jobs, up)

    def _pool(self) -> Iterator[GaugeMetricFamily]:
        pool: Any = self.ctx.engine.pool
        if not all(hasattr(pool, name) for name in ("size", "checkedout", "overflow")):
            return  # SQLite's pools do not count
        size = GaugeMetricFamily("expensebot_db_pool_size", "Connections the pool keeps (this process).")
        used = GaugeMetricFamily("expensebot_db_pool_checked_out", "Connections in use now (this process).")
        overflow = GaugeMetricFamily(
            "expensebot_db_pool_overflow", "Connections open beyond the pool's size (this process)."
        )
        size.add_metric([], pool.size())
        used.add_metric([], pool.checkedout())
        overflow.add_metric([], max(0, pool.overflow()))
        yield from (size, used, overflow)


def exposition(ctx: Observed | None) -> tuple[bytes, str]:
    """The body and content type of ``GET /metrics``."""
    registry = CollectorRegistry(auto_describe=False)
    body = b""
    if MULTIPROCESS_DIR is not None:  # every process of the host writes its measurements there
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
    else:  # this process keeps its measurements in memory
        body = generate_latest(REGISTRY)
    if ctx is not None:
        registry.register(StateCollector(ctx))
    return body + generate_latest(registry), CONTENT_TYPE_LATEST
