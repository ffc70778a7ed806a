from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli_policy import policy

ROOT = Path(__file__).resolve().parents[2]
TODAY = "2026-11-23"

ORG = """\
email,manager_email,department,role
ceo@acme.test,,Executive,admin
cfo@acme.test,ceo@acme.test,Finance,finance
lead@acme.test,ceo@acme.test,Sales,manager
ana@acme.test,lead@acme.test,Sales,employee
"""


def test_check_ok_prints_a_summary() -> None:
    result = CliRunner().invoke(policy, ["check", str(ROOT / "policy.example.yml")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK {ROOT / 'policy.example.yml'}: company currency USD, ")
    assert "auto-approval below 25.00 USD" in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "company_currency: USD\ncategories:\n  meals:\n    limit: 75 dollars\n",
            "line 4: categories.meals.limit: '75 dollars' is not an amount",
        ),
        (
            "company_currency: USD\nmax_age: 3\n",
            "line 2: max_age: unknown setting 'max_age'; did you mean 'max_age_days'?",
        ),
        ("company_currency: [\n", "this is not valid YAML"),
    ],
)
def test_check_reports_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(policy, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path} " in result.output or f"{path}:" in result.output
    assert message in result.output


def test_check_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(policy, ["check", str(tmp_path / "nope.yml")])
    assert result.exit_code == 1
    assert "nope.yml: cannot be read" in result.output


def test_show_default() -> None:
    result = CliRunner().invoke(policy, ["show-default"])
    assert result.exit_code == 0
    assert "receipts required above 75.00 USD" in result.output


@pytest.mark.parametrize(
    ("args", "exit_code", "expected"),
    [
        (
            [
                "--submitter",
                "ana@acme.test",
                "--amount",
                "1200",
                "--category",
                "travel",
                "--date",
                "2026-11-20",
            ],
            0,
            "route: manager (lead@acme.test) → manager's manager (ceo@acme.test) → finance",
        ),
        (
            ["--submitter", "ana@acme.test", "--amount", "10", "--category", "meals", "--date", "2026-11-20"],
            0,
            "route: approved by policy (auto_approve_below 25.00 USD)",
        ),
        (
            ["--submitter", "ana@acme.test", "--amount", "100", "--currency", "MYR", "--date", "2026-11-20"],
            1,
            "No MYR→USD rate for 2026-11-20",
        ),
        (
            ["--submitter", "zed@acme.test", "--amount", "10"],
            1,
            "You are not in the company directory yet; ask an admin (ceo@acme.test) to add you.",
        ),
        (["--submitter", "ana@acme.test", "--amount", "10", "--date", "yesterday"], 2, "is not a date"),
        (
            ["--submitter", "ana@acme.test", "--amount", "10", "--date", "2026-01-02"],
            0,
            "blocking: Expenses must be claimed within 90 days",
        ),
    ],
)
def test_route(tmp_path: Path, args: list[str], exit_code: int, expected: str) -> None:
    org = tmp_path / "org.csv"
    org.write_text(ORG, encoding="utf-8")
    result = CliRunner().invoke(
        policy,
        [
            "route",
            "--policy",
            str(ROOT / "policy.example.yml"),
            "--directory",
            str(org),
            "--today",
            TODAY,
            *args,
        ],
    )
    assert result.exit_code == exit_code, result.output
    assert expected in result.output


def test_route_with_rates(tmp_path: Path) -> None:
    org = tmp_path / "org.csv"
    org.write_text(ORG, encoding="utf-8")
    rates = tmp_path / "rates.csv"
    rates.write_text("date,from,to,rate\n2026-11-20,USD,MYR,4.00\n", encoding="utf-8")
    result = CliRunner().invoke(
        policy,
        [
            "route",
            "--today",
            TODAY,
            "--directory",
            str(org),
            "--rates",
            str(rates),
            "--submitter",
            "ana@acme.test",
            "--amount",
            "8000",
            "--currency",
            "MYR",
            "--category",
            "travel",
            "--date",
            "2026-11-20",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "amount 8,000.00 MYR is 2,000.00 USD in the company currency on 2026-11-20" in result.output


def test_check_directory(tmp_path: Path) -> None:
    org = tmp_path / "org.csv"
    org.write_text("\ufeff" + ORG + "zoe@acme.test,ghost@acme.test,Sales,employee\n", encoding="utf-8")
    result = CliRunner().invoke(policy, ["check-directory", str(org)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"OK {org}: 5 people (2 employee, 1 manager, 1 finance, 1 admin)"
    assert "  Sales: 3 people, head lead@acme.test" in lines
    assert "  top of the organisation: ceo@acme.test" in lines
    assert f"warning: {org} line 6: manager ghost@acme.test of zoe@acme.test is not in the directory" in lines


def test_check_directory_reports_the_line(tmp_path: Path) -> None:
    org = tmp_path / "org.csv"
    org.write_text(ORG.replace("ana@acme.test,lead@acme.test,Sales,employee", "ana@acme.test,,Sales,boss"))
    result = CliRunner().invoke(policy, ["check-directory", str(org)])
    assert result.exit_code == 1
    assert f"{org} line 5: role 'boss' is not one of employee, manager, finance, admin" in result.output


def test_check_warns_about_categories_the_app_offers(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text("company_currency: EUR\ncategories:\n  meals: {}\n  travel: {}\n", encoding="utf-8")
    result = CliRunner().invoke(policy, ["check", str(path)])
    assert result.exit_code == 0
    assert (
        "warning: the app offers categories this policy does not allow: client_entertainment, "
        in result.output
    )
    assert "meals," not in result.output.split("warning:")[1]


def test_show_default_as_yaml_loads_back() -> None:
    from workflows.policy import default_policy, load_policy

    result = CliRunner().invoke(policy, ["show-default", "--yaml", "--currency", "myr"])
    assert result.exit_code == 0, result.output
    assert load_policy(result.output) == default_policy("MYR")
    assert "  meals:\n    limit: 75.00\n    daily_limit: 100.00\n" in result.output
    bad = CliRunner().invoke(policy, ["show-default", "--currency", "dollars"])
    assert bad.exit_code == 2
