"""Every CLI command that changes data leaves an audit event naming who ran it: the OS user, or
``--as EMAIL`` checked against the company directory's roles."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from bot.cli import cli
from storage.db import make_engine, make_sessionmaker
from storage.models import AuditEvent, FxRate
from tests.support import CUSTOMERS_CSV, ORG_CSV


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    org = tmp_path / "org.csv"
    org.write_text(ORG_CSV)
    return {"DATABASE_URL": f"sqlite:///{tmp_path}/expensebot.db", "EXPENSEBOT_ORG_FILE": str(org)}


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def events(env: dict[str, str], action: str) -> list[AuditEvent]:
    engine = make_engine(env["DATABASE_URL"])
    with make_sessionmaker(engine)() as session:
        found = list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )
    engine.dispose()
    return found


def test_fx_import_is_audited_with_the_rates_it_changed(env: dict[str, str], tmp_path: Path) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("date,from,to,rate\n2026-11-02,USD,MYR,4.41\n2026-11-02,EUR,USD,1.08\n")
    assert run(env, "fx", "import", str(rates)).exit_code == 0
    rates.write_text("date,from,to,rate\n2026-11-02,USD,MYR,4.50\n2026-11-02,EUR,USD,1.08\n")
    assert run(env, "fx", "import", str(rates), "--as", "fin@example.com").exit_code == 0
    first, second = events(env, "fx.imported")
    assert first.actor == f"cli:{getpass.getuser()}" and first.entity_id == "rates.csv"
    assert "2 new, 0 changed" in str(first.detail)
    assert second.actor == "fin@example.com" and f"OS user {getpass.getuser()}" in str(second.detail)
    assert second.before == {"USD/MYR 2026-11-02": "4.41"}
    assert second.after == {"USD/MYR 2026-11-02": "4.50"}
    assert "0 new, 1 changed, 1 unchanged" in str(second.detail)


def test_as_is_checked_against_the_directory_roles(env: dict[str, str], tmp_path: Path) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("date,from,to,rate\n2026-11-02,USD,MYR,4.41\n")
    refused = run(env, "fx", "import", str(rates), "--as", "emp@example.com")
    assert refused.exit_code == 2 and "needs the finance or admin role" in refused.output
    unknown = run(env, "fx", "import", str(rates), "--as", "nobody@example.com")
    assert unknown.exit_code == 2 and "not in the company directory" in unknown.output
    assert run(env, "fx", "import", str(rates), "--as", "admin@example.com").exit_code == 0
    engine = make_engine(env["DATABASE_URL"])
    with make_sessionmaker(engine)() as session:
        assert len(list(session.scalars(select(FxRate)))) == 1  # imported once, by the admin
    engine.dispose()
    assert [e.actor for e in events(env, "fx.imported")] == ["admin@example.com"]


def test_customers_import_is_audited(env: dict[str, str], tmp_path: Path) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS_CSV)
    assert run(env, "customers", "import", str(customers)).exit_code == 0
    (event,) = events(env, "customers.imported")
    assert event.actor == f"cli:{getpass.getuser()}"
    assert event.after == {"created": 3, "updated": 0, "unchanged": 0, "errors": 0}
    assert "customers.csv" in str(event.detail)


def test_restore_is_audited_in_the_restored_database(env: dict[str, str], tmp_path: Path) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS_CSV)
    assert run(env, "customers", "import", str(customers)).exit_code == 0
    backup = tmp_path / "backup.db"
    assert run(env, "backup", str(backup)).exit_code == 0
    refused = run(env, "restore", str(backup), "--force", "--as", "fin@example.com")
    assert refused.exit_code == 2 and "needs the admin role" in refused.output
    assert run(env, "restore", str(backup), "--force", "--as", "admin@example.com").exit_code == 0
    (event,) = events(env, "database.restored")
    assert event.actor == "admin@example.com" and event.entity_id == "backup.db"
    assert len(str((event.after or {})["sha256"])) == 64
    assert len(events(env, "customers.imported")) == 1  # the trail of the backup goes on


def test_export_and_privacy_commands_name_who_ran_them(env: dict[str, str]) -> None:
    refused = run(env, "export", "--batch", "1", "--as", "mgr@example.com")
    assert refused.exit_code == 2 and "finance or admin" in refused.output
    refused = run(env, "privacy", "erase", "emp@example.com", "--yes", "--as", "fin@example.com")
    assert refused.exit_code == 2 and "admin role" in refused.output


def test_receipt_store_and_workspace_commands_check_the_actor(env: dict[str, str], tmp_path: Path) -> None:
    store = {**env, "EXPENSEBOT_RECEIPT_STORE": f"file://{tmp_path}/receipts"}
    refused = run(store, "receipts", "gc", "--as", "fin@example.com")
    assert refused.exit_code == 2 and "admin role" in refused.output
    refused = run(store, "receipts", "migrate", "--to", "store", "--as", "mgr@example.com")
    assert refused.exit_code == 2 and "admin role" in refused.output
    refused = run(env, "workspaces", "adopt", "--team", "T0ONE", "--as", "fin@example.com")
    assert refused.exit_code == 2 and "admin role" in refused.output

    assert run(store, "receipts", "gc", "--as", "admin@example.com").exit_code == 0
    (event,) = events(env, "receipts.collected")
    assert event.actor == "admin@example.com" and getpass.getuser() in (event.detail or "")
