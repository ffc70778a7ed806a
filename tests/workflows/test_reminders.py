from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from workflows.directory import Directory
from workflows.money import Money
from workflows.policy import ExpenseFacts, Reminders, default_policy, load_policy
from workflows.reminders import (
    Escalation,
    FollowUp,
    add_working_time,
    escalation_at,
    escalation_due,
    escalation_target,
    follow_up,
    next_reminder_at,
    reminder_due,
    with_escalation,
    working_time,
)
from workflows.routing import ApprovalStep, Route, StepKind, plan_route

UTC_RULES = Reminders()

# 2026-11-20 is a Friday, 2026-11-23 a Monday
FRI_17 = datetime(2026, 11, 20, 17, 0)


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        (datetime(2026, 11, 23, 9), datetime(2026, 11, 23, 17), 8),  # Monday, same day
        (datetime(2026, 11, 23, 9), datetime(2026, 11, 24, 9), 24),  # Monday to Tuesday
        (FRI_17, datetime(2026, 11, 23, 17), 24),  # over a weekend: Friday 7h + Monday 17h
        (datetime(2026, 11, 21, 10), datetime(2026, 11, 22, 20), 0),  # within a weekend
        (datetime(2026, 11, 21, 10), datetime(2026, 11, 23, 2), 2),  # Saturday to Monday 02:00
        (datetime(2026, 11, 23, 9), datetime(2026, 11, 23, 8), 0),  # end before start
        (datetime(2026, 11, 16, 0), datetime(2026, 11, 30, 0), 240),  # two full weeks
    ],
)
def test_working_time_counts_weekdays_only(start: datetime, end: datetime, hours: int) -> None:
    assert working_time(start, end, UTC_RULES) == timedelta(hours=hours)


def test_holidays_do_not_count() -> None:
    rules = Reminders(holidays=[date(2026, 12, 25)])
    start = datetime(2026, 12, 24, 12)  # Thursday
    end = datetime(2026, 12, 28, 12)  # Monday
    assert working_time(start, end, rules) == timedelta(hours=24)


def test_weekends_are_counted_in_the_policy_time_zone() -> None:
    rules = Reminders(timezone="Asia/Kuala_Lumpur")
    # Friday 20:00 UTC is already Saturday 04:00 in Kuala Lumpur
    start = datetime(2026, 11, 20, 20, tzinfo=UTC)
    end = datetime(2026, 11, 23, 0, tzinfo=ZoneInfo("Asia/Kuala_Lumpur"))
    assert working_time(start, end, rules) == timedelta(0)
    assert working_time(start, end, UTC_RULES) == timedelta(hours=4)


POLICY = default_policy()  # first reminder after 24 working hours, then every 24, escalate after 3 days


@pytest.mark.parametrize(
    ("assigned", "now", "last", "due"),
    [
        (FRI_17, datetime(2026, 11, 23, 16, 59), None, False),
        (FRI_17, datetime(2026, 11, 23, 17, 0), None, True),
        (FRI_17, datetime(2026, 11, 22, 23, 0), None, False),  # Sunday: the weekend does not count
        (FRI_17, datetime(2026, 11, 24, 16, 0), datetime(2026, 11, 23, 17, 0), False),
        (FRI_17, datetime(2026, 11, 24, 17, 0), datetime(2026, 11, 23, 17, 0), True),
    ],
)
def test_reminder_due(assigned: datetime, now: datetime, last: datetime | None, due: bool) -> None:
    assert reminder_due(assigned, now, POLICY, last_reminded_at=last) is due


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (datetime(2026, 11, 25, 16, 59), False),
        (datetime(2026, 11, 25, 17, 0), True),  # Fri 17:00 + 3 working days = Wed 17:00
        (datetime(2026, 11, 23, 17, 0), False),
    ],
)
def test_escalation_due(now: datetime, due: bool) -> None:
    assert escalation_due(FRI_17, now, POLICY) is due


def test_escalation_days_come_from_the_policy() -> None:
    policy = load_policy("company_currency: USD\nreminders:\n  escalate_after_days: 1\n")
    assert escalation_due(FRI_17, datetime(2026, 11, 23, 17), policy)


ORG = """\
email,manager_email,department,role
ceo@acme.test,,Executive,admin
it@acme.test,ceo@acme.test,Executive,admin
cfo@acme.test,ceo@acme.test,Finance,finance
vp@acme.test,ceo@acme.test,Sales,manager
lead@acme.test,vp@acme.test,Sales,manager
ana@acme.test,lead@acme.test,Sales,employee
"""


def _route(who: str, amount: str) -> tuple[Directory, list[ApprovalStep]]:
    directory = Directory.from_csv_text(ORG)
    expense = ExpenseFacts(
        Money(Decimal(amount), "USD"), "travel", "Air", date(2026, 11, 20), True, submitter_email=who
    )
    route = plan_route(expense, directory, POLICY, today=date(2026, 11, 23))
    return directory, list(route.steps)


@pytest.mark.parametrize(
    ("who", "amount", "index", "to", "reason"),
    [
        (
            "ana@acme.test",
            "200",
            0,
            ("vp@acme.test",),
            "lead@acme.test has not decided in 3 working days; escalated to their manager vp@acme.test",
        ),
        (
            "ana@acme.test",
            "2000",
            1,
            ("ceo@acme.test",),
            "vp@acme.test has not decided in 3 working days; escalated to their manager ceo@acme.test",
        ),
        (
            "lead@acme.test",
            "2000",
            1,
            ("it@acme.test",),
            "ceo@acme.test has not decided in 3 working days and has no manager above; "
            "escalated to the admins it@acme.test",
        ),
        (
            "ana@acme.test",
            "200",
            1,
            ("ceo@acme.test", "it@acme.test"),
            "finance has not decided in 3 working days; escalated to the admins ceo@acme.test, it@acme.test",
        ),
    ],
)
def test_escalation_target(who: str, amount: str, index: int, to: tuple[str, ...], reason: str) -> None:
    directory, steps = _route(who, amount)
    route = Route(tuple(steps), None, (), ())
    escalation = escalation_target(route, index, directory, who, policy=POLICY)
    assert escalation == Escalation(to, reason)


def test_escalation_never_goes_to_the_submitter() -> None:
    # the step's approver reports to the submitter (a department head outside the chain)
    directory = Directory.from_csv_text(
        "email,manager_email,department,role\n"
        "boss@x.test,,Ops,admin\nsub@x.test,boss@x.test,Ops,manager\nhelper@x.test,sub@x.test,Ops,manager\n"
    )
    route_steps = (ApprovalStep(StepKind.MANAGER, ("helper@x.test",), "test"),)
    escalation = escalation_target(Route(route_steps, None, (), ()), 0, directory, "sub@x.test")
    assert escalation.to == ("boss@x.test",)
    assert escalation.reason == (
        "helper@x.test has not decided in time; escalated to the manager of sub@x.test boss@x.test "
        "(sub@x.test is the submitter, so passed up)"
    )


def test_with_escalation_adds_approvers_and_keeps_the_original() -> None:
    step = ApprovalStep(StepKind.MANAGER, ("lead@acme.test",), "lead@acme.test is ana@acme.test's manager")
    escalated = with_escalation(step, Escalation(("vp@acme.test",), "escalated to vp@acme.test"))
    assert escalated.approvers == ("lead@acme.test", "vp@acme.test")
    assert escalated.reason.endswith("; escalated to vp@acme.test")
    assert with_escalation(step, Escalation((), "no one")) == step


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (datetime(2026, 11, 23, 9), 8, datetime(2026, 11, 23, 17)),
        (FRI_17, 24, datetime(2026, 11, 23, 17)),
        (FRI_17, 7, datetime(2026, 11, 21, 0)),  # Saturday 00:00: the end of Friday's working time
        (datetime(2026, 11, 21, 10), 1, datetime(2026, 11, 23, 1)),  # starts on a weekend
        (FRI_17, 0, FRI_17),
    ],
)
def test_add_working_time(start: datetime, hours: int, expected: datetime) -> None:
    assert add_working_time(start, timedelta(hours=hours), UTC_RULES) == expected


def test_add_working_time_keeps_the_time_zone() -> None:
    rules = Reminders(timezone="Europe/Berlin")
    start = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)  # Friday 23:00 in Berlin
    end = add_working_time(start, timedelta(hours=2), rules)
    assert end.tzinfo is UTC
    assert end == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Monday 01:00 in Berlin


def test_schedule_matches_the_due_checks() -> None:
    at = next_reminder_at(FRI_17, POLICY)
    assert at == datetime(2026, 11, 23, 17)
    assert reminder_due(FRI_17, at, POLICY) and not reminder_due(FRI_17, at - timedelta(seconds=1), POLICY)
    again = next_reminder_at(FRI_17, POLICY, last_reminded_at=at)
    assert again == datetime(2026, 11, 24, 17)
    assert escalation_at(FRI_17, POLICY) == datetime(2026, 11, 25, 17)


def test_follow_up_over_the_life_of_a_request() -> None:
    directory, steps = _route("ana@acme.test", "200")
    step = steps[0]  # lead@acme.test, the manager

    def check(now: datetime, last: datetime | None = None, escalated: bool = False) -> FollowUp:
        return follow_up(
            step,
            assigned_at=FRI_17,
            now=now,
            policy=POLICY,
            directory=directory,
            submitter_email="ana@acme.test",
            last_reminded_at=last,
            escalated=escalated,
        )

    assert check(datetime(2026, 11, 22, 12)) == FollowUp(False, None, datetime(2026, 11, 23, 17))
    monday = datetime(2026, 11, 23, 17)
    assert check(monday) == FollowUp(True, None, datetime(2026, 11, 24, 17))
    assert check(datetime(2026, 11, 24, 9), last=monday) == FollowUp(False, None, datetime(2026, 11, 24, 17))
    wednesday = datetime(2026, 11, 25, 17)
    late = check(wednesday, last=datetime(2026, 11, 24, 17))
    assert late.remind
    assert late.escalation == Escalation(
        ("vp@acme.test",),
        "lead@acme.test has not decided in 3 working days; escalated to their manager vp@acme.test",
    )
    assert late.next_check_at == datetime(2026, 11, 26, 17)
    assert check(wednesday, last=datetime(2026, 11, 24, 17), escalated=True).escalation is None
