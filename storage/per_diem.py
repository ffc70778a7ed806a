"""The company's own per diem rates (``per_diem_rates``): imported from a CSV, read for pricing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage.db import transaction
from storage.models import PerDiemRate
from workflows.per_diem import AdminRow, RateTable, admin_tables, parse_admin_csv


@dataclass(frozen=True)
class ImportResult:
    before: int
    after: int
    currencies: tuple[str, ...]

    def summary(self) -> str:
        return f"{self.after} destinations in {', '.join(self.currencies)} (replacing {self.before})"


def import_rates(
    sessions: sessionmaker[Session], text: str, source: str, *, actor: str, via: str = "cli"
) -> ImportResult:
    """Replace the company's per diem table with the file's rows (all or nothing, audited).

    Raises :class:`workflows.per_diem.PerDiemError` for a file that does not parse.
    """
    rows = parse_admin_csv(text, name=source)
    with transaction(sessions) as session:
        before = session.scalar(select(func.count()).select_from(PerDiemRate)) or 0
        session.execute(delete(PerDiemRate))
        for row in rows:
            session.add(
                PerDiemRate(
                    destination=row.destination,
                    aliases=list(row.aliases),
                    currency=row.currency,
                    full_day=row.full_day,
                    partial_day=row.partial_day,
                    breakfast=row.breakfast,
                    lunch=row.lunch,
                    dinner=row.dinner,
                    incidentals=row.incidentals,
                    source=source[:255],
                    imported_by=actor,
                )
            )
        currencies = tuple(sorted({row.currency for row in rows}))
        audit.record(
            session,
            actor=actor,
            action="per_diem.rates_imported",
            entity="per_diem_rates",
            entity_id="company",
            before={"destinations": before},
            after={"destinations": len(rows), "currencies": list(currencies), "file": source},
            detail=f"via {via}",
        )
    return ImportResult(before=before, after=len(rows), currencies=currencies)


def clear_rates(sessions: sessionmaker[Session], *, actor: str, via: str = "cli") -> int:
    """Remove the company's table (the shipped tables apply again); audited. Returns rows removed."""
    with transaction(sessions) as session:
        before = session.scalar(select(func.count()).select_from(PerDiemRate)) or 0
        session.execute(delete(PerDiemRate))
        audit.record(
            session,
            actor=actor,
            action="per_diem.rates_cleared",
            entity="per_diem_rates",
            entity_id="company",
            before={"destinations": before},
            after={"destinations": 0},
            detail=f"via {via}",
        )
    return before


def admin_rows(session: Session) -> list[AdminRow]:
    return [
        AdminRow(
            destination=r.destination,
            aliases=tuple(r.aliases or ()),
            currency=r.currency,
            full_day=r.full_day,
            partial_day=r.partial_day,
            breakfast=r.breakfast,
            lunch=r.lunch,
            dinner=r.dinner,
            incidentals=r.incidentals,
        )
        for r in session.scalars(select(PerDiemRate).order_by(PerDiemRate.id))
    ]


def company_tables(session: Session) -> list[RateTable]:
    """The admin's table (one per currency), empty when none was imported."""
    rows = admin_rows(session)
    if not rows:
        return []
    latest = session.execute(
        select(PerDiemRate.source, PerDiemRate.imported_at).order_by(PerDiemRate.id.desc()).limit(1)
    ).first()
    source = "the company's per diem rates"
    if latest is not None:
        source = f"the company's per diem rates ({latest[0] or 'imported'}, {latest[1]:%Y-%m-%d})"
    return admin_tables(rows, source)
