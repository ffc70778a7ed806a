"""docs/policy.md, rule by rule, against `expensebot policy route`.

One organisation of five levels (a matrix member, a contractor with no manager, delegations active,
expired and ending today, a one-person finance team), one policy using every documented key, and
a table row per documented rule: the claim, the expected route, findings and flags. Rules that
need history (daily limits, usual amounts, duplicates) get it with `--claims`, the earlier claims
the running app reads from its database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date as day
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli_policy import policy as policy_cli
from workflows.directory import Directory
from workflows.money import Money
from workflows.policy import ExpenseFacts, load_policy
from workflows.reminders import escalation_target
from workflows.routing import route_claim

TODAY = "2026-11-27"  # a Friday
THU = "2026-11-26"
HOLIDAY = "2026-11-25"
SATURDAY = "2026-11-21"

ORG = f"""\
email,manager_email,department,role,delegate_email,delegate_until
ceo@acme.test,,Executive,admin,,
it@acme.test,ceo@acme.test,Executive,admin,,
cfo@acme.test,ceo@acme.test,Finance,finance,,
finkid@acme.test,cfo@acme.test,Finance,employee,,
vp@acme.test,ceo@acme.test,Sales,manager,dep@acme.test,{TODAY}
dep@acme.test,vp@acme.test,Sales,manager,,
lead@acme.test,vp@acme.test,Sales,manager,,
kim@acme.test,vp@acme.test,Sales,manager,vp@acme.test,2026-12-10
kit@acme.test,kim@acme.test,Sales,employee,,
sam@acme.test,lead@acme.test,Sales,manager,,
ana@acme.test,sam@acme.test,Sales,employee,,
bo@acme.test,lead@acme.test,Sales,employee,,
mat@acme.test,lead@acme.test,Engineering,employee,,
eng@acme.test,ceo@acme.test,Engineering,manager,it@acme.test,2026-11-26
dev@acme.test,eng@acme.test,Engineering,employee,,
contractor@acme.test,,Sales,employee,,
ghosty@acme.test,ghost@acme.test,Sales,employee,,
"""

POLICY = f"""\
company_currency: USD
receipt_required_above: 75.00
max_age_days: 60
auto_approve_below: 25.00
approval_levels:
  - above: 1000.00
    approver: manager_of_manager
  - above: 5000.00
    approver: department_head
prohibited_merchants: [casino, "Club 88"]
prohibited_categories: [gifts]
categories:
  meals: {{limit: 75.00, daily_limit: 100.00}}
  travel: {{}}
  taxi: {{daily_limit: 50.00}}
  lodging: {{limit: 300.00, receipt_required_above: 0}}
  mileage: {{rate_per_unit: 0.67, unit: mile}}
  software: {{limit: 500.00, auto_approve: false}}
  client_entertainment: {{label: Client entertainment, limit: 250, requires_customer: true, billable: true}}
  gifts: {{}}
  alcohol: {{prohibited: true}}
  other: {{auto_approve: false}}
customers:
  internal: {{name: Internal projects, billable: false}}
reminders:
  after_working_hours: 24
  repeat_every_working_hours: 24
  escalate_after_days: 3
  timezone: UTC
  holidays: [{HOLIDAY}]
anomalies:
  history_factor: 3
  min_history: 3
  flag_weekends: true
  flag_holidays: true
budgets:
  - department: sales
    period: month
    amount: 20000
"""

RATES = f"date,from,to,rate\n2026-11-25,EUR,USD,2.00\n{THU},EUR,USD,1.10\n{THU},MYR,USD,0.25\n"

MANAGER_ONLY = "manager (sam@acme.test) → finance"


@dataclass(frozen=True)
class Row:
    rule: str
    """The docs sentence (or its gist) this row checks."""
    who: str
    amount: str
    category: str = "travel"
    route: str = MANAGER_ONLY
    findings: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    trace: tuple[str, ...] = ()
    """Lines the trace must contain."""
    extra: tuple[str, ...] = ()
    claims: str | None = None
    date: str = THU
    merchant: str | None = "Air Asia"
    error: str | None = None
    """A claim that cannot be routed: the message (exit status 1)."""
    args: tuple[str, ...] = field(default=())


ROWS = [
    # What is checked on each claim: blocking rules
    Row(
        "prohibited_categories: always refused",
        "ana",
        "40",
        "gifts",
        "refused: prohibited_category",
        findings=("prohibited_category",),
    ),
    Row(
        "categories.*.prohibited: same as prohibited_categories",
        "ana",
        "40",
        "alcohol",
        "refused: prohibited_category",
        findings=("prohibited_category",),
    ),
    Row(
        "a category not listed is refused with the valid ones",
        "ana",
        "40",
        "yacht",
        "refused: unknown_category",
        findings=("unknown_category",),
    ),
    Row(
        "what people type is normalised",
        "ana",
        "40",
        "Client Entertainment",
        MANAGER_ONLY,
        args=("--customer", "C-1"),
    ),
    Row(
        "invalid_amount: the total must be more than zero",
        "ana",
        "0",
        route="refused: invalid_amount",
        findings=("invalid_amount",),
    ),
    Row(
        "prohibited_merchants: whole words, case and punctuation ignored",
        "ana",
        "40",
        route="refused: prohibited_merchant",
        findings=("prohibited_merchant",),
        merchant="LUCKY-CASINO Resort",
    ),
    Row(
        "prohibited_merchants: a phrase",
        "ana",
        "40",
        route="refused: prohibited_merchant",
        findings=("prohibited_merchant",),
        merchant="The Club-88 Bar",
    ),
    Row(
        "prohibited_merchants: Casinotti's Trattoria is not a casino",
        "ana",
        "40",
        merchant="Casinotti's Trattoria",
    ),
    Row(
        "future_date", "ana", "40", route="refused: future_date", findings=("future_date",), date="2026-11-30"
    ),
    Row(
        "max_age_days: older claims are refused",
        "ana",
        "40",
        route="refused: too_old",
        findings=("too_old",),
        flags=("weekend",),
        date="2026-09-27",
    ),
    Row("max_age_days: exactly that old is still claimable", "ana", "40", date="2026-09-28"),
    Row(
        "requires_customer: refused without one",
        "ana",
        "40",
        "client_entertainment",
        "refused: customer_required",
        findings=("customer_required",),
    ),
    # findings
    Row("limit: most one expense may be", "ana", "80", "meals", findings=("over_limit",)),
    Row("limit: up to the limit is fine", "ana", "75", "meals"),
    Row("daily_limit: a single claim above it", "ana", "60", "taxi", findings=("over_daily_limit",)),
    Row(
        "daily_limit: the day's other claims in other currencies at that day's rate",
        "ana",
        "42.01",
        "meals",
        findings=("over_daily_limit",),
        claims=f"ana@acme.test,{THU},30,EUR,meals,Bistro\nana@acme.test,{THU},100,MYR,meals,Kopi\n",
        trace=(
            "finding over_daily_limit: Meals are limited to 100.00 USD per day; with the other meals that day "
            "(58.00 USD) this makes 100.01 USD.",
        ),
    ),
    Row(
        "daily_limit: drafts, other days and colleagues do not count",
        "ana",
        "42.00",
        "meals",
        claims=f"ana@acme.test,{THU},90,USD,meals,Bistro,draft\nana@acme.test,2026-11-24,90,USD,meals,Bistro\n"
        f"bo@acme.test,{THU},90,USD,meals,Bistro\n",
    ),
    Row("receipt_required_above", "ana", "80", findings=("receipt_required",), args=("--no-receipt",)),
    Row("receipt_required_above: up to it, no receipt needed", "ana", "75", args=("--no-receipt",)),
    Row(
        "categories.*.receipt_required_above: 0 = always",
        "ana",
        "30",
        "lodging",
        findings=("receipt_required",),
        args=("--no-receipt",),
    ),
    Row("mileage: the distance is needed", "ana", "30", "mileage", findings=("distance_missing",)),
    Row(
        "mileage: paid per unit",
        "ana",
        "70",
        "mileage",
        findings=("over_mileage_rate",),
        args=("--distance", "100"),
    ),
    Row("mileage: within the rate", "ana", "67", "mileage", args=("--distance", "100")),
    # approval by policy
    Row(
        "auto_approve_below: small clean claims",
        "ana",
        "24.99",
        route="approved by policy (auto_approve_below 25.00 USD)",
    ),
    Row("auto_approve_below: not at the amount itself", "ana", "25.00"),
    Row("auto_approve: false keeps a category from it", "ana", "10", "software"),
    Row(
        "no approval by policy with a finding",
        "ana",
        "10",
        "lodging",
        findings=("receipt_required",),
        args=("--no-receipt",),
    ),
    Row("no approval by policy on a weekend (flag_weekends)", "ana", "10", flags=("weekend",), date=SATURDAY),
    Row("no approval by policy on a holiday (flag_holidays)", "ana", "10", flags=("holiday",), date=HOLIDAY),
    Row(
        "no approval by policy for a possible duplicate",
        "ana",
        "10",
        flags=("possible_duplicate",),
        claims=f"ana@acme.test,{THU},10,USD,travel,AIR-ASIA,pending,EXP-4\n",
        trace=("flag possible_duplicate: Possible duplicate of EXP-4 (same merchant, date and total).",),
    ),
    Row(
        "a colleague's claim of the same bill is a possible duplicate",
        "ana",
        "10",
        flags=("possible_duplicate",),
        claims=f"bo@acme.test,{THU},10,USD,travel,Air Asia,approved,EXP-9\n",
    ),
    Row(
        "history_factor: an unusual amount is flagged",
        "ana",
        "20",
        flags=("unusual_amount",),
        claims="ana@acme.test,2026-11-10,5,USD,travel,X\nana@acme.test,2026-11-11,5,USD,travel,Y\n"
        "ana@acme.test,2026-11-12,5,USD,travel,Z\n",
    ),
    Row(
        "min_history: not before enough earlier claims",
        "ana",
        "20",
        route="approved by policy (auto_approve_below 25.00 USD)",
        claims="ana@acme.test,2026-11-10,5,USD,travel,X\nana@acme.test,2026-11-11,5,USD,travel,Y\n",
    ),
    # who approves
    Row("manager: the submitter's manager", "ana", "200"),
    Row(
        "above 1000: the manager's manager",
        "ana",
        "1200",
        route="manager (sam@acme.test) → manager's manager (lead@acme.test) → finance",
    ),
    Row(
        "above 5000: the department head",
        "ana",
        "6000",
        route="manager (sam@acme.test) → manager's manager (lead@acme.test) → department head (vp@acme.test) → finance",
    ),
    Row("thresholds are exclusive", "ana", "1000.00"),
    Row(
        "amounts in another currency are converted first",
        "ana",
        "1200",
        route="manager (sam@acme.test) → manager's manager (lead@acme.test) → finance",
        args=("--currency", "EUR"),
        trace=("amount 1,200.00 EUR is 1,320.00 USD in the company currency on 2026-11-26",),
        extra=("manager's manager: lead@acme.test (manager of sam@acme.test)",),
    ),
    Row(
        "a level whose approver already approves is passed up",
        "sam",
        "6000",
        route="manager (lead@acme.test) → manager's manager (vp@acme.test) → department head (ceo@acme.test) → finance",
        trace=("department head: vp@acme.test already approves an earlier step; passed to ceo@acme.test",),
    ),
    Row(
        "no one left above: the finance review covers the level",
        "lead",
        "6000",
        route="manager (vp@acme.test) → manager's manager (ceo@acme.test) → finance",
        trace=(
            "department head: no one above ceo@acme.test is left to approve; the finance review covers this level",
        ),
    ),
    Row(
        "the department head of a matrix member is the head of their department",
        "mat",
        "6000",
        route="manager (lead@acme.test) → manager's manager (vp@acme.test) → department head (eng@acme.test) → finance",
    ),
    Row(
        "the top of the organisation has no manager step",
        "ceo",
        "200",
        route="finance",
        trace=("manager: ceo@acme.test is at the top of the organisation; no manager step",),
    ),
    Row("finance: any finance member", "ana", "200", trace=("finance: any of cfo@acme.test",)),
    Row(
        "four eyes: the only finance member's own claim goes to the admins",
        "cfo",
        "200",
        route="manager (ceo@acme.test) → finance",
        trace=(
            "finance: cfo@acme.test is the submitter and does not review their own claim",
            "finance: no finance member other than the submitter or an earlier approver; admins it@acme.test decide",
        ),
    ),
    Row(
        "four eyes: the only finance member approved the manager step",
        "finkid",
        "200",
        route="manager (cfo@acme.test) → finance",
        trace=(
            "finance: cfo@acme.test already approves an earlier step of this claim, so cannot also review it (four eyes)",
            "finance: no finance member other than the submitter or an earlier approver; admins ceo@acme.test, it@acme.test decide",
        ),
    ),
    Row(
        "no manager and not the top: cannot submit",
        "contractor",
        "40",
        error="Your expense cannot be sent for approval because the directory has no manager for you",
    ),
    Row(
        "a manager missing from the directory: cannot submit",
        "ghosty",
        "40",
        error="the directory names ghost@acme.test as manager of ghosty@acme.test, but ghost@acme.test is not in it",
    ),
    Row(
        "someone not in the directory is asked to contact an admin",
        "nobody",
        "40",
        error="You are not in the company directory yet; ask an admin (ceo@acme.test, it@acme.test) to add you.",
    ),
    Row(
        "a missing rate: not routed",
        "ana",
        "40",
        args=("--currency", "JPY"),
        error="No JPY→USD rate for 2026-11-26: ask finance to fetch the reference rates (expensebot fx update) "
        "or import rates (expensebot fx import)",
    ),
    # delegation
    Row(
        "delegation: the delegate may act until delegate_until",
        "kit",
        "200",
        route="manager (kim@acme.test) → finance",
        trace=("manager: vp@acme.test may act for kim@acme.test until 2026-12-10",),
    ),
    Row(
        "delegation: nobody decides two steps of one claim, even as a delegate; the step goes to the next one up",
        "kit",
        "1200",
        route="manager (kim@acme.test, ceo@acme.test) → manager's manager (vp@acme.test) → finance",
        trace=(
            "manager: kim@acme.test's delegate vp@acme.test approves the manager's manager step of this claim, "
            "so cannot act for kim@acme.test on it (nobody decides two steps of one claim)",
            "manager: while kim@acme.test is away, the step also goes to ceo@acme.test (the next one up who "
            "approves no other step of this claim)",
        ),
    ),
    Row(
        "delegation: never on the delegate's own claim",
        "dep",
        "200",
        route="manager (vp@acme.test, ceo@acme.test) → finance",
        trace=("manager: vp@acme.test's delegate dep@acme.test is the submitter and cannot act for them",),
    ),
    Row(
        "delegation: ending today still counts",
        "lead",
        "200",
        route="manager (vp@acme.test) → finance",
        trace=(f"manager: dep@acme.test may act for vp@acme.test until {TODAY}",),
    ),
    Row("delegation: an expired one does not", "dev", "200", route="manager (eng@acme.test) → finance"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs_table")
    (folder / "org.csv").write_text(ORG)
    (folder / "policy.yml").write_text(POLICY)
    (folder / "rates.csv").write_text(RATES)
    return folder


def run(files: Path, row: Row) -> tuple[int, str]:
    args = [
        "route",
        "--policy",
        str(files / "policy.yml"),
        "--directory",
        str(files / "org.csv"),
        "--rates",
        str(files / "rates.csv"),
        "--today",
        TODAY,
        "--submitter",
        f"{row.who}@acme.test",
        "--amount",
        row.amount,
        "--category",
        row.category,
        "--date",
        row.date,
        *row.args,
    ]
    if row.merchant is not None:
        args += ["--merchant", row.merchant]
    if row.category == "client_entertainment" and "--customer" not in row.args:
        pass  # the customer is left out on purpose
    elif "--customer" not in row.args:
        args += ["--customer", "C-1"]
    if row.claims is not None:
        path = files / f"claims-{abs(hash(row.rule))}.csv"
        path.write_text("submitter,date,amount,currency,category,merchant,status,ref\n" + row.claims)
        args += ["--claims", str(path)]
    result = CliRunner().invoke(policy_cli, args)
    return result.exit_code, result.output


@pytest.mark.parametrize("row", ROWS, ids=[row.rule for row in ROWS])
def test_each_rule_of_the_docs(files: Path, row: Row) -> None:
    code, output = run(files, row)
    if row.error is not None:
        assert code == 1, output
        assert row.error in output
        return
    assert code == 0, output
    lines = [line for line in output.splitlines() if not line.startswith("warning: ")]  # stderr
    assert lines[0] == f"route: {row.route}", output
    trace = [line.strip() for line in lines[lines.index("trace:") + 1 :]]
    found = tuple(
        line.split(":")[0].split(" ", 1)[1] for line in trace if line.startswith(("finding ", "blocking "))
    )
    flags = tuple(line.split(":")[0].split(" ", 1)[1] for line in trace if line.startswith("flag "))
    assert found == row.findings, output
    assert flags == row.flags, output
    for expected in (*row.trace, *row.extra):
        assert expected in trace, output
    if row.route.startswith("approved by policy"):
        assert not found and not flags


ESCALATIONS = [
    # (who, amount, step, escalated to, part of the reason)
    (
        "ana",
        "200",
        0,
        ("lead@acme.test",),
        "sam@acme.test has not decided in 3 working days; escalated to their manager lead@acme.test",
    ),
    ("ana", "1200", 0, ("vp@acme.test",), "lead@acme.test approves another step of this claim"),
    (
        "ana",
        "200",
        1,
        ("ceo@acme.test", "it@acme.test"),
        "finance has not decided in 3 working days; escalated to the admins ceo@acme.test, it@acme.test",
    ),
    ("ceo", "200", 0, ("it@acme.test",), "escalated to the admins it@acme.test"),
    ("lead", "1200", 0, ("it@acme.test",), "has no manager above"),
]


@pytest.mark.parametrize(("who", "amount", "index", "to", "reason"), ESCALATIONS)
def test_escalation_as_the_docs_say(
    who: str, amount: str, index: int, to: tuple[str, ...], reason: str
) -> None:
    """Escalation adds the approver's own manager; the submitter, approvers of the step and of other
    steps are passed over (the next one up); with no one above, and for finance, the admins."""
    directory = Directory.from_csv_text(ORG)
    policy = load_policy(POLICY)
    expense = ExpenseFacts(
        Money(Decimal(amount), "USD"),
        "travel",
        "Air Asia",
        day.fromisoformat(THU),
        True,
        "C-1",
        f"{who}@acme.test",
    )
    route = route_claim(expense, directory, policy, today=day.fromisoformat(TODAY))
    escalation = escalation_target(route, index, directory, expense.submitter_email, policy=policy)
    assert escalation.to == to
    assert reason in escalation.reason
