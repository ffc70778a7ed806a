"""Properties of routing, policy evaluation and escalation over generated organisations."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from workflows.directory import Directory, Person, Role
from workflows.fx import MissingRate, fixed_rates
from workflows.money import Money
from workflows.policy import ExpenseFacts, Policy, default_policy, evaluate
from workflows.reminders import add_working_time, escalation_target, reminder_due, working_time
from workflows.routing import (
    NoApprover,
    NoManager,
    NotInDirectory,
    Route,
    RoutingError,
    StepKind,
    may_decide,
    next_level,
    plan_route,
)

TODAY = date(2026, 11, 23)
RATES = fixed_rates(
    {("EUR", "USD"): Decimal("1.08"), ("MYR", "USD"): Decimal("0.2250"), ("JPY", "USD"): Decimal("0.0066")}
)
CURRENCIES = ["USD", "EUR", "MYR", "JPY"]
DEPARTMENTS = ["Sales", "Engineering", "Finance", None]


@st.composite
def organisations(draw: st.DrawFn) -> Directory:
    size = draw(st.integers(min_value=1, max_value=25))
    people = []
    for index in range(size):
        if index == 0:
            manager = None
        else:
            has_manager = draw(st.integers(min_value=0, max_value=9)) > 0
            manager = (
                f"p{draw(st.integers(min_value=0, max_value=index - 1))}@x.test" if has_manager else None
            )
        people.append(
            Person(
                email=f"p{index}@x.test",
                manager_email=manager,
                department=draw(st.sampled_from(DEPARTMENTS)),
                role=draw(st.sampled_from(list(Role))),
            )
        )
    return Directory.from_people(people)


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20000"), places=2)


@st.composite
def expenses(draw: st.DrawFn, size: int = 25) -> ExpenseFacts:
    """Mostly valid claims by people in the organisation, some by strangers or breaking rules."""
    policy = default_policy()
    rare = draw(st.integers(min_value=0, max_value=9)) == 0
    if rare:
        spent_on = draw(st.dates(min_value=TODAY - timedelta(days=120), max_value=TODAY + timedelta(days=3)))
    else:
        spent_on = draw(st.dates(min_value=TODAY - timedelta(days=80), max_value=TODAY))
    return ExpenseFacts(
        amount=Money(draw(amounts), draw(st.sampled_from(CURRENCIES))),
        category=draw(st.sampled_from([*policy.categories, "yacht"] if rare else list(policy.categories))),
        merchant=draw(
            st.sampled_from(["Cafe", "Air Asia", "Lucky Casino", None] if rare else ["Cafe", "Air Asia"])
        ),
        spent_on=spent_on,
        has_receipt=draw(st.booleans()),
        customer_id=draw(st.sampled_from([None, "C-1"] if rare else ["C-1"])),
        submitter_email=f"p{draw(st.integers(min_value=0, max_value=size if rare else size - 1))}@x.test",
        distance=draw(st.sampled_from([None, Decimal(10), Decimal(400)])),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Directory, ExpenseFacts, Policy]:
    directory = draw(organisations())
    expense = draw(expenses(size=len(directory)))
    return directory, expense, draw(policies)


policies = st.builds(
    lambda auto, prohibited: default_policy().model_copy(
        update={"auto_approve_below": auto, "prohibited_merchants": prohibited}
    ),
    st.sampled_from([None, Decimal("25.00"), Decimal("150.00")]),
    st.sampled_from([[], ["casino"]]),
)


def _route_or_error(expense: ExpenseFacts, directory: Directory, policy: Policy) -> Route | RoutingError:
    try:
        return plan_route(expense, directory, policy, today=TODAY, rates=RATES)
    except RoutingError as err:
        return err


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_every_route_ends_with_someone_other_than_the_submitter_or_a_named_rule(
    scenario: tuple[Directory, ExpenseFacts, Policy],
) -> None:
    directory, expense, policy = scenario
    outcome = _route_or_error(expense, directory, policy)
    submitter = expense.submitter_email
    person = directory.get(submitter)

    if isinstance(outcome, RoutingError):
        assert outcome.user_message
        if isinstance(outcome, NotInDirectory):
            assert person is None
        elif isinstance(outcome, NoManager):
            assert person is not None and directory.manager_of(submitter) is None
            assert outcome.notify_admins
        elif isinstance(outcome, NoApprover):
            # four eyes: every finance member and admin is the submitter or approves an earlier step
            # (a manager in the submitter's chain, or one who filled a level the chain could not)
            earlier = {p.email for p in directory.chain_of(submitter)} | set(outcome.earlier)
            others = [p for p in directory.finance() + directory.admins() if p.email != submitter]
            assert all(p.email in earlier for p in others)
            assert outcome.notify_admins
        else:  # pragma: no cover - no other routing errors exist
            raise AssertionError(outcome)
        return

    route = outcome
    assert person is not None
    if route.refused:
        assert route.steps == () and route.auto_approved_rule is None
        assert all(v.message for v in route.blocking)
        return
    if route.auto_approved_rule is not None:
        assert route.auto_approved_rule.strip()
        assert route.steps == ()
        assert route.violations == ()
        return

    assert route.steps, "a routed claim needs at least one step"
    assert route.steps[-1].kind is StepKind.FINANCE
    for index, step in enumerate(route.steps):
        assert step.approvers and step.reason
        assert submitter not in step.approvers
        for approver in step.approvers:
            assert may_decide(step, approver, submitter, directory, today=TODAY)
        assert not may_decide(step, submitter, submitter, directory, today=TODAY)
        assert next_level(route, index) == (route.steps[index + 1] if index + 1 < len(route.steps) else None)
    non_finance = [step.approvers[0] for step in route.steps if step.kind is not StepKind.FINANCE]
    assert len(non_finance) == len(set(non_finance)), "no one approves two management levels"


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_no_level_is_skipped_silently(scenario: tuple[Directory, ExpenseFacts, Policy]) -> None:
    directory, expense, policy = scenario
    outcome = _route_or_error(expense, directory, policy)
    if isinstance(outcome, RoutingError) or outcome.refused or outcome.auto_approved:
        return
    assert outcome.amount is not None
    kinds = {step.kind for step in outcome.steps}
    for level, kind in zip(
        policy.approval_levels, [StepKind.SKIP_LEVEL, StepKind.DEPARTMENT_HEAD], strict=True
    ):
        lines = [line for line in outcome.trace if line.startswith(f"{kind.label}:")]
        assert lines, f"the trace says nothing about the {kind.label} level"
        if outcome.amount.amount > level.above:
            assert kind in kinds or any("the finance review covers this level" in line for line in lines)
        else:
            assert kind not in kinds
            assert any("not needed" in line for line in lines)


@settings(max_examples=300, deadline=None)
@given(expenses(), st.sampled_from(["EUR", "MYR", "JPY"]))
def test_limits_are_compared_only_after_conversion(expense: ExpenseFacts, currency: str) -> None:
    policy = default_policy()
    foreign = replace(expense, amount=Money(expense.amount.amount, currency))
    requested: list[tuple[str, str]] = []

    def spy(source: str, target: str, day: date) -> Decimal | None:
        requested.append((source, target))
        return RATES(source, target, day)

    found = evaluate(foreign, policy, today=TODAY, rates=spy)
    assert requested and all(target == "USD" for _, target in requested)
    converted = Money(foreign.amount.amount * RATES(currency, "USD", TODAY), "USD")  # type: ignore[operator]
    assume(converted.amount > 0)  # a tiny amount can round to nothing once converted
    same = evaluate(replace(foreign, amount=converted), policy, today=TODAY)
    assert [(v.rule, v.blocking) for v in found] == [(v.rule, v.blocking) for v in same]

    try:
        without_rates = evaluate(foreign, policy, today=TODAY)
    except MissingRate as err:
        assert err.from_currency == currency and err.to_currency == "USD"
    else:
        # only a claim refused anyway is answered without a rate, and with no amount-based finding
        assert without_rates and all(v.blocking for v in without_rates)
        assert without_rates == [v for v in found if v.blocking]


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_escalation_goes_one_level_up_or_says_why(scenario: tuple[Directory, ExpenseFacts, Policy]) -> None:
    directory, expense, policy = scenario
    outcome = _route_or_error(expense, directory, policy)
    if isinstance(outcome, RoutingError) or not outcome.steps:
        return
    submitter = expense.submitter_email
    for index, step in enumerate(outcome.steps):
        escalation = escalation_target(outcome, index, directory, submitter, policy=policy)
        assert submitter not in escalation.to
        assert escalation.reason
        if step.kind is StepKind.FINANCE:
            continue
        busy = {email for other in outcome.steps if other is not step for email in other.approvers}
        assert not busy & set(escalation.to), "nobody decides two steps of one claim"
        approver = step.approvers[0]
        manager = directory.manager_of(approver)
        if (
            manager is not None
            and manager.email != submitter
            and manager.email not in step.approvers
            and manager.email not in busy
        ):
            assert escalation.to == (manager.email,)
        else:
            assert (
                "passed up" in escalation.reason
                or "no manager above" in escalation.reason
                or ("no one above" in escalation.reason)
            )


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31))


@settings(max_examples=300, deadline=None)
@given(moments, moments, moments)
def test_working_time_adds_up_and_never_exceeds_elapsed_time(a: datetime, b: datetime, c: datetime) -> None:
    first, middle, last = sorted([a, b, c])
    rules = default_policy().reminders
    total = working_time(first, last, rules)
    assert total == working_time(first, middle, rules) + working_time(middle, last, rules)
    assert timedelta(0) <= total <= last - first


@settings(max_examples=200, deadline=None)
@given(moments, moments, moments)
def test_reminders_once_due_stay_due(assigned: datetime, a: datetime, b: datetime) -> None:
    earlier, later = sorted([a, b])
    policy = default_policy()
    if reminder_due(assigned, earlier, policy):
        assert reminder_due(assigned, later, policy)


@settings(max_examples=300, deadline=None)
@given(moments, st.integers(min_value=0, max_value=24 * 30 * 60))
def test_add_working_time_inverts_working_time(start: datetime, minutes: int) -> None:
    rules = default_policy().reminders
    end = add_working_time(start, timedelta(minutes=minutes), rules)
    assert working_time(start, end, rules) == timedelta(minutes=minutes)
    if minutes:
        assert working_time(start, end - timedelta(microseconds=1), rules) < timedelta(minutes=minutes)
