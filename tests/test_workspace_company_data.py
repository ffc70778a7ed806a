"""Two workspaces on one installation: customers, deals, CRM state, statements and per diem rates
are each workspace's own (the company data beside the expenses of ``test_workspaces.py``).

The commands run as an operator would, with ``--team``; the matching and App Home code runs in a
workspace's scope as a Slack request or a job does.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import cli
from storage.db import make_engine, make_sessionmaker, migrate, transaction
from storage.models import (
    CrmOwner,
    CrmSyncState,
    Customer,
    CustomerAlias,
    Deal,
    Expense,
    PerDiemRate,
    Project,
    SlackUser,
    StatementAccount,
    StatementLine,
)
from storage.tenancy import team_scope
from tests.test_oauth_install import SECRET_KEY

ONE, TWO = "T0ONE", "T0TWO"
ORG = """email,manager_email,department,role,iban,card_last4
boss@acme.test,,Exec,admin,,
ana@acme.test,boss@acme.test,Sales,employee,DE02120300000000202051,1234
fin@acme.test,boss@acme.test,Finance,finance,,
"""
CARD_CSV = "date,amount,description,card\n2026-11-04,-12.50,SQ *BLUE BOTTLE OAKLAND,1234\n"
PER_DIEM = "destination,currency,full_day,partial_day,breakfast,lunch,dinner\nParis,EUR,70,50,10,20,20\n"


@pytest.fixture
def teams(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> sessionmaker[Session]:
    """Multi-workspace mode with two installed workspaces."""
    from slack_sdk.oauth.installation_store.models.installation import Installation

    from storage.installations import EncryptedInstallationStore, make_cipher

    org = tmp_path / "org.csv"
    org.write_text(ORG, encoding="utf-8")
    for name, value in {
        "DATABASE_URL": db_url,
        "EXPENSEBOT_ORG_FILE": str(org),
        "EXPENSEBOT_CURRENCY": "USD",
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "s",
        "EXPENSEBOT_SECRET_KEY": SECRET_KEY,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("EXPENSEBOT_POLICY_FILE", "REDIS_URL", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    migrate(db_url)
    engine = make_engine(db_url)
    store = EncryptedInstallationStore("1.2", engine, make_cipher(SECRET_KEY))
    for team in (ONE, TWO):
        store.save(
            Installation(
                app_id="A1",
                team_id=team,
                team_name=team,
                user_id="U1",
                bot_token=f"xoxb-{team}",
                bot_user_id="UB",
            )
        )
    factory = make_sessionmaker(engine)
    for team in (ONE, TWO):
        with team_scope(team), transaction(factory) as s:
            s.add(SlackUser(user_id=f"U_ANA_{team}", email="ana@acme.test", name="Ana Lopez"))
    return factory


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_each_command_asks_which_workspace_and_works_on_its_own(
    teams: sessionmaker[Session], tmp_path: Path
) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text("id,name,aliases\nC1,Acme Corporation,Acme\n")
    card = tmp_path / "card.csv"
    card.write_text(CARD_CSV)
    rates = tmp_path / "rates.csv"
    rates.write_text(PER_DIEM)
    for args in (
        ["customers", "import", str(customers)],
        ["customers", "match", "Acme"],
        ["transactions", "import", str(card), "--account", "Company cards"],
        ["perdiem", "rates", "import", str(rates)],
        ["perdiem", "rates", "list"],
    ):
        unsure = run(*args)
        assert unsure.exit_code == 2, unsure.output
        assert "2 workspaces have installed expensebot" in unsure.output and "--team" in unsure.output

    # The same customer id, account name and transaction in both workspaces: each has its own row.
    assert run("customers", "import", str(customers), "--team", ONE).exit_code == 0
    other = tmp_path / "other.csv"
    other.write_text("id,name,aliases\nC1,Globex Inc,Globex\n")
    assert run("customers", "import", str(other), "--team", TWO).exit_code == 0
    for team in (ONE, TWO):
        imported = run(
            "transactions", "import", str(card), "--account", "Company cards", "--json", "--team", team
        )
        assert imported.exit_code == 0, imported.output
        assert json.loads(imported.stdout)["new"] == 1
    again = run("transactions", "import", str(card), "--account", "Company cards", "--json", "--team", ONE)
    assert json.loads(again.stdout)["new"] == 0 and json.loads(again.stdout)["known"] == 1
    assert run("perdiem", "rates", "import", str(rates), "--team", ONE).exit_code == 0

    with teams() as s:
        assert sorted(s.execute(select(Customer.team_id, Customer.external_id, Customer.name)).tuples()) == [
            (ONE, "C1", "Acme Corporation"),
            (TWO, "C1", "Globex Inc"),
        ]
        assert {t for (t,) in s.execute(select(CustomerAlias.team_id))} == {ONE, TWO}
        assert sorted(s.execute(select(StatementAccount.team_id, StatementAccount.name)).tuples()) == [
            (ONE, "Company cards"),
            (TWO, "Company cards"),
        ]
        assert sorted(t for (t,) in s.execute(select(StatementLine.team_id))) == [ONE, TWO]
        assert [t for (t,) in s.execute(select(PerDiemRate.team_id))] == [ONE]

    # Matching a text: only the workspace's own customers.
    found = run("customers", "match", "dinner with Acme", "--json", "--team", ONE)
    assert json.loads(found.stdout)["customer"]["name"] == "Acme Corporation"
    nothing = run("customers", "match", "dinner with Acme", "--json", "--team", TWO)
    assert json.loads(nothing.stdout)["customer"] is None
    aliases = run("customers", "aliases", "list", "--all", "--json", "--team", TWO)
    assert [json.loads(line)["alias"] for line in aliases.stdout.splitlines()] == ["Globex"]

    # Per diem: the company table of the first workspace only.
    assert "Paris" in run("perdiem", "rates", "list", "--places", "--team", ONE).output
    assert "Company table: none" in run("perdiem", "rates", "list", "--team", TWO).output
    assert (
        "the company's per diem rates"
        in run("perdiem", "quote", "Paris,", "France", "2026-03-02", "2026-03-03", "--team", ONE).output
    )
    assert (
        "the company's per diem rates"
        not in run("perdiem", "quote", "Paris,", "France", "2026-03-02", "2026-03-03", "--team", TWO).output
    )
    # Clearing one workspace's table leaves the other's.
    assert run("perdiem", "rates", "clear", "--team", TWO).exit_code == 0
    with teams() as s:
        assert s.scalar(select(func.count()).select_from(PerDiemRate)) == 1


def add_expense(factory: sessionmaker[Session], team: str, merchant: str, amount: str, day: dt.date) -> int:
    with team_scope(team), transaction(factory) as s:
        exp = Expense(
            status="draft",
            employee_id=f"U_ANA_{team}",
            employee_email="ana@acme.test",
            source="dm",
            merchant=merchant,
            spent_on=day,
            amount=Decimal(amount),
            currency="USD",
            category="meals",
        )
        s.add(exp)
        s.flush()
        return exp.id


def test_a_charge_never_matches_another_workspaces_receipt_nor_shows_in_its_app_home(
    teams: sessionmaker[Session], tmp_path: Path, db_url: str
) -> None:
    from bot.context import build_context
    from bot.home import statement_blocks
    from bot.settings import Settings

    card = tmp_path / "card.csv"
    card.write_text(CARD_CSV)
    assert run("transactions", "import", str(card), "--team", ONE).exit_code == 0
    # The second workspace has the perfect receipt for the first one's charge (same person, amount, day).
    theirs = add_expense(teams, TWO, "Blue Bottle Coffee", "12.50", dt.date(2026, 11, 4))
    matched = run("transactions", "match", "--json", "--team", ONE)
    [row] = [json.loads(line) for line in matched.stdout.splitlines()]
    assert row["expense"] is None and row["status"] != "matched", row
    assert run("transactions", "match", "--json", "--team", TWO).stdout == ""  # no lines of its own
    with teams() as s:
        line = s.scalars(select(StatementLine)).one()
        assert line.expense_id is None and line.team_id == ONE
    # Its own receipt matches.
    ours = add_expense(teams, ONE, "Blue Bottle Coffee", "12.50", dt.date(2026, 11, 4))
    [row] = [
        json.loads(line) for line in run("transactions", "match", "--json", "--team", ONE).stdout.splitlines()
    ]
    assert (row["status"], row["expense"]) == ("matched", f"EXP-{ours}")
    assert theirs != ours
    # "No receipt" on a transaction id of the other workspace finds nothing.
    refused = run("transactions", "no-receipt", row["transaction_id"], "--reason", "lost", "--team", TWO)
    assert refused.exit_code == 2 and "No statement line" in refused.output

    ctx = build_context(
        Settings(DATABASE_URL=db_url, EXPENSEBOT_ORG_FILE=tmp_path / "org.csv", EXPENSEBOT_CURRENCY="USD")
    )
    try:
        with team_scope(ONE):
            assert "1 matched" in str(statement_blocks(ctx, "fin@acme.test", finance=True))
        with team_scope(TWO):
            assert statement_blocks(ctx, "ana@acme.test", finance=False) == []
            assert "1 matched" not in str(statement_blocks(ctx, "fin@acme.test", finance=True))
    finally:
        ctx.engine.dispose()


def test_customers_deals_and_crm_state_stay_in_their_workspace(
    teams: sessionmaker[Session], db_url: str
) -> None:
    from storage.customers import CustomerDirectory
    from storage.deals import deal_options, pick_deal

    ids: dict[str, tuple[int, int]] = {}
    for team, name in ((ONE, "Acme Corporation"), (TWO, "Globex Inc")):
        with team_scope(team), transaction(teams) as s:
            customer = Customer(source="hubspot", external_id="1", name=name)
            s.add(customer)
            s.flush()
            deal = Deal(source="hubspot", external_id="9", customer_id=customer.id, name=f"{name} pilot")
            s.add_all(
                [
                    deal,
                    CrmSyncState(source="hubspot", object_type="companies", cursor=team),
                    CrmOwner(source="hubspot", external_id="7", email=f"owner@{team}.test"),
                ]
            )
            s.flush()
            ids[team] = (customer.id, deal.id)
    directory = CustomerDirectory(teams, check_every=0)
    with team_scope(TWO):
        assert directory.index().match("lunch with Acme Corporation").customer is None
        assert directory.index().match("lunch with Globex").customer is not None
    with team_scope(ONE):
        found = directory.index().match("lunch with Acme Corporation").customer
        assert found is not None and found.id == ids[ONE][0]

    expense = add_expense(teams, TWO, "Bistro", "40.00", dt.date(2026, 11, 4))
    with team_scope(TWO), transaction(teams) as s:
        assert s.get(Customer, ids[ONE][0]) is None and s.get(Deal, ids[ONE][1]) is None
        assert deal_options(s, ids[ONE][0]) == []
        mine = s.get(Expense, expense)
        assert mine is not None
        mine.customer_id = ids[TWO][0]
        # A forged pick of the first workspace's deal is refused.
        assert pick_deal(s, mine, str(ids[ONE][1])) is not None and mine.deal_id is None
        assert pick_deal(s, mine, str(ids[TWO][1])) is None and mine.deal_id == ids[TWO][1]
        assert [st.cursor for st in s.scalars(select(CrmSyncState))] == [TWO]
        assert [o.email for o in s.scalars(select(CrmOwner))] == [f"owner@{TWO}.test"]


def test_the_migration_gives_existing_rows_to_the_one_workspace(sqlite_url: str) -> None:
    from alembic import command
    from slack_sdk.oauth.installation_store.models.installation import Installation

    from storage.db import alembic_config
    from storage.installations import EncryptedInstallationStore, make_cipher

    command.upgrade(alembic_config(sqlite_url), "0015")
    engine = make_engine(sqlite_url)
    EncryptedInstallationStore("1.2", engine, make_cipher(SECRET_KEY)).save(
        Installation(
            app_id="A1", team_id=ONE, team_name=ONE, user_id="U1", bot_token="xoxb-1", bot_user_id="UB"
        )
    )
    with engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(
            text(
                "INSERT INTO customers (source, external_id, name, archived, created_at, updated_at) "
                "VALUES ('csv', 'C1', 'Acme', 0, '2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(text("INSERT INTO statement_accounts (name, created_at) VALUES ('visa', '2026-01-01')"))
        conn.execute(
            text("INSERT INTO crm_sync_state (source, object_type, cursor) VALUES ('hubspot', 'x', 'c')")
        )
    command.upgrade(alembic_config(sqlite_url), "head")
    with make_sessionmaker(engine)() as s:
        assert [(c.team_id, c.name) for c in s.scalars(select(Customer))] == [(ONE, "Acme")]
        assert [(a.team_id, a.name) for a in s.scalars(select(StatementAccount))] == [(ONE, "visa")]
        assert [(c.team_id, c.cursor) for c in s.scalars(select(CrmSyncState))] == [(ONE, "c")]
    engine.dispose()


def test_rows_without_a_workspace_stay_shared_in_single_workspace_mode(sqlite_url: str) -> None:
    """Single-workspace mode: no workspace in scope, rows without one, keys unique among them."""
    import sqlalchemy.exc

    migrate(sqlite_url)
    factory = make_sessionmaker(make_engine(sqlite_url))
    with transaction(factory) as s:
        s.add(StatementAccount(name="visa"))
    with transaction(factory) as s:
        assert [(a.team_id, a.name) for a in s.scalars(select(StatementAccount))] == [(None, "visa")]
    with pytest.raises(sqlalchemy.exc.IntegrityError), transaction(factory) as s:
        s.add(StatementAccount(name="visa"))


def test_projects_import_and_list_per_workspace(teams: sessionmaker[Session], tmp_path: Path) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text("id,name\nC1,Acme Corporation\n")
    projects = tmp_path / "projects.csv"
    projects.write_text("id,name,customer,status\nP1,Acme rollout,C1,open\nP2,Acme pilot,C1,closed\n")
    unsure = run("projects", "import", str(projects))
    assert unsure.exit_code == 2 and "--team" in unsure.output
    # TWO has no customer C1: every row is refused there, with the reason.
    refused = CliRunner().invoke(cli, ["projects", "import", str(projects), "--team", TWO])
    assert refused.exit_code == 1 and "no csv customer with id 'C1'" in refused.output
    assert run("customers", "import", str(customers), "--team", ONE).exit_code == 0
    imported = run("projects", "import", str(projects), "--team", ONE)
    assert imported.exit_code == 0 and "2 created, 0 updated, 0 unchanged, 0 errors" in imported.output
    listed = json.loads(run("projects", "list", "--json", "--team", ONE).stdout)
    assert [(p["name"], p["customer"], p["closed"]) for p in listed] == [
        ("Acme rollout", "Acme Corporation", False)
    ]
    assert json.loads(run("projects", "list", "--json", "--team", TWO).stdout) == []
    with teams() as s:
        assert sorted(s.execute(select(Project.team_id, Project.external_id)).tuples()) == [
            (ONE, "P1"),
            (ONE, "P2"),
        ]
