"""The ``expensebot`` command line (see README, "Commands")."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import logging
import sys
from pathlib import Path
from typing import Any

import click

from bot.cli_actor import ADMIN_ROLES, FINANCE_ROLES, as_option
from bot.cli_actor import resolve as resolve_actor
from bot.cli_settings import settings_from_env as _settings
from bot.cli_teams import in_team, team_option

# Commands whose modules are imported only when the command runs: reading one receipt should not
# wait for the database and report libraries to load (about 0.6 s).
LAZY_COMMANDS = {
    "scan": "bot.cli_ocr:scan",
    "eval-ocr": "bot.cli_ocr:eval_ocr",
    "train-reader": "bot.cli_ocr:train_reader",
    "customers": "bot.cli_customers:customers",
    "projects": "bot.cli_projects:projects",
    "policy": "bot.cli_policy:policy",
    "report": "bot.cli_finance:report",
    "export": "bot.cli_finance:export",
    "privacy": "bot.cli_finance:privacy",
    "transactions": "bot.cli_transactions:transactions",
    "receipts": "bot.cli_receipts:receipts",
    "workspaces": "bot.cli_teams:workspaces",
    "perdiem": "bot.cli_per_diem:perdiem",
}


class LazyGroup(click.Group):
    """A command group that imports a subcommand's module on first use (click's documented pattern)."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


def _logging(level: str) -> None:
    from bot.logs import configure_logging

    configure_logging(level)


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """expensebot: expense reimbursement in Slack, self-hosted.

    Configuration comes from the environment (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET,
    DATABASE_URL, REDIS_URL, EXPENSEBOT_ORG_FILE, ...); see the README.
    """


@cli.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to listen on (HTTP mode).")
@click.option("--port", default=3000, show_default=True, type=int, help="Port to listen on (HTTP mode).")
@click.option("--workers", default=1, show_default=True, type=int, help="Web processes (HTTP mode).")
def run(host: str, port: int, workers: int) -> None:
    """Serve the app: HTTP (POST /slack/events, GET /healthz) or Socket Mode if SLACK_APP_TOKEN is set."""
    settings = _settings()
    _logging(settings.log_level)
    missing = [
        n
        for n, v in (
            ("SLACK_BOT_TOKEN", settings.slack_bot_token),
            ("SLACK_SIGNING_SECRET", settings.slack_signing_secret),
        )
        if not v
    ]
    if settings.slack_app_token:
        missing = [n for n in missing if n != "SLACK_SIGNING_SECRET"]
    if settings.multi_workspace:  # each workspace's token comes from its installation
        missing = [n for n in missing if n != "SLACK_BOT_TOKEN"]
        if settings.slack_app_token:
            raise click.UsageError(
                "multi-workspace mode (SLACK_CLIENT_ID) serves the install pages over "
                "HTTP: unset SLACK_APP_TOKEN (Socket Mode)."
            )
    if missing:
        raise click.UsageError(f"{' and '.join(missing)} must be set (see README, 'Connect a workspace').")
    if settings.slack_app_token:
        from bot.web import run_socket_mode

        click.echo("expensebot: Socket Mode", err=True)
        asyncio.run(run_socket_mode(settings))
        return
    import uvicorn

    from bot.web import create_app

    install = ", GET /slack/install" if settings.multi_workspace else ""
    click.echo(
        f"expensebot: listening on http://{host}:{port} (POST /slack/events{install}, GET /healthz)", err=True
    )
    if workers > 1:
        from storage.db import migrate

        migrate(settings.database_url)  # once, before the processes start
        uvicorn.run(
            "bot.web:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            access_log=False,
            timeout_graceful_shutdown=10,
            log_config=None,
        )
        return
    import threading

    stopping = threading.Event()  # set on SIGTERM/SIGINT, before the server waits for connections

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            stopping.set()  # the background work stops now, not after the graceful wait
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        create_app(settings, stopping=stopping),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=10,
        log_config=None,
    )
    Server(config).run()


@cli.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
def worker(burst: bool) -> None:
    """Run background jobs from Redis (REDIS_URL); start as many as you like."""
    settings = _settings()
    _logging(settings.log_level)
    if not settings.redis_url:
        raise click.UsageError("REDIS_URL is not set: without it `expensebot run` does the jobs itself.")
    from bot.wiring import run_worker

    run_worker(settings.redis_url, burst=burst)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema (Alembic) for DATABASE_URL."""
    from storage.db import migrate

    settings = _settings()
    migrate(settings.database_url)
    click.echo(f"database is up to date ({_safe_url(settings.database_url)})")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print what would be paid; post and record nothing.")
@as_option(FINANCE_ROLES)
@team_option
def digest(dry_run: bool, as_email: str | None, team: str | None) -> None:
    """Post the finance payout digest once and exit."""
    actor = resolve_actor(as_email, FINANCE_ROLES)
    settings = _settings()
    _logging("WARNING")
    if not dry_run and not settings.slack_bot_token and not settings.multi_workspace:
        raise click.UsageError("SLACK_BOT_TOKEN must be set to post the digest (or use --dry-run).")
    from bot.cli_teams import choose_team
    from bot.context import build_context
    from bot.delivery import deliver_pending
    from bot.jobs import InProcessRunner
    from bot.payouts import post_digest
    from bot.wiring import wire
    from storage.tenancy import team_scope

    wire()  # the digest's senders
    workspace = choose_team(settings, team)

    async def go() -> int:
        with team_scope(workspace):  # that workspace's expenses, token and finance channel
            ctx = build_context(settings)
            ctx.jobs = InProcessRunner(ctx)
            return await post(ctx)

    async def post(ctx: Any) -> int:
        result = await post_digest(ctx, actor.name, dry_run=dry_run)
        click.echo(result.text)
        if result.batch_id is not None:
            for _ in range(5):  # the digest is in the outbox; make sure it went out
                await deliver_pending(ctx)
                if await asyncio.to_thread(_outbox_clear, ctx):
                    return 0
                await asyncio.sleep(1)
            click.echo(
                "The digest is recorded but Slack did not accept it yet; the running app will send it.",
                err=True,
            )
            return 1
        return 0

    sys.exit(asyncio.run(go()))


def _outbox_clear(ctx: object) -> bool:
    from storage import outbox

    with ctx.db() as session:  # type: ignore[attr-defined]
        return outbox.pending_count(session) == 0


@cli.group()
def fx() -> None:
    """Exchange rates: the daily reference-rate feed (update) and CSV files (import)."""


def _add_fx_update() -> None:
    from bot.cli_fx import fx_update

    fx.add_command(fx_update)


_add_fx_update()


@fx.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@as_option(FINANCE_ROLES)
@in_team
def fx_import(file: Path, as_email: str | None) -> None:
    """Load rates from a CSV with header date,from,to,rate (e.g. 2026-11-02,USD,MYR,4.41).

    In multi-workspace mode the rates are the workspace's own (--team): used for its claims before
    the shared reference rates, and not seen by other workspaces.
    """
    from storage.db import make_engine, make_sessionmaker, migrate
    from storage.fx import import_rates_result
    from workflows.fx import RateFileError

    actor = resolve_actor(as_email, FINANCE_ROLES)
    url = _settings().database_url
    migrate(url)
    engine = make_engine(url)
    try:
        result = import_rates_result(
            make_sessionmaker(engine),
            file.read_text(encoding="utf-8-sig"),
            file.name,
            actor=actor.name,
            via=actor.via,
        )
    except RateFileError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(f"{result.total} rates imported from {file.name} ({result.summary()})")
    for change in result.changes:
        click.echo(f"  changed: {change} (audited; claims converted at the old rate keep it)")


@fx.command("list")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day whose rates to list (YYYY-MM-DD; default: the newest day with rates).",
)
@click.option("--currency", default=None, help="Only pairs with this ISO 4217 code, e.g. USD.")
@in_team
def fx_list(day: dt.datetime | None, currency: str | None) -> None:
    """The stored rates of a day: the shared reference rates and the workspace's own (--team).

    A workspace's own rate of a pair is used instead of the shared one; the line of a shared rate
    it replaces says so.
    """
    from storage.db import make_engine, make_sessionmaker, migrate
    from storage.fx import listed_rates, rate_text
    from workflows.money import is_currency

    if currency is not None and not is_currency(currency.strip().upper()):
        raise click.UsageError(f"“{currency}” is not an ISO 4217 currency code (for example USD, EUR, MYR).")
    url = _settings().database_url
    migrate(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            shown, rows = listed_rates(session, day.date() if day else None, currency and currency.strip())
    finally:
        engine.dispose()
    if shown is None or not rows:
        click.echo("No exchange rates stored" + (f" for {day.date().isoformat()}" if day else "") + ".")
        return
    for r in rows:
        whose = f"workspace {r.team_id}" if r.team_id else "shared"
        note = "" if r.used else " (not used: the workspace has its own)"
        click.echo(
            f"{r.day.isoformat()}\t{r.base}→{r.quote}\t{rate_text(r.rate)}\t{r.source or '-'} ({whose}){note}"
        )


@cli.command("backup")
@click.argument("target", type=click.Path(path_type=Path))
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    help="With a directory as TARGET: keep only the newest this many dated backups there.",
)
def backup_command(target: Path, keep: int | None) -> None:
    """Back up the database (SQLite: online backup; PostgreSQL: pg_dump) to TARGET.

    TARGET is a file, or an existing directory: the backup gets a dated name in it
    (expensebot-20261207T023000Z.dump), as for the daily timer in deploy/.
    """
    from storage.backup import BackupError, backup, dated_target, prune

    url = _settings().database_url
    if keep is not None and not target.is_dir():
        raise click.UsageError("--keep needs a directory as TARGET (its dated backups are counted).")
    try:
        click.echo(backup(url, dated_target(url, target) if target.is_dir() else target))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if keep is not None:
        for old in prune(target, keep):
            click.echo(f"deleted the older backup {old.name}")


@cli.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing SQLite file.")
@as_option(ADMIN_ROLES)
def restore_command(source: Path, force: bool, as_email: str | None) -> None:
    """Restore the database from a backup made by `expensebot backup` (stop the app first)."""
    import hashlib

    from storage import audit
    from storage.backup import BackupError, restore
    from storage.db import make_engine, make_sessionmaker, migrate, transaction

    actor = resolve_actor(as_email, ADMIN_ROLES)
    url = _settings().database_url
    try:
        click.echo(restore(url, source, force=force))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    # The restored database says it was restored, from what and by whom (its own trail goes on).
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    migrate(url)
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            audit.record(
                session,
                actor=actor.name,
                action="database.restored",
                entity="database",
                entity_id=source.name[:64],
                after={"sha256": digest, "file": str(source)},
                detail=actor.via,
            )
    finally:
        engine.dispose()


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the demo's database in ./expensebot-demo.db afterwards.")
def demo(keep: bool) -> None:
    """A newcomer's offline tour: the whole flow against a local stand-in for Slack."""
    from bot.demo import run_demo

    sys.exit(run_demo(keep=keep))


def main() -> None:
    logging.captureWarnings(True)
    cli()


if __name__ == "__main__":
    main()
