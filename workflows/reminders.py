"""When to remind an approver, when to escalate, and to whom.

Time is counted in working hours: every hour of Monday to Friday counts, weekends and the
policy's holidays do not, in the policy's time zone (``reminders.timezone``). A "working day"
is 24 working hours, so a request assigned on Friday at 17:00 is one working day old on
Monday at 17:00.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workflows.directory import Directory, normalise_email
from workflows.policy import Policy, Reminders
from workflows.routing import ApprovalStep, Route, StepKind, next_level

__all__ = [
    "Escalation",
    "FollowUp",
    "add_working_time",
    "escalate_step",
    "escalation_at",
    "escalation_due",
    "escalation_target",
    "follow_up",
    "next_level",
    "next_reminder_at",
    "reminder_due",
    "with_escalation",
    "working_time",
]

_DAY = timedelta(days=1)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """Wall-clock time in ``zone``, without tzinfo. Naive datetimes are taken as already local."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(zone).replace(tzinfo=None)


def is_working_day(day: date, rules: Reminders) -> bool:
    return day.weekday() < 5 and day not in rules.holidays


def working_time(start: datetime, end: datetime, rules: Reminders) -> timedelta:
    """Time between ``start`` and ``end`` that falls on working days (zero when end <= start)."""
    zone = ZoneInfo(rules.timezone)
    begin, finish = _local(start, zone), _local(end, zone)
    if finish <= begin:
        return timedelta(0)
    total = timedelta(0)
    day = begin.date()
    while day <= finish.date():
        if is_working_day(day, rules):
            day_start = datetime.combine(day, time.min)
            low = max(begin, day_start)
            high = min(finish, day_start + _DAY)
            if high > low:
                total += high - low
        day += _DAY
    return total


def add_working_time(start: datetime, duration: timedelta, rules: Reminders) -> datetime:
    """The moment when ``duration`` of working time has passed since ``start``.

    The result has the same kind of datetime as ``start`` (aware in the same zone, or naive).
    Non-positive durations return ``start``.
    """
    if duration <= timedelta(0):
        return start
    zone = ZoneInfo(rules.timezone)
    moment = _local(start, zone)
    left = duration
    while True:
        day_end = datetime.combine(moment.date(), time.min) + _DAY
        if is_working_day(moment.date(), rules):
            available = day_end - moment
            if left <= available:
                moment += left
                break
            left -= available
        moment = day_end
    if start.tzinfo is None:
        return moment
    return moment.replace(tzinfo=zone).astimezone(start.tzinfo)


def next_reminder_at(
    assigned_at: datetime, policy: Policy, *, last_reminded_at: datetime | None = None
) -> datetime:
    """When :func:`reminder_due` becomes true, for scheduling the reminder instead of polling."""
    rules = policy.reminders
    if last_reminded_at is None:
        return add_working_time(assigned_at, timedelta(hours=rules.after_working_hours), rules)
    return add_working_time(last_reminded_at, timedelta(hours=rules.repeat_every_working_hours), rules)


def escalation_at(assigned_at: datetime, policy: Policy) -> datetime:
    """When :func:`escalation_due` becomes true."""
    rules = policy.reminders
    return add_working_time(assigned_at, timedelta(days=rules.escalate_after_days), rules)


def reminder_due(
    assigned_at: datetime, now: datetime, policy: Policy, *, last_reminded_at: datetime | None = None
) -> bool:
    """Whether to remind the approver now.

    The first reminder comes ``after_working_hours`` after the step was assigned, later ones
    every ``repeat_every_working_hours`` after the previous reminder.
    """
    rules = policy.reminders
    if last_reminded_at is None:
        return working_time(assigned_at, now, rules) >= timedelta(hours=rules.after_working_hours)
    return working_time(last_reminded_at, now, rules) >= timedelta(hours=rules.repeat_every_working_hours)


def escalation_due(assigned_at: datetime, now: datetime, policy: Policy) -> bool:
    """Whether a step assigned at ``assigned_at`` has waited ``escalate_after_days`` working days."""
    rules = policy.reminders
    return working_time(assigned_at, now, rules) >= timedelta(days=rules.escalate_after_days)


@dataclass(frozen=True)
class Escalation:
    to: tuple[str, ...]
    """Who is added to the step: they may decide it as well as the original approvers."""
    reason: str
    """For people, e.g. "lead@x.test has not decided in 3 working days; escalated to their manager vp@x.test"."""


def escalation_target(
    route: Route, step_index: int, directory: Directory, submitter_email: str, *, policy: Policy | None = None
) -> Escalation:
    """Who an overdue step goes to: the approver's own manager, never the submitter, nor anyone
    who approves another step of the claim (nobody decides two steps of one claim).

    When that manager is excluded, the next one up is used and the reason says so; when
    there is no one above, or for the finance step, the admins take it.
    """
    busy = {email for i, step in enumerate(route.steps) if i != step_index for email in step.approvers}
    return escalate_step(route.steps[step_index], directory, submitter_email, policy=policy, busy=busy)


def escalate_step(
    step: ApprovalStep,
    directory: Directory,
    submitter_email: str,
    *,
    policy: Policy | None = None,
    busy: Collection[str] = (),
) -> Escalation:
    """:func:`escalation_target` for one step, e.g. rebuilt from a stored approval task.

    ``busy`` are the approvers of the claim's other steps and whoever decided one of them."""
    submitter = normalise_email(submitter_email)
    taken = {normalise_email(email) for email in busy}
    days = policy.reminders.escalate_after_days if policy is not None else None
    waited = f"in {days} working days" if days is not None else "in time"
    admins = tuple(
        p.email
        for p in directory.admins()
        if p.email != submitter and p.email not in step.approvers and p.email not in taken
    )

    if step.kind is StepKind.FINANCE:
        if admins:
            return Escalation(
                admins, f"finance has not decided {waited}; escalated to the admins {', '.join(admins)}"
            )
        return Escalation((), f"finance has not decided {waited} and there is no admin to escalate to")

    approver = step.approvers[0]
    notes: list[str] = []
    current = directory.manager_of(approver)
    below = approver
    while current is not None and (
        current.email == submitter or current.email in step.approvers or current.email in taken
    ):
        if current.email == submitter:
            why = "is the submitter"
        elif current.email in step.approvers:
            why = "is already an approver of this step"
        else:
            why = "approves another step of this claim"
        notes.append(f"{current.email} {why}")
        below = current.email
        current = directory.manager_of(current.email)
    passed = f" ({'; '.join(notes)}, so passed up)" if notes else ""
    if current is not None:
        relation = "their manager" if below == approver else f"the manager of {below}"
        return Escalation(
            (current.email,),
            f"{approver} has not decided {waited}; escalated to {relation} {current.email}{passed}",
        )
    if admins:
        return Escalation(
            admins,
            f"{approver} has not decided {waited} and has no manager above{passed}; "
            f"escalated to the admins {', '.join(admins)}",
        )
    return Escalation(
        (), f"{approver} has not decided {waited} and there is no one above to escalate to{passed}"
    )


def with_escalation(step: ApprovalStep, escalation: Escalation) -> ApprovalStep:
    """The step with the escalation's people added as approvers (the original ones stay)."""
    added = tuple(email for email in escalation.to if email not in step.approvers)
    if not added:
        return step
    return replace(step, approvers=step.approvers + added, reason=f"{step.reason}; {escalation.reason}")


@dataclass(frozen=True)
class FollowUp:
    """What to do now about one pending approval step, and when to look again."""

    remind: bool
    escalation: Escalation | None
    next_check_at: datetime


def follow_up(
    step: ApprovalStep,
    *,
    assigned_at: datetime,
    now: datetime,
    policy: Policy,
    directory: Directory,
    submitter_email: str,
    last_reminded_at: datetime | None = None,
    escalated: bool = False,
    busy: Collection[str] = (),
) -> FollowUp:
    """One call for a periodic job: remind the approvers? escalate (once)? when to check next?

    After an escalation the reminders go on (to the original approvers and the added ones).
    """
    remind = reminder_due(assigned_at, now, policy, last_reminded_at=last_reminded_at)
    escalation = None
    if not escalated and escalation_due(assigned_at, now, policy):
        escalation = escalate_step(step, directory, submitter_email, policy=policy, busy=busy)
    reminded = now if remind else last_reminded_at
    candidates = [next_reminder_at(assigned_at, policy, last_reminded_at=reminded)]
    if not escalated and escalation is None:
        candidates.append(escalation_at(assigned_at, policy))
    return FollowUp(remind, escalation, min(candidates))
