"""Deals of a customer as the card needs them, and the choice of an expense's deal."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from storage.models import CrmOwner, Customer, Deal, Expense
from workflows.deals import DealOption, DealSuggestion, suggest_deal

MAX_OPTIONS = 20  # a Slack static select shows at most 100; a card stays short


def deal_options(session: Session, customer_id: int) -> list[DealOption]:
    """The customer's deals still in the CRM (closed ones included: the suggestion skips them).

    A deal's owner is the CRM's owner id (HubSpot ``hubspot_owner_id``, Salesforce ``OwnerId``);
    it is given as that owner's e-mail when the sync read it (HubSpot owners API, Salesforce
    ``User.Email``), so it compares with the employee's e-mail in Slack.
    """
    owner = func.coalesce(CrmOwner.email, Deal.owner)
    rows = session.execute(
        select(Deal.id, Deal.name, Deal.is_closed, Deal.stage, owner, Deal.close_date)
        .outerjoin(CrmOwner, and_(CrmOwner.source == Deal.source, CrmOwner.external_id == Deal.owner))
        .where(Deal.customer_id == customer_id, Deal.archived.is_(False))
    )
    return [DealOption(*row) for row in rows]


def choose_deal(session: Session, expense: Expense, *, owner: str | None = None) -> DealSuggestion | None:
    """Set the expense's deal from its customer and note: the suggestion, or none with the open
    deals kept for the card's picker. ``None`` when the expense has no customer. ``owner`` is
    the employee as deal owners are known (an e-mail); by default the expense's employee e-mail,
    so the deal the employee owns is preferred when the note does not name one."""
    state: dict[str, Any] = dict(expense.ocr or {})
    if expense.customer_id is None:
        expense.deal_id = None
        expense.deal_reason = None
        state.pop("deal_options", None)
        expense.ocr = state
        return None
    customer_name = session.scalar(select(Customer.name).where(Customer.id == expense.customer_id)) or ""
    suggestion = suggest_deal(
        deal_options(session, expense.customer_id),
        expense.note or "",
        customer_name=customer_name,
        owner=owner or expense.employee_email,
    )
    expense.deal_id = suggestion.deal.id if suggestion.deal else None
    expense.deal_reason = suggestion.reason if suggestion.options else None
    state["deal_options"] = [{"id": d.id, "name": d.name} for d in suggestion.options[:MAX_OPTIONS]]
    expense.ocr = state
    return suggestion


def pick_deal(session: Session, expense: Expense, value: str) -> str | None:
    """The employee's own pick from the card ("none" for no deal); a message when it cannot be."""
    if value == "none":
        expense.deal_id = None
        expense.deal_reason = "no deal (picked)"
        return None
    try:
        deal_id = int(value)
    except ValueError:
        return "That is not a deal I know."
    deal = session.get(Deal, deal_id)
    if deal is None or deal.archived or deal.customer_id != expense.customer_id:
        return "That deal is not one of this customer's deals any more."
    if deal.is_closed:
        return f"The deal {deal.name} is closed: new expenses cannot go on it."
    expense.deal_id = deal.id
    expense.deal_reason = "picked"
    return None
