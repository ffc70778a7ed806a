"""A per diem claim by `/expense perdiem`: priced from the rates, no receipt, routed, reported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage.db import make_engine, make_sessionmaker
from storage.models import AuditEvent, Expense
from tests.support import ADMIN, EMPLOYEE, FINANCE, MANAGER, recent_day, running_app
from workflows.per_diem import shipped_tables

COMPANY_RATES = """destination,currency,full_day,partial_day,breakfast,lunch,dinner,aliases
Munich office,EUR,40,20,8,16,16,Munich;München
Vienna,EUR,60,40,12,24,24,
"""


def texts(message: Any) -> str:
    return " ".join([message.text or "", *(str(block) for block in message.blocks)])


def test_per_diem_claim_by_expense_command(tmp_path: Path, sqlite_url: str) -> None:
    rates = tmp_path / "company-rates.csv"
    rates.write_text(COMPANY_RATES, encoding="utf-8")
    start = recent_day(5)
    middle, end = start + dt.timedelta(days=1), start + dt.timedelta(days=2)
    with running_app(tmp_path, database_url=sqlite_url, extra_env={"EXPENSEBOT_CURRENCY": "EUR"}) as app:
        refused = app.cli("perdiem", "rates", "import", str(rates), "--as", "emp@example.com", check=False)
        assert refused.returncode != 0 and "needs the admin role" in refused.stderr
        imported = app.cli("perdiem", "rates", "import", str(rates), "--as", "admin@example.com").stdout
        assert "2 destinations in EUR (replacing 0)" in imported

        # Bad input gets a clear message and creates nothing.
        assert "“Atlantis” is not in the per diem rates" in app.command(
            EMPLOYEE, f"perdiem Atlantis {start} {end}"
        )
        assert "Claim per diem with" in app.command(EMPLOYEE, "perdiem Munich")
        future = dt.date.today() + dt.timedelta(days=3)
        assert "still to come" in app.command(
            EMPLOYEE, f"perdiem Munich {future} {future + dt.timedelta(days=1)}"
        )

        answer = app.command(EMPLOYEE, f"perdiem München {start} {end} meals: {middle}=breakfast+lunch")
        # 20 (first day) + 40 − 8 − 16 (full day, breakfast and lunch provided) + 20 (last day)
        assert answer.startswith("EXP-1: per diem for Munich office, 3 days, 56.00 EUR.")
        card = app.wait_card(EMPLOYEE)
        body = texts(card)
        assert "Per diem* (no receipt needed)" in body
        assert "full day 40.00 EUR − breakfast 8.00 EUR − lunch 16.00 EUR = 16.00 EUR" in body
        assert "first day 20.00 EUR" in body and "last day 20.00 EUR" in body
        assert "Rates: Company per diem rates: the company's per diem rates (company-rates.csv" in body
        assert "Per diem" in body and "56.00 EUR" in body

        app.driver.click(EMPLOYEE, card, "Submit")
        request = app.wait_card(MANAGER, contains="Approve")
        shown = texts(request)
        assert "Per diem" in shown and "first day 20.00 EUR" in shown
        assert "receipt is required" not in shown and "per diem rates" not in shown.split("Rates:")[0].lower()
        app.driver.click(MANAGER, request, "Approve")
        app.driver.click(FINANCE, app.wait_card(FINANCE, contains="Approve"), "Approve")
        app.wait_dm(EMPLOYEE, "waits for payout")

        # The same days again: claimed, but the card warns that a day is paid once.
        again = app.command(EMPLOYEE, f"perdiem Vienna {end} {end + dt.timedelta(days=1)}")
        assert again.startswith("EXP-2: per diem for Vienna, 2 days, 80.00 EUR.")
        warned = app.wait_card(EMPLOYEE, contains="Submit")
        app.slack.wait_until(
            lambda: any("a day is paid once" in texts(m) for m in app.slack.dm_messages(EMPLOYEE)),
            timeout=30,
            what="the overlap warning",
        )
        assert warned is not None

        # Reports: its own category.
        report = app.cli(
            "report",
            "--by",
            "category",
            "--from",
            str(start - dt.timedelta(days=40)),
            "--to",
            str(dt.date.today()),
        ).stdout
        assert "Per diem" in report and "56.00" in report

        # A trip priced from the shipped table (German BMF rates for a EUR company) when it covers it.
        covered = any(t.table == "de-bmf" and t.covers(start) and t.covers(end) for t in shipped_tables())
        if covered:
            domestic = app.command(EMPLOYEE, f"perdiem Germany {start} {end}")
            assert domestic.startswith("EXP-3: per diem for Germany, 3 days, 56.00 EUR.")  # 14 + 28 + 14

        engine = make_engine(sqlite_url)
        try:
            with make_sessionmaker(engine)() as session:
                expense = session.get(Expense, 1)
                assert expense is not None
                assert (expense.category, expense.receipt_id, expense.status) == (
                    "per_diem",
                    None,
                    "approved",
                )
                assert (expense.spent_on, str(expense.amount), expense.currency) == (end, "56.0000", "EUR")
                events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        finally:
            engine.dispose()
        imports = [e for e in events if e.action == "per_diem.rates_imported"]
        assert len(imports) == 1 and imports[0].actor == "admin@example.com"
        assert imports[0].after == {"destinations": 2, "currencies": ["EUR"], "file": "company-rates.csv"}
        created = next(e for e in events if e.action == "expense.created" and e.entity_id == "1")
        assert created.actor == EMPLOYEE and "per diem by /expense perdiem: München (Munich office)" in (
            created.detail or ""
        )
        assert (created.after or {})["per_diem"]["total"] == "56.00"
        assert ADMIN  # the directory's admin ran the import
