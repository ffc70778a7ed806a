"""The card suggests the open deal of the matched customer, and the employee can pick another."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage.db import make_engine, make_sessionmaker, transaction
from storage.models import AuditEvent, Customer, Deal, Expense
from tests.support import EMPLOYEE, cafe_receipt, running_app


def wait_until(check: Any, timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def card_text(message: Any) -> str:
    return str(message.blocks)


def test_the_card_suggests_the_named_deal_and_offers_the_open_ones(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(tmp_path, database_url=sqlite_url) as app:
        factory = make_sessionmaker(make_engine(sqlite_url))
        with transaction(factory) as session:
            globex = session.scalar(select(Customer.id).where(Customer.external_id == "C-200"))
            assert globex is not None
            for ext, name, closed in [
                ("D1", "Globex - Platform renewal 2027", False),
                ("D2", "Globex - Data pipeline pilot", False),
                ("D3", "Globex - Security suite", True),
            ]:
                session.add(
                    Deal(source="hubspot", external_id=ext, name=name, is_closed=closed, customer_id=globex)
                )
        with factory() as session:
            ids = dict(session.execute(select(Deal.name, Deal.id)).all())

        # The note names the pilot: the card says so.
        app.upload(EMPLOYEE, cafe_receipt("41.00"), note="lunch with Globex re the pipeline pilot")
        named = app.wait_card(EMPLOYEE)
        assert "Deal: Globex - Data pipeline pilot" in card_text(named)

        # The note names no deal: the card asks, offering the open deals only.
        app.upload(EMPLOYEE, cafe_receipt("52.00"), note="dinner with Globex")
        asked = wait_until(
            lambda: [m for m in app.slack.dm_messages(EMPLOYEE) if m.buttons() and "52.00" in card_text(m)]
        )[0]
        pick = next(b for b in asked.blocks if b.get("block_id") == "deal_pick")["accessory"]
        assert [o["value"] for o in pick["options"]] == [
            str(ids["Globex - Data pipeline pilot"]),
            str(ids["Globex - Platform renewal 2027"]),
            "none",
        ]  # the closed deal is not offered
        renewal = next(o for o in pick["options"] if o["value"] == str(ids["Globex - Platform renewal 2027"]))
        app.driver.block_action(
            EMPLOYEE,
            pick["action_id"],
            message=asked,
            action={"type": "static_select", "selected_option": renewal},
        )
        wait_until(
            lambda: (
                "Deal: Globex - Platform renewal 2027"
                in card_text(app.slack.message(asked.channel, asked.ts))
            )
        )
        with factory() as session:
            expense = session.scalars(
                select(Expense).where(Expense.deal_id == ids["Globex - Platform renewal 2027"])
            ).one()
            event = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "expense.deal_picked")
            ).one()
            assert event.entity_id == str(expense.id) or event.entity_id == expense.id
