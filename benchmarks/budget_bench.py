"""Budget checks at scale: the spend behind one claim's budgets among 100,000 expenses.

    .venv/bin/python benchmarks/budget_bench.py postgresql+psycopg://user:pw@host/postgres
    .venv/bin/python benchmarks/budget_bench.py sqlite

With a PostgreSQL admin URL (like ``TEST_DATABASE_URL``) a fresh database is created next to it,
seeded, timed and dropped; ``sqlite`` uses a temporary file. The seed: 100,000 expenses over 500
employees in 20 departments, 2,000 customers, 50 projects and 5 currencies (one year, daily
rates). Timed: what an approval request computes for one claim with a department budget (month),
a customer budget (quarter) and a project budget (year): the aggregate query, the rates, and the
evaluation. Each figure is the median of ``--repeat`` runs after one warm-up run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.budgets import customer_names, rates_for, spent_against
from storage.db import make_engine, make_sessionmaker, migrate, transaction
from storage.models import Customer, Expense, ExpenseProject, FxRate
from workflows.budgets import BudgetClaim, evaluate_budgets
from workflows.money import Money
from workflows.policy import Policy, load_policy

EXPENSES, EMPLOYEES, DEPARTMENTS, CUSTOMERS, PROJECTS = 100_000, 500, 20, 2_000, 50
CURRENCIES = {
    "USD": Decimal(1),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "JPY": Decimal("0.0067"),
    "SGD": Decimal("0.74"),
}
START, END = dt.date(2025, 12, 1), dt.date(2026, 11, 30)
CLAIM_DAY = dt.date(2026, 11, 20)
POLICY_TEXT = """company_currency: USD
budgets:
  - department: Department 07
    period: month
    amount: 20000
  - customer: Customer 0042
    period: quarter
    amount: 5000
  - project: Project 07
    period: year
    amount: 100000
"""


def seed(factory: sessionmaker[Session], rng: random.Random) -> int:
    """Returns the id of the claim being checked."""
    employees = [f"emp{i}@example.com" for i in range(EMPLOYEES)]
    with transaction(factory) as s:
        s.execute(
            insert(Customer),
            [
                {"source": "csv", "external_id": f"C-{i}", "name": f"Customer {i:04d}"}
                for i in range(CUSTOMERS)
            ],
        )
        rates = []
        day = START - dt.timedelta(days=7)
        while day <= END:
            for cur, usd in CURRENCIES.items():
                if cur != "USD" and day.weekday() < 5:  # no rates at weekends, as from a bank
                    jitter = Decimal(rng.randint(-200, 200)) / 10000
                    rates.append({"base": cur, "quote": "USD", "day": day, "rate": usd * (1 + jitter)})
            day += dt.timedelta(days=1)
        s.execute(insert(FxRate), rates)
        days = (END - START).days + 1
        rows: list[dict[str, Any]] = []
        for _ in range(EXPENSES):
            cur = rng.choice(["USD", "USD", "USD", *CURRENCIES])
            amount = (
                Decimal(rng.randint(100, 50000)) / 100 if cur != "JPY" else Decimal(rng.randint(300, 60000))
            )
            status = rng.choice(["paid"] * 7 + ["approved", "pending", "rejected", "draft"])
            rows.append(
                {
                    "status": status,
                    "employee_id": "U",
                    "employee_email": rng.choice(employees),
                    "source": "dm",
                    "merchant": "Merchant",
                    "spent_on": START + dt.timedelta(days=rng.randrange(days)),
                    "amount": amount,
                    "currency": cur,
                    "category": "meals",
                    "customer_id": rng.randrange(1, CUSTOMERS + 1) if rng.random() < 0.6 else None,
                    "version": 1,
                    "round": 1,
                    "ocr_attempts": 0,
                    "customer_confirmed": False,
                }
            )
            if len(rows) == 10_000:
                s.execute(insert(Expense), rows)
                rows = []
        if rows:
            s.execute(insert(Expense), rows)
        ids = list(s.scalars(text("SELECT id FROM expenses ORDER BY id")))
        s.execute(
            insert(ExpenseProject),
            [
                {"expense_id": i, "project": f"Project {rng.randrange(PROJECTS):02d}", "set_by": "U"}
                for i in ids
                if rng.random() < 0.2
            ],
        )
        claim = Expense(
            status="pending",
            employee_id="U",
            employee_email="emp7@example.com",
            source="dm",
            spent_on=CLAIM_DAY,
            amount=Decimal("2100.00"),
            currency="EUR",
            customer_id=43,
        )
        s.add(claim)
        s.flush()
        s.add(ExpenseProject(expense_id=claim.id, project="Project 07", set_by="U"))
        claim_id = claim.id
    if factory.kw["bind"].dialect.name == "postgresql":
        with transaction(factory) as s:  # planner statistics, as autovacuum would gather them
            s.execute(text("ANALYZE"))
    return claim_id


def check(factory: sessionmaker[Session], policy: Policy, claim_id: int) -> tuple[list[str], int]:
    """The budget warnings for the claim, and the number of SQL statements it took."""
    members = {"department 07": [f"emp{i}@example.com" for i in range(EMPLOYEES) if i % DEPARTMENTS == 7]}
    with factory() as s:
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        bind = s.get_bind()
        event.listen(bind, "before_cursor_execute", count)
        try:
            claim = BudgetClaim(
                Money(Decimal("2100.00"), "EUR"),
                CLAIM_DAY,
                department="Department 07",
                customer_names=customer_names(s, 43),
                project="Project 07",
            )
            spent = spent_against(
                s,
                policy.budgets,
                day=CLAIM_DAY,
                company_currency="USD",
                department_members=members,
                exclude_expense=claim_id,
            )
            pairs = [(claim.amount.currency, claim.day), *((i.amount.currency, i.day) for i in spent)]
            findings = evaluate_budgets(policy, claim, spent, rates=rates_for(s, pairs, "USD"))
        finally:
            event.remove(bind, "before_cursor_execute", count)
    return [f.message for f in findings], statements


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    started = time.perf_counter()
    fn()
    first = time.perf_counter() - started
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return first, statistics.median(runs)


def run(url: str, repeat: int) -> None:
    migrate(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    started = time.perf_counter()
    claim_id = seed(factory, random.Random(20261123))
    print(f"{engine.dialect.name}: seeded {EXPENSES:,} expenses in {time.perf_counter() - started:.1f}s")
    policy = load_policy(POLICY_TEXT, "bench.yml")
    messages, statements = check(factory, policy, claim_id)
    for message in messages:
        print(f"  {message}")
    first, median = timed(lambda: check(factory, policy, claim_id), repeat)
    print(
        f"budget check of one claim (3 budgets, {statements} SQL statements): "
        f"first {first * 1000:.0f} ms, median {median * 1000:.0f} ms"
    )
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="PostgreSQL admin URL, or 'sqlite' for a temporary SQLite file")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.url == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/bench.db", args.repeat)
        return 0
    if not args.url.startswith("postgresql"):
        parser.error("give a PostgreSQL admin URL or 'sqlite'")
    name = f"expensebot_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        run(make_url(args.url).set(database=name).render_as_string(hide_password=False), args.repeat)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
