"""A USD receipt paid in EUR: the employee's reimbursement currency from the directory."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from devslack.serving import BackgroundServer
from storage.db import make_engine, make_sessionmaker
from storage.models import AuditEvent, Expense
from tests.fakes.ecb import DAILY, FakeEcb
from tests.support import EMPLOYEE, FINANCE, MANAGER, ORG_CSV, OTHER, cafe_receipt, recent_day, running_app
from workflows.money import Money

ORG_WITH_CURRENCY = ORG_CSV.replace(
    "email,manager_email,department,role\n", "email,manager_email,department,role,currency\n"
).replace(
    "emp@example.com,mgr@example.com,sales,employee\n", "emp@example.com,mgr@example.com,sales,employee,EUR\n"
)


def _expense(url: str) -> Expense:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            found = session.scalars(select(Expense)).one()
            session.expunge(found)
            return found
    finally:
        engine.dispose()


def test_a_usd_receipt_paid_in_eur(tmp_path: Path, sqlite_url: str) -> None:
    spent = recent_day()
    fake = FakeEcb(last=dt.date.today())
    usd_per_eur = Decimal(fake.days[spent]["USD"])
    org = tmp_path / "org-currency.csv"
    org.write_text(ORG_WITH_CURRENCY)
    with (
        BackgroundServer(fake.app, name="ecb") as ecb,
        running_app(
            tmp_path,
            database_url=sqlite_url,
            extra_env={
                "EXPENSEBOT_ORG_FILE": str(org),
                "EXPENSEBOT_FX_FEED_URL": ecb.url.rstrip("/") + DAILY,
            },
        ) as app,
    ):
        # Before any rate is stored the card says why it cannot show the amount in euros.
        app.upload(EMPLOYEE, cafe_receipt("42.50"))
        card = app.wait_card(EMPLOYEE)
        assert "42.50 USD" in str(card.blocks)
        assert "Paid in EUR: No USD→EUR rate for" in str(card.blocks)

        before = len(app.slack.response_url_posts)
        app.driver.click(EMPLOYEE, card, "Submit")  # refused: it cannot be paid in euros yet
        refusal = str(app.slack.wait_for_response_post(after=before, timeout=20).body.get("text"))
        assert "cannot convert USD into EUR" in refusal and "fx update" in refusal

        app.cli("fx", "update", "--date", spent.isoformat())
        reference = (Decimal(1) / usd_per_eur).quantize(Decimal("1e-12"))
        expected = Money(Decimal("42.50") * reference, "EUR")
        before = len(app.slack.response_url_posts)
        app.driver.click(OTHER, card, "Use my card's rate")  # not theirs: refused, only they see it
        assert "Only <@U_EMP> can change the rate of EXP-1" in str(
            app.slack.wait_for_response_post(after=before, timeout=20).body.get("text")
        )
        app.driver.click(EMPLOYEE, card, "Use my card's rate")
        modal = app.wait_view(EMPLOYEE, "expense_card_rate_view")
        assert f"{reference.normalize():f}" in str(modal["blocks"])
        # A rate far from the reference is refused in the form, with the policy's tolerance.
        far = app.driver.submit_view(
            EMPLOYEE, modal, {"card_rate": {"card_rate": {"type": "plain_text_input", "value": "1.50"}}}
        )
        assert far.json()["response_action"] == "errors"
        assert "the policy allows 3%" in far.json()["errors"]["card_rate"]
        # An empty rate keeps the reference rate; the card now shows the conversion.
        app.driver.submit_view(
            EMPLOYEE, modal, {"card_rate": {"card_rate": {"type": "plain_text_input", "value": ""}}}
        )
        app.slack.wait_until(
            lambda: "Paid in EUR:*" in str(app.slack.message(card.channel, card.ts).blocks),
            timeout=20,
            what="the card with the conversion",
        )
        shown = str(app.slack.message(card.channel, card.ts).blocks)
        assert (
            f"42.50 USD × {reference.normalize():f} (ECB rate of {spent.isoformat()}) = {expected.format()}"
            in shown
        )

        # The employee's card statement says 0.5 % more: within the tolerance, it is used.
        card_rate = (reference * Decimal("1.005")).quantize(Decimal("0.0001"))
        app.driver.click(EMPLOYEE, card, "Use my card's rate")
        modal = app.wait_view(EMPLOYEE, "expense_card_rate_view")
        ok = app.driver.submit_view(
            EMPLOYEE,
            modal,
            {"card_rate": {"card_rate": {"type": "plain_text_input", "value": str(card_rate)}}},
        )
        assert ok.status_code == 200 and not ok.content
        paid = Money(Decimal("42.50") * card_rate, "EUR")
        app.slack.wait_until(
            lambda: "card statement" in str(app.slack.message(card.channel, card.ts).blocks),
            timeout=20,
            what="the card with the card statement's rate",
        )
        assert paid.format() in str(app.slack.message(card.channel, card.ts).blocks)

        app.driver.click(EMPLOYEE, card, "Submit")
        request = app.wait_card(MANAGER, contains="Approve")
        assert "42.50 USD" in str(request.blocks) and paid.format() in str(request.blocks)
        app.driver.click(MANAGER, request, "Approve")
        app.driver.click(FINANCE, app.wait_card(FINANCE, contains="Approve"), "Approve")
        # The manager's approval DM says "approved" too: wait for the finance step itself.
        app.slack.wait_until(
            lambda: _expense(sqlite_url).status == "approved",
            timeout=20,
            what="the claim approved by finance",
        )
        kept = _expense(sqlite_url)
        assert (kept.status, kept.reimburse_currency, kept.reimburse_amount) == (
            "approved",
            "EUR",
            paid.amount,
        )
        assert kept.fx_rate == card_rate and kept.fx_rate_source == "card statement"

        # A re-import that changes the day's rate is audited; the approved claim keeps its rate.
        changed = tmp_path / "rates.csv"
        changed.write_text(
            f"date,from,to,rate\n{spent.isoformat()},EUR,USD,{usd_per_eur + Decimal('0.05')}\n"
        )
        result = app.cli("fx", "import", str(changed))
        assert "1 changed" in result.stdout
        engine = make_engine(sqlite_url)
        with make_sessionmaker(engine)() as session:
            event = session.scalars(select(AuditEvent).where(AuditEvent.action == "fx_rate.changed")).one()
        engine.dispose()
        assert event.entity_id == f"EUR/USD/{spent.isoformat()}" and "EXP-1" in str(event.detail)
        again = _expense(sqlite_url)
        assert (again.reimburse_amount, again.fx_rate) == (paid.amount, card_rate)

        # The payout digest and the export are in euros, with the receipt's own amount beside.
        digest = app.cli("digest")
        assert paid.format() in digest.stdout and "USD" not in digest.stdout
        exported = app.cli("export", "--batch", "1", "--format", "csv").stdout
        row = next(csv.DictReader(io.StringIO(exported)))
        assert (row["currency"], row["amount"]) == ("EUR", paid.amount_text)
        assert (row["original_currency"], row["original_amount"], row["fx_rate"]) == (
            "USD",
            "42.50",
            f"{card_rate:f}",
        )
        assert row["fx_rate_source"] == "card statement"
        app.driver.click(FINANCE, app.wait_card(FINANCE, contains="paid"), "paid")
        assert paid.format() in str(app.wait_dm(EMPLOYEE, "been paid").text)
