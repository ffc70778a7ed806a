from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from workflows.directory import Directory, Person, Role
from workflows.fx import MissingRate, fixed_rates
from workflows.money import Money
from workflows.policy import ExpenseFacts, default_policy, load_policy
from workflows.routing import (
    ApprovalStep,
    EmptyDirectory,
    NoApprover,
    NoManager,
    NotInDirectory,
    PartialApprovalError,
    Route,
    RoutingError,
    StepKind,
    may_decide,
    next_level,
    partial_approval,
    plan_route,
    route_from_json,
    route_to_json,
)

TODAY = date(2026, 11, 23)

ORG = """\
email,manager_email,department,role,delegate_email,delegate_until
ceo@acme.test,,Executive,admin,,
cfo@acme.test,ceo@acme.test,Finance,finance,,
fin@acme.test,cfo@acme.test,Finance,finance,,
vp@acme.test,ceo@acme.test,Sales,manager,,
lead@acme.test,vp@acme.test,Sales,manager,deputy@acme.test,2026-12-24
deputy@acme.test,lead@acme.test,Sales,employee,,
ana@acme.test,lead@acme.test,Sales,employee,,
"""

FINANCE = ("cfo@acme.test", "fin@acme.test")


@pytest.fixture
def org() -> Directory:
    return Directory.from_csv_text(ORG, source="org.csv")


def claim(who: str, amount: str, currency: str = "USD", **changes: object) -> ExpenseFacts:
    base = ExpenseFacts(
        amount=Money(Decimal(amount), currency),
        category="travel",
        merchant="Air Asia",
        spent_on=date(2026, 11, 20),
        has_receipt=True,
        submitter_email=f"{who}@acme.test",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


NOT_NEEDED_SKIP = "manager's manager: not needed, {a} is not above 1,000.00 USD"
NOT_NEEDED_HEAD = "department head: not needed, {a} is not above 5,000.00 USD"

# one row per situation: submitter, amount, expected steps (kind, approvers), expected trace
ROUTES: list[tuple[str, str, str, list[tuple[StepKind, tuple[str, ...]]], list[str]]] = [
    (
        "employee, small claim: manager then finance",
        "ana",
        "200.00",
        [(StepKind.MANAGER, ("lead@acme.test",)), (StepKind.FINANCE, FINANCE)],
        [
            "manager: lead@acme.test",
            "manager: deputy@acme.test may act for lead@acme.test until 2026-12-24",
            NOT_NEEDED_SKIP.format(a="200.00 USD"),
            NOT_NEEDED_HEAD.format(a="200.00 USD"),
            "finance: any of cfo@acme.test, fin@acme.test",
        ],
    ),
    (
        "exactly at the first threshold: no extra level",
        "ana",
        "1000.00",
        [(StepKind.MANAGER, ("lead@acme.test",)), (StepKind.FINANCE, FINANCE)],
        [
            "manager: lead@acme.test",
            "manager: deputy@acme.test may act for lead@acme.test until 2026-12-24",
            NOT_NEEDED_SKIP.format(a="1,000.00 USD"),
            NOT_NEEDED_HEAD.format(a="1,000.00 USD"),
            "finance: any of cfo@acme.test, fin@acme.test",
        ],
    ),
    (
        "above 1,000: manager's manager",
        "ana",
        "1000.01",
        [
            (StepKind.MANAGER, ("lead@acme.test",)),
            (StepKind.SKIP_LEVEL, ("vp@acme.test",)),
            (StepKind.FINANCE, FINANCE),
        ],
        [
            "manager: lead@acme.test",
            "manager: deputy@acme.test may act for lead@acme.test until 2026-12-24",
            "manager's manager: vp@acme.test (manager of lead@acme.test)",
            NOT_NEEDED_HEAD.format(a="1,000.01 USD"),
            "finance: any of cfo@acme.test, fin@acme.test",
        ],
    ),
    (
        "above 5,000: the department head already approves, passed up",
        "ana",
        "6000.00",
        [
            (StepKind.MANAGER, ("lead@acme.test",)),
            (StepKind.SKIP_LEVEL, ("vp@acme.test",)),
            (StepKind.DEPARTMENT_HEAD, ("ceo@acme.test",)),
            (StepKind.FINANCE, FINANCE),
        ],
        [
            "manager: lead@acme.test",
            "manager: deputy@acme.test may act for lead@acme.test until 2026-12-24",
            "manager's manager: vp@acme.test (manager of lead@acme.test)",
            "department head: vp@acme.test already approves an earlier step; passed to ceo@acme.test",
            "department head: ceo@acme.test (passed up from vp@acme.test, head of Sales)",
            "finance: any of cfo@acme.test, fin@acme.test",
        ],
    ),
    (
        "manager's large claim: no one left for the department-head level",
        "lead",
        "6000.00",
        [
            (StepKind.MANAGER, ("vp@acme.test",)),
            (StepKind.SKIP_LEVEL, ("ceo@acme.test",)),
            (StepKind.FINANCE, FINANCE),
        ],
        [
            "manager: vp@acme.test",
            "manager's manager: ceo@acme.test (manager of vp@acme.test)",
            "department head: vp@acme.test already approves an earlier step; passed to ceo@acme.test",
            "department head: ceo@acme.test already approves an earlier step; "
            "passed to the next one up, but there is no one above",
            "department head: no one above ceo@acme.test is left to approve; the finance review covers this level",
            "finance: any of cfo@acme.test, fin@acme.test",
        ],
    ),
    (
        "department head's own claim: the head level passes over the submitter",
        "vp",
        "6000.00",
        [
            (StepKind.MANAGER, ("ceo@acme.test",)),
            (StepKind.FINANCE, FINANCE),
        ],
        [
            "manager: ceo@acme.test",
            "manager's manager: ceo@acme.test has no manager; the finance review covers this level",
            "department head: vp@acme.test is the submitter; passed to ceo@acme.test",
            "department head: ceo@acme.test already approves an earlier step; "
            "passed to the next one up, but there is no one above",
            "department head: no one above ceo@acme.test is left to approve; the finance review covers this level",
            "finance: any of cfo@acme.test, fin@acme.test",
        ],
    ),
    (
        "top of the organisation: finance only",
        "ceo",
        "1500.00",
        [(StepKind.FINANCE, FINANCE)],
        [
            "manager: ceo@acme.test is at the top of the organisation; no manager step",
            "manager's manager: ceo@acme.test has no manager; the finance review covers this level",
            NOT_NEEDED_HEAD.format(a="1,500.00 USD"),
            "finance: any of cfo@acme.test, fin@acme.test",
        ],
    ),
    (
        "finance member's claim: the other finance member reviews",
        "cfo",
        "200.00",
        [(StepKind.MANAGER, ("ceo@acme.test",)), (StepKind.FINANCE, ("fin@acme.test",))],
        [
            "manager: ceo@acme.test",
            NOT_NEEDED_SKIP.format(a="200.00 USD"),
            NOT_NEEDED_HEAD.format(a="200.00 USD"),
            "finance: cfo@acme.test is the submitter and does not review their own claim",
            "finance: any of fin@acme.test",
        ],
    ),
    (
        "finance member whose manager is the only other finance member",
        "fin",
        "200.00",
        [(StepKind.MANAGER, ("cfo@acme.test",)), (StepKind.FINANCE, ("ceo@acme.test",))],
        [
            "manager: cfo@acme.test",
            NOT_NEEDED_SKIP.format(a="200.00 USD"),
            NOT_NEEDED_HEAD.format(a="200.00 USD"),
            "finance: fin@acme.test is the submitter and does not review their own claim",
            "finance: cfo@acme.test already approves an earlier step of this claim, so cannot also review it "
            "(four eyes)",
            "finance: no finance member other than the submitter or an earlier approver; "
            "admins ceo@acme.test decide",
        ],
    ),
]


@pytest.mark.parametrize(("name", "who", "amount", "steps", "trace"), ROUTES, ids=[r[0] for r in ROUTES])
def test_routes(
    org: Directory,
    name: str,
    who: str,
    amount: str,
    steps: list[tuple[StepKind, tuple[str, ...]]],
    trace: list[str],
) -> None:
    route = plan_route(claim(who, amount), org, default_policy(), today=TODAY)
    assert [(s.kind, s.approvers) for s in route.steps] == steps
    assert list(route.trace) == trace
    assert route.auto_approved_rule is None
    assert not route.refused
    for step in route.steps:
        assert f"{who}@acme.test" not in step.approvers
        assert step.reason


def test_a_delegate_who_is_the_submitter_cannot_act(org: Directory) -> None:
    route = plan_route(claim("deputy", "50.00"), org, default_policy(), today=TODAY)
    assert route.steps[0].approvers == ("lead@acme.test", "vp@acme.test")  # vp@ stands in for lead@
    assert (
        "manager: lead@acme.test's delegate deputy@acme.test is the submitter and cannot act for them"
        in route.trace
    )
    assert (
        "manager: while lead@acme.test is away, the step also goes to vp@acme.test (the next one up who "
        "approves no other step of this claim)" in route.trace
    )
    assert not may_decide(route.steps[0], "deputy@acme.test", "deputy@acme.test", org, today=TODAY)


def test_foreign_amount_is_converted_for_thresholds(org: Directory) -> None:
    rates = fixed_rates({("MYR", "USD"): Decimal("0.225")})
    route = plan_route(claim("ana", "5000.00", "MYR"), org, default_policy(), today=TODAY, rates=rates)
    assert route.amount == Money(Decimal("1125.00"), "USD")
    assert [s.kind for s in route.steps] == [StepKind.MANAGER, StepKind.SKIP_LEVEL, StepKind.FINANCE]
    assert route.trace[0] == "amount 5,000.00 MYR is 1,125.00 USD in the company currency on 2026-11-20"


def test_missing_rate_stops_routing(org: Directory) -> None:
    with pytest.raises(MissingRate, match="No MYR→USD rate for 2026-11-20"):
        plan_route(claim("ana", "5000.00", "MYR"), org, default_policy(), today=TODAY)


AUTO = load_policy(
    """\
company_currency: USD
auto_approve_below: 25.00
categories:
  meals: {limit: 75.00}
  travel: {}
  software: {auto_approve: false}
  client_entertainment: {requires_customer: true}
"""
)


@pytest.mark.parametrize(
    ("name", "expense", "auto_rule", "last_trace"),
    [
        (
            "small clean claim",
            claim("ana", "24.99", category="meals"),
            "auto_approve_below 25.00 USD",
            "approved by policy: 24.99 USD is below 25.00 USD with no findings and no anomaly flags (auto_approve_below 25.00 USD)",
        ),
        (
            "at the threshold",
            claim("ana", "25.00", category="meals"),
            None,
            "finance: any of cfo@acme.test, fin@acme.test",
        ),
        (
            "category never auto-approved",
            claim("ana", "5.00", category="software"),
            None,
            "finance: any of cfo@acme.test, fin@acme.test",
        ),
    ],
)
def test_auto_approval(
    org: Directory, name: str, expense: ExpenseFacts, auto_rule: str | None, last_trace: str
) -> None:
    route = plan_route(expense, org, AUTO, today=TODAY)
    assert route.auto_approved_rule == auto_rule
    assert route.trace[-1] == last_trace
    assert (route.steps == ()) is (auto_rule is not None)


def test_no_auto_approval_with_findings(org: Directory) -> None:
    policy = load_policy("company_currency: USD\nauto_approve_below: 100\nreceipt_required_above: 10\n")
    route = plan_route(claim("ana", "20.00", has_receipt=False), org, policy, today=TODAY)
    assert route.auto_approved_rule is None
    assert [v.rule for v in route.violations] == ["receipt_required"]
    assert "no auto-approval: the claim has policy findings" in route.trace
    assert route.steps[0].kind is StepKind.MANAGER


def test_blocking_violations_refuse_the_route(org: Directory) -> None:
    route = plan_route(
        claim("ana", "120.00", category="client_entertainment", spent_on=date(2026, 12, 1)),
        org,
        AUTO,
        today=TODAY,
    )
    assert route.refused
    assert route.steps == ()
    assert route.auto_approved_rule is None
    assert [v.rule for v in route.blocking] == ["future_date", "customer_required"]
    assert route.trace[-1] == "refused: the claim breaks a blocking rule and is not sent for approval"
    assert route.describe() == "refused: future_date; customer_required"


@pytest.mark.parametrize(
    ("directory_text", "submitter", "error", "user_message", "notify"),
    [
        (
            "",
            "ana",
            EmptyDirectory,
            "There is no company directory yet, so expenses cannot be sent for approval; "
            "the admins have been told.",
            True,
        ),
        (
            ORG,
            "stranger",
            NotInDirectory,
            "You are not in the company directory yet; ask an admin (ceo@acme.test) to add you.",
            False,
        ),
        (
            ORG + "zoe@acme.test,ghost@acme.test,Sales,employee,,\n",
            "zoe",
            NoManager,
            "Your expense cannot be sent for approval because the directory has no manager for you; "
            "the admins have been told.",
            True,
        ),
        (
            ORG + "zoe@acme.test,,Sales,employee,,\n",
            "zoe",
            NoManager,
            "Your expense cannot be sent for approval because the directory has no manager for you; "
            "the admins have been told.",
            True,
        ),
        (
            "email,manager_email,department,role\nboss@acme.test,,Ops,finance\nana@acme.test,boss@acme.test,Ops,employee\n",
            "boss",
            NoApprover,
            "Your expense cannot be sent for approval: no one but you can approve the finance step; "
            "the admins have been told.",
            True,
        ),
    ],
)
def test_routing_errors(
    directory_text: str,
    submitter: str,
    error: type[RoutingError],
    user_message: str,
    notify: bool,
) -> None:
    directory = Directory.from_csv_text(directory_text) if directory_text else Directory.empty()
    with pytest.raises(error) as raised:
        plan_route(claim(submitter, "50.00"), directory, default_policy(), today=TODAY)
    assert raised.value.user_message == user_message
    assert raised.value.notify_admins is notify
    assert str(raised.value) == user_message


def test_no_manager_tells_admins_what_to_fix(org: Directory) -> None:
    directory = Directory.from_csv_text(ORG + "zoe@acme.test,ghost@acme.test,Sales,employee,,\n")
    with pytest.raises(NoManager) as raised:
        plan_route(claim("zoe", "50.00"), directory, default_policy(), today=TODAY)
    assert raised.value.admin_message == (
        "Expense from zoe@acme.test is waiting: the directory names ghost@acme.test as manager of "
        "zoe@acme.test, but ghost@acme.test is not in it. Fix the directory and re-import it."
    )


def test_without_finance_the_admins_review(org: Directory) -> None:
    directory = Directory.from_people(
        [
            Person("boss@x.test", None, "Ops", Role.ADMIN),
            Person("it@x.test", "boss@x.test", "Ops", Role.ADMIN),
            Person("eve@x.test", "boss@x.test", "Ops", Role.EMPLOYEE),
        ]
    )
    route = plan_route(
        claim("ana", "50.00", submitter_email="eve@x.test"), directory, default_policy(), today=TODAY
    )
    assert route.steps[-1] == ApprovalStep(
        StepKind.FINANCE,
        ("it@x.test",),  # boss@ approves the manager step: nobody decides two steps (four eyes)
        "no finance member other than the submitter or an earlier approver; an admin checks the claim",
    )


def test_employee_without_department_gets_the_next_one_up() -> None:
    directory = Directory.from_people(
        [
            Person("top@x.test", None, None, Role.ADMIN),
            Person("mid@x.test", "top@x.test", None, Role.MANAGER),
            Person("low@x.test", "mid@x.test", None, Role.EMPLOYEE),
            Person("eve@x.test", "low@x.test", None, Role.EMPLOYEE),
            Person("money@x.test", "top@x.test", None, Role.FINANCE),
        ]
    )
    route = plan_route(
        claim("x", "9000.00", submitter_email="eve@x.test"), directory, default_policy(), today=TODAY
    )
    assert [(s.kind, s.approvers) for s in route.steps] == [
        (StepKind.MANAGER, ("low@x.test",)),
        (StepKind.SKIP_LEVEL, ("mid@x.test",)),
        (StepKind.DEPARTMENT_HEAD, ("top@x.test",)),
        (StepKind.FINANCE, ("money@x.test",)),
    ]
    assert "department head: top@x.test (eve@x.test has no department; manager of mid@x.test)" in route.trace


# --- who may decide ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "today", "allowed", "on_behalf_of"),
    [
        ("lead@acme.test", TODAY, True, None),
        ("LEAD@acme.test", TODAY, True, None),
        ("deputy@acme.test", TODAY, True, "lead@acme.test"),
        ("deputy@acme.test", date(2026, 12, 24), True, "lead@acme.test"),
        ("deputy@acme.test", date(2026, 12, 25), False, None),
        ("vp@acme.test", TODAY, False, None),
        ("ana@acme.test", TODAY, False, None),
    ],
)
def test_may_decide(org: Directory, actor: str, today: date, allowed: bool, on_behalf_of: str | None) -> None:
    step = ApprovalStep(StepKind.MANAGER, ("lead@acme.test",), "manager")
    decision = may_decide(step, actor, "ana@acme.test", org, today=today)
    assert bool(decision) is allowed
    assert decision.on_behalf_of == on_behalf_of
    assert decision.reason


def test_a_delegate_never_approves_their_own_claim(org: Directory) -> None:
    step = ApprovalStep(StepKind.MANAGER, ("lead@acme.test",), "manager")
    decision = may_decide(step, "deputy@acme.test", "deputy@acme.test", org, today=TODAY)
    assert not decision
    assert decision.reason == "You cannot approve your own expense."


def test_an_approver_listed_on_a_step_cannot_approve_their_own_claim(org: Directory) -> None:
    step = ApprovalStep(StepKind.FINANCE, FINANCE, "finance")
    assert not may_decide(step, "fin@acme.test", "fin@acme.test", org, today=TODAY)
    assert may_decide(step, "cfo@acme.test", "fin@acme.test", org, today=TODAY)


def test_next_level() -> None:
    steps = (
        ApprovalStep(StepKind.MANAGER, ("a@x.test",), "m"),
        ApprovalStep(StepKind.FINANCE, ("f@x.test",), "f"),
    )
    route = Route(steps, None, (), ())
    assert next_level(route, 0) == steps[1]
    assert next_level(route, 1) is None
    assert next_level(Route((), "auto", (), ()), 0) is None


# --- partial approval ----------------------------------------------------------------------


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def test_partial_approval() -> None:
    partial = partial_approval(usd("92.10"), usd("75.00"), "  meals   limit is 75 ")
    assert partial.reason == "meals limit is 75"
    assert partial.reduced_by == usd("17.10")


@pytest.mark.parametrize(
    ("approved", "reason", "message"),
    [
        (
            Money(Decimal("50"), "EUR"),
            "limit",
            "Approve the lower amount in the claim's currency (USD), not EUR.",
        ),
        (usd("0"), "limit", "The approved amount must be more than zero; reject the claim instead."),
        (
            usd("92.10"),
            "limit",
            "The approved amount (92.10 USD) must be lower than the claim (92.10 USD); approve the claim in full instead.",
        ),
        (usd("50"), "  ", "Say why you approve a lower amount; the submitter sees the reason."),
    ],
)
def test_partial_approval_refusals(approved: Money, reason: str, message: str) -> None:
    with pytest.raises(PartialApprovalError) as err:
        partial_approval(usd("92.10"), approved, reason)
    assert str(err.value) == message


def test_route_json_round_trip(org: Directory) -> None:
    import json

    rates = fixed_rates({("MYR", "USD"): Decimal("0.225")})
    route = plan_route(
        claim("ana", "9000.00", "MYR", has_receipt=False), org, default_policy(), today=TODAY, rates=rates
    )
    stored = json.loads(json.dumps(route_to_json(route)))
    assert route_from_json(stored) == route
    assert stored["steps"][0] == {
        "kind": "manager",
        "approvers": ["lead@acme.test"],
        "reason": "lead@acme.test is ana@acme.test's manager",
    }
    assert stored["amount"] == {"amount": "2025.00", "currency": "USD"}
