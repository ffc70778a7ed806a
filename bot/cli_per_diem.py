"""``expensebot perdiem``: the per diem rates (list, import, clear) and pricing a trip (quote)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.cli_actor import ADMIN_ROLES, as_option
from bot.cli_actor import resolve as resolve_actor
from bot.cli_settings import settings_from_env as _settings
from bot.cli_teams import in_team

if TYPE_CHECKING:
    from bot.settings import Settings


@click.group()
def perdiem() -> None:
    """Per diem: the rates trips are priced from, and pricing a trip."""


@perdiem.group()
def rates() -> None:
    """The per diem rates: the shipped tables and the company's own."""


def _sessions() -> tuple[Settings, Any, Any]:
    from storage.db import make_engine, make_sessionmaker, migrate

    settings = _settings()
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    return settings, engine, make_sessionmaker(engine)


@rates.command("list")
@click.option("--places", is_flag=True, help="Also list each place with its amounts.")
@in_team
def rates_list(places: bool) -> None:
    """Show the tables in use (the company's first), their validity, sources and places."""
    from bot.per_diem import _all_shipped, shipped_family
    from storage.per_diem import company_tables
    from workflows.money import Money
    from workflows.per_diem import describe_tables

    settings, engine, sessions = _sessions()
    try:
        with sessions() as session:
            admin = company_tables(session)
    finally:
        engine.dispose()
    family = shipped_family(settings)
    in_use = [t for t in _all_shipped() if t.table == family]
    click.echo(
        "Company table:" + ("" if admin else " none (import one with `expensebot perdiem rates import FILE`)")
    )
    for line in describe_tables(admin):
        click.echo(f"  {line}")
    click.echo(f"Shipped table (EXPENSEBOT_PER_DIEM_RATES={settings.per_diem_rates}): {family or 'none'}")
    for line in describe_tables(in_use):
        click.echo(f"  {line}")
    others = sorted({t.table for t in _all_shipped()} - {family or ""})
    if others:
        click.echo(f"Also shipped: {', '.join(others)}")
    if places:
        for table in [*admin, *in_use]:
            click.echo(f"{table.name}:")
            for place in table.places:
                meals = ", ".join(
                    f"{m.value} {Money(v, table.currency).amount_text}" for m, v in place.meals.items()
                )
                click.echo(
                    f"  {' / '.join(place.names)}: full day {Money(place.full_day, table.currency)}, "
                    f"first/last day {Money(place.partial_day, table.currency)}; meals: {meals}"
                )


@rates.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@as_option(ADMIN_ROLES)
@in_team
def rates_import(file: Path, as_email: str | None) -> None:
    """Replace the company's per diem table with FILE, a CSV with the header
    destination,currency,full_day,partial_day,breakfast,lunch,dinner[,incidentals][,aliases].

    The company's table is priced before the shipped one; the import is audited.
    """
    from storage.per_diem import import_rates
    from workflows.per_diem import PerDiemError

    actor = resolve_actor(as_email, ADMIN_ROLES)
    _, engine, sessions = _sessions()
    try:
        result = import_rates(
            sessions, file.read_text(encoding="utf-8-sig"), file.name, actor=actor.name, via=actor.via
        )
    except PerDiemError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"Per diem rates imported from {file.name}: {result.summary()}.")


@rates.command("clear")
@as_option(ADMIN_ROLES)
@in_team
def rates_clear(as_email: str | None) -> None:
    """Remove the company's per diem table (the shipped table applies alone); audited."""
    from storage.per_diem import clear_rates

    actor = resolve_actor(as_email, ADMIN_ROLES)
    _, engine, sessions = _sessions()
    try:
        removed = clear_rates(sessions, actor=actor.name, via=actor.via)
    finally:
        engine.dispose()
    click.echo(f"Removed the company's per diem table ({removed} destinations).")


@perdiem.command("quote")
@click.argument("trip", nargs=-1, required=True)
@in_team
def quote(trip: tuple[str, ...]) -> None:
    """Price a trip as `/expense perdiem` would, without claiming it, e.g.
    expensebot perdiem quote Paris, France 2026-03-02 2026-03-04 meals: 2026-03-03=breakfast
    """
    from bot.per_diem import shipped_for
    from storage.per_diem import company_tables
    from workflows.per_diem import PerDiemError, parse_command, price

    settings, engine, sessions = _sessions()
    try:
        with sessions() as session:
            admin = company_tables(session)
    finally:
        engine.dispose()
    try:
        priced = price(parse_command("perdiem " + " ".join(trip)), shipped=shipped_for(settings), admin=admin)
    except PerDiemError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Per diem for {priced.place}: {priced.total}")
    for line in priced.lines():
        click.echo(f"  {line}")
    for source in priced.sources:
        click.echo(f"  rates: {source}")
