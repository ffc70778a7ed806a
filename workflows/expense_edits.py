"""What the employee types into the expense form, and whether it can be saved.

Pure: the Slack edge parses the form into an :class:`Edit`, checks it with :func:`validate_edit`
(field errors go back into the form), and ``services.expenses`` saves it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from workflows.categories import CATEGORIES
from workflows.i18n import N_
from workflows.money import Money, MoneyError, is_currency, parse_amount
from workflows.policy import Policy, mileage_amount
from workflows.tax import ENGLISH, TaxFacts, TaxInput, Wording, parse_tax

PROJECT_LENGTH = 128


@dataclass(frozen=True)
class Edit:
    merchant: str | None
    spent_on: dt.date | None
    amount_text: str | None
    currency: str | None
    category: str | None
    customer_id: int | None
    customer_cleared: bool
    note: str | None
    distance_text: str | None = None
    project: str | None = None
    project_pick: str | None = None  # a CRM project picked in the form (storage.projects), or "none"
    # The receipt's tax as typed into the form (workflows.tax.parse_tax); None: the form had no
    # tax fields, so the tax kept on the expense is left as it is.
    tax: TaxInput | None = None


def project_name(text: str | None) -> str:
    """The project as kept (spaces collapsed, at most 128 characters); empty: no project."""
    return " ".join((text or "").split())[:PROJECT_LENGTH]


def with_mileage(edit: Edit, policy: Policy) -> Edit:
    """A mileage claim typed with its distance and no total gets the total from the policy's rate."""
    rule = policy.rule_for(edit.category or "")
    if rule is None or rule.rate_per_unit is None or not edit.distance_text or edit.amount_text:
        return edit
    try:
        amount = mileage_amount(parse_amount(edit.distance_text), policy, edit.category or "")
    except MoneyError:
        return edit  # validate_edit explains the distance
    return dataclasses.replace(edit, amount_text=amount.amount_text, currency=amount.currency)


def validate_edit(
    edit: Edit,
    *,
    today: dt.date,
    categories: Iterable[str] = CATEGORIES,
    mileage: Iterable[str] = (),
    wording: Wording = ENGLISH,
) -> dict[str, str]:
    """Field errors for the modal (block_id -> message); empty when the edit can be saved.

    ``mileage`` names the categories paid per distance: they need a distance. The messages are
    worded by ``wording`` (the bot passes the reader's language, ``bot.blocks.common.tax_wording``).
    """
    say = wording.translate
    errors: dict[str, str] = {}
    if edit.distance_text:
        try:
            if parse_amount(edit.distance_text) <= 0:
                errors["distance"] = say(N_("The distance must be more than zero."))
        except MoneyError:
            errors["distance"] = say(
                N_("“{distance}” is not a distance: type a number such as 42.5.")
            ).format(distance=edit.distance_text)
    elif edit.category in set(mileage):
        errors["distance"] = say(N_("A mileage claim needs the distance driven."))
    currency = (edit.currency or "").strip().upper()
    if not is_currency(currency):
        errors["currency"] = say(
            N_("“{currency}” is not an ISO 4217 currency code (e.g. USD, EUR, MYR).")
        ).format(currency=edit.currency or "")
    if edit.amount_text:
        try:
            amount = parse_amount(edit.amount_text)
            if is_currency(currency):
                Money(amount, currency).check_claimable()
        except MoneyError as exc:
            errors["amount"] = str(exc)
    else:
        errors["amount"] = say(N_("Type the total, e.g. 42.50."))
    if edit.spent_on and edit.spent_on > today + dt.timedelta(days=1):
        errors["date"] = say(N_("The date is in the future."))
    if edit.category and edit.category not in set(categories):
        errors["category"] = say(N_("Pick a category from the list."))
    if edit.tax is not None and not edit.tax.empty and "amount" not in errors and "currency" not in errors:
        _facts, tax_errors = parse_tax(edit.tax, parse_amount(edit.amount_text or ""), currency, wording)
        errors.update(tax_errors)
    return errors


def typed_tax(edit: Edit) -> TaxFacts | str | None:
    """The tax typed into the form (None: the form had none), or why it cannot be kept."""
    if edit.tax is None:
        return None
    currency = (edit.currency or "").strip().upper()
    try:
        total = parse_amount(edit.amount_text) if edit.amount_text else None
        facts, problems = parse_tax(edit.tax, total, currency if is_currency(currency) else None)
    except MoneyError as exc:  # validate_edit explained it already
        return str(exc)
    return " ".join(problems.values()) if problems else facts
