"""``projects`` commands: import projects from a CSV file and list the open ones.

Projects of HubSpot and Salesforce come with ``expensebot customers sync`` (docs/crm.md); a CSV
file gives projects where the CRM has none. ``--team`` scopes both to one workspace.
"""

from __future__ import annotations

import json
import os
import sys

import click
from sqlalchemy.orm import Session, sessionmaker

from bot.cli_actor import FINANCE_ROLES, as_option
from bot.cli_actor import resolve as resolve_actor
from bot.cli_settings import settings_from_env as _settings
from bot.cli_teams import in_team
from storage.db import make_engine, make_sessionmaker, migrate
from storage.projects import ProjectCsvError, import_projects, list_projects


def _factory() -> sessionmaker[Session]:
    url = _settings().database_url
    migrate(url)
    return make_sessionmaker(make_engine(url))


@click.group(name="projects")
def projects() -> None:
    """Customer projects: import from CSV, list."""


@projects.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--source", default="csv", show_default=True, help="Which list these project ids belong to.")
@click.option(
    "--customers",
    "customer_source",
    default="csv",
    show_default=True,
    help="Which customer list the 'customer' column names (csv, hubspot, salesforce).",
)
@as_option(FINANCE_ROLES)
@in_team
def import_command(file: str, source: str, customer_source: str, as_email: str | None) -> None:
    """Load projects from FILE (CSV with header id,name,customer and optional deal, status, due)."""
    actor = resolve_actor(as_email, FINANCE_ROLES)
    try:
        report = import_projects(
            _factory(),
            os.path.abspath(file),
            source=source,
            customer_source=customer_source,
            actor=actor.name,
            via=actor.via,
        )
    except ProjectCsvError as exc:
        click.echo(f"Cannot import {file}: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Imported {file}: {report.summary()}.")
    for error in report.errors[:50]:
        click.echo(f"  {error}", err=True)
    if len(report.errors) > 50:
        click.echo(f"  ... and {len(report.errors) - 50} more", err=True)
    if report.errors:
        sys.exit(1)


@projects.command(name="list")
@click.option("--all", "show_all", is_flag=True, help="Closed projects too.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@in_team
def list_command(show_all: bool, as_json: bool) -> None:
    """The projects offered on the card (open ones), by customer."""
    with _factory()() as session:
        rows = list_projects(session, include_closed=show_all)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": p.id,
                        "source": p.source,
                        "external_id": p.external_id,
                        "name": p.name,
                        "customer": customer,
                        "closed": p.is_closed,
                        "due": p.due_date.isoformat() if p.due_date else None,
                    }
                    for p, customer in rows
                ]
            )
        )
        return
    if not rows:
        click.echo("No projects.")
        return
    for project, customer in rows:
        closed = " (closed)" if project.is_closed else ""
        click.echo(
            f"{project.id}\t{customer or '(no customer)'}\t{project.name}{closed}\t{project.source}:{project.external_id}"
        )
