"""Finance test helpers: a migrated database with approved expenses and payout batches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import Customer, Expense, SlackUser

AddExpense = Callable[..., int]


def add_expense(
    session: Session,
    *,
    employee: str = "U_EMP",
    email: str | None = "emp@example.com",
    amount: str = "10.00",
    currency: str = "USD",
    category: str = "meals",
    merchant: str = "Blue Bottle",
    customer_id: int | None = None,
    spent_on: dt.date = dt.date(2026, 11, 2),
    status: str = "approved",
    approved_amount: str | None = None,
) -> int:
    exp = Expense(
        status=status,
        employee_id=employee,
        employee_email=email,
        source="dm",
        merchant=merchant,
        spent_on=spent_on,
        amount=Decimal(amount),
        currency=currency,
        category=category,
        customer_id=customer_id,
        approved_amount=Decimal(approved_amount) if approved_amount else None,
        approved_at=dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC) if status in ("approved", "paid") else None,
        submitted_at=dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC),
    )
    session.add(exp)
    session.flush()
    return exp.id


def add_customer(session: Session, name: str, external_id: str) -> int:
    customer = Customer(source="csv", external_id=external_id, name=name)
    session.add(customer)
    session.flush()
    return customer.id


def add_user(session: Session, user_id: str, email: str, name: str) -> None:
    session.add(SlackUser(user_id=user_id, email=email, name=name))


@pytest.fixture
def seeded(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Three employees, three currencies, two customers, a non-ASCII name, one approved amount."""
    with transaction(factory) as s:
        acme = add_customer(s, "Acme Corporation", "C-100")
        globex = add_customer(s, "Globex, Inc", "C-200")
        add_user(s, "U_EMP", "emp@example.com", "Émilie Dupré")
        add_user(s, "U_OTHER", "other@example.com", "Otto Other")
        add_expense(s, amount="42.50", currency="EUR", customer_id=acme)
        add_expense(s, amount="19.99", currency="EUR", category="travel", merchant='Taxi "Rapid"')
        add_expense(s, amount="120.00", approved_amount="100.10", currency="USD", customer_id=globex)
        add_expense(s, employee="U_OTHER", email="other@example.com", amount="0.01", currency="EUR")
        add_expense(
            s,
            employee="U_OTHER",
            email="other@example.com",
            amount="1500",
            currency="JPY",
            category="lodging",
        )
        add_expense(s, employee="U_SOLO", email="solo@example.com", amount="33.33", currency="EUR")
        add_expense(s, amount="5.00", status="pending")  # not approved: never exported
    return factory
