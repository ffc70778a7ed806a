"""Properties of docs/policy.md over generated organisations (delegations active, expired and
ending today, small finance teams, people without managers) and claims (weekends, holidays,
earlier claims and duplicates): thousands of cases through :func:`workflows.routing.route_claim`,
the code path of the running app and of `expensebot policy route`."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.directory import Directory, Person, Role
from workflows.fx import fixed_rates
from workflows.money import Money
from workflows.policy import ExpenseFacts, LevelApprover, Policy, default_policy
from workflows.policy_anomalies import OtherClaim
from workflows.routing import Route, RoutingError, StepKind, deciders, may_decide, route_claim

TODAY = date(2026, 11, 27)  # a Friday
HOLIDAY = date(2026, 11, 25)
RATES = fixed_rates({("EUR", "USD"): Decimal("1.10"), ("MYR", "USD"): Decimal("0.25")})
DEPARTMENTS = ["Sales", "Engineering", "Finance", None]
MERCHANTS = ["Cafe", "Air Asia", "Noodle Bar"]


@st.composite
def organisations(draw: st.DrawFn) -> Directory:
    size = draw(st.integers(min_value=2, max_value=30))
    people = []
    for index in range(size):
        manager = None
        if index > 0 and draw(st.integers(min_value=0, max_value=12)) > 0:
            manager = f"p{draw(st.integers(min_value=0, max_value=index - 1))}@x.test"
        delegate, until = None, None
        if draw(st.integers(min_value=0, max_value=3)) == 0:
            other = draw(st.integers(min_value=0, max_value=size - 1))
            if other != index:
                delegate = f"p{other}@x.test"
                until = draw(
                    st.sampled_from([None, TODAY, TODAY - timedelta(days=1), TODAY + timedelta(days=5)])
                )
        role = draw(st.sampled_from([Role.EMPLOYEE, Role.EMPLOYEE, Role.MANAGER, Role.FINANCE, Role.ADMIN]))
        people.append(
            Person(f"p{index}@x.test", manager, draw(st.sampled_from(DEPARTMENTS)), role, delegate, until)
        )
    return Directory.from_people(people)


policies = st.builds(
    lambda auto, levels, holidays: default_policy().model_copy(
        update={
            "auto_approve_below": auto,
            "approval_levels": levels,
            "reminders": default_policy().reminders.model_copy(update={"holidays": holidays}),
        }
    ),
    st.sampled_from([None, Decimal("25.00"), Decimal("150.00")]),
    st.sampled_from(
        [
            list(default_policy().approval_levels),
            [default_policy().approval_levels[1]],
            [],
        ]
    ),
    st.sampled_from([[], [HOLIDAY]]),
)

amounts = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("200"), places=2),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("12000"), places=2),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Directory, Policy, ExpenseFacts, list[OtherClaim]]:
    directory = draw(organisations())
    policy = draw(policies)
    size = len(directory)
    spent_on = TODAY - timedelta(days=draw(st.integers(min_value=-1, max_value=100)))
    expense = ExpenseFacts(
        amount=Money(draw(amounts), draw(st.sampled_from(["USD", "USD", "EUR", "MYR"]))),
        category=draw(st.sampled_from([*policy.categories, "gifts"])),
        merchant=draw(st.sampled_from([*MERCHANTS, "Lucky Casino", None])),
        spent_on=spent_on,
        has_receipt=draw(st.booleans()),
        customer_id=draw(st.sampled_from(["C-1", None])),
        submitter_email=f"p{draw(st.integers(min_value=0, max_value=size - 1))}@x.test",
        distance=draw(st.sampled_from([None, Decimal(10), Decimal(400)])),
    )
    others = [
        OtherClaim(
            ref=f"EXP-{n}",
            submitter_email=draw(st.sampled_from([expense.submitter_email, "p0@x.test"])),
            amount=draw(st.sampled_from([expense.amount, Money(Decimal("10.00"), "USD")])),
            category=draw(st.sampled_from([expense.category, "travel"])),
            spent_on=draw(st.sampled_from([spent_on, spent_on - timedelta(days=1)])),
            merchant=draw(st.sampled_from(MERCHANTS)),
            counts=draw(st.booleans()),
        )
        for n in range(draw(st.integers(min_value=0, max_value=4)))
    ]
    policy = policy.model_copy(update={"prohibited_merchants": ["casino"]})
    return directory, policy, expense, others


def _route(scenario: tuple[Directory, Policy, ExpenseFacts, list[OtherClaim]]) -> Route | None:
    directory, policy, expense, others = scenario
    try:
        return route_claim(expense, directory, policy, today=TODAY, rates=RATES, others=others)
    except RoutingError:
        return None


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_documented_guarantees_hold(
    scenario: tuple[Directory, Policy, ExpenseFacts, list[OtherClaim]],
) -> None:
    directory, policy, expense, _ = scenario
    route = _route(scenario)
    if route is None:
        return
    submitter = expense.submitter_email

    # a claim with a blocking finding is never approved, by policy or by anyone
    if route.refused:
        assert route.steps == () and route.auto_approved_rule is None
        return
    # approval by policy never happens with a finding or a flag
    if route.auto_approved:
        assert route.violations == () and route.flags == () and route.steps == ()
        assert route.amount is not None and policy.auto_approve_below is not None
        assert route.amount.amount < policy.auto_approve_below
        return

    named = [set(step.approvers) for step in route.steps]
    for index, people in enumerate(named):
        assert submitter not in people  # nobody approves their own claim
        for later in named[index + 1 :]:
            assert not people & later, "someone is named on two steps of one claim"
    # Decide the steps in order, a delegate whenever one may act: nobody decides two steps of one
    # claim (in their own name or as a delegate), and the named approvers can always decide theirs.
    decided: list[str] = []
    for index, step in enumerate(route.steps):
        others = [s for i, s in enumerate(route.steps) if i != index]
        people = deciders(step, submitter, directory, today=TODAY, other_steps=others, decided_by=decided)
        assert set(step.approvers) <= set(people), "a named approver was left unable to decide"
        assert submitter not in people
        assert not set(people) & set(decided), "someone may decide two steps of one claim"
        assert not may_decide(step, submitter, submitter, directory, today=TODAY, other_steps=others)
        delegates = [person for person in people if person not in step.approvers]
        decided.append(delegates[0] if delegates else people[0])
    assert len(set(decided)) == len(decided)

    # every claim over a threshold gets the level the policy names, or the trace says why not
    assert route.amount is not None
    kinds = [step.kind for step in route.steps]
    for level in policy.approval_levels:
        kind = (
            StepKind.SKIP_LEVEL
            if level.approver is LevelApprover.MANAGER_OF_MANAGER
            else StepKind.DEPARTMENT_HEAD
        )
        lines = [line for line in route.trace if line.startswith(f"{kind.label}:")]
        if route.amount.amount > level.above:
            assert kind in kinds or any("the finance review covers this level" in line for line in lines)
        else:
            assert kind not in kinds
    assert kinds[-1] is StepKind.FINANCE and kinds.count(StepKind.FINANCE) == 1
    if directory.manager_of(submitter) is not None:
        assert kinds[0] is StepKind.MANAGER


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_flags_and_findings_keep_a_small_claim_from_approval_by_policy(
    scenario: tuple[Directory, Policy, ExpenseFacts, list[OtherClaim]],
) -> None:
    directory, policy, expense, others = scenario
    policy = policy.model_copy(update={"auto_approve_below": Decimal("1000000")})
    route = _route((directory, policy, expense, others))
    if route is None or route.refused:
        return
    rule = policy.rule_for(expense.category)
    clean = not route.violations and not route.flags and rule is not None and rule.auto_approve
    assert route.auto_approved == clean
    weekend = expense.spent_on is not None and expense.spent_on.weekday() >= 5
    holiday = expense.spent_on in policy.reminders.holidays
    if weekend or holiday:
        assert not route.auto_approved
    if (
        any(
            o.amount == expense.amount and o.spent_on == expense.spent_on and o.merchant == expense.merchant
            for o in others
        )
        and expense.merchant
    ):
        assert "possible_duplicate" in {f.rule for f in route.flags}
