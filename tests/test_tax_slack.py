"""A receipt's tax through Slack: read from the photo, shown on the card (with "do not add up"
when net + tax is not the total), corrected in the edit form with clear messages, audited."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from devslack import date, text_input
from devslack import select as pick
from storage.models import AuditEvent, Expense
from tests.support import EMPLOYEE, Harness, recent_day, render_receipt, running_app


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str) -> Iterator[Harness]:
    with running_app(
        tmp_path, database_url=sqlite_url, extra_env={"EXPENSEBOT_COMPANY_CURRENCY": "MYR"}
    ) as h:
        yield h


def _receipt(total: str = "11.66") -> bytes:
    return render_receipt(
        [
            "KEDAI MAKAN ABC SDN BHD",
            f"DATE {recent_day().strftime('%d/%m/%Y')}",
            "NASI LEMAK          7.00",
            "TEH TARIK           2.50",
            "ROTI CANAI          1.50",
            "SUBTOTAL           11.00",
            "GST 6%              0.66",
            f"TOTAL RM          {total}",
        ]
    )


def _wait(check: Any, timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _expense(app: Harness) -> Expense:
    engine = create_engine(app.env["DATABASE_URL"])
    with Session(engine) as s:
        found = s.scalars(select(Expense).order_by(Expense.id.desc())).first()
        assert found is not None
        return found


def test_the_card_shows_the_tax_read_and_the_form_corrects_it(app: Harness) -> None:
    app.upload(EMPLOYEE, _receipt())
    card = app.wait_card(EMPLOYEE)
    text = str(card.blocks)
    assert "Net 11.00 MYR" in text and "Tax 0.66 MYR (6%)" in text
    assert "TEH TARIK" in text and "do not add up" not in text
    expense = _expense(app)
    assert (expense.net_amount, expense.tax_amount, expense.tax_rate) == (
        Decimal("11.00"),
        Decimal("0.66"),
        6,
    )

    app.driver.click(EMPLOYEE, card, "Edit")
    modal = app.wait_view(EMPLOYEE, "expense_edit_view")
    fields = {b["block_id"]: b for b in modal["blocks"]}
    assert fields["net"]["element"]["initial_value"] == "11.00"
    assert fields["tax"]["element"]["initial_value"] == "0.66"
    assert fields["tax_rate"]["element"]["initial_value"] == "6"

    def values(net: str, tax: str, rate: str, total: str = "11.66") -> dict[str, Any]:
        return {
            "merchant": {"merchant": text_input("Kedai Makan ABC")},
            "date": {"date": date(recent_day().isoformat())},
            "amount": {"amount": text_input(total)},
            "currency": {"currency": text_input("MYR")},
            "category": {"category": pick("meals", "Meals")},
            "net": {"net": text_input(net)},
            "tax": {"tax": text_input(tax)},
            "tax_rate": {"tax_rate": text_input(rate)},
        }

    for net, tax, rate, block, says in [
        ("11.00", "abc", "6", "tax", "is not an amount"),
        ("10.00", "0.66", "", "tax", "not the total 11.66 MYR"),
        ("11.00", "0.66", "8", "tax_rate", "8% of 11.00 MYR is 0.88 MYR"),
        ("11.00", "0.66", "150", "tax_rate", "from 0 up to 100%"),
    ]:
        answer = app.driver.submit_view(EMPLOYEE, modal, values(net, tax, rate)).json()
        assert answer["response_action"] == "errors" and says in answer["errors"][block], answer
    # a corrected receipt: 8% SST on 10.80
    app.driver.submit_view(EMPLOYEE, modal, values("10.80", "0.86", "8"))
    updated = _wait(lambda: "Tax 0.86 MYR (8%)" in str(app.slack.message(card.channel, card.ts).blocks))
    assert updated
    expense = _expense(app)
    assert (expense.net_amount, expense.tax_amount, expense.tax_rate) == (
        Decimal("10.80"),
        Decimal("0.86"),
        8,
    )
    engine = create_engine(app.env["DATABASE_URL"])
    with Session(engine) as s:
        edit = s.scalars(select(AuditEvent).where(AuditEvent.action == "expense.edited")).one()
        assert edit.before is not None and edit.after is not None
        assert Decimal(edit.before["tax_amount"]) == Decimal("0.66")
        assert Decimal(edit.after["tax_amount"]) == Decimal("0.86")
        assert Decimal(edit.after["tax_rate"]) == 8


def test_the_card_says_when_the_tax_lines_do_not_add_up(app: Harness) -> None:
    app.upload(EMPLOYEE, _receipt(total="12.66"))
    card = app.wait_card(EMPLOYEE)
    assert "The tax lines do not add up" in str(card.blocks)
