"""The card offers the matched customer's open CRM projects; a pick is stored, audited and shown;
the edit form offers them too, and its free-text project keeps working."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.blocks.card import build_expense_modal
from bot.views import expense_view
from storage.db import make_engine, make_sessionmaker, transaction
from storage.models import AuditEvent, Customer, Expense, ExpenseProject, Project
from tests.support import EMPLOYEE, cafe_receipt, running_app


def wait_until(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_the_card_offers_open_projects_and_stores_the_pick(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(tmp_path, database_url=sqlite_url) as app:
        factory = make_sessionmaker(make_engine(sqlite_url))
        with transaction(factory) as session:
            globex = session.scalar(select(Customer.id).where(Customer.external_id == "C-200"))
            assert globex is not None
            for ext, name, closed in [
                ("P1", "Globex data migration", False),
                ("P2", "Globex onsite training", False),
                ("P3", "Globex pilot (done)", True),
            ]:
                session.add(
                    Project(
                        source="hubspot", external_id=ext, name=name, is_closed=closed, customer_id=globex
                    )
                )
        with factory() as session:
            ids = dict(session.execute(select(Project.name, Project.id)).all())

        app.upload(EMPLOYEE, cafe_receipt("52.00"), note="dinner with Globex")
        card = wait_until(
            lambda: [
                m
                for m in app.slack.dm_messages(EMPLOYEE)
                if m.buttons() and any(b.get("block_id") == "project_pick" for b in m.blocks)
            ]
        )[0]
        pick = next(b for b in card.blocks if b.get("block_id") == "project_pick")
        assert "Which project is it for?" in str(pick["text"])
        options = pick["accessory"]["options"]
        assert [o["value"] for o in options] == [
            str(ids["Globex data migration"]),
            str(ids["Globex onsite training"]),
            "none",
        ]  # the closed project is not offered
        training = options[1]
        app.driver.block_action(
            EMPLOYEE,
            pick["accessory"]["action_id"],
            message=card,
            action={"type": "static_select", "selected_option": training},
        )
        wait_until(
            lambda: "Project: Globex onsite training" in str(app.slack.message(card.channel, card.ts).blocks)
        )
        with factory() as session:
            link = session.scalars(select(ExpenseProject)).one()
            assert (link.project, link.project_id) == (
                "Globex onsite training",
                ids["Globex onsite training"],
            )
            event = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "expense.project_picked")
            ).one()
            assert event.after is not None and event.after["project_id"] == ids["Globex onsite training"]

            # The edit form offers the projects (the picked one selected) next to the free text.
            expense = session.get(Expense, link.expense_id)
            assert expense is not None
            modal = build_expense_modal(expense_view(expense))
        blocks = {b.get("block_id"): b for b in modal["blocks"]}
        assert blocks["project"]["element"]["initial_value"] == "Globex onsite training"
        select_element = blocks["project_pick"]["element"]
        assert select_element["initial_option"]["value"] == str(ids["Globex onsite training"])
        assert [o["value"] for o in select_element["options"]][-1] == "none"
