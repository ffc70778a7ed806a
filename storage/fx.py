"""Exchange rates: imported by finance, looked up for limits and totals in the company currency.

Two kinds of rate live side by side: the shared reference rates (the feed's, ``team_id`` None; in
single-workspace mode every rate) and the rates a workspace imported (``team_id`` its team id),
seen by that workspace only. A lookup for a workspace takes the workspace's own rate of a pair
(the newest within the age limit) and falls back to the shared one when it has none.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage.db import transaction
from storage.models import Expense, FxRate
from storage.tenancy import current_team
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


def visible_to(team: str | None) -> ColumnElement[bool]:
    """The rates a workspace sees: its own and the shared ones (without a workspace: the shared)."""
    return FxRate.team_id.is_(None) if team is None else or_(FxRate.team_id.is_(None), FxRate.team_id == team)


def own_first() -> ColumnElement[bool]:
    """An ORDER BY term putting a workspace's own rates before the shared ones."""
    return FxRate.team_id.is_(None)


def looking_up_for(team: str | None) -> str | None:
    """The workspace a lookup is for: ``team``, else the one in scope (``storage.tenancy``)."""
    return team if team is not None else current_team.get()


def _converted_at(
    session: Session, base: str, quote: str, day: dt.date, team: str | None
) -> list[tuple[int, str]]:
    """Claims whose kept conversion used this pair's rate of ``day`` (id, status); a workspace's
    rate: its own claims only."""
    stmt = select(Expense.id, Expense.status).where(
        Expense.fx_rate_day == day,
        or_(Expense.currency.in_((base, quote)), Expense.reimburse_currency.in_((base, quote))),
        Expense.fx_rate.is_not(None),
    )
    if team is not None:
        stmt = stmt.where(Expense.team_id == team)
    rows = session.execute(stmt).all()
    return [(int(expense_id), str(status)) for expense_id, status in rows]


def _store(
    factory: sessionmaker[Session], rows: list[Row], source: str, actor: str, team: str | None
) -> StoreResult:
    result = StoreResult()
    if not rows:
        return result
    days = {day for _, _, day, _ in rows}
    with transaction(factory) as session:
        existing = {
            (f.base, f.quote, f.day): f
            for f in session.scalars(
                select(FxRate).where(
                    FxRate.day >= min(days),
                    FxRate.day <= max(days),
                    FxRate.team_id.is_(None) if team is None else FxRate.team_id == team,
                )
            )
        }
        for base, quote, day, rate in rows:
            row = existing.get((base, quote, day))
            if row is None:
                row = FxRate(base=base, quote=quote, day=day, rate=rate, source=source, team_id=team)
                session.add(row)
                existing[(base, quote, day)] = row
                result.new += 1
            elif row.rate == rate:
                result.unchanged += 1
            else:
                old, old_source = row.rate, row.source
                row.rate, row.source = rate, source
                result.changed += 1
                kept = _converted_at(session, base, quote, day, team)
                settled = [f"EXP-{i}" for i, status in kept if status in SETTLED]
                detail = f"{base}→{quote} {day.isoformat()} changed by {source}" + (
                    f" for workspace {team}" if team else ""
                )
                if kept:
                    detail += f"; {len(kept)} claim(s) converted at the old rate keep it" + (
                        f" (approved or paid: {', '.join(settled)})" if settled else ""
                    )
                audit.record(
                    session,
                    actor=actor,
                    action="fx_rate.changed",
                    entity="fx_rate",
                    entity_id=(f"{team}/" if team else "") + f"{base}/{quote}/{day.isoformat()}",
                    before={"rate": rate_text(old), "source": old_source},
                    after={"rate": rate_text(rate), "source": source},
                    detail=detail,
                )
                result.changes.append(
                    f"{base}→{quote} {day.isoformat()}: {rate_text(old)} → {rate_text(rate)}"
                )
                if result.changed <= AUDITED_CHANGES:
                    key = f"{base}/{quote} {day.isoformat()}"
                    result.before[key], result.after[key] = str(old), str(rate)
    return result


def store_rates(
    factory: sessionmaker[Session], rows: Iterable[Row], *, source: str, actor: str, team: str | None = None
) -> StoreResult:
    """Store ``(from, to, day, rate)`` rows: new ones added, changed ones updated and audited.

    ``team`` None stores shared rates (the feed's); a team id stores that workspace's own rates,
    which leave the shared ones and other workspaces' alone.

    A changed rate never touches claims already converted (they keep their own rate, see
    ``Expense.fx_rate``); the audit entry lists those that were approved or paid. Two processes
    storing the same day at once (the feed on a schedule, a CLI run) both succeed.
    """
    normalised = [(b.strip().upper(), q.strip().upper(), day, rate) for b, q, day, rate in rows]
    for attempt in range(3):
        try:
            return _store(factory, normalised, source, actor, team)
        except IntegrityError:  # another process added the same rows meanwhile: compare again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


AUDITED_CHANGES = 500  # rate changes listed one by one in the import's audit event; the rest counted


def import_rates(
    factory: sessionmaker[Session],
    text: str,
    source: str = "rates.csv",
    *,
    actor: str = "system",
    via: str | None = None,
    team: str | None = None,
) -> int:
    """Load ``date,from,to,rate`` rows (see ``workflows.fx.RateTable.from_csv_text``); re-imports update.

    A re-import that changes a stored rate changes past reports: every import is audited
    (``fx.imported``), with each changed rate's old and new value, and each changed rate too
    (``fx_rate.changed``, see :func:`store_rates`).

    The rates belong to ``team`` (else the workspace in scope); without a workspace (single-workspace
    mode) they are shared.

    Raises :class:`workflows.fx.RateFileError` with the line of the first bad row; nothing is
    written then.
    """
    return import_rates_result(factory, text, source, actor=actor, via=via, team=team).total


def import_rates_result(
    factory: sessionmaker[Session],
    text: str,
    source: str = "rates.csv",
    *,
    actor: str = "system",
    via: str | None = None,
    team: str | None = None,
) -> StoreResult:
    team = looking_up_for(team)
    RateTable.from_csv_text(text, source)  # validates every row first
    rows = [
        (
            r["from"].strip().upper(),
            r["to"].strip().upper(),
            dt.date.fromisoformat(r["date"].strip()),
            Decimal(r["rate"].strip()),
        )
        for r in csv.DictReader(io.StringIO(text), skipinitialspace=True)
        if r.get("date") and r["date"].strip()
    ]
    result = store_rates(factory, rows, source=source, actor=actor, team=team)
    with transaction(factory) as session:
        audit.record(
            session,
            actor=actor,
            action="fx.imported",
            entity="fx_rates",
            entity_id=source[:64],
            before=result.before or None,
            after=result.after or None,
            detail=f"{len(rows)} rows: {result.summary()}"
            + (f"; workspace {team}" if team else "")
            + (f"; {via}" if via else ""),
        )
    return result


def rate_lookup(
    session: Session, max_age_days: int = MAX_AGE_DAYS, team: str | None = None
) -> Callable[[str, str, dt.date], Decimal | None]:
    """The newest rate on or before the day, at most ``max_age_days`` old (weekends have none):
    the workspace's own (``team``, else the one in scope) when it has one, else the shared one."""
    visible = visible_to(looking_up_for(team))

    def lookup(base: str, quote: str, day: dt.date) -> Decimal | None:
        stmt = (
            select(FxRate.rate)
            .where(
                FxRate.base == base.upper(),
                FxRate.quote == quote.upper(),
                FxRate.day <= day,
                FxRate.day >= day - dt.timedelta(days=max_age_days),
                visible,
            )
            .order_by(own_first(), FxRate.day.desc())
            .limit(1)
        )
        return session.scalar(stmt)

    return lookup


def dated_rate(
    session: Session,
    from_currency: str,
    to_currency: str,
    day: dt.date,
    max_age_days: int = MAX_AGE_DAYS,
    team: str | None = None,
) -> tuple[Decimal, dt.date, str | None]:
    """The rate for ``day`` (direct, inverse or through the euro, see ``workflows.fx.find_rate``),
    the date of the stored rate(s) it came from (the older one for a cross rate) and their source.
    Each pair: the workspace's own rate (``team``, else the one in scope), else the shared one.

    Raises :class:`workflows.fx.MissingRate` when none is stored for that day or the days before.
    """
    used: list[tuple[dt.date, str | None]] = []
    visible = visible_to(looking_up_for(team))

    def lookup(base: str, quote: str, on: dt.date) -> Decimal | None:
        row = session.execute(
            select(FxRate.rate, FxRate.day, FxRate.source)
            .where(
                FxRate.base == base.upper(),
                FxRate.quote == quote.upper(),
                FxRate.day <= on,
                FxRate.day >= on - dt.timedelta(days=max_age_days),
                visible,
            )
            .order_by(own_first(), FxRate.day.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        used.append((row[1], row[2]))
        return Decimal(row[0])

    rate = find_rate(from_currency, to_currency, day, lookup)
    if not used:
        return rate, day, None
    return rate, min(d for d, _ in used), used[0][1]


@dataclass(frozen=True)
class ListedRate:
    base: str
    quote: str
    day: dt.date
    rate: Decimal
    source: str | None
    team_id: str | None  # None: shared
    used: bool  # the workspace's own, or a shared rate it has no own rate for


def listed_rates(
    session: Session, day: dt.date | None = None, currency: str | None = None, team: str | None = None
) -> tuple[dt.date | None, list[ListedRate]]:
    """The rates of ``day`` (None: the newest day with any) the workspace sees, its own first."""
    visible = visible_to(looking_up_for(team))
    if day is None:
        day = session.scalar(select(func.max(FxRate.day)).where(visible))
        if day is None:
            return None, []
    stmt = select(FxRate).where(FxRate.day == day, visible)
    if currency:
        stmt = stmt.where(or_(FxRate.base == currency.upper(), FxRate.quote == currency.upper()))
    rows = list(session.scalars(stmt.order_by(FxRate.base, FxRate.quote, own_first())))
    owned = {(r.base, r.quote) for r in rows if r.team_id is not None}
    return day, [
        ListedRate(
            r.base,
            r.quote,
            r.day,
            Decimal(r.rate),
            r.source,
            r.team_id,
            used=r.team_id is not None or (r.base, r.quote) not in owned,
        )
        for r in rows
    ]
