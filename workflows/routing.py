"""Who approves an expense, in which order, and why.

:func:`route_claim` is the one entry point, for the running app and for ``expensebot policy
route``: it finds the anomaly flags (unusual amount, weekend, holiday, possible duplicate, also a
colleague's claim of the same bill) and the day's other claims, then :func:`plan_route` turns the
expense, the directory and the policy into a :class:`Route`:

1. the policy findings (:func:`workflows.policy.evaluate`); blocking ones refuse the claim;
2. approval by policy for small claims with no findings and no flags (the rule is named);
3. otherwise the submitter's manager, then extra levels above the policy's amount
   thresholds (manager's manager, department head), then finance.

Nobody decides two steps of one claim, in their own name or as a delegate: a level whose
approver is the submitter, or someone already approving an earlier step, is passed to the next
person up the chain; the finance step leaves out the submitter and earlier approvers (four eyes;
the admins stand in when no finance member is left); a delegate who approves another step may
not act on the claim. The trace says so. Nothing is skipped silently.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from workflows.directory import Directory, Person, effective_approvers, normalise_email
from workflows.fx import RateLookup, convert, no_rates
from workflows.i18n import N_
from workflows.money import Money, MoneyError
from workflows.policy import ExpenseFacts, LevelApprover, Policy, Violation, category_key, evaluate
from workflows.policy_anomalies import Flag, OtherClaim, anomaly_flags, duplicate_flags


class StepKind(StrEnum):
    MANAGER = "manager"
    SKIP_LEVEL = "skip_level"
    DEPARTMENT_HEAD = "department_head"
    FINANCE = "finance"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    StepKind.MANAGER: N_("manager"),
    StepKind.SKIP_LEVEL: N_("manager's manager"),
    StepKind.DEPARTMENT_HEAD: N_("department head"),
    StepKind.FINANCE: N_("finance"),
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
    def __init__(self, step: str, email: str, earlier: Sequence[str] = ()) -> None:
        self.earlier = tuple(earlier)  # finance members and admins who approve an earlier step
        if earlier:
            who = (
                f"you and {', '.join(earlier)} (who approve{'s' if len(earlier) == 1 else ''} an earlier "
                "step, and nobody decides two steps of one claim)"
            )
        else:
            who = "you"
        super().__init__(
            f"Your expense cannot be sent for approval: no one but {who} can approve the {step} step; "
            "the admins have been told.",
            notify_admins=True,
            admin_message=f"Expense from {email}: no finance member or admin other than the submitter"
            + (f" and {', '.join(earlier)} (earlier approvers of the claim)" if earlier else "")
            + f" can approve the {step} step. Add another finance member or admin to the directory.",
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
    same_day: Sequence[Money] = (),
    flags: Sequence[Flag] = (),
) -> Route:
    """Plan who approves ``expense``, given its anomaly flags (most callers want :func:`route_claim`,
    which finds them).

    ``same_day`` (and ``same_day_total``) are the submitter's other expenses of the category that
    day, in any currency (for daily limits); ``flags`` are anomaly flags (they are shown to
    approvers and prevent approval by policy).
    Raises :class:`RoutingError` when no route is possible and
    :class:`workflows.fx.MissingRate` when the amount cannot be converted to the company currency.
    """
    if len(directory) == 0:
        raise EmptyDirectory()
    submitter_email = normalise_email(expense.submitter_email)
    submitter = directory.get(submitter_email)
    if submitter is None:
        raise NotInDirectory(submitter_email or "(unknown)", directory.admins())

    trace: list[str] = [f"flag {flag.rule}: {flag.message}" for flag in flags]
    violations = tuple(
        evaluate(expense, policy, today=today, rates=rates, same_day_total=same_day_total, same_day=same_day)
    )
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
            trace.append(
                f"approved by policy: {amount} is below {limit} with no findings and no anomaly flags ({name})"
            )
            return Route((), name, violations, tuple(trace), amount, tuple(flags))

    steps: list[ApprovalStep] = []
    marks: list[int] = []  # where each step's lines end in the trace (its delegates are noted there)
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
        marks.append(len(trace))
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
        marks.append(len(trace))
        used.add(chosen.email)
        previous = chosen

    earlier = {email for step in steps for email in step.approvers}
    finance_all = [p.email for p in directory.finance()]
    finance = [e for e in finance_all if e != submitter.email and e not in earlier]
    if submitter.email in finance_all:
        trace.append(f"finance: {submitter.email} is the submitter and does not review their own claim")
    busy = [e for e in finance_all if e in earlier]
    if busy:
        trace.append(
            f"finance: {', '.join(busy)} already approve{'s' if len(busy) == 1 else ''} an earlier step "
            "of this claim, so cannot also review it (four eyes)"
        )
    if finance:
        finance_approvers = tuple(finance)
        reason = "finance checks and pays every claim"
        trace.append(f"finance: any of {', '.join(finance)}")
    else:
        admins = [
            p.email for p in directory.admins() if p.email != submitter.email and p.email not in earlier
        ]
        if not admins:
            raise NoApprover(
                "finance",
                submitter.email,
                sorted(e for e in earlier if directory.is_finance(e) or directory.is_admin(e)),
            )
        finance_approvers = tuple(admins)
        reason = (
            "no finance member other than the submitter or an earlier approver; an admin checks the claim"
        )
        trace.append(
            "finance: no finance member other than the submitter or an earlier approver; "
            f"admins {', '.join(admins)} decide"
        )
    steps.append(ApprovalStep(StepKind.FINANCE, finance_approvers, reason))
    marks.append(len(trace))
    notes = _cover_absences(steps, submitter.email, directory, today)
    for mark, lines in reversed(list(zip(marks, notes, strict=True))):
        trace[mark:mark] = lines
    return Route(tuple(steps), None, violations, tuple(trace), amount, tuple(flags))


def route_claim(
    expense: ExpenseFacts,
    directory: Directory,
    policy: Policy,
    *,
    today: date,
    rates: RateLookup | None = None,
    others: Sequence[OtherClaim] = (),
    flags: Sequence[Flag] = (),
) -> Route:
    """The one way a claim is routed, by the running app and by ``expensebot policy route``.

    ``others`` are claims already made, by the submitter or colleagues: the submitter's claims
    of the category that count (submitted, approved, paid) give the daily total (each converted
    at the rate of the day) and the usual amount; any claim with the same merchant, date and
    total is a possible duplicate. Anomaly flags (unusual amount, weekend, holiday, possible
    duplicate, and ``flags`` found by the caller) are shown to approvers and keep the claim from
    approval by policy.
    """
    submitter = normalise_email(expense.submitter_email)
    key = category_key(expense.category)
    mine = [
        other
        for other in others
        if other.counts
        and normalise_email(other.submitter_email) == submitter
        and category_key(other.category) == key
    ]
    same_day = [o.amount for o in mine if expense.spent_on is not None and o.spent_on == expense.spent_on]
    found = anomaly_flags(expense, policy, history=[o.amount for o in mine], today=today, rates=rates)
    found += duplicate_flags(expense, others)
    found += [flag for flag in flags if flag.rule not in {f.rule for f in found}]
    return plan_route(expense, directory, policy, today=today, rates=rates, same_day=same_day, flags=found)


def _cover_absences(
    steps: list[ApprovalStep], submitter: str, directory: Directory, today: date
) -> list[list[str]]:
    """Delegations, step by step: who may act for each approver today, and who may not. A
    delegate never acts on their own claim, nor on a claim of which they approve another step
    (nobody decides two steps of one claim, in their own name or as a delegate).

    When every approver of a step is away (an active delegation) and none of their delegates may
    act on this claim, the step also goes where an overdue one would: the next one up the chain
    who approves no other step of the claim, or else the admins (the finance step: the admins).
    The approvers keep the step and may decide it on their return. ``steps`` is updated; the
    trace lines of each step are returned.
    """
    notes: list[list[str]] = []
    for index, step in enumerate(steps):
        trace: list[str] = []
        notes.append(trace)
        label = step.kind.label
        others = [s for i, s in enumerate(steps) if i != index]
        present = False
        blocked: list[str] = []
        for approver_email in step.approvers:
            approver = directory.get(approver_email)
            delegate = approver.delegate_on(today) if approver is not None else None
            if approver is None or delegate is None:
                present = True
                continue
            until = f" until {approver.delegate_until.isoformat()}" if approver.delegate_until else ""
            elsewhere = next((s for s in others if delegate in s.approvers), None)
            if delegate == submitter:
                trace.append(
                    f"{label}: {approver.email}'s delegate {delegate} is the submitter and cannot act for them"
                )
                blocked.append(approver.email)
            elif elsewhere is not None:
                trace.append(
                    f"{label}: {approver.email}'s delegate {delegate} approves the {elsewhere.kind.label} "
                    f"step of this claim, so cannot act for {approver.email} on it (nobody decides two "
                    "steps of one claim)"
                )
                blocked.append(approver.email)
            elif delegate in step.approvers:
                present = True
            else:
                present = True
                trace.append(f"{label}: {delegate} may act for {approver.email}{until}")
        if present or not blocked:
            continue
        busy = {submitter, *(email for s in steps for email in s.approvers)}
        cover: tuple[str, ...] = ()
        where = ""
        if step.kind is not StepKind.FINANCE:
            above = next((p for p in directory.chain_of(step.approvers[0]) if p.email not in busy), None)
            if above is not None:
                cover, where = (above.email,), "the next one up who approves no other step of this claim"
        if not cover:
            cover = tuple(p.email for p in directory.admins() if p.email not in busy)
            where = "the admins"
        away = ", ".join(blocked)
        if not cover:
            trace.append(
                f"{label}: no one else can stand in for {away}, who decide{'s' * (len(blocked) == 1)} "
                "on their return"
            )
            continue
        who = ", ".join(cover)
        trace.append(
            f"{label}: while {away} {'is' if len(blocked) == 1 else 'are'} away, the step also goes "
            f"to {who} ({where})"
        )
        steps[index] = ApprovalStep(
            step.kind, step.approvers + cover, f"{step.reason}; {who} stands in while {away} is away"
        )
    return notes


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
    step: ApprovalStep,
    actor_email: str,
    submitter_email: str,
    directory: Directory,
    *,
    today: date,
    other_steps: Sequence[ApprovalStep] = (),
    decided_by: Collection[str] = (),
) -> Decision:
    """Whether ``actor_email`` may approve or reject ``step``. Never the submitter; delegates may
    act for an approver while their ``delegate_until`` (inclusive) has not passed.

    Nobody decides two steps of one claim: ``decided_by`` are those who decided its other steps
    (in their own name or as a delegate), and a delegate never acts for someone on a claim of which
    they approve another step (``other_steps``).
    """
    actor = normalise_email(actor_email)
    if actor == normalise_email(submitter_email):
        return Decision(False, "You cannot approve your own expense.")
    if actor in {normalise_email(e) for e in decided_by}:
        return Decision(
            False,
            "You already decided another step of this expense; nobody decides two steps of one claim, "
            "so someone else must decide this one.",
        )
    if actor in step.approvers:
        return Decision(True, f"{actor} is an approver for the {step.kind.label} step")
    for approver in step.approvers:
        if actor in effective_approvers(approver, directory, today)[1:]:
            elsewhere = next((s for s in other_steps if actor in s.approvers), None)
            if elsewhere is not None:
                return Decision(
                    False,
                    f"You act for {approver} while they are away, but you approve the {elsewhere.kind.label} "
                    f"step of this expense yourself; nobody decides two steps of one claim, so {approver} "
                    "decides this one.",
                )
            return Decision(True, f"{actor} acts for {approver} (delegation)", on_behalf_of=approver)
    who = ", ".join(step.approvers)
    return Decision(
        False, f"This {step.kind.label} step is for {who}; you are not one of them or their delegate."
    )


def deciders(
    step: ApprovalStep,
    submitter_email: str,
    directory: Directory,
    *,
    today: date,
    other_steps: Sequence[ApprovalStep] = (),
    decided_by: Collection[str] = (),
) -> tuple[str, ...]:
    """Everyone who may decide ``step`` today (:func:`may_decide`): its approvers, then delegates."""
    found: list[str] = []
    for approver in step.approvers:
        for person in effective_approvers(approver, directory, today):
            if person not in found and may_decide(
                step,
                person,
                submitter_email,
                directory,
                today=today,
                other_steps=other_steps,
                decided_by=decided_by,
            ):
                found.append(person)
    return tuple(found)


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
