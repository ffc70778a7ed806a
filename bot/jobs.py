"""Background jobs: reading receipts, delivering the outbox, the scheduled digest.

With ``REDIS_URL`` jobs go to an RQ queue served by ``expensebot worker`` (any number of them);
without it they run in the app's own event loop. Either way a failed job is retried with
backoff, and when it finally fails the person concerned is told.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from bot import logs
from bot.context import AppContext, JobRunner, build_context
from bot.metrics import timed_job
from bot.settings import QUEUE_NAME, load_settings
from storage.tenancy import current_team, team_scope

log = logging.getLogger(__name__)

__all__ = ["QUEUE_NAME", "InProcessRunner", "JobFn", "JobRunner", "RQRunner", "register", "registry"]

JobFn = Callable[..., Coroutine[Any, Any, None]]

# Job name -> (run, on final failure). Filled by ``bot.wiring.wire`` (the jobs are use cases that
# sit above this module; it never imports them).
_JOBS: dict[str, tuple[JobFn, JobFn | None]] = {}


def register(name: str, run: JobFn, on_failure: JobFn | None = None) -> None:
    """Make ``name`` runnable: ``run(ctx, *args)``, and ``on_failure(ctx, *args, error)`` after its
    last failure."""
    _JOBS[name] = (run, on_failure)


class UnknownJob(LookupError):
    """A job name nobody registered (``bot.wiring.wire`` not called in this process?)."""


def registry() -> dict[str, tuple[JobFn, JobFn | None]]:
    """Job name -> (run, on final failure)."""
    return _JOBS


def _job(name: str) -> tuple[JobFn, JobFn | None]:
    try:
        return registry()[name]
    except KeyError:
        raise UnknownJob(f"no job {name!r}: bot.wiring.wire() registers the jobs at start-up") from None


class InProcessRunner:
    """Runs jobs as tasks on the app's event loop (the embedded mode)."""

    def __init__(self, ctx: AppContext, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.ctx = ctx
        self.loop = loop
        self.delays = ctx.settings.retry_delays
        self.tasks: set[asyncio.Future[None]] = set()

    def enqueue(self, name: str, *args: Any) -> None:
        coro = self._in_team(current_team.get(), logs.current_request_id(), name, self.run(name, *args))
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and (self.loop is None or running is self.loop):
            task: asyncio.Future[None] = running.create_task(coro)
        elif self.loop is not None:
            task = asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop), loop=self.loop)
        else:
            asyncio.run(coro)
            return
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    @staticmethod
    async def _in_team(
        team: str | None, request_id: str | None, name: str, coro: Coroutine[Any, Any, None]
    ) -> None:
        """A job runs for the workspace it was queued in, and logs the request that queued it
        (whatever thread queued it)."""
        with team_scope(team), logs.bound(request_id=request_id, team=team, job=name):
            await coro

    async def run(self, name: str, *args: Any) -> None:
        run, on_failure = _job(name)
        for attempt in range(len(self.delays) + 1):
            try:
                with timed_job(name) as outcome:
                    try:
                        await run(self.ctx, *args)
                    except Exception:
                        outcome("failed" if attempt >= len(self.delays) else "retried")
                        raise
                return
            except Exception as exc:
                if attempt >= len(self.delays):
                    log.exception("job %s%r failed for good", name, args)
                    if on_failure is not None:
                        try:
                            await on_failure(self.ctx, *args, repr(exc))
                        except Exception:
                            log.exception("failure handler of %s%r failed", name, args)
                    return
                log.warning("job %s%r failed (%s); retry in %ss", name, args, exc, self.delays[attempt])
                await asyncio.sleep(self.delays[attempt])

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for the jobs under way (used at shutdown and by the demo)."""
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)


class RQRunner:
    """Puts jobs on the Redis queue; falls back to running in-process if Redis is away."""

    def __init__(self, ctx: AppContext, redis_url: str, fallback: InProcessRunner) -> None:
        import redis
        from rq import Queue

        self.ctx = ctx
        self.fallback = fallback
        self.queue = Queue(QUEUE_NAME, connection=redis.Redis.from_url(redis_url))

    def enqueue(self, name: str, *args: Any) -> None:
        import redis
        from rq import Retry

        try:
            delays = [max(1, round(d)) for d in self.ctx.settings.retry_delays]
            team = current_team.get()  # the job runs for the workspace it was queued in
            request_id = logs.current_request_id()  # and logs the request that queued it
            job = self.queue.enqueue_call(
                run_rq_job,
                args=(name, *args),
                kwargs={"team": team} if team else None,
                retry=Retry(max=len(delays), interval=delays) if delays else None,
                timeout=600,
                failure_ttl=7 * 24 * 3600,
                result_ttl=3600,
                meta={"request_id": request_id} if request_id else None,
            )
            log.info("queued job %s (%s)", name, job.id)
        except redis.RedisError as exc:
            log.warning("Redis unavailable (%s); running %s in-process", exc, name)
            self.fallback.enqueue(name, *args)


_worker_ctx: AppContext | None = None


def worker_context() -> AppContext:
    """One context per worker process, built on first use."""
    global _worker_ctx
    if _worker_ctx is None:
        ctx = build_context(load_settings())
        ctx.jobs = _WorkerRunner(ctx)
        _worker_ctx = ctx
    return _worker_ctx


class _WorkerRunner:
    """Jobs enqueued from inside a worker go back to the queue."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def enqueue(self, name: str, *args: Any) -> None:
        assert self.ctx.settings.redis_url
        RQRunner(self.ctx, self.ctx.settings.redis_url, InProcessRunner(self.ctx)).enqueue(name, *args)


def run_rq_job(name: str, *args: Any, team: str | None = None) -> None:
    """The RQ entry point: run one job (for its workspace); on its last failure, its failure handler."""
    from rq import get_current_job

    ctx = worker_context()
    run, on_failure = _job(name)
    current = get_current_job()
    request_id = current.meta.get("request_id") if current is not None else None
    with (
        logs.bound(request_id=request_id if isinstance(request_id, str) else None, team=team, job=name),
        timed_job(name) as outcome,
        team_scope(team),
    ):
        try:
            asyncio.run(run(ctx, *args))
        except Exception as exc:
            job = get_current_job()
            retries_left = job.retries_left if job is not None else 0
            outcome("retried" if retries_left else "failed")
            if not retries_left and on_failure is not None:
                asyncio.run(on_failure(ctx, *args, repr(exc)))
            raise


def make_runner(ctx: AppContext, loop: asyncio.AbstractEventLoop | None = None) -> JobRunner:
    fallback = InProcessRunner(ctx, loop)
    if ctx.settings.redis_url:
        return RQRunner(ctx, ctx.settings.redis_url, fallback)
    return fallback


def _bound_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas for this process.

    Each job runs in a fresh event loop whose executor threads are new, and glibc gives new threads
    their own arenas (up to 8 per core); the OCR engine's varying buffers fragment every one of
    them, and a worker grew to 2.2 GB over ~280 receipts. Only glibc has ``mallopt``; elsewhere
    this does nothing.
    """
    import ctypes
    import ctypes.util

    m_arena_max = -8  # from glibc's malloc.h
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(m_arena_max, arenas)
    except (OSError, AttributeError):
        log.debug("mallopt unavailable; malloc arenas left at the C library's default")


PUBSUB_STOP_SECONDS = 2.0  # how long a stopping worker waits for its command listener


def worker_class() -> type[Any]:
    """RQ's SimpleWorker, stopping promptly.

    SimpleWorker runs jobs in this process (no fork): the database pool and the OCR engine are
    built once and reused. At shutdown RQ unsubscribes from its command channel and waits for
    the listening thread without a limit; that thread polls every 60 s, and with redis-py 8 a
    stop that races the unsubscription waits out the whole poll (seen as a worker taking a
    minute to obey SIGTERM). The thread is a daemon with nothing to save, so it gets
    ``PUBSUB_STOP_SECONDS``.
    """
    from rq import SimpleWorker

    class Worker(SimpleWorker):  # type: ignore[misc]
        def unsubscribe(self) -> None:
            thread, pubsub = self.pubsub_thread, self.pubsub
            if thread is None or pubsub is None:
                return
            self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
            pubsub.unsubscribe()
            try:
                thread.stop(timeout=PUBSUB_STOP_SECONDS)
            except TypeError:  # redis-py before 8: stop() takes no timeout and does not wait
                thread.stop()
                thread.join(timeout=PUBSUB_STOP_SECONDS)
            pubsub.close()

    return Worker


def run_worker(redis_url: str, *, burst: bool = False, warm_up: Callable[[int], None] | None = None) -> None:
    """Serve the queue (``bot.wiring.run_worker`` registers the jobs and passes the reader's warm-up)."""
    import redis

    connection = redis.Redis.from_url(redis_url)
    _bound_malloc_arenas()
    ctx = worker_context()
    if warm_up is not None:
        warm_up(ctx.settings.ocr_threads)
    # A killed worker's job is picked up again (see maintenance).
    worker_class()([QUEUE_NAME], connection=connection).work(with_scheduler=True, burst=burst)
