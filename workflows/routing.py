"""Who approves an expense, in which order, and why.

:func:`plan_route` turns an expense, the directory and the policy into a :class:`Route`:

1. the policy findings (:func:`workflows.policy.evaluate`); blocking ones refuse the claim;
2. auto-approval by policy for small claims with no findings (the rule is named);
3. otherwise the submitter's manager, then extra levels above the policy's amount
   thresholds (manager's manager, department head), then finance.

A level whose approver is the submitter, or someone already approving an earlier step, is
passed to the next person up the chain; the trace says so. Nothing is skipped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from workflows.directory import Directory, Person, effective_approvers, normalise_email
from workflows.fx import RateLookup, convert, no_rates
from workflows.money import Money, MoneyError
from workflows.policy import ExpenseFacts, LevelApprover, Policy, Violation, category_key, evaluate
from workflows.policy_anomalies import Flag


class StepKind(StrEnum):
    MANAGER = "manager"
    SKIP_LEVEL = "skip_level"
    DEPARTMENT_HEAD = "department_head"
    FINANCE = "finance"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    StepKind.MANAGER: "manager",
    StepKind.SKIP_LEVEL: "manager's manager",
    StepKind.DEPARTMENT_HEAD: "department head",
    StepKind.FINANCE: "finance",
}


@dataclass(frozen=True)
class ApprovalStep:
    kind: StepKind
    approvers: tuple[str, ...]
    """Emails who may decide this step; any one of them decides (finance: every finance member)."""
    reason: str
    """Why this step exists, for people."""


@dataclass(frozen=True)
class Route:
    steps: tuple[ApprovalStep, ...]
    auto_approved_rule: str | None
    violations: tuple[Violation, ...]
    trace: tuple[str, ...]
    """Human-readable, one line per decision taken while planning."""
    amount: Money | None = None
    """The claim in the company currency (None when the route was refused before conversion)."""
    flags: tuple[Flag, ...] = ()
    """Anomaly flags shown to approvers (see :mod:`workflows.policy_anomalies`)."""
    budgets: tuple[str, ...] = ()
    """Budget warnings when the claim was submitted (see :mod:`workflows.budgets`); never blocking."""

    @property
    def refused(self) -> bool:
        return any(v.blocking for v in self.violations)

    @property
    def blocking(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.blocking)

    @property
    def auto_approved(self) -> bool:
        return self.auto_approved_rule is not None

    def describe(self) -> str:
        """One line: ``manager (a@x) → manager's manager (b@x) → finance``."""
        if self.refused:
            return "refused: " + "; ".join(v.rule for v in self.blocking)
        if self.auto_approved_rule is not None:
            return f"approved by policy ({self.auto_approved_rule})"
        parts = []
        for step in self.steps:
            if step.kind is StepKind.FINANCE:
                parts.append("finance")
            else:
                parts.append(f"{step.kind.label} ({', '.join(step.approvers)})")
        return " → ".join(parts)


def route_to_json(route: Route) -> dict[str, Any]:
    """A JSON-ready form of ``route`` for storage; :func:`route_from_json` reads it back."""
    return {
        "steps": [
            {"kind": s.kind.value, "approvers": list(s.approvers), "reason": s.reason} for s in route.steps
        ],
        "auto_approved_rule": route.auto_approved_rule,
        "violations": [
            {"rule": v.rule, "message": v.message, "blocking": v.blocking} for v in route.violations
        ],
        "trace": list(route.trace),
        "amount": {"amount": route.amount.amount_text, "currency": route.amount.currency}
        if route.amount
        else None,
        "flags": [{"rule": f.rule, "message": f.message} for f in route.flags],
        "budgets": list(route.budgets),
    }


def route_from_json(data: dict[str, Any]) -> Route:
    amount = data.get("amount")
    return Route(
        steps=tuple(
            ApprovalStep(StepKind(s["kind"]), tuple(s["approvers"]), str(s.get("reason", "")))
            for s in data.get("steps", [])
        ),
        auto_approved_rule=data.get("auto_approved_rule"),
        violations=tuple(
            Violation(str(v["rule"]), str(v["message"]), bool(v.get("blocking", False)))
            for v in data.get("violations", [])
        ),
        trace=tuple(str(line) for line in data.get("trace", [])),
        amount=Money(Decimal(amount["amount"]), amount["currency"]) if amount else None,
        flags=tuple(Flag(str(f["rule"]), str(f["message"])) for f in data.get("flags", [])),
        budgets=tuple(str(message) for message in data.get("budgets", [])),
    )


class RoutingError(ValueError):
    """The expense cannot be routed. ``user_message`` is for the submitter; admins may need to act."""

    def __init__(self, user_message: str, *, notify_admins: bool, admin_message: str | None = None) -> None:
        self.user_message = user_message
        self.notify_admins = notify_admins
        self.admin_message = admin_message or user_message
        super().__init__(user_message)


class EmptyDirectory(RoutingError):
    def __init__(self) -> None:
        super().__init__(
            "There is no company directory yet, so expenses cannot be sent for approval; "
            "the admins have been told.",
            notify_admins=True,
            admin_message="No company directory is loaded, so no expense can be sent for approval. "
            "Install the directory CSV (check it first with `expensebot policy check-directory FILE`).",
        )


class NotInDirectory(RoutingError):
    def __init__(self, email: str, admins: list[Person]) -> None:
        who = ", ".join(p.email for p in admins) if admins else "your Slack workspace admin"
        super().__init__(
            f"You are not in the company directory yet; ask an admin ({who}) to add you.",
            notify_admins=False,
            admin_message=f"{email} submitted an expense but is not in the company directory.",
        )


class NoManager(RoutingError):
    def __init__(self, email: str, manager_email: str | None) -> None:
        if manager_email:
            detail = (
                f"the directory names {manager_email} as manager of {email}, but {manager_email} is not in it"
            )
        else:
            detail = f"the directory has no manager for {email}"
        super().__init__(
            "Your expense cannot be sent for approval because the directory has no manager for you; "
            "the admins have been told.",
            notify_admins=True,
            admin_message=f"Expense from {email} is waiting: {detail}. Fix the directory and re-import it.",
        )


class NoApprover(RoutingError):
    def __init__(self, step: str, email: str) -> None:
        super().__init__(
            f"Your expense cannot be sent for approval: no one but you can approve the {step} step; "
            "the admins have been told.",
            notify_admins=True,
            admin_message=f"Expense from {email}: no one other than the submitter can approve the {step} step. "
            "Add another finance member or admin to the directory.",
        )


AUTO_APPROVE_RULE = "auto_approve_below"


def plan_route(
    expense: ExpenseFacts,
    directory: Directory,
    policy: Policy,
    *,
    today: date,
    rates: RateLookup | None = None,
    same_day_total: Money | None = None,
    flags: Sequence[Flag] = (),
) -> Route:
    """Plan who approves ``expense``.

    ``same_day_total`` is the submitter's other expenses of the category that day (for daily
    limits); ``flags`` are anomaly flags (they are shown to approvers and prevent auto-approval).
    Raises :class:`RoutingError` when no route is possible and
    :class:`workflows.fx.MissingRate` when the amount cannot be converted to the company currency.
    """
    if len(directory) == 0:
        raise EmptyDirectory()
    submitter_email = normalise_email(expense.submitter_email)
    submitter = directory.get(submitter_email)
    if submitter is None:
        raise NotInDirectory(submitter_email or "(unknown)", directory.admins())

    trace: list[str] = []
    violations = tuple(evaluate(expense, policy, today=today, rates=rates, same_day_total=same_day_total))
    for violation in violations:
        trace.append(
            f"{'blocking' if violation.blocking else 'finding'} {violation.rule}: {violation.message}"
        )
    if any(v.blocking for v in violations):
        trace.append("refused: the claim breaks a blocking rule and is not sent for approval")
        return Route((), None, violations, tuple(trace), flags=tuple(flags))

    day = expense.spent_on or today
    amount = convert(expense.amount, policy.company_currency, day, rates or no_rates)
    if amount.currency != expense.amount.currency:
        trace.append(f"amount {expense.amount} is {amount} in the company currency on {day.isoformat()}")

    rule = policy.rule_for(expense.category)
    if policy.auto_approve_below is not None:
        limit = policy.money(policy.auto_approve_below)
        if amount >= limit:
            trace.append(f"no auto-approval: {amount} is not below {limit}")
        elif violations:
            trace.append("no auto-approval: the claim has policy findings")
        elif flags:
            trace.append(f"no auto-approval: flagged ({', '.join(f.rule for f in flags)})")
        elif rule is not None and not rule.auto_approve:
            trace.append(
                f"no auto-approval: {policy.label_of(category_key(expense.category))} claims are never auto-approved"
            )
        else:
            name = f"{AUTO_APPROVE_RULE} {limit}"
            trace.append(f"approved by policy: {amount} is below {limit} with no findings ({name})")
            return Route((), name, violations, tuple(trace), amount, tuple(flags))

    steps: list[ApprovalStep] = []
    used: set[str] = {submitter.email}

    manager = directory.manager_of(submitter.email)
    if manager is None:
        if submitter.manager_email is not None or not directory.reports_of(submitter.email):
            raise NoManager(submitter.email, submitter.manager_email)
        trace.append(f"manager: {submitter.email} is at the top of the organisation; no manager step")
        previous: Person | None = None
    else:
        steps.append(
            ApprovalStep(
                StepKind.MANAGER, (manager.email,), f"{manager.email} is {submitter.email}'s manager"
            )
        )
        used.add(manager.email)
        trace.append(f"manager: {manager.email}")
        _note_delegate(StepKind.MANAGER, manager, submitter.email, today, trace)
        previous = manager

    for level in policy.approval_levels:
        threshold = policy.money(level.above)
        kind = (
            StepKind.SKIP_LEVEL
            if level.approver is LevelApprover.MANAGER_OF_MANAGER
            else StepKind.DEPARTMENT_HEAD
        )
        if not amount > threshold:
            trace.append(f"{kind.label}: not needed, {amount} is not above {threshold}")
            continue
        candidate: Person | None
        if kind is StepKind.SKIP_LEVEL or submitter.department is None:
            below = previous or submitter
            candidate = directory.manager_of(below.email)
            if kind is StepKind.SKIP_LEVEL:
                origin = f"manager of {below.email}"
            else:
                origin = f"{submitter.email} has no department; manager of {below.email}"
            if candidate is None:
                trace.append(
                    f"{kind.label}: {below.email} has no manager; the finance review covers this level"
                )
                continue
        else:
            candidate = directory.department_head(submitter.department)
            origin = f"head of {submitter.department}"
            if candidate is None:  # pragma: no cover - the submitter is in their own department
                trace.append(
                    f"{kind.label}: {submitter.department} has no head; the finance review covers this level"
                )
                continue
        chosen, last = _first_unused(candidate, used, submitter.email, directory, trace, kind)
        if chosen is None:
            trace.append(
                f"{kind.label}: no one above {last.email} is left to approve; "
                "the finance review covers this level"
            )
            continue
        reason = f"above {threshold}: {kind.label}"
        if chosen.email != candidate.email:
            reason += f" (passed up from {candidate.email}, {origin})"
            trace.append(f"{kind.label}: {chosen.email} (passed up from {candidate.email}, {origin})")
        else:
            trace.append(f"{kind.label}: {chosen.email} ({origin})")
        steps.append(ApprovalStep(kind, (chosen.email,), reason))
        used.add(chosen.email)
        _note_delegate(kind, chosen, submitter.email, today, trace)
        previous = chosen

    finance = [p.email for p in directory.finance() if p.email != submitter.email]
    if directory.is_finance(submitter.email):
        trace.append(f"finance: {submitter.email} is the submitter and does not review their own claim")
    earlier = {email for step in steps for email in step.approvers}
    fresh = [email for email in finance if email not in earlier]
    if fresh:
        if len(fresh) < len(finance):
            trace.append(
                f"finance: {', '.join(e for e in finance if e in earlier)} already approve an earlier step"
            )
        finance_approvers = tuple(fresh)
        reason = "finance checks and pays every claim"
        trace.append(f"finance: any of {', '.join(fresh)}")
    elif finance:
        finance_approvers = tuple(finance)
        reason = "finance checks and pays every claim"
        trace.append(
            f"finance: any of {', '.join(finance)}, though already approving an earlier step "
            "(no other finance member)"
        )
    else:
        admins = [p.email for p in directory.admins() if p.email != submitter.email]
        if not admins:
            raise NoApprover("finance", submitter.email)
        finance_approvers = tuple(admins)
        reason = "no finance member other than the submitter; an admin checks the claim"
        trace.append(
            f"finance: no finance member other than {submitter.email}; admins {', '.join(admins)} decide"
        )
    steps.append(ApprovalStep(StepKind.FINANCE, finance_approvers, reason))
    return Route(tuple(steps), None, violations, tuple(trace), amount, tuple(flags))


def _note_delegate(kind: StepKind, approver: Person, submitter: str, today: date, trace: list[str]) -> None:
    delegate = approver.delegate_on(today)
    if delegate is None:
        return
    until = f" until {approver.delegate_until.isoformat()}" if approver.delegate_until else ""
    if delegate == submitter:
        trace.append(
            f"{kind.label}: {approver.email}'s delegate {delegate} is the submitter and cannot act for them"
        )
    else:
        trace.append(f"{kind.label}: {delegate} may act for {approver.email}{until}")


def _first_unused(
    candidate: Person,
    used: set[str],
    submitter: str,
    directory: Directory,
    trace: list[str],
    kind: StepKind,
) -> tuple[Person | None, Person]:
    """``candidate`` or the first person above them who is neither the submitter nor already
    approving; also the last person tried (for the trace when no one is left)."""
    current: Person | None = candidate
    last = candidate
    while current is not None and current.email in used:
        last = current
        why = "is the submitter" if current.email == submitter else "already approves an earlier step"
        above = directory.manager_of(current.email)
        trace.append(
            f"{kind.label}: {current.email} {why}; passed to "
            f"{above.email if above is not None else 'the next one up, but there is no one above'}"
        )
        current = above
    return current, last


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    on_behalf_of: str | None = None
    """When a delegate decides: the approver they act for."""

    def __bool__(self) -> bool:
        return self.allowed


def may_decide(
    step: ApprovalStep, actor_email: str, submitter_email: str, directory: Directory, *, today: date
) -> Decision:
    """Whether ``actor_email`` may approve or reject ``step``. Never the submitter; delegates may
    act for an approver while their ``delegate_until`` (inclusive) has not passed.
    """
    actor = normalise_email(actor_email)
    if actor == normalise_email(submitter_email):
        return Decision(False, "You cannot approve your own expense.")
    if actor in step.approvers:
        return Decision(True, f"{actor} is an approver for the {step.kind.label} step")
    for approver in step.approvers:
        if actor in effective_approvers(approver, directory, today)[1:]:
            return Decision(True, f"{actor} acts for {approver} (delegation)", on_behalf_of=approver)
    who = ", ".join(step.approvers)
    return Decision(
        False, f"This {step.kind.label} step is for {who}; you are not one of them or their delegate."
    )


def next_level(route: Route, step_index: int) -> ApprovalStep | None:
    """The step after ``step_index``, or None when ``step_index`` is the last one."""
    following = step_index + 1
    return route.steps[following] if 0 <= following < len(route.steps) else None


# --- partial approval ---------------------------------------------------------------------


class PartialApprovalError(MoneyError):
    """A lower amount an approver cannot approve. ``str(err)`` is for the approver."""


@dataclass(frozen=True)
class PartialApproval:
    original: Money
    approved: Money
    reason: str

    @property
    def reduced_by(self) -> Money:
        return self.original - self.approved


def partial_approval(original: Money, approved: Money, reason: str) -> PartialApproval:
    """Validate an approval of a lower amount than claimed."""
    if approved.currency != original.currency:
        raise PartialApprovalError(
            f"Approve the lower amount in the claim's currency ({original.currency}), not {approved.currency}."
        )
    if approved.amount <= Decimal(0):
        raise PartialApprovalError("The approved amount must be more than zero; reject the claim instead.")
    if approved.amount >= original.amount:
        raise PartialApprovalError(
            f"The approved amount ({approved}) must be lower than the claim ({original}); "
            "approve the claim in full instead."
        )
    text = " ".join(reason.split())
    if len(text) < 3:
        raise PartialApprovalError("Say why you approve a lower amount; the submitter sees the reason.")
    return PartialApproval(original, approved, text)
