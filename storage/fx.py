"""Exchange rates: imported by finance, looked up for limits and totals in the company currency."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage.db import transaction
from storage.models import Expense, FxRate
from workflows.fx import RateTable, find_rate

MAX_AGE_DAYS = 7
SETTLED = ("approved", "paid")


@dataclass
class StoreResult:
    """What storing a set of rates did: rows new, changed (audited) and already known."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    changes: list[str] = field(default_factory=list)  # "EUR→USD 2026-12-04: 1.0705 → 1.0712"
    before: dict[str, str] = field(default_factory=dict)  # "USD/MYR 2026-11-02": old rate
    after: dict[str, str] = field(default_factory=dict)  # the same keys: new rate

    @property
    def total(self) -> int:
        return self.new + self.changed + self.unchanged

    def summary(self) -> str:
        return f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged"


Row = tuple[str, str, dt.date, Decimal]


def rate_text(rate: Decimal) -> str:
    """A rate without trailing zeros (PostgreSQL returns ``1.070500000000``): ``1.0705``."""
    return f"{rate.normalize():f}"


def _converted_at(session: Session, base: str, quote: str, day: dt.date) -> list[tuple[int, str]]:
    """Claims whose kept conversion used this pair's rate of ``day`` (id, status)."""
    rows = session.execute(
        select(Expense.id, Expense.status).where(
            Expense.fx_rate_day == day,
            or_(Expense.currency.in_((base, quote)), Expense.reimburse_currency.in_((base, quote))),
            Expense.fx_rate.is_not(None),
        )
    ).all()
    return [(int(expense_id), str(status)) for expense_id, status in rows]


def _store(factory: sessionmaker[Session], rows: list[Row], source: str, actor: str) -> StoreResult:
    result = StoreResult()
    if not rows:
        return result
    days = {day for _, _, day, _ in rows}
    with transaction(factory) as session:
        existing = {
            (f.base, f.quote, f.day): f
            for f in session.scalars(select(FxRate).where(FxRate.day >= min(days), FxRate.day <= max(days)))
        }
        for base, quote, day, rate in rows:
            row = existing.get((base, quote, day))
            if row is None:
                row = FxRate(base=base, quote=quote, day=day, rate=rate, source=source)
                session.add(row)
                existing[(base, quote, day)] = row
                result.new += 1
            elif row.rate == rate:
                result.unchanged += 1
            else:
                old, old_source = row.rate, row.source
                row.rate, row.source = rate, source
                result.changed += 1
                kept = _converted_at(session, base, quote, day)
                settled = [f"EXP-{i}" for i, status in kept if status in SETTLED]
                detail = f"{base}→{quote} {day.isoformat()} changed by {source}"
                if kept:
                    detail += f"; {len(kept)} claim(s) converted at the old rate keep it" + (
                        f" (approved or paid: {', '.join(settled)})" if settled else ""
                    )
                audit.record(session, actor=actor, action="fx_rate.changed", entity="fx_rate",
                             entity_id=f"{base}/{quote}/{day.isoformat()}",
                             before={"rate": rate_text(old), "source": old_source},
                             after={"rate": rate_text(rate), "source": source}, detail=detail)  # fmt: skip
                result.changes.append(
                    f"{base}→{quote} {day.isoformat()}: {rate_text(old)} → {rate_text(rate)}"
                )
                if result.changed <= AUDITED_CHANGES:
                    key = f"{base}/{quote} {day.isoformat()}"
                    result.before[key], result.after[key] = str(old), str(rate)
    return result


def store_rates(
    factory: sessionmaker[Session], rows: Iterable[Row], *, source: str, actor: str
) -> StoreResult:
    """Store ``(from, to, day, rate)`` rows: new ones added, changed ones updated and audited.

    A changed rate never touches claims already converted (they keep their own rate, see
    ``Expense.fx_rate``); the audit entry lists those that were approved or paid. Two processes
    storing the same day at once (the feed on a schedule, a CLI run) both succeed.
    """
    normalised = [(b.strip().upper(), q.strip().upper(), day, rate) for b, q, day, rate in rows]
    for attempt in range(3):
        try:
            return _store(factory, normalised, source, actor)
        except IntegrityError:  # another process added the same rows meanwhile: compare again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


AUDITED_CHANGES = 500  # rate changes listed one by one in the import's audit event; the rest counted


def import_rates(
    factory: sessionmaker[Session], text: str, source: str = "rates.csv", *, actor: str = "system",
    via: str | None = None,
) -> int:  # fmt: skip
    """Load ``date,from,to,rate`` rows (see ``workflows.fx.RateTable.from_csv_text``); re-imports update.

    A re-import that changes a stored rate changes past reports: every import is audited
    (``fx.imported``), with each changed rate's old and new value, and each changed rate too
    (``fx_rate.changed``, see :func:`store_rates`).

    Raises :class:`workflows.fx.RateFileError` with the line of the first bad row; nothing is
    written then.
    """
    return import_rates_result(factory, text, source, actor=actor, via=via).total


def import_rates_result(
    factory: sessionmaker[Session], text: str, source: str = "rates.csv", *, actor: str = "system",
    via: str | None = None,
) -> StoreResult:  # fmt: skip
    RateTable.from_csv_text(text, source)  # validates every row first
    rows = [
        (r["from"].strip().upper(), r["to"].strip().upper(), dt.date.fromisoformat(r["date"].strip()),
         Decimal(r["rate"].strip()))
        for r in csv.DictReader(io.StringIO(text), skipinitialspace=True)
        if r.get("date") and r["date"].strip()
    ]  # fmt: skip
    result = store_rates(factory, rows, source=source, actor=actor)
    with transaction(factory) as session:
        audit.record(session, actor=actor, action="fx.imported", entity="fx_rates", entity_id=source[:64],
                     before=result.before or None, after=result.after or None,
                     detail=f"{len(rows)} rows: {result.summary()}" + (f"; {via}" if via else ""))  # fmt: skip
    return result


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


def dated_rate(
    session: Session, from_currency: str, to_currency: str, day: dt.date, max_age_days: int = MAX_AGE_DAYS
) -> tuple[Decimal, dt.date, str | None]:
    """The rate for ``day`` (direct, inverse or through the euro, see ``workflows.fx.find_rate``),
    the date of the stored rate(s) it came from (the older one for a cross rate) and their source.

    Raises :class:`workflows.fx.MissingRate` when none is stored for that day or the days before.
    """
    used: list[tuple[dt.date, str | None]] = []

    def lookup(base: str, quote: str, on: dt.date) -> Decimal | None:
        row = session.execute(
            select(FxRate.rate, FxRate.day, FxRate.source)
            .where(FxRate.base == base.upper(), FxRate.quote == quote.upper(), FxRate.day <= on,
                   FxRate.day >= on - dt.timedelta(days=max_age_days))
            .order_by(FxRate.day.desc())
            .limit(1)
        ).first()  # fmt: skip
        if row is None:
            return None
        used.append((row[1], row[2]))
        return Decimal(row[0])

    rate = find_rate(from_currency, to_currency, day, lookup)
    if not used:
        return rate, day, None
    return rate, min(d for d, _ in used), used[0][1]
