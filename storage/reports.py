"""Spend reports: totals by customer, deal, project, department, category or employee over a period.

Aggregation happens in SQL: one pass groups the expenses by (key, currency, month); on PostgreSQL
the same statement converts those sums at the month's rate and rolls them up (grouping sets), on
SQLite Python does that roll-up in Decimal. One more query finds the top merchants per customer,
one the rates. Expenses count once approved (approved or paid), on the day they were spent, at
the approved amount when finance changed it.

Amounts are converted into the company currency month by month, at the average of that month's
rates for the pair in ``fx_rates`` (the direct rate, or the inverse of the opposite one), applied
with 12 decimals. A month without a rate for a currency that occurs in it is an error that names
the pair and month: never a silent 1:1 conversion.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Numeric,
    String,
    and_,
    cast,
    func,
    literal,
    null,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session

from storage.fx import looking_up_for, visible_to
from storage.models import Customer, Deal, Expense, ExpenseProject, FxRate, Project
from storage.tenancy import in_current_team
from workflows.categories import category_label
from workflows.expenses import Status
from workflows.exports import csv_text
from workflows.fx import PIVOT
from workflows.money import Money, MoneyError, is_currency, minor_units

DIMENSIONS = ("customer", "deal", "project", "department", "category", "employee")
COUNTED = (Status.APPROVED.value, Status.PAID.value)
NONE_LABEL = {
    "customer": "(no customer)",
    "deal": "(no deal)",
    "project": "(no project)",
    "department": "(no department)",
    "category": "Uncategorised",
    "employee": "(unknown)",
}


class ReportError(MoneyError):
    """A report that cannot be made (e.g. a missing exchange rate). ``str(err)`` is for people."""


@dataclass
class ReportRow:
    key: str
    count: int = 0
    total: Decimal = Decimal(0)  # company currency, rounded to its minor unit
    per_currency: dict[str, Decimal] = field(default_factory=dict)  # original currencies
    by_month: dict[str, Decimal] = field(default_factory=dict)  # the period's last two months only
    top_merchants: list[tuple[str, int]] = field(default_factory=list)

    @property
    def average(self) -> Decimal:
        return self.total / self.count if self.count else Decimal(0)

    def change(self, month: str, previous: str) -> Decimal | None:
        """Month-over-month change of ``month`` against ``previous``, in percent (None: no base)."""
        before = self.by_month.get(previous, Decimal(0))
        if not before:
            return None
        return (self.by_month.get(month, Decimal(0)) - before) / before * 100


@dataclass
class Report:
    by: str
    start: dt.date
    end: dt.date
    currency: str
    rows: list[ReportRow]
    months: list[str]
    month_totals: dict[str, Decimal] = field(default_factory=dict)  # every month, company currency
    rates_used: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (currency, month) -> rate

    @property
    def count(self) -> int:
        return sum(r.count for r in self.rows)

    @property
    def total(self) -> Decimal:
        return sum((r.total for r in self.rows), Decimal(0))

    @property
    def average(self) -> Decimal:
        return self.total / self.count if self.count else Decimal(0)

    @property
    def per_currency(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(Decimal)
        for row in self.rows:
            for cur, amount in row.per_currency.items():
                out[cur] += amount
        return dict(sorted(out.items()))

    @property
    def by_month(self) -> dict[str, Decimal]:
        return {m: self.month_totals.get(m, Decimal(0)) for m in self.months}

    def mom(self) -> tuple[str, str] | None:
        """The last two months of the period (for month-over-month change), if it spans two."""
        return (self.months[-1], self.months[-2]) if len(self.months) >= 2 else None

    def money(self, amount: Decimal) -> str:
        return Money(amount, self.currency).format()


def months_between(start: dt.date, end: dt.date) -> list[str]:
    out = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _month_start(session: Session, column: Any) -> ColumnElement[Any]:
    """The month of a date, to group and join on: its first day on PostgreSQL (``date_trunc``;
    ``EXTRACT`` computes in NUMERIC and cost a third of the report), ``YYYY-MM`` on SQLite."""
    if _postgres(session):
        return cast(func.date_trunc("month", cast(column, DateTime)), Date)  # timestamp: no time zone work
    return func.strftime("%Y-%m", column)


def _month_key(value: Any) -> str:
    """``YYYY-MM`` from what :func:`_month_start` returns (a date or the text itself)."""
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}"
    return str(value)[:7]


def _first_day(month: str) -> dt.date:
    return dt.date(int(month[:4]), int(month[5:7]), 1)


def _month_of(session: Session, column: Any) -> ColumnElement[str]:
    if _postgres(session):
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


AMOUNT = func.coalesce(Expense.approved_amount, Expense.amount)
ZERO = Decimal(0)
RATE_PLACES = Decimal("1e-12")  # rates are applied with 12 decimals (NUMERIC(24, 12) in SQL)


def _key_column(by: str) -> tuple[Any, list[Any]]:
    """The SQL grouping column for a dimension and the outer joins it needs."""
    if by == "customer":
        return Expense.customer_id, []  # names are looked up afterwards (2,000 customers: one query)
    if by == "deal":
        return Expense.deal_id, []  # names, like customers', are looked up afterwards
    if by == "project":
        # A CRM project by its current name; the free-text project where none is linked.
        return func.coalesce(Project.name, ExpenseProject.project), [
            (ExpenseProject, ExpenseProject.expense_id == Expense.id),
            (Project, Project.id == ExpenseProject.project_id),
        ]
    if by == "category":
        return Expense.category, []
    # department (mapped from the directory afterwards) and employee
    return func.coalesce(Expense.employee_email, cast(Expense.employee_id, String)), []


def _rates(session: Session, currency: str, months: Sequence[str]) -> dict[tuple[str, str, str], Decimal]:
    """Average rate per (from, to, month) for pairs involving ``currency`` or the euro (cross
    rates go through it, as the ECB's reference rates do) in ``months``: of the workspace's own
    rates (the one in scope) when it has some for that pair and month, else of the shared ones."""
    month = _month_of(session, FxRate.day)
    owner = FxRate.team_id.is_not(None)
    stmt = (
        select(FxRate.base, FxRate.quote, month.label("m"), func.avg(FxRate.rate), owner.label("own"))
        .where(visible_to(looking_up_for(None)))
        .where(
            (FxRate.base == currency)
            | (FxRate.quote == currency)
            | (FxRate.base == PIVOT)
            | (FxRate.quote == PIVOT)
        )
        .where(month.in_(list(months)))
        .group_by(FxRate.base, FxRate.quote, month, owner)
    )
    averages: dict[tuple[str, str, str], Decimal] = {}
    owned: set[tuple[str, str, str]] = set()
    for b, q, m, r, own in session.execute(stmt):
        if own or (b, q, m) not in owned:
            averages[(b, q, m)] = Decimal(str(r))
        if own:
            owned.add((b, q, m))
    return averages


def _rate(
    rates: dict[tuple[str, str, str], Decimal], cur: str, to: str, month: str, cross: bool = True
) -> Decimal | None:
    if cur == to:
        return Decimal(1)
    direct = rates.get((cur, to, month))
    if direct:
        return direct
    inverse = rates.get((to, cur, month))
    if inverse:
        return Decimal(1) / inverse
    if cross and PIVOT not in (cur, to):
        first, second = _rate(rates, cur, PIVOT, month, False), _rate(rates, PIVOT, to, month, False)
        if first is not None and second is not None:
            return first * second
    return None


def _missing(missing: set[tuple[str, str, str]]) -> ReportError:
    pairs = ", ".join(f"{cur}→{to} for {month}" for cur, to, month in sorted(missing))
    return ReportError(
        f"No exchange rate {pairs}: add rates to the fx_rates table for those months (date, from, to, rate) "
        "and run the report again. Amounts are never converted 1:1."
    )


def _rates_into(
    rates: dict[tuple[str, str, str], Decimal], currency: str, months: Sequence[str]
) -> dict[tuple[str, str], Decimal]:
    """``(currency, month) -> rate into the report currency`` for every pair with a rate."""
    known: dict[tuple[str, str], Decimal] = {(currency, m): Decimal(1) for m in months}
    for base, quote, m in rates:
        for other in {base, quote} - {currency}:
            rate = _rate(rates, other, currency, m)
            if rate is not None:
                known[(other, m)] = rate.quantize(RATE_PLACES, ROUND_HALF_UP)
    return known


def _rates_cte(known: dict[tuple[str, str], Decimal]) -> Any:
    """The rates of :func:`_rates_into` as a small CTE ``rates(cur, m, rate)``, m a month's first day."""
    parts = [
        select(
            literal(cur, String(3)).label("cur"),
            literal(_first_day(m), Date).label("m"),
            literal(rate, Numeric(24, 12)).label("rate"),
        )
        for (cur, m), rate in sorted(known.items())
    ]
    return union_all(*parts).cte("rates") if len(parts) > 1 else parts[0].cte("rates")


# (key, currency, count, amount in that currency, converted total, converted in the period's
# last-but-one month, converted in its last month) and (currency, month, converted, unrated groups)
KeyTotals = tuple[Any, str, int, Decimal, Decimal, Decimal, Decimal]
MonthTotals = tuple[str, str, Decimal, int]


def _grouped(session: Session, by: str, where: Any) -> Any:
    """Count and original amount per (key, currency, month): the one pass over the expenses."""
    key, joins = _key_column(by)
    month = _month_start(session, Expense.spent_on)
    stmt = select(
        key.label("k"),
        Expense.currency.label("cur"),
        month.label("m"),
        func.count().label("n"),
        func.sum(AMOUNT).label("a"),
    )
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    return stmt.where(where).group_by(key, Expense.currency, month)


def _totals_in_sql(
    session: Session, grouped: Any, known: dict[tuple[str, str], Decimal], last_two: Sequence[str]
) -> tuple[list[KeyTotals], list[MonthTotals]]:
    """PostgreSQL: convert the per-month groups at the month's rate and roll them up, in one query.

    Converting the ~40,000 (key, currency, month) sums instead of the 100,000 rows, and two
    grouping sets instead of three, is what keeps the report by customer well under a second.
    """
    g = grouped.cte("g")
    r = _rates_cte(known)
    value = g.c.a * r.c.rate
    in_month: list[Any] = [func.sum(value).filter(g.c.m == _first_day(m)) for m in last_two]
    while len(in_month) < 2:
        in_month.insert(0, cast(null(), Numeric))
    stmt = (
        select(
            g.c.k,
            g.c.cur,
            g.c.m,
            func.grouping(g.c.k, g.c.m),
            func.sum(g.c.n),
            func.sum(g.c.a),
            func.sum(value),
            *in_month,
            func.count().filter(r.c.rate.is_(None)),
        )
        .select_from(g.outerjoin(r, and_(r.c.cur == g.c.cur, r.c.m == g.c.m)))
        .group_by(func.grouping_sets(tuple_(g.c.k, g.c.cur), tuple_(g.c.cur, g.c.m)))
    )
    per_key: list[KeyTotals] = []
    per_month: list[MonthTotals] = []
    for k, cur, m, flags, n, a, conv, before_last, last, unrated in session.connection().execute(stmt).all():
        if flags == 0b01:  # (key, currency)
            per_key.append((k, cur, int(n), a, conv or ZERO, before_last or ZERO, last or ZERO))
        else:  # (currency, month)
            per_month.append((cur, _month_key(m), conv or ZERO, int(unrated)))
    return per_key, per_month


def _totals_in_python(
    session: Session, grouped: Any, known: dict[tuple[str, str], Decimal], last_two: Sequence[str]
) -> tuple[list[KeyTotals], list[MonthTotals]]:
    """SQLite: the same roll-up in Python, in Decimal (SQLite would multiply in binary floating point)."""
    before_last, last = ([None, *last_two] if len(last_two) < 2 else list(last_two))[-2:]
    keyed: dict[tuple[Any, str], list[Any]] = {}
    monthly: dict[tuple[str, str], list[Any]] = {}
    with localcontext() as ctx:
        ctx.prec = 60  # exact: 18 digits of amount times 24 of rate, summed
        for k, cur, m, n, a in session.connection().execute(grouped).all():
            month = _month_key(m)
            amount = _exact(a)
            rate = known.get((cur, month))
            value = amount * rate if rate is not None else ZERO
            acc = keyed.setdefault((k, cur), [0, ZERO, ZERO, ZERO, ZERO])
            acc[0] += int(n)
            acc[1] += amount
            acc[2] += value
            if month == before_last:
                acc[3] += value
            elif month == last:
                acc[4] += value
            mon = monthly.setdefault((cur, month), [ZERO, 0])
            mon[0] += value
            mon[1] += 1 if rate is None else 0
    per_key: list[KeyTotals] = [
        (k, cur, n, a, total, before, in_last) for (k, cur), (n, a, total, before, in_last) in keyed.items()
    ]
    per_month: list[MonthTotals] = [(cur, m, conv, unrated) for (cur, m), (conv, unrated) in monthly.items()]
    return per_key, per_month


def spend_report(
    session: Session,
    by: str,
    start: dt.date,
    end: dt.date,
    currency: str,
    *,
    department_of: Callable[[str], str | None] | None = None,
    top_merchants: int = 3,
) -> Report:
    """Spend between ``start`` and ``end`` (inclusive) grouped by ``by``, in ``currency``.

    One pass groups the expenses by (key, currency, month) in SQL; those sums are converted at
    the month's rate (in SQL on PostgreSQL, in Decimal on SQLite) and rolled up per key and per
    month. By customer, one more grouped query finds the top merchants.
    """
    if by not in DIMENSIONS:
        raise ReportError(f"Unknown report dimension {by!r}; choose one of {', '.join(DIMENSIONS)}.")
    if end < start:
        raise ReportError(f"The period ends ({end}) before it starts ({start}).")
    currency = currency.upper()
    if not is_currency(currency):
        raise ReportError(f"“{currency}” is not an ISO 4217 currency code.")
    postgres = _postgres(session)
    if postgres:  # grouping 100,000 rows by customer, currency and month fits in memory instead of spilling
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    # Core queries (session.connection()) pass the ORM's workspace filter by: scoped here.
    where = and_(
        Expense.status.in_(COUNTED),
        Expense.spent_on >= start,
        Expense.spent_on <= end,
        Expense.currency.is_not(None),
        in_current_team(Expense.team_id),
    )
    months = months_between(start, end)
    last_two = months[-2:]
    rates = _rates(session, currency, months)
    known = _rates_into(rates, currency, months)
    roll_up = _totals_in_sql if postgres else _totals_in_python
    per_key, per_month = roll_up(session, _grouped(session, by, where), known, last_two)
    missing = {(cur, currency, month) for cur, month, _conv, unrated in per_month if unrated}
    if missing:
        raise _missing(missing)
    names = _customer_names(session) if by == "customer" else _deal_names(session) if by == "deal" else {}

    rows: dict[str, ReportRow] = {}
    labels: dict[Any, str] = {}

    def label_of(raw_key: Any) -> str:
        if raw_key not in labels:
            named = names.get(raw_key) if by in ("customer", "deal") else raw_key
            labels[raw_key] = _label(by, named, department_of)
        return labels[raw_key]

    cent = Decimal(1).scaleb(-minor_units(currency))
    sums: dict[str, list[Decimal]] = {}  # label -> [total, last-but-one month, last month], unrounded
    for raw_key, cur, count, amount, total, before_last, last in per_key:
        label = label_of(raw_key)
        row = rows.get(label)
        if row is None:
            row = rows[label] = ReportRow(key=label)
            sums[label] = [ZERO, ZERO, ZERO]
        row.count += count
        row.per_currency[cur] = row.per_currency.get(cur, ZERO) + _exact(amount)
        acc = sums[label]
        acc[0] += total
        acc[1] += before_last
        acc[2] += last
    for label, (total, before_last, last) in sums.items():
        row = rows[label]
        row.total = total.quantize(cent, ROUND_HALF_UP)
        for m, amount in zip(months[-2:], (before_last, last)[-len(last_two) :], strict=True):
            if amount:
                row.by_month[m] = amount.quantize(cent, ROUND_HALF_UP)
        row.per_currency = dict(sorted(row.per_currency.items()))
    by_month: dict[str, Decimal] = defaultdict(Decimal)
    for _cur, month, conv, _unrated in per_month:
        by_month[month] += conv
    month_totals = {m: amount.quantize(cent, ROUND_HALF_UP) for m, amount in sorted(by_month.items())}
    if by == "customer" and top_merchants and rows:
        _add_top_merchants(session, rows, names, where, top_merchants)
    currencies_seen = {c for row in rows.values() for c in row.per_currency}
    used = {
        (cur, m): rate
        for (cur, m), rate in sorted(known.items())
        if cur != currency and cur in currencies_seen and month_totals.get(m)
    }
    ordered = sorted(rows.values(), key=lambda r: (-r.total, r.key))
    return Report(
        by=by,
        start=start,
        end=end,
        currency=currency,
        rows=ordered,
        months=months,
        month_totals=month_totals,
        rates_used=used,
    )


def _exact(value: Any) -> Decimal:
    """A SUM of NUMERIC(18,4) as an exact Decimal (SQLite sums in binary floating point)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(Decimal("0.0001"))


def _customer_names(session: Session) -> dict[int | None, str]:
    query = select(Customer.id, Customer.name).where(in_current_team(Customer.team_id))  # Core: scoped here
    return dict(session.connection().execute(query).tuples().all())


def _deal_names(session: Session) -> dict[int | None, str]:
    """Deal names with their customer ("Globex - pilot (Globex Inc)") so equal names stay apart."""
    rows = session.connection().execute(
        select(Deal.id, Deal.name, Customer.name)
        .outerjoin(Customer, Customer.id == Deal.customer_id)
        .where(in_current_team(Deal.team_id))
    )
    return {deal_id: f"{name} ({customer})" if customer else name for deal_id, name, customer in rows}


def _label(by: str, raw: Any, department_of: Callable[[str], str | None] | None) -> str:
    if raw is None or raw == "":
        return NONE_LABEL[by]
    if by == "category":
        return category_label(str(raw))
    if by == "department":
        department = department_of(str(raw)) if department_of else None
        return department or NONE_LABEL[by]
    return str(raw)


def _add_top_merchants(
    session: Session, rows: dict[str, ReportRow], names: dict[int | None, str], where: Any, limit: int
) -> None:
    merchant = func.coalesce(Expense.merchant, "(unknown merchant)")
    # Ties are broken by the name's code points, as SQLite and the Python tie-break below do; the
    # database's own collation (en_US, say) would sort 50,000 names several times slower.
    by_name = merchant.collate("C") if _postgres(session) else merchant
    counted = (
        select(
            Expense.customer_id.label("customer"),
            merchant.label("merchant"),
            func.count().label("n"),
            func.row_number()
            .over(partition_by=Expense.customer_id, order_by=(func.count().desc(), by_name))
            .label("rank"),
        )
        .where(where, Expense.customer_id.is_not(None))
        .group_by(Expense.customer_id, merchant)
        .subquery()
    )
    stmt = select(counted.c.customer, counted.c.merchant, counted.c.n).where(counted.c.rank <= limit)
    ranked = session.connection().execute(stmt.order_by(counted.c.customer, counted.c.rank)).all()
    for customer_id, name, n in ranked:
        row = rows.get(names.get(customer_id, ""))
        if row is not None:
            row.top_merchants.append((name, int(n)))
    for row in rows.values():
        if len(row.top_merchants) > limit:  # customers sharing a name
            row.top_merchants = sorted(row.top_merchants, key=lambda t: (-t[1], t[0]))[:limit]


def _pct(value: Decimal | None) -> str:
    return "" if value is None else f"{value:+.1f}%"


def report_csv(report: Report) -> str:
    currencies = list(report.per_currency)
    mom = report.mom()
    header = [report.by, "count", f"total_{report.currency}", f"average_{report.currency}"]
    header += [f"{m}_{report.currency}" for m in report.months[-2:]]
    header += ["mom_change_pct"] + [f"amount_{c}" for c in currencies] + ["top_merchants"]
    rows = []
    for row in report.rows:
        rows.append(
            [
                row.key,
                str(row.count),
                Money(row.total, report.currency).amount_text,
                Money(row.average, report.currency).amount_text,
            ]
            + [
                Money(row.by_month.get(m, Decimal(0)), report.currency).amount_text
                for m in report.months[-2:]
            ]
            + [_pct(row.change(*mom)) if mom else ""]
            + [Money(row.per_currency[c], c).amount_text if c in row.per_currency else "" for c in currencies]
            + ["; ".join(f"{name} ({n})" for name, n in row.top_merchants)]
        )
    return csv_text(header, rows)  # no cell a spreadsheet would run as a formula


def report_text(report: Report, limit: int = 50) -> str:
    mom = report.mom()
    lines = [
        f"Spend by {report.by}, {report.start} to {report.end}, in {report.currency} "
        f"(approved and paid expenses; {report.count} expenses, total {report.money(report.total)}, "
        f"average {report.money(report.average)})"
    ]
    if mom:
        by_month = report.by_month
        change = (by_month[mom[0]] - by_month[mom[1]]) / by_month[mom[1]] * 100 if by_month[mom[1]] else None
        lines.append(
            f"{mom[0]} against {mom[1]}: {report.money(by_month[mom[0]])} vs "
            f"{report.money(by_month[mom[1]])} ({_pct(change) or 'no spend the month before'})"
        )
    width = max([len(r.key) for r in report.rows[:limit]] + [len(report.by)])
    for row in report.rows[:limit]:
        detail = ", ".join(Money(a, c).format() for c, a in row.per_currency.items())
        extra = f"  mom {_pct(row.change(*mom))}" if mom and row.change(*mom) is not None else ""
        merchants = (
            ("  top: " + "; ".join(f"{n} ({k})" for n, k in row.top_merchants)) if row.top_merchants else ""
        )
        lines.append(
            f"  {row.key:<{width}}  {row.count:>6}  {report.money(row.total):>20}  "
            f"avg {report.money(row.average):>16}  [{detail}]{extra}{merchants}"
        )
    if len(report.rows) > limit:
        lines.append(f"  ... and {len(report.rows) - limit} more (use --csv for all)")
    lines.append(
        "  per currency: "
        + (", ".join(Money(a, c).format() for c, a in report.per_currency.items()) or "nothing")
    )
    return "\n".join(lines)


def report_png(report: Report, *, top: int = 15) -> bytes:
    """A horizontal bar chart of the largest rows (PNG bytes)."""
    return bar_chart_png(
        [(f"Spend by {report.by} ({report.currency})", [(r.key, r.total) for r in report.rows[:top]])],
        title=f"{report.start} to {report.end}",
    )


def bar_chart_png(panels: Sequence[tuple[str, Sequence[tuple[str, Decimal]]]], *, title: str) -> bytes:
    """Side-by-side horizontal bar charts, e.g. spend by category and by customer."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    tallest = max([len(items) for _, items in panels] + [1])
    fig = Figure(figsize=(6 * len(panels), 1.2 + 0.35 * tallest), dpi=100)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, items) in zip(axes, panels, strict=True):
        labels = [k if len(k) <= 28 else k[:27] + "…" for k, _ in items][::-1]
        values = [float(v) for _, v in items][::-1]  # drawing only; amounts stay Decimal elsewhere
        ax.barh(labels, values, color="#4a7bd0")
        ax.set_title(name, fontsize=10)
        ax.tick_params(labelsize=8)
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
