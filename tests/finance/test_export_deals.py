"""Exports "by deal": every finance layout carries the CRM deal (name and id) of the expenses on
one, and the amounts still add up to the batch totals to the cent."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from services.payouts import claim_batch
from storage.db import transaction
from storage.exports import build_export
from storage.models import Deal, Expense, ExpenseSplit
from tests.finance.conftest import add_customer, add_expense, add_user

AMOUNT_COLUMNS = {
    "csv": ("amount", "currency"),
    "quickbooks": ("Line Amount", "Currency"),
    "xero": ("*UnitAmount", "Currency"),
}


def _deal(session: Session, customer_id: int, name: str, external_id: str) -> int:
    deal = Deal(source="hubspot", external_id=external_id, customer_id=customer_id, name=name)
    session.add(deal)
    session.flush()
    return deal.id


def _on_deal(session: Session, expense_id: int, deal_id: int) -> None:
    expense = session.get(Expense, expense_id)
    assert expense is not None
    expense.deal_id = deal_id


def _seed(factory: sessionmaker[Session]) -> int:
    """Odd cents on two deals, one expense without a deal, one split across two customers."""
    with transaction(factory) as s:
        acme = add_customer(s, "Acme Corporation", "C-100")
        globex = add_customer(s, "Globex, Inc", "C-200")
        add_user(s, "U_EMP", "emp@example.com", "Émilie Dupré")
        renewal = _deal(s, acme, "Acme renewal 2026", "9001")
        pilot = _deal(s, globex, "Globex pilot", "006000000000042")
        for amount in ("33.33", "33.33", "33.34"):
            _on_deal(s, add_expense(s, amount=amount, currency="EUR", customer_id=acme), renewal)
        _on_deal(s, add_expense(s, amount="0.01", currency="USD", customer_id=globex), pilot)
        add_expense(s, amount="19.99", currency="EUR")  # no customer, no deal
        split = add_expense(s, amount="100.00", approved_amount="99.99", currency="EUR", customer_id=acme)
        _on_deal(s, split, renewal)
        s.add_all(
            [
                ExpenseSplit(expense_id=split, position=1, amount=Decimal("66.67"), customer_id=acme),
                ExpenseSplit(expense_id=split, position=2, amount=Decimal("33.33"), customer_id=globex),
            ]
        )
    with transaction(factory) as s:
        batch = claim_batch(s, "test")
        assert batch is not None
        return batch.id


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_generic_csv_has_the_deal_name_and_crm_id_per_line(factory: sessionmaker[Session]) -> None:
    batch_id = _seed(factory)
    with factory() as s:
        rows = _rows(build_export(s, batch_id, "csv").content.decode())
    by_deal: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        by_deal[(row["deal"], row["deal_crm_id"])] += Decimal(row["amount"])
    # The split's Acme part keeps the Acme deal; its Globex part is not on the Acme deal.
    assert dict(by_deal) == {
        ("Acme renewal 2026", "9001"): Decimal("166.66"),  # 33.33 + 33.33 + 33.34 + the Acme part 66.66
        ("Globex pilot", "006000000000042"): Decimal("0.01"),
        ("", ""): Decimal("19.99") + Decimal("33.33"),
    }
    globex_part = next(r for r in rows if r["customer"] == "Globex, Inc" and r["currency"] == "EUR")
    assert globex_part["deal"] == "" and globex_part["deal_crm_id"] == ""


def test_accounting_layouts_carry_the_deal_and_add_up_to_the_cent(factory: sessionmaker[Session]) -> None:
    batch_id = _seed(factory)
    expected = {"EUR": Decimal("219.98"), "USD": Decimal("0.01")}
    with factory() as s:
        for fmt, (amount, currency) in AMOUNT_COLUMNS.items():
            made = build_export(s, batch_id, fmt)
            rows = _rows(made.content.decode())
            totals: dict[str, Decimal] = defaultdict(Decimal)
            for row in rows:
                totals[row[currency]] += Decimal(row[amount])
            assert dict(totals) == expected == made.totals, fmt
            assert len(rows) == 7, fmt  # six expenses, the split one as two lines
    with factory() as s:
        quickbooks = _rows(build_export(s, batch_id, "quickbooks").content.decode())
        xero = _rows(build_export(s, batch_id, "xero").content.decode())
    on_renewal = [r for r in quickbooks if "deal Acme renewal 2026 (9001)" in r["Line Description"]]
    assert len(on_renewal) == 4
    assert sum(Decimal(r["Line Amount"]) for r in on_renewal) == Decimal("166.66")
    assert sum("deal " in r["Line Description"] for r in quickbooks) == 5
    deals = [(r["TrackingName2"], r["TrackingOption2"]) for r in xero if r["TrackingName2"]]
    assert sorted(set(deals)) == [("Deal", "Acme renewal 2026"), ("Deal", "Globex pilot")]
    assert len(deals) == 5
    pilot = next(r for r in xero if r["TrackingOption2"] == "Globex pilot")
    assert "deal Globex pilot (006000000000042)" in pilot["Description"]
    assert pilot["TrackingName1"] == "Customer" and pilot["TrackingOption1"] == "Globex, Inc"
