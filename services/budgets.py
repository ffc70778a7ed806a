"""Budget warnings for one claim, from the policy's budgets and what was already spent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from storage.budgets import customer_names, rates_for, spent_against
from storage.models import Expense
from workflows.budgets import BudgetClaim, budgets_for, evaluate_budgets
from workflows.directory import Directory
from workflows.fx import MissingRate
from workflows.money import Money, MoneyError
from workflows.policy import Policy, budget_key


def budget_warnings(
    session: Session, policy: Policy, directory: Directory, expense: Expense, today: dt.date
) -> list[str]:
    """What approvers are told about the claim's budgets (nothing when none is close or over)."""
    if not policy.budgets or expense.amount is None or not expense.currency:
        return []
    person = directory.get(expense.employee_email or "")
    claim = BudgetClaim(
        amount=Money(expense.approved_amount or expense.amount, expense.currency),
        day=expense.spent_on or today,
        department=person.department if person is not None else None,
        customer_names=customer_names(session, expense.customer_id),
        project=expense.project_link.project if expense.project_link is not None else None,
    )
    budgets = budgets_for(policy, claim)
    if not budgets:
        return []
    members = {
        budget.key: [p.email for p in directory if p.department and budget_key(p.department) == budget.key]
        for budget in budgets
        if budget.scope == "department"
    }
    spent = spent_against(
        session,
        budgets,
        day=claim.day,
        company_currency=policy.company_currency,
        department_members=members,
        exclude_expense=expense.id,
    )
    pairs = [(claim.amount.currency, claim.day), *((item.amount.currency, item.day) for item in spent)]
    # the claim's workspace's own rates before the shared ones (as at submission)
    rates = rates_for(session, pairs, policy.company_currency, team=expense.team_id)
    try:
        findings = evaluate_budgets(policy, claim, spent, rates=rates, budgets=budgets)
    except (MissingRate, MoneyError) as exc:
        names = ", ".join(budget.display for budget in budgets)
        return [f"The budget ({names}) could not be checked: {exc}"]
    return [finding.message for finding in findings]
