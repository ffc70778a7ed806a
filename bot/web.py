"""The HTTP app: Slack's endpoint (events, interactivity, commands) and health checks.

Also Socket Mode, and the background loop every serving process runs: outbox delivery,
re-reading receipts whose process died, and the scheduled payout digest.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import edge, expenses, logs, metrics, payouts
from bot.context import AppContext, build_context
from bot.crm import scheduled_crm_work
from bot.delivery import deliver_pending
from bot.expenses import warm_up_reader
from bot.followups import run_followups
from bot.fx_schedule import scheduled_fx_update
from bot.i18n import N_
from bot.jobs import InProcessRunner, make_runner
from bot.listeners import TRY_AGAIN
from bot.listeners.common import in_their_words
from bot.match_schedule import scheduled_match
from bot.settings import Settings
from bot.wiring import register_listeners, wire
from storage.db import DatabaseUnavailable, transaction
from storage.tenancy import current_team, team_scope

log = logging.getLogger(__name__)
WENT_WRONG = N_("Something went wrong on my side; nothing was changed. Try again.")


def build_bolt_app(ctx: AppContext) -> AsyncApp:
    if ctx.settings.multi_workspace:
        from bot.oauth import oauth_settings, register_revocation

        # Each workspace's own bot token, from the installation store (Bolt's authorize).
        app = AsyncApp(
            signing_secret=ctx.settings.slack_signing_secret,
            client=ctx.slack,  # carries SLACK_API_URL; the OAuth flow calls oauth.v2.access on it
            oauth_settings=oauth_settings(ctx),
            installation_store=ctx.installations,  # so Bolt's authorize rotates tokens on SLACK_API_URL too
            process_before_response=False,
            ignoring_self_events_enabled=True,
        )

        @app.middleware
        async def workspace_scope(
            context: AsyncBoltContext, next: Callable[[], Awaitable[BoltResponse]]
        ) -> BoltResponse:
            """Everything a request does (listeners, their tasks, the outbox rows) is for its workspace.

            Set for the rest of the request's own task (each request has its own context), not just
            inside ``next()``: Bolt runs the listeners after the middleware chain returns.
            """
            current_team.set(context.team_id)
            return await next()

        register_revocation(app, ctx)
    else:
        app = AsyncApp(
            signing_secret=ctx.settings.slack_signing_secret,
            client=ctx.slack,  # carries the bot token and SLACK_API_URL
            process_before_response=False,
            ignoring_self_events_enabled=True,
        )
    register_listeners(app, ctx)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None = None) -> None:
        """The last word on a failed listener: the person is told, the error is logged."""
        unavailable = isinstance(error, DatabaseUnavailable | DBAPIError)
        if unavailable:
            log.warning("database unavailable during %s: %s", body.get("type"), type(error).__name__)
        else:
            log.error("listener failed: %r (request type %s)", error, body.get("type"))
        if respond is None or (body.get("response_url") is None and not body.get("response_urls")):
            return
        who = body.get("user")
        user = who.get("id") if isinstance(who, dict) else body.get("user_id")
        text = await in_their_words(
            ctx, str(user) if user else None, TRY_AGAIN if unavailable else WENT_WRONG
        )
        try:
            await respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception as exc:  # the request may be too old to answer
            log.info("could not tell the person about the failure: %r", exc)

    return app


async def maintenance_loop(ctx: AppContext, *, every: float = 2.0) -> None:
    """Deliver the outbox, re-read stuck receipts, post the digest, match statements and fetch the
    rates on schedule."""

    async def reread_stale() -> None:
        stale_after = ctx.settings.stale_reading_seconds
        stale = await asyncio.to_thread(expenses.stale_reading, ctx, dt.timedelta(seconds=stale_after))
        for expense_id in stale:
            if ctx.kv.first_time(f"reread:{expense_id}", ttl_seconds=stale_after) and ctx.jobs is not None:
                log.info("reading expense %s again (its job never finished)", expense_id)
                expenses.queue_read(ctx, expense_id)
                metrics.STALE_REREAD.inc()

    async def workspace_work() -> None:
        await run_followups(ctx)
        if ctx.settings.scheduler_enabled:
            await run_scheduled_digest(ctx, payouts)
            await scheduled_match(ctx)  # card charges and bank lines, in this workspace's scope

    tick = 0
    outage = _Outage()
    while not ctx.stopping.is_set():
        try:
            if outage.since is not None:  # some steps swallow the error: ask the database itself
                await asyncio.to_thread(_ping, ctx)
                log.info("database reachable again after %.0f s; background work resumed", outage.ended())
            await deliver_pending(ctx)  # each message carries its workspace
            metrics.MAINTENANCE_PASSES.labels("outbox").inc()
            stale_after = ctx.settings.stale_reading_seconds
            if tick % max(1, min(30, int(stale_after / every / 4))) == 0:
                await for_each_workspace(ctx, reread_stale)
                metrics.MAINTENANCE_PASSES.labels("stale_readings").inc()
            if tick % 30 == 0:
                await for_each_workspace(ctx, workspace_work)
                await scheduled_crm_work(ctx, dt.datetime.now(dt.UTC))
                if ctx.settings.scheduler_enabled:
                    await scheduled_fx_update(ctx)  # the rates are shared by every workspace
        except (
            DatabaseUnavailable,
            DBAPIError,
        ) as exc:  # raw driver errors too (reads outside transaction())
            metrics.MAINTENANCE_FAILURES.labels("database").inc()
            if outage.started():  # one line per outage, not one traceback per tick
                log.warning(
                    "database unavailable: %s; background work (outbox, re-reading, digest) "
                    "paused until it answers",
                    _short_reason(exc),
                )
        except Exception:
            metrics.MAINTENANCE_FAILURES.labels("other").inc()
            log.exception("maintenance loop step failed")
        tick += 1
        await _pause(ctx.stopping, every)
    log.info("background work stopped")


LOOP_STOP_SECONDS = 5.0  # at shutdown: how long the background loop may take to end its step


async def _pause(stopping: threading.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less when the process is told to stop meanwhile."""
    deadline = time.monotonic() + seconds
    while not stopping.is_set() and (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(0.1, left))


class _Outage:
    """When the database stopped answering the maintenance loop (None while it answers)."""

    def __init__(self) -> None:
        self.since: float | None = None

    def started(self) -> bool:
        """Note a failure; True for the first one of an outage."""
        if self.since is None:
            self.since = time.monotonic()
            return True
        return False

    def ended(self) -> float:
        """Note that the database answers again; how long it did not."""
        since, self.since = self.since, None
        return 0.0 if since is None else time.monotonic() - since


def _ping(ctx: AppContext) -> None:
    with ctx.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _short_reason(exc: BaseException) -> str:
    """The driver's first line (``connection refused``...), without SQL or a traceback."""
    orig = getattr(exc, "orig", None) or getattr(exc.__cause__, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:200]


async def for_each_workspace(ctx: AppContext, work: Callable[[], Awaitable[None]]) -> None:
    """Run ``work`` once (one workspace), or once per installed workspace, in its scope."""
    if ctx.installations is None:
        await work()
        return
    for team in await asyncio.to_thread(ctx.installations.store.installed_teams):
        with team_scope(team):
            try:
                await work()
            except (DatabaseUnavailable, DBAPIError):  # the loop's outage handling
                raise
            except Exception:
                log.exception("maintenance step failed for workspace %s", team)


async def run_scheduled_digest(ctx: AppContext, payouts: Any) -> None:
    from storage.models import ScheduledRun

    slot = payouts.due_slot(dt.datetime.now(dt.UTC), ctx.settings.digest_cron, ctx.settings.timezone)
    if slot is None:
        return
    team = current_team.get()
    name = f"digest:{team}" if team else "digest"  # once per workspace and slot

    def claim() -> bool:
        try:
            with transaction(ctx.db) as session:
                session.add(ScheduledRun(name=name, slot=slot))
            return True
        except IntegrityError:
            return False

    if await asyncio.to_thread(claim):
        result = await payouts.post_digest(ctx, "schedule")
        log.info("scheduled digest %s: %s", slot, result.text.splitlines()[0])


def _report_warm_up(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("receipt reader warm-up failed: %r", future.exception())


class RequestIdMiddleware:
    """Every HTTP request gets an id (the caller's ``X-Request-ID`` if sane, else a new one): in the
    context of every log line written while it is handled (and by the tasks and jobs it starts),
    and in the ``X-Request-ID`` header of the answer. Outermost, so every answer carries it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id")
        request_id = logs.request_id_from(incoming.decode("latin-1") if incoming is not None else None)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[logs.REQUEST_ID_HEADER] = request_id
            await send(message)

        with logs.fresh(request_id=request_id):
            await self.app(scope, receive, send_with_id)


def create_app(
    settings: Settings, ctx: AppContext | None = None, stopping: threading.Event | None = None
) -> FastAPI:
    """The FastAPI app; everything is built in the lifespan, nothing at import time.

    ``stopping`` is set by whoever receives the stop signal (``expensebot run``'s server, on
    SIGTERM, before it waits for open connections): the background work stops at once. The
    lifespan's shutdown sets it too.
    """
    wire()  # the jobs and senders, before anything can enqueue or deliver
    state: dict[str, Any] = {}
    stop = stopping if stopping is not None else threading.Event()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        context: AppContext = ctx if ctx is not None else await asyncio.to_thread(build_context, settings)
        context.stopping = stop
        context.jobs = make_runner(context, asyncio.get_running_loop())
        bolt = build_bolt_app(context)
        if not context.settings.multi_workspace:  # else each request's workspace is checked by Bolt
            try:
                auth = await context.slack.auth_test()
                context.bot_user_id = auth.get("user_id")
            except Exception as exc:  # the app still serves health checks; Slack calls will say why
                log.warning("auth.test failed: %s", exc)
        state.update(ctx=context, handler=AsyncSlackRequestHandler(bolt))
        # What start-up built lives as long as the process: keep it out of the collector's full
        # passes, which otherwise stop the event loop (and every answer to Slack) for many ms.
        gc.collect()
        gc.freeze()
        loop_task = asyncio.create_task(maintenance_loop(context))
        if not context.settings.redis_url:  # receipts are read in this process
            threads = context.settings.ocr_threads
            warm = asyncio.get_running_loop().run_in_executor(None, warm_up_reader, threads)
            warm.add_done_callback(_report_warm_up)
        try:
            yield
        finally:
            stop.set()
            # The loop ends its step and returns (a rate fetch gives up at once); cancelled if a
            # step takes longer (its thread's result is then thrown away).
            await asyncio.wait({loop_task}, timeout=LOOP_STOP_SECONDS)
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop_task
            if isinstance(context.jobs, InProcessRunner):
                await context.jobs.drain(10)

    api = FastAPI(title="expensebot", lifespan=lifespan, docs_url=None, redoc_url=None)

    verifier = SignatureVerifier(settings.slack_signing_secret or "-")

    @api.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        surface = getattr(request.state, "slack_surface", "none")
        metrics.REQUEST_SECONDS.labels(route, surface, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response

    api.add_middleware(RequestIdMiddleware)  # added last: runs first, around everything

    @api.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        screened = edge.screen(verifier, await request.body(), request.headers)  # before Bolt parses
        if isinstance(screened, edge.Refusal):
            request.state.slack_surface = "refused"
            body = json.dumps({"error": screened.message})
            return Response(body, status_code=screened.status, media_type="application/json")
        request.state.slack_surface = metrics.slack_surface(screened)
        team, slack_type = edge.describe(screened)
        logs.bind(team=team, slack_type=slack_type)  # for this request and the listeners it starts
        log.debug("slack request %s", slack_type)
        handler: AsyncSlackRequestHandler = state["handler"]
        return await handler.handle(request)

    @api.get("/metrics")
    async def metrics_endpoint() -> Response:
        body, content_type = await asyncio.to_thread(metrics.exposition, state.get("ctx"))
        return Response(body, media_type=content_type)

    if settings.multi_workspace:

        @api.get("/slack/install")
        async def slack_install(request: Request) -> Response:
            """Starts the OAuth v2 install: a redirect to Slack's authorize page (client_id, scope, state)."""
            handler: AsyncSlackRequestHandler = state["handler"]
            return await handler.handle(request)

        @api.get("/slack/oauth_redirect")
        async def slack_oauth_redirect(request: Request) -> Response:
            """Slack sends the installer back here: the code is exchanged with oauth.v2.access."""
            handler: AsyncSlackRequestHandler = state["handler"]
            return await handler.handle(request)

    @api.get("/healthz")
    async def healthz() -> Response:
        context: AppContext | None = state.get("ctx")
        if context is None:
            return Response('{"status": "starting"}', status_code=503, media_type="application/json")

        def db_ok() -> bool:
            try:
                with context.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                return True
            except Exception:
                return False

        database = await asyncio.to_thread(db_ok)
        redis_ok = context.kv.ping() if context.settings.redis_url else True
        ok = database and redis_ok
        body = f'{{"status": "{"ok" if ok else "degraded"}", "database": {str(database).lower()}, "redis": {str(redis_ok).lower()}}}'
        return Response(body, status_code=200 if ok else 503, media_type="application/json")

    return api


async def run_socket_mode(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    wire()
    context = await asyncio.to_thread(build_context, settings)
    context.jobs = make_runner(context, asyncio.get_running_loop())
    auth = await context.slack.auth_test()
    context.bot_user_id = auth.get("user_id")
    bolt = build_bolt_app(context)
    loop_task = asyncio.create_task(maintenance_loop(context))
    try:
        await AsyncSocketModeHandler(bolt, settings.slack_app_token).start_async()  # type: ignore[no-untyped-call]
    finally:
        context.stopping.set()
        loop_task.cancel()


def app_from_env() -> FastAPI:
    """The app built from the environment (for ``uvicorn --factory`` and ``expensebot run --workers``)."""
    from bot.settings import load_settings

    settings = load_settings()
    logs.configure_logging(settings.log_level)  # each web process started by uvicorn's --workers
    return create_app(settings)
