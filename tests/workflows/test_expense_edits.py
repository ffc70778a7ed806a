"""The expense form's rules: what a saved edit must hold, the mileage total, the typed tax."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from workflows.expense_edits import Edit, project_name, typed_tax, validate_edit, with_mileage
from workflows.policy import load_policy
from workflows.tax import TaxFacts, TaxInput, Wording

TODAY = dt.date(2026, 11, 23)
POLICY = load_policy(
    "company_currency: USD\ncategories:\n  meals: {}\n  mileage:\n    rate_per_unit: 0.67\n    unit: mile\n",
    "test",
)
GOOD = Edit(
    merchant="Blue Bottle",
    spent_on=TODAY,
    amount_text="42.50",
    currency="usd",
    category="meals",
    customer_id=None,
    customer_cleared=False,
    note=None,
)


def test_a_complete_edit_has_no_errors() -> None:
    assert validate_edit(GOOD, today=TODAY) == {}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount_text": None}, "amount", "Type the total, e.g. 42.50."),
        ({"currency": "XX"}, "currency", "“XX” is not an ISO 4217 currency code (e.g. USD, EUR, MYR)."),
        ({"spent_on": TODAY + dt.timedelta(days=2)}, "date", "The date is in the future."),
        ({"category": "yachts"}, "category", "Pick a category from the list."),
        ({"distance_text": "far"}, "distance", "“far” is not a distance: type a number such as 42.5."),
        ({"distance_text": "0"}, "distance", "The distance must be more than zero."),
    ],
)
def test_each_bad_field_is_named_with_a_message(changes: dict[str, object], field: str, message: str) -> None:
    errors = validate_edit(dataclasses.replace(GOOD, **changes), today=TODAY)  # type: ignore[arg-type]
    assert errors == {field: message}


def test_tomorrow_is_allowed_for_time_zones_ahead() -> None:
    assert validate_edit(dataclasses.replace(GOOD, spent_on=TODAY + dt.timedelta(days=1)), today=TODAY) == {}


def test_a_bad_amount_says_why() -> None:
    errors = validate_edit(dataclasses.replace(GOOD, amount_text="forty"), today=TODAY)
    assert list(errors) == ["amount"] and errors["amount"]


def test_a_mileage_category_needs_a_distance() -> None:
    mileage = dataclasses.replace(GOOD, category="mileage")
    assert validate_edit(mileage, today=TODAY, categories=["mileage"], mileage=["mileage"]) == {
        "distance": "A mileage claim needs the distance driven."
    }


def test_a_tax_larger_than_the_total_is_a_field_error_and_cannot_be_kept() -> None:
    edit = dataclasses.replace(GOOD, tax=TaxInput(tax_text="50.00"))
    assert set(validate_edit(edit, today=TODAY)) == {"tax"}
    assert isinstance(typed_tax(edit), str)


def test_the_typed_tax_is_kept() -> None:
    edit = dataclasses.replace(GOOD, amount_text="119.00", tax=TaxInput(net_text="100.00", tax_text="19.00"))
    found = typed_tax(edit)
    assert isinstance(found, TaxFacts)
    assert (found.net, found.tax) == (Decimal("100.00"), Decimal("19.00"))
    assert typed_tax(GOOD) is None  # the form had no tax fields


def test_a_distance_without_a_total_is_priced_at_the_policys_rate() -> None:
    edit = dataclasses.replace(GOOD, category="mileage", amount_text=None, currency=None, distance_text="100")
    priced = with_mileage(edit, POLICY)
    assert (priced.amount_text, priced.currency) == ("67.00", "USD")
    assert with_mileage(dataclasses.replace(edit, amount_text="60.00"), POLICY).amount_text == "60.00"
    assert with_mileage(dataclasses.replace(edit, distance_text="far"), POLICY) == dataclasses.replace(
        edit, distance_text="far"
    )
    assert with_mileage(GOOD, POLICY) == GOOD  # not a mileage category


def test_a_project_name_is_tidied() -> None:
    assert project_name("  Apollo \n launch ") == "Apollo launch"
    assert project_name(None) == ""
    assert len(project_name("x" * 300)) == 128


def test_the_messages_are_worded_in_the_readers_language() -> None:
    """The bot passes a Wording in the reader's language; every message, the tax ones too, goes through it."""
    seen: list[str] = []

    def translate(template: str) -> str:
        seen.append(template)
        return f"[{template}]"

    bad = dataclasses.replace(GOOD, spent_on=TODAY + dt.timedelta(days=5), tax=TaxInput(tax_text="-1"))
    errors = validate_edit(bad, today=TODAY, wording=Wording(translate=translate))
    assert errors == {"date": "[The date is in the future.]", "tax": "[The tax cannot be negative.]"}
    assert seen == ["The date is in the future.", "The tax cannot be negative."]
    unknown = dataclasses.replace(GOOD, currency="EUX")
    assert validate_edit(unknown, today=TODAY, wording=Wording(translate=translate))["currency"] == (
        "[“EUX” is not an ISO 4217 currency code (e.g. USD, EUR, MYR).]"
    )
