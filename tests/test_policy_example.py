"""policy.example.yml at the repository root loads, and behaves as docs/policy.md says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from workflows.directory import Directory
from workflows.money import Money
from workflows.policy import ExpenseFacts, LevelApprover, Policy, evaluate, is_billable, load_policy
from workflows.routing import StepKind, plan_route

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "policy.example.yml"
DOCS = ROOT / "docs" / "policy.md"
TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def example() -> Policy:
    return load_policy(EXAMPLE.read_text(encoding="utf-8"), source="policy.example.yml")


def test_example_loads_with_the_documented_values(example: Policy) -> None:
    assert example.company_currency == "USD"
    assert example.receipt_required_above == Decimal("75.00")
    assert example.max_age_days == 90
    assert example.auto_approve_below == Decimal("25.00")
    assert [(lvl.above, lvl.approver) for lvl in example.approval_levels] == [
        (Decimal("1000.00"), LevelApprover.MANAGER_OF_MANAGER),
        (Decimal("5000.00"), LevelApprover.DEPARTMENT_HEAD),
    ]
    assert example.categories["meals"].limit == Decimal("75.00")
    assert example.categories["mileage"].rate_per_unit == Decimal("0.67")
    assert example.categories["client_entertainment"].requires_customer
    assert example.reminders.escalate_after_days == 3
    assert date(2026, 12, 25) in example.reminders.holidays


def test_every_setting_of_the_example_is_documented(example: Policy) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    top = set(type(example).model_fields)
    nested = {
        *type(example.categories["meals"]).model_fields,
        *type(example.reminders).model_fields,
        *type(example.anomalies).model_fields,
        *type(example.approval_levels[0]).model_fields,
        *type(example.budgets[0]).model_fields,
    }
    missing = sorted(name for name in top | nested if f"`{name}`" not in docs)
    assert missing == []


def test_example_categories_cover_the_app_categories(example: Policy) -> None:
    from workflows.categories import CATEGORIES

    assert set(CATEGORIES) <= set(example.categories)


ORG = """\
email,manager_email,department,role
ceo@acme.test,,Executive,admin
cfo@acme.test,ceo@acme.test,Finance,finance
vp@acme.test,ceo@acme.test,Sales,manager
lead@acme.test,vp@acme.test,Sales,manager
ana@acme.test,lead@acme.test,Sales,employee
"""


def _claim(amount: str, category: str = "travel", **extra: object) -> ExpenseFacts:
    values: dict[str, object] = {
        "amount": Money(Decimal(amount), "USD"),
        "category": category,
        "merchant": "Acme Air",
        "spent_on": date(2026, 11, 20),
        "has_receipt": True,
        "submitter_email": "ana@acme.test",
    }
    values.update(extra)
    return ExpenseFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expense", "outcome"),
    [
        (_claim("12.00", "meals"), "approved by policy (auto_approve_below 25.00 USD)"),
        (_claim("12.00", "software"), "manager (lead@acme.test) → finance"),
        (_claim("800.00"), "manager (lead@acme.test) → finance"),
        (_claim("1200.00"), "manager (lead@acme.test) → manager's manager (vp@acme.test) → finance"),
        (
            _claim("7000.00"),
            "manager (lead@acme.test) → manager's manager (vp@acme.test) → department head (ceo@acme.test) → finance",
        ),
        (_claim("40.00", merchant="Lucky Casino"), "refused: prohibited_merchant"),
        (_claim("40.00", "gifts"), "refused: prohibited_category"),
        (_claim("90.00", "client_entertainment"), "refused: customer_required"),
    ],
)
def test_example_routes(example: Policy, expense: ExpenseFacts, outcome: str) -> None:
    directory = Directory.from_csv_text(ORG)
    assert plan_route(expense, directory, example, today=TODAY).describe() == outcome


def test_example_billing_and_limits(example: Policy) -> None:
    assert is_billable(_claim("90.00", "client_entertainment", customer_id="C-7"), example)
    assert not is_billable(_claim("90.00", "client_entertainment", customer_id="internal"), example)
    rules = [v.rule for v in evaluate(_claim("99.00", "meals", has_receipt=False), example, today=TODAY)]
    assert rules == ["over_limit", "receipt_required"]
    assert (
        plan_route(_claim("99.00", "meals"), Directory.from_csv_text(ORG), example, today=TODAY).steps[0].kind
        is StepKind.MANAGER
    )


def test_the_documented_default_is_the_built_in_default() -> None:
    from workflows.policy import default_policy

    docs = DOCS.read_text(encoding="utf-8")
    section = docs.split("## The built-in default", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert load_policy(block, source="docs/policy.md") == default_policy()


def test_route_scenarios_script_routes_the_sample_organisation(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("route_scenarios", ROOT / "scripts" / "route_scenarios.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    assert len(module.build_directory()) >= 50
    assert len(module.SCENARIOS) >= 30
    assert module.main(["--today", "2026-11-23"]) == 0
    output = capsys.readouterr().out.splitlines()
    assert output[0].startswith("51 people, 37 expenses, policy currency USD")
    rows = output[3:]
    assert len(rows) == 37
    by_submitter = {row.split()[1]: row for row in rows}
    assert "approved by policy" in rows[0] and "auto: auto_approve_below 25.00 USD" in rows[0]
    assert "olga → vp.ops → ceo → finance" in by_submitter["tom"]
    assert "BLOCK prohibited_merchant" in by_submitter["bea"]
    assert "error: No GBP→USD rate" in by_submitter["quin"]
