"""``expensebot receipts``: move receipt files between the database and EXPENSEBOT_RECEIPT_STORE."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from bot.cli_actor import ADMIN_ROLES, as_option
from bot.cli_actor import resolve as resolve_actor
from bot.cli_settings import settings_from_env as _settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from storage.blobs import BlobStore


@click.group(name="receipts")
def receipts() -> None:
    """Receipt files: where they live (EXPENSEBOT_RECEIPT_STORE: db, file:///path, s3://bucket/prefix)."""


def _setup() -> tuple[sessionmaker[Session], BlobStore]:
    from storage.blobs import make_store
    from storage.db import make_engine, make_sessionmaker, migrate

    settings = _settings()
    migrate(settings.database_url)
    return make_sessionmaker(make_engine(settings.database_url)), make_store(
        settings.receipt_store, sse=settings.s3_sse
    )


@receipts.command(name="migrate")
@click.option(
    "--to",
    "direction",
    type=click.Choice(("store", "db")),
    required=True,
    help="store: out of the database into EXPENSEBOT_RECEIPT_STORE; db: back into the database.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Move at most this many now (run again to go on).")
@click.option(
    "--delete",
    "delete_from_store",
    is_flag=True,
    help="With --to db: delete each file from the store once it is back in the database.",
)
@as_option(ADMIN_ROLES)
def migrate_command(direction: str, limit: int | None, delete_from_store: bool, as_email: str | None) -> None:
    """Move receipt files, one at a time; stopped at any point, run it again to resume."""
    actor = resolve_actor(as_email, ADMIN_ROLES)
    from storage import audit
    from storage.blobs import BlobError
    from storage.db import transaction
    from storage.receipts import migrate_receipts

    factory, store = _setup()

    def progress(done: int, total: int) -> None:
        if done and (done % 100 == 0 or done == total):
            click.echo(f"  {done}/{total}", err=True)

    try:
        result = migrate_receipts(
            factory,
            store,
            to_store=direction == "store",
            limit=limit,
            progress=progress,
            delete_from_store=delete_from_store,
        )
    except BlobError as exc:
        raise click.ClickException(str(exc)) from None
    where = store.url if direction == "store" else "the database"
    with transaction(factory) as session:
        audit.record(
            session,
            actor=actor.name,
            action="receipts.migrated",
            entity="receipts",
            entity_id=direction,
            after={
                "moved": result.moved,
                "remaining": result.remaining,
                "failed": len(result.failed),
                "store": store.url,
            },
            detail=actor.via,
        )
    click.echo(
        f"{result.moved} receipt files moved to {where}; {result.remaining} still to move"
        + (f"; {len(result.failed)} failed:" if result.failed else ".")
    )
    for line in result.failed:
        click.echo(f"  {line}", err=True)
    sys.exit(1 if result.failed else 0)


@receipts.command(name="gc")
@click.option(
    "--dry-run", is_flag=True, help="List the receipts and files that would be deleted; delete nothing."
)
@click.option(
    "--min-age",
    type=click.IntRange(min=0),
    default=3600,
    show_default=True,
    help="Keep unreferenced files younger than this many seconds (an upload writes its file first).",
)
@as_option(ADMIN_ROLES)
def gc_command(dry_run: bool, min_age: int, as_email: str | None) -> None:
    """Delete receipts past their retention (EXPENSEBOT_RECEIPT_RETENTION_DAYS), and files in the
    store that no receipt points to any more (after a privacy erase).

    A paid claim's receipt is kept for the retention period from 1 January after its payment, a
    rejected or discarded claim's from its last change; an open claim's receipt is always kept.
    Each deleted receipt is audited on its claims (receipt.expired).
    """
    import datetime as dt

    actor = resolve_actor(as_email, ADMIN_ROLES)
    from storage import audit
    from storage.db import transaction
    from storage.receipts import collect_garbage, expire_receipt, expired_receipts

    days = _settings().receipt_retention_days
    factory, store = _setup()
    now = dt.datetime.now(dt.UTC)
    expired = expired_receipts(factory, days, now)
    deleted = 0
    for receipt in expired:
        claims = ", ".join(f"expense {i}" for i in receipt.expense_ids) or "no claim"
        click.echo(
            f"expired receipt {receipt.receipt_id} {receipt.sha256} ({claims}; kept until "
            f"{receipt.kept_until:%Y-%m-%d})"
        )
        if not dry_run and expire_receipt(
            factory, receipt, days=days, now=now, actor=actor.name, via=actor.via, store=store
        ):
            deleted += 1
    orphans: list[str] = []
    if store.external:  # with the database store a deleted row takes its file with it
        orphans = collect_garbage(factory, store, dry_run=dry_run, min_age_seconds=min_age)
    for key in orphans:
        click.echo(key)
    if not dry_run:
        with transaction(factory) as session:
            audit.record(
                session,
                actor=actor.name,
                action="receipts.collected",
                entity="receipts",
                entity_id="gc",
                after={"deleted": len(orphans), "expired": deleted, "retention_days": days},
                detail=actor.via,
            )
    would = "would be " if dry_run else ""
    click.echo(
        f"{len(expired) if dry_run else deleted} receipts past the retention of {days} days {would}deleted; "
        f"{len(orphans)} unreferenced files {would}deleted",
        err=True,
    )
