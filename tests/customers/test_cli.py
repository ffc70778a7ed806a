"""The ``customers`` commands, driven as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakes.crm_hubspot import FakeHubSpot

from bot.cli_customers import customers
from devslack.serving import BackgroundServer

CSV = """id,name,aliases,domain
19617,JPMORGAN CHASE & CO,JPM,jpmorganchase.com
34088,EXXON MOBIL CORP,,
320193,Apple Inc.,,apple.com
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    for name in (
        "EXPENSEBOT_HUBSPOT_TOKEN",
        "EXPENSEBOT_SALESFORCE_INSTANCE_URL",
        "EXPENSEBOT_SALESFORCE_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "customers.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_import_then_reimport(env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(customers, ["import", str(env)])
    assert first.exit_code == 0, first.output
    assert "3 created, 0 updated, 0 unchanged, 0 errors" in first.output
    second = runner.invoke(customers, ["import", str(env)])
    assert "0 created, 0 updated, 3 unchanged, 0 errors" in second.output


def test_import_reports_bad_lines(env: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\n1,Acme\n,Nameless\n", encoding="utf-8")
    result = CliRunner().invoke(customers, ["import", str(bad)])
    assert result.exit_code == 1
    assert "1 created" in result.output and "line 3: the id is empty" in result.output


def test_import_refuses_a_file_without_header(env: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nAcme\n", encoding="utf-8")
    result = CliRunner().invoke(customers, ["import", str(bad)])
    assert result.exit_code == 1
    assert "header must have columns 'id' and 'name'" in result.output


def test_match_json_from_stdin(env: Path) -> None:
    runner = CliRunner()
    runner.invoke(customers, ["import", str(env)])
    queries = "lunch w/ jpmorgan folks re renewal\ntaxi to the airport\napple\n"
    result = runner.invoke(customers, ["match", "--json", "-"], input=queries)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["query"] for line in lines] == queries.splitlines()
    assert lines[0]["customer"] == {"id": "19617", "name": "JPMORGAN CHASE & CO"}
    assert lines[1]["customer"] is None
    assert lines[2]["customer"]["id"] == "320193"
    for line in lines:
        assert set(line) >= {"query", "customer", "score", "candidates", "reason"}
        assert all(set(c) >= {"id", "name", "score"} for c in line["candidates"])
        assert isinstance(line["score"], float)


def test_match_one_text(env: Path) -> None:
    runner = CliRunner()
    runner.invoke(customers, ["import", str(env)])
    plain = runner.invoke(customers, ["match", "Exxon Mobile"])
    assert plain.exit_code == 0
    assert "EXXON MOBIL CORP [34088]" in plain.output
    as_json = runner.invoke(customers, ["match", "--json", "nothing here"])
    assert json.loads(as_json.output)["customer"] is None


def test_match_on_an_empty_database(env: Path) -> None:
    result = CliRunner().invoke(customers, ["match", "--json", "apple"])
    assert result.exit_code == 0
    assert json.loads(result.output) == {
        "query": "apple",
        "customer": None,
        "score": 0.0,
        "reason": "no customer named",
        "confident": False,
        "candidates": [],
    }


def test_sync_without_a_crm_configured(env: Path) -> None:
    result = CliRunner().invoke(customers, ["sync"])
    assert result.exit_code == 2
    assert "No CRM configured" in result.output


def test_sync_from_hubspot(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeHubSpot()
    fake.add_company("Acme Robotics GmbH", "acme-robotics.de")
    with BackgroundServer(fake.app, name="fake-hubspot") as server:
        monkeypatch.setenv("EXPENSEBOT_HUBSPOT_TOKEN", fake.token)
        monkeypatch.setenv("EXPENSEBOT_HUBSPOT_URL", server.url)
        runner = CliRunner()
        result = runner.invoke(customers, ["sync"])
        assert result.exit_code == 0, result.output
        assert "hubspot companies (full): 1 created" in result.output
        found = runner.invoke(customers, ["match", "--json", "dinner with acme robotics"])
        assert json.loads(found.output)["customer"]["name"] == "Acme Robotics GmbH"
        monkeypatch.setenv("EXPENSEBOT_HUBSPOT_TOKEN", "wrong")
        refused = runner.invoke(customers, ["sync"])
        assert refused.exit_code == 1 and "refused the access token" in refused.output


def test_match_survives_odd_input(env: Path) -> None:
    runner = CliRunner()
    runner.invoke(customers, ["import", str(env)])
    result = runner.invoke(customers, ["match", "--json", "-"], input=b"caf\xe9 with exxon\n\n\xff\xfe\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert len(lines) == 3
    assert lines[0]["customer"]["id"] == "34088"
    assert lines[1]["customer"] is None and lines[1]["query"] == ""


def test_an_admin_lists_and_removes_learned_aliases(env: Path) -> None:
    import os

    from sqlalchemy import select

    from storage.customers import add_learned_alias
    from storage.db import make_engine, make_sessionmaker, transaction
    from storage.models import AuditEvent, Customer

    runner = CliRunner()
    assert runner.invoke(customers, ["import", str(env)]).exit_code == 0
    empty = runner.invoke(customers, ["aliases", "list"])
    assert empty.exit_code == 0 and "No learned aliases yet." in empty.output
    factory = make_sessionmaker(make_engine(os.environ["DATABASE_URL"]))
    with transaction(factory) as session:
        exxon = session.scalar(select(Customer.id).where(Customer.external_id == "34088"))
        assert exxon is not None
        add_learned_alias(session, exxon, "the oil guys", "U_EMP")
    listed = runner.invoke(customers, ["aliases", "list"])
    assert listed.exit_code == 0
    assert "'the oil guys' -> EXXON MOBIL CORP [34088]" in listed.output and "by U_EMP" in listed.output
    assert "JPM" not in listed.output  # imported aliases only with --all
    everything = runner.invoke(customers, ["aliases", "list", "--all", "--json"])
    rows = [json.loads(line) for line in everything.output.splitlines()]
    assert {r["alias"] for r in rows} == {"the oil guys", "JPM"}
    learned = next(r for r in rows if r["origin"] == "correction")
    assert learned["customer"] == {"id": exxon, "name": "EXXON MOBIL CORP", "external_id": "34088"}
    # The matcher uses it for everyone.
    matched = runner.invoke(customers, ["match", "--json", "dinner with the oil guys"])
    assert json.loads(matched.output)["customer"]["name"] == "EXXON MOBIL CORP"

    removed = runner.invoke(customers, ["aliases", "remove", str(learned["id"]), "--by", "alice"])
    assert removed.exit_code == 0, removed.output
    assert "Removed alias 'the oil guys' of EXXON MOBIL CORP [34088]." in removed.output
    assert "No learned aliases yet." in runner.invoke(customers, ["aliases", "list"]).output
    with factory() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "customer.alias_removed")).one()
        assert event.actor == "alice" and event.before is not None and event.before["alias"] == "the oil guys"
    again = runner.invoke(customers, ["aliases", "remove", str(learned["id"])])
    assert again.exit_code == 1 and f"There is no alias {learned['id']}" in again.output
    not_a_number = runner.invoke(customers, ["aliases", "remove", "abc"])
    assert not_a_number.exit_code == 2 and "Traceback" not in not_a_number.output
