"""``customers`` commands: import a CSV, sync from the CRM, and try the matcher.

The database comes from ``DATABASE_URL`` (default ``sqlite:///expensebot.db``); every command
brings the schema up to date first.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import click
from sqlalchemy.orm import Session, sessionmaker

from bot.cli_actor import FINANCE_ROLES, as_option
from bot.cli_actor import resolve as resolve_actor
from bot.cli_settings import settings_from_env as _settings
from bot.cli_teams import in_team
from integrations.crm.base import CrmError
from integrations.crm.registry import how_to_configure
from integrations.crm.sync import sync_all
from storage import audit
from storage.customers import (
    CsvFormatError,
    build_index,
    external_ids,
    import_csv,
    list_aliases,
    load_records,
    remove_alias,
)
from storage.db import make_engine, make_sessionmaker, migrate, transaction
from workflows.matching import Candidate, MatchResult


def _factory() -> sessionmaker[Session]:
    url = _settings().database_url
    migrate(url)
    return make_sessionmaker(make_engine(url))


@click.group(name="customers")
def customers() -> None:
    """CRM customers: import, sync and matching."""


@customers.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--source", default="csv", show_default=True, help="Which list these ids belong to.")
@as_option(FINANCE_ROLES)
@in_team
def import_command(file: str, source: str, as_email: str | None) -> None:
    """Load customers from FILE (CSV with header id,name and optional aliases, domain)."""
    actor = resolve_actor(as_email, FINANCE_ROLES)
    factory = _factory()
    started = time.perf_counter()
    try:
        report = import_csv(factory, os.path.abspath(file), source=source, actor=actor.name, via=actor.via)
    except CsvFormatError as exc:
        click.echo(f"Cannot import {file}: {exc}", err=True)
        sys.exit(1)
    elapsed = time.perf_counter() - started
    click.echo(f"Imported {file} in {elapsed:.1f}s: {report.summary()}.")
    for error in report.errors[:50]:
        click.echo(f"  {error}", err=True)
    if len(report.errors) > 50:
        click.echo(f"  ... and {len(report.errors) - 50} more", err=True)
    if report.errors:
        sys.exit(1)


@customers.command(name="sync")
@click.option(
    "--full", is_flag=True, help="List everything again (also archives customers deleted in the CRM)."
)
@as_option(FINANCE_ROLES)
@in_team
def sync_command(full: bool, as_email: str | None) -> None:
    """Pull customers and contacts from the configured CRM (HubSpot and/or Salesforce)."""
    actor = resolve_actor(as_email, FINANCE_ROLES)
    settings = _settings().crm
    if not settings.configured:
        click.echo(f"No CRM configured. Set {how_to_configure()}.", err=True)
        sys.exit(2)
    factory = _factory()
    try:
        report = sync_all(factory, settings, full=full, actor=actor.name, via=actor.via)
    except CrmError as exc:
        click.echo(f"Sync failed: {exc}", err=True)
        sys.exit(1)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        sys.exit(1)


def _candidate_json(c: Candidate, ids: dict[int, tuple[str, str]]) -> dict[str, Any]:
    return {"id": ids.get(c.id, ("", str(c.id)))[1], "name": c.name, "score": c.score, "reason": c.reason}


def _result_json(result: MatchResult, ids: dict[int, tuple[str, str]]) -> dict[str, Any]:
    customer = None
    if result.customer is not None:
        customer = {
            "id": ids.get(result.customer.id, ("", str(result.customer.id)))[1],
            "name": result.customer.name,
        }
    return {
        "query": result.query,
        "customer": customer,
        "score": result.score,
        "reason": result.reason,
        "confident": result.confident,
        "candidates": [_candidate_json(c, ids) for c in result.candidates],
    }


def _result_line(result: MatchResult, ids: dict[int, tuple[str, str]]) -> str:
    if result.customer is None:
        return f"{result.query!r}: no customer ({result.reason})"
    ext = ids.get(result.customer.id, ("", str(result.customer.id)))[1]
    sure = "sure" if result.confident else "ask to confirm"
    return (
        f"{result.query!r}: {result.customer.name} [{ext}] score {result.score:.0f}, {sure} ({result.reason})"
    )


@customers.command(name="match")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per query.")
@click.option("--limit", default=5, show_default=True, help="How many candidates to list.")
@in_team
def match_command(text: str, as_json: bool, limit: int) -> None:
    """Find the customer named in TEXT; with '-', one query per line of standard input."""
    factory = _factory()
    with factory() as session:
        index = build_index(load_records(session))
        ids = external_ids(session)
    for stream in (sys.stdin, sys.stdout):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:  # odd bytes or a non-UTF-8 terminal must not stop a batch
            reconfigure(encoding="utf-8", errors="replace")
    queries = (line.rstrip("\r\n") for line in sys.stdin) if text == "-" else iter([text])
    out = sys.stdout
    for query in queries:
        result = index.match(query, limit=limit)
        if as_json:
            out.write(json.dumps(_result_json(result, ids), ensure_ascii=False) + "\n")
        else:
            out.write(_result_line(result, ids) + "\n")
        if text == "-":
            out.flush()


@customers.group(name="aliases")
def aliases_group() -> None:
    """Aliases: those learned from corrections on the card (shared by everyone), and the rest."""


@aliases_group.command(name="list")
@click.option("--all", "show_all", is_flag=True, help="Also imported and CRM aliases, not only learned ones.")
@click.option("--customer", help="Only this customer's (CRM id, or a part of its name).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per alias.")
@in_team
def aliases_list(show_all: bool, customer: str | None, as_json: bool) -> None:
    """List aliases, newest first, with who taught them and when."""
    factory = _factory()
    with factory() as session:
        rows = list_aliases(session, learned_only=not show_all, customer=customer)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row.as_json(), ensure_ascii=False))
        return
    if not rows:
        click.echo("No learned aliases yet." if not show_all else "No aliases.")
        return
    for row in rows:
        when = f"{row.created_at:%Y-%m-%d}" if row.created_at else "?"
        who = f" by {row.created_by}" if row.created_by else ""
        click.echo(
            f"{row.id:>6}  {row.alias!r} -> {row.customer_name} [{row.external_id}]  ({row.origin}{who}, {when})"
        )


@aliases_group.command(name="remove")
@click.argument("alias_id", type=int)
@click.option("--by", "actor", default=None, help="Who removes it, for the audit log (default: $USER).")
@in_team
def aliases_remove(alias_id: int, actor: str | None) -> None:
    """Remove the alias ALIAS_ID (see 'aliases list'); the audit log keeps who and what."""
    factory = _factory()
    who = actor or os.environ.get("USER") or "cli"
    with transaction(factory) as session:
        row = remove_alias(session, alias_id)
        if row is not None:
            audit.record(
                session,
                actor=who,
                action="customer.alias_removed",
                entity="customer",
                entity_id=row.customer_id,
                before={
                    "alias": row.alias,
                    "alias_id": row.id,
                    "origin": row.origin,
                    "created_by": row.created_by,
                },
            )
    if row is None:
        click.echo(
            f"There is no alias {alias_id}; 'expensebot customers aliases list --all' shows them.", err=True
        )
        sys.exit(1)
    click.echo(f"Removed alias {row.alias!r} of {row.customer_name} [{row.external_id}].")


if __name__ == "__main__":
    customers()
