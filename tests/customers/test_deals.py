"""Which open deal an expense belongs to (workflows.deals.suggest_deal)."""

from __future__ import annotations

import datetime as dt

from workflows.deals import DealOption, suggest_deal

RENEWAL = DealOption(
    1, "Acme - Platform renewal 2027", owner="ana@example.com", close_date=dt.date(2027, 3, 1)
)
PILOT = DealOption(
    2, "Acme - Data pipeline pilot 2027", owner="ben@example.com", close_date=dt.date(2026, 12, 1)
)
EMEA = DealOption(3, "Platform expansion (EMEA)", owner="ben@example.com")
LOST = DealOption(4, "Acme - Security suite 2026", is_closed=True, owner="ana@example.com")


def test_no_open_deal_and_the_only_open_deal() -> None:
    assert suggest_deal([LOST], "dinner with acme").deal is None
    only = suggest_deal([RENEWAL, LOST], "dinner with acme", customer_name="Acme Corp")
    assert only.deal == RENEWAL and only.reason == "the customer's only open deal"
    assert only.options == (RENEWAL,)  # closed deals are never offered


def test_the_deal_the_note_names() -> None:
    deals = [RENEWAL, PILOT, EMEA, LOST]
    named = suggest_deal(
        deals, "lunch w/ the Acme folks re the data pipeline pilot", customer_name="Acme Corp"
    )
    assert named.deal == PILOT and "pipeline" in named.reason
    typo = suggest_deal(deals, "dinner - acme renewl", customer_name="Acme Corp")
    assert typo.deal == RENEWAL
    emea = suggest_deal(deals, "flight to Madrid for the EMEA expansion workshop", customer_name="Acme Corp")
    assert emea.deal == EMEA
    # "Acme" and "2027" are in two open deals' names: they tell nothing apart.
    assert suggest_deal(deals, "acme 2027 planning dinner", customer_name="Acme Corp").deal is None


def test_the_open_deal_the_employee_owns() -> None:
    deals = [RENEWAL, PILOT, EMEA, LOST]
    mine = suggest_deal(deals, "dinner with acme", customer_name="Acme Corp", owner="ANA@example.com")
    assert mine.deal == RENEWAL and mine.reason == "the open deal you own"  # the closed one is not offered
    several = suggest_deal(deals, "dinner with acme", customer_name="Acme Corp", owner="ben@example.com")
    assert several.deal is None and several.reason == "3 open deals: pick one"
    assert [d.id for d in several.options] == [2, 1, 3]  # soonest close date first
    # The note names "platform" (two deals); the employee owns one of those two.
    both = suggest_deal(deals, "platform workshop", customer_name="Acme Corp", owner="ben@example.com")
    assert both.deal == EMEA
