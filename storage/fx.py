"""Exchange rates: imported by finance, looked up for limits and totals in the company currency."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage.db import transaction
from storage.models import FxRate
from workflows.fx import RateTable

MAX_AGE_DAYS = 7


AUDITED_CHANGES = 500  # rate changes listed one by one in the audit event; the rest are counted


def import_rates(
    factory: sessionmaker[Session], text: str, source: str = "rates.csv", *, actor: str = "system",
    via: str | None = None,
) -> int:  # fmt: skip
    """Load ``date,from,to,rate`` rows (see ``workflows.fx.RateTable.from_csv_text``); re-imports update.

    A re-import that changes a stored rate changes past reports: every import is audited
    (``fx.imported``), with each changed rate's old and new value.

    Raises :class:`workflows.fx.RateFileError` with the line of the first bad row; nothing is
    written then.
    """
    RateTable.from_csv_text(text, source)  # validates every row first
    rows = [
        (r["from"].strip().upper(), r["to"].strip().upper(), dt.date.fromisoformat(r["date"].strip()),
         Decimal(r["rate"].strip()))
        for r in csv.DictReader(io.StringIO(text), skipinitialspace=True)
        if r.get("date") and r["date"].strip()
    ]  # fmt: skip
    with transaction(factory) as session:
        existing = {(f.base, f.quote, f.day): f for f in session.scalars(select(FxRate))}
        new = 0
        before: dict[str, str] = {}
        after: dict[str, str] = {}
        changed = 0
        for base, quote, day, rate in rows:
            row = existing.get((base, quote, day))
            if row is None:
                row = FxRate(base=base, quote=quote, day=day, rate=rate)
                session.add(row)
                existing[(base, quote, day)] = row
                new += 1
            elif row.rate != rate:
                changed += 1
                if changed <= AUDITED_CHANGES:
                    key = f"{base}/{quote} {day.isoformat()}"
                    before[key], after[key] = str(row.rate), str(rate)
                row.rate = rate
        audit.record(session, actor=actor, action="fx.imported", entity="fx_rates", entity_id=source[:64],
                     before=before or None, after=after or None,
                     detail=f"{len(rows)} rows: {new} new, {changed} changed, {len(rows) - new - changed} "
                            f"unchanged" + (f"; {via}" if via else ""))  # fmt: skip
    return len(rows)


def rate_lookup(
    session: Session, max_age_days: int = MAX_AGE_DAYS
) -> Callable[[str, str, dt.date], Decimal | None]:
    """The newest rate on or before the day, at most ``max_age_days`` old (weekends have none)."""

    def lookup(base: str, quote: str, day: dt.date) -> Decimal | None:
        stmt = (
            select(FxRate.rate)
            .where(FxRate.base == base.upper(), FxRate.quote == quote.upper(), FxRate.day <= day,
                   FxRate.day >= day - dt.timedelta(days=max_age_days))
            .order_by(FxRate.day.desc())
            .limit(1)
        )  # fmt: skip
        return session.scalar(stmt)

    return lookup
