"""Two workspaces on one installation: the exchange rates a company imports are its own, the
feed's reference rates are shared, and a claim converts at its own workspace's rate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.conversion import reference
from storage.db import make_engine, make_sessionmaker, transaction
from storage.fx import dated_rate, rate_lookup, store_rates
from storage.models import AuditEvent, Expense, FxRate
from storage.tenancy import team_scope
from tests.test_oauth_install import SECRET_KEY
from tests.test_workspace_company_data import ONE, TWO, add_expense, run, teams  # noqa: F401 (fixture)

DAY = dt.date(2026, 11, 4)


def _feed(factory: sessionmaker[Session]) -> None:
    """The reference rates of the day, as the scheduled feed stores them (no workspace)."""
    store_rates(
        factory,
        [("EUR", "USD", DAY, Decimal("1.0800")), ("EUR", "CHF", DAY, Decimal("0.9400"))],
        source="ECB",
        actor="schedule",
    )


def test_each_workspace_sees_its_own_imported_rates_and_the_shared_feed(
    teams: sessionmaker[Session],  # noqa: F811
    tmp_path: Path,
) -> None:
    _feed(teams)
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    one.write_text(f"date,from,to,rate\n{DAY},EUR,USD,1.10\n")
    two.write_text(f"date,from,to,rate\n{DAY},EUR,USD,1.20\n")

    for args in (["fx", "import", str(one)], ["fx", "list"]):
        unsure = run(*args)
        assert unsure.exit_code == 2 and "--team" in unsure.output, unsure.output
    assert run("fx", "import", str(one), "--team", ONE).exit_code == 0
    imported = run("fx", "import", str(two), "--team", TWO)
    assert imported.exit_code == 0 and "1 new" in imported.output, imported.output

    with teams() as s:
        stored = sorted(
            s.execute(select(FxRate.team_id, FxRate.quote, FxRate.rate, FxRate.source)).tuples(),
            key=lambda r: (r[0] or "", r[1]),
        )
        assert [(t, q, Decimal(r).normalize(), src) for t, q, r, src in stored] == [
            (None, "CHF", Decimal("0.94"), "ECB"),
            (None, "USD", Decimal("1.08"), "ECB"),
            (ONE, "USD", Decimal("1.1"), "one.csv"),
            (TWO, "USD", Decimal("1.2"), "two.csv"),
        ]
        # Lookups: the workspace's own rate first, the shared feed for what it has not imported.
        with team_scope(ONE):
            assert rate_lookup(s)("EUR", "USD", DAY) == Decimal("1.1")
            assert rate_lookup(s)("EUR", "CHF", DAY) == Decimal("0.94")
        with team_scope(TWO):
            assert rate_lookup(s)("EUR", "USD", DAY + dt.timedelta(days=2)) == Decimal("1.2")
            assert dated_rate(s, "EUR", "USD", DAY)[::2] == (Decimal("1.2"), "two.csv")
        assert rate_lookup(s)("EUR", "USD", DAY) == Decimal("1.08")  # no workspace: the shared rate
        events = list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == "fx.imported").order_by(AuditEvent.id))
        )
        assert [
            (e.entity_id, f"workspace {team}" in str(e.detail))
            for e, team in zip(events, (ONE, TWO), strict=True)
        ] == [("one.csv", True), ("two.csv", True)]
        assert len(events) == 2 and all("1 new" in str(e.detail) for e in events)

    # A re-import that changes the first workspace's rate leaves the second's and the feed's alone.
    one.write_text(f"date,from,to,rate\n{DAY},EUR,USD,1.11\n")
    changed = run("fx", "import", str(one), "--team", ONE)
    assert "1 changed" in changed.output and "1.1 → 1.11" in changed.output, changed.output
    with teams() as s:
        rates = {(r.team_id, r.quote): r.rate.normalize() for r in s.scalars(select(FxRate))}
        assert rates == {
            (None, "USD"): Decimal("1.08"),
            (None, "CHF"): Decimal("0.94"),
            (ONE, "USD"): Decimal("1.11"),
            (TWO, "USD"): Decimal("1.2"),
        }
        change = s.scalars(select(AuditEvent).where(AuditEvent.action == "fx_rate.changed")).one()
        assert change.entity_id == f"{ONE}/EUR/USD/{DAY}" and f"workspace {ONE}" in str(change.detail)

    listed = run("fx", "list", "--team", TWO)
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert any("EUR→USD\t1.2\ttwo.csv (workspace T0TWO)" in line for line in lines), lines
    assert any("EUR→USD\t1.08\tECB (shared) (not used" in line for line in lines), lines
    assert any("EUR→CHF\t0.94\tECB (shared)" in line and "not used" not in line for line in lines), lines
    assert "1.11" not in listed.output  # the other workspace's rate is not shown
    bad = run("fx", "list", "--currency", "EURO", "--team", ONE)
    assert bad.exit_code == 2 and "ISO 4217" in bad.output


def test_a_claim_converts_at_its_own_workspaces_rate(teams: sessionmaker[Session], tmp_path: Path) -> None:  # noqa: F811
    _feed(teams)
    for team, rate in ((ONE, "1.10"), (TWO, "1.20")):
        csv = tmp_path / f"{team}.csv"
        csv.write_text(f"date,from,to,rate\n{DAY},EUR,USD,{rate}\n")
        assert run("fx", "import", str(csv), "--team", team).exit_code == 0
    claims = {team: add_expense(teams, team, "Bistro", "100.00", DAY) for team in (ONE, TWO)}
    swiss = add_expense(teams, ONE, "Zurich cab", "94.00", DAY)
    with transaction(teams) as s:
        for expense_id in [*claims.values(), swiss]:
            expense = s.get(Expense, expense_id, execution_options={"all_teams": True})
            assert expense is not None
            expense.currency = "CHF" if expense_id == swiss else "EUR"
    # Converted outside any workspace's scope (as a job for another workspace might): the claim's own.
    with teams() as s:
        converted = {}
        for team, expense_id in claims.items():
            expense = s.get(Expense, expense_id)
            assert expense is not None
            conversion = reference(s, expense, "USD")
            assert conversion is not None
            converted[team] = (conversion.rate, conversion.converted.amount, conversion.source)
        assert converted == {
            ONE: (Decimal("1.1"), Decimal("110.00"), f"{ONE}.csv"),
            TWO: (Decimal("1.2"), Decimal("120.00"), f"{TWO}.csv"),
        }
        # Through the euro: the shared CHF rate, then the workspace's own EUR→USD.
        expense = s.get(Expense, swiss)
        assert expense is not None
        cross = reference(s, expense, "USD")
        assert cross is not None and cross.converted.amount == Decimal("110.00")


def test_the_migration_gives_imported_rates_to_the_one_workspace_and_keeps_the_feed_shared(
    sqlite_url: str,
) -> None:
    from alembic import command
    from slack_sdk.oauth.installation_store.models.installation import Installation

    from storage.db import alembic_config
    from storage.installations import EncryptedInstallationStore, make_cipher

    command.upgrade(alembic_config(sqlite_url), "0017")
    engine = make_engine(sqlite_url)
    EncryptedInstallationStore("1.2", engine, make_cipher(SECRET_KEY)).save(
        Installation(
            app_id="A1", team_id=ONE, team_name=ONE, user_id="U1", bot_token="xoxb-1", bot_user_id="UB"
        )
    )
    with engine.begin() as conn:
        for quote, source in (("USD", "ECB"), ("MYR", "rates.csv")):
            conn.execute(
                text(
                    "INSERT INTO fx_rates (base, quote, day, rate, source) "
                    f"VALUES ('EUR', '{quote}', '2026-11-04', 1.5, '{source}')"
                )
            )
    command.upgrade(alembic_config(sqlite_url), "head")
    with make_sessionmaker(engine)() as s:
        assert sorted(s.execute(select(FxRate.quote, FxRate.team_id)).tuples()) == [
            ("MYR", ONE),
            ("USD", None),
        ]
    command.downgrade(alembic_config(sqlite_url), "0017")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM fx_rates")).scalar() == 2
    engine.dispose()


def test_budget_warnings_convert_a_claim_at_its_own_workspaces_rate(
    teams: sessionmaker[Session],  # noqa: F811
    tmp_path: Path,
) -> None:
    from services.budgets import budget_warnings
    from storage.models import ExpenseProject
    from tests.support import ORG_CSV
    from workflows.directory import Directory
    from workflows.policy import load_policy

    _feed(teams)
    for team, rate in ((ONE, "1.10"), (TWO, "1.20")):
        csv = tmp_path / f"{team}.csv"
        csv.write_text(f"date,from,to,rate\n{DAY},EUR,USD,{rate}\n")
        assert run("fx", "import", str(csv), "--team", team).exit_code == 0
    claims = {team: add_expense(teams, team, "Bistro", "100.00", DAY) for team in (ONE, TWO)}
    with transaction(teams) as s:
        for expense_id in claims.values():
            expense = s.get(Expense, expense_id, execution_options={"all_teams": True})
            assert expense is not None
            expense.currency = "EUR"
            s.add(ExpenseProject(expense_id=expense_id, project="Apollo"))
    policy = load_policy(
        "company_currency: USD\nbudgets:\n  - project: apollo\n    period: year\n    amount: 100\n"
    )
    directory = Directory.from_csv_text(ORG_CSV, "org.csv")
    # Outside any workspace's scope (as a sender for another workspace might run): the claim's own rate.
    with teams() as s:
        warned = {}
        for team, expense_id in claims.items():
            expense = s.get(Expense, expense_id, execution_options={"all_teams": True})
            assert expense is not None
            [warning] = budget_warnings(s, policy, directory, expense, DAY)
            warned[team] = warning
    assert "110.00" in warned[ONE] and "120.00" not in warned[ONE], warned
    assert "120.00" in warned[TWO] and "110.00" not in warned[TWO], warned
