"""Splitting a receipt on its card: parts by amount or percentage, each its own export line."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage.db import make_engine, make_sessionmaker
from storage.models import AuditEvent, Customer, Expense
from tests.support import EMPLOYEE, FINANCE, MANAGER, OTHER, cafe_receipt, running_app


def _rows(*rows: tuple[str, str | None, str | None, str | None]) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for number, (share, category, customer, project) in enumerate(rows, start=1):
        values[f"share_{number}"] = {f"share_{number}": {"type": "plain_text_input", "value": share}}
        values[f"category_{number}"] = {
            f"category_{number}": {
                "type": "static_select",
                "selected_option": {"value": category} if category else None,
            }
        }
        values[f"customer_{number}"] = {
            f"split_customer_{number}": {
                "type": "external_select",
                "selected_option": {"value": customer} if customer else None,
            }
        }
        values[f"project_{number}"] = {f"project_{number}": {"type": "plain_text_input", "value": project}}
    return values


def _status(url: str) -> str:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return str(session.scalars(select(Expense.status)).one())
    finally:
        engine.dispose()


def test_split_a_receipt_on_the_card(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(tmp_path, database_url=sqlite_url) as app:
        engine = make_engine(sqlite_url)
        with make_sessionmaker(engine)() as session:
            acme = session.scalars(select(Customer).where(Customer.external_id == "C-100")).one().id
        app.upload(EMPLOYEE, cafe_receipt("42.50"))
        card = app.wait_card(EMPLOYEE)

        before = len(app.slack.response_url_posts)
        app.driver.choose(OTHER, "expense_split", "1", message=card)  # not theirs: refused, only they see it
        assert "Only <@U_EMP> can split EXP-1" in str(
            app.slack.wait_for_response_post(after=before).body["text"]
        )

        app.driver.choose(EMPLOYEE, "expense_split", "1", message=card)  # "…" menu: Split across …
        modal = app.wait_view(EMPLOYEE, "expense_split_view")
        assert "42.50 USD" in str(modal["blocks"])
        found = app.driver.block_suggestion(EMPLOYEE, "split_customer_2", "acme", view=modal).json()[
            "options"
        ]
        assert (found[0]["text"]["text"], found[0]["value"]) == ("Acme Corporation", str(acme))
        bad = app.driver.submit_view(
            EMPLOYEE, modal, _rows(("30.00", "meals", None, None), ("10%", "travel", None, None))
        )
        assert bad.json()["response_action"] == "errors"
        assert "only with one part left blank" in str(bad.json()["errors"])
        bad = app.driver.submit_view(
            EMPLOYEE, modal, _rows(("30.00", "meals", None, None), ("10.00", "travel", None, None))
        )
        assert bad.json()["errors"] == {
            "share_1": "The parts add up to 40.00 USD, not 42.50 USD: 2.50 USD left over."
        }
        # Each part is checked against the policy as its own claim: client entertainment needs a customer.
        ok = app.driver.submit_view(
            EMPLOYEE,
            modal,
            _rows(("30.00", "meals", str(acme), None), ("", "client_entertainment", None, "Apollo")),
        )
        assert ok.status_code == 200 and not ok.content
        app.slack.wait_until(
            lambda: "Split:" in str(app.slack.message(card.channel, card.ts).blocks),
            timeout=20,
            what="the card with its parts",
        )
        before = len(app.slack.response_url_posts)
        app.driver.click(EMPLOYEE, card, "Submit")
        refusal = str(app.slack.wait_for_response_post(after=before, timeout=20).body.get("text"))
        assert (
            "EXP-1 cannot be submitted: Part 2 (12.50 USD): Client entertainment expenses must name"
            in refusal
        )

        first = modal["id"]
        app.driver.choose(EMPLOYEE, "expense_split", "1", message=card)
        app.slack.wait_until(
            lambda: (app.slack.latest_view(EMPLOYEE) or {}).get("id") != first,
            timeout=20,
            what="the split form opened again",
        )
        modal = app.wait_view(EMPLOYEE, "expense_split_view")
        assert "30.00" in str(modal["blocks"])  # the form opens with the parts as they are
        ok = app.driver.submit_view(
            EMPLOYEE, modal, _rows(("30.00", "meals", str(acme), None), ("", "travel", None, "Apollo"))
        )
        assert ok.status_code == 200 and not ok.content
        app.slack.wait_until(
            lambda: "Travel" in str(app.slack.message(card.channel, card.ts).blocks),
            timeout=20,
            what="the card with the new parts",
        )
        app.slack.wait_until(
            lambda: "Split:" in str(app.slack.message(card.channel, card.ts).blocks),
            timeout=20,
            what="the card with its parts",
        )
        shown = str(app.slack.message(card.channel, card.ts).blocks)
        assert (
            "30.00 USD · Meals · Acme Corporation" in shown and "12.50 USD · Travel · project Apollo" in shown
        )
        with make_sessionmaker(engine)() as session:
            events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "expense.split")))
            assert [e.actor for e in events] == [EMPLOYEE, EMPLOYEE]
            assert events[1].after["splits"][1]["category"] == "travel"  # type: ignore[index]
        engine.dispose()

        app.driver.click(EMPLOYEE, card, "Submit")
        app.driver.click(MANAGER, app.wait_card(MANAGER, contains="Approve"), "Approve")
        app.driver.click(FINANCE, app.wait_card(FINANCE, contains="Approve"), "Approve")
        # The manager's approval DM says "approved" too: wait for the finance step itself.
        app.slack.wait_until(
            lambda: _status(sqlite_url) == "approved", timeout=20, what="the claim approved by finance"
        )
        app.cli("digest")
        exported = list(
            csv.DictReader(io.StringIO(app.cli("export", "--batch", "1", "--format", "csv").stdout))
        )
        assert [
            (r["expense_ref"], r["amount"], r["category"], r["customer"], r["project"]) for r in exported
        ] == [
            ("EXP-1", "30.00", "Meals", "Acme Corporation", ""),
            ("EXP-1", "12.50", "Travel", "", "Apollo"),
        ]
