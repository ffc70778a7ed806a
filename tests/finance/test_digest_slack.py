"""The rich payout digest through Slack: totals, chart and export in the thread, Export menu, Mark paid."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.db import make_engine, make_sessionmaker, transaction
from storage.models import AuditEvent, Customer, PayoutExport
from tests.finance.conftest import add_expense
from tests.support import EMPLOYEE, FINANCE, OTHER, Harness, running_app

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path) -> Iterator[Harness]:
    with running_app(
        tmp_path,
        database_url=sqlite_url,
        extra_env={"EXPENSEBOT_SEPA_NAME": "Example Co", "EXPENSEBOT_SEPA_IBAN": "NL91ABNA0417164300"},
    ) as harness:
        factory = make_sessionmaker(make_engine(sqlite_url))
        with transaction(factory) as s:
            acme = s.scalars(select(Customer.id).where(Customer.name == "Acme Corporation")).one()
            add_expense(s, amount="42.50", customer_id=acme, spent_on=dt.date.today())
            add_expense(s, amount="17.25", category="travel", spent_on=dt.date.today())
            add_expense(s, employee=OTHER, email="other@example.com", amount="9.99", spent_on=dt.date.today())
        yield harness


def _thread_files(
    app: Harness, channel: str, ts: str, count: int, timeout: float = 20
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    files: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        files = [f for m in app.slack.thread(channel, ts) for f in m.files]
        if len(files) >= count:
            return files
        time.sleep(0.1)
    raise AssertionError(f"expected {count} files in the digest thread, got {[f.get('name') for f in files]}")


def _ephemeral(app: Harness, contains: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for post in app.slack.response_url_posts:
            text = str(post.body.get("text", ""))
            if contains in text:
                return text
        time.sleep(0.1)
    raise AssertionError(
        f"no ephemeral reply containing {contains!r}: "
        f"{[p.body.get('text') for p in app.slack.response_url_posts]}"
    )


def test_rich_digest_export_menu_and_mark_paid(app: Harness) -> None:
    result = app.cli("digest")
    assert "Payout batch #1" in result.stdout and "69.74 USD" in result.stdout
    digest = app.wait_card(FINANCE, contains="Mark batch paid")
    body = digest.all_text()
    assert "Totals per currency" in body and "69.74 USD · 3 expenses" in body
    assert "People to pay" in body and "Oldest item waiting: EXP-1" in body
    actions = next(b for b in digest.blocks if b["type"] == "actions")
    menu = next(e for e in actions["elements"] if e["type"] == "static_select")
    assert [o["value"] for o in menu["options"]] == ["1:csv", "1:quickbooks", "1:xero", "1:sepa"]
    assert "<https://slack.com/app_redirect?" in body and "|Open the App Home>" in body

    # In the thread: the spend chart (PNG) and the CSV export, which adds up to the batch.
    files = _thread_files(app, digest.channel, digest.ts, 2)
    names = sorted(f["name"] for f in files)
    assert names == ["expensebot-batch-1-csv.csv", "spend-batch-1.png"]
    by_name = {f["name"]: f for f in files}
    png = app.slack.file_content(by_name["spend-batch-1.png"]["id"])
    assert png is not None and png.startswith(b"\x89PNG")
    exported = app.slack.file_content(by_name["expensebot-batch-1-csv.csv"]["id"])
    assert exported is not None
    rows = list(csv.DictReader(io.StringIO(exported.decode())))
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal("69.74")

    # Export menu: Xero for finance; refused for an employee; SEPA says what is missing.
    app.driver.choose(FINANCE, "payout_export", "1:xero", message=digest)
    files = _thread_files(app, digest.channel, digest.ts, 3)
    xero = next(f for f in files if f["name"] == "expensebot-batch-1-xero.csv")
    content = app.slack.file_content(xero["id"])
    assert content is not None
    assert content.decode().splitlines()[0] == (FIXTURES / "xero_bills.csv").read_text().splitlines()[0]
    app.driver.choose(EMPLOYEE, "payout_export", "1:csv", message=digest)
    _ephemeral(app, "Only finance can export")
    app.driver.choose(FINANCE, "payout_export", "1:sepa", message=digest)
    _ephemeral(app, "nothing to pay by SEPA")

    # Mark paid, then again: the second changes nothing and says so; the menu stays.
    app.driver.click(FINANCE, digest, "Mark batch paid")
    app.wait_dm(EMPLOYEE, "been paid")
    button = {"action_id": "payout_mark_paid", "value": "1"}
    app.driver.block_action(FINANCE, button["action_id"], button["value"], channel=digest.channel)
    _ephemeral(app, "already marked paid")
    deadline = time.monotonic() + 10
    while (
        time.monotonic() < deadline
        and "Paid · marked by" not in app.slack.message(digest.channel, digest.ts).all_text()
    ):
        time.sleep(0.1)
    updated = app.slack.message(digest.channel, digest.ts)
    assert "Paid · marked by" in updated.all_text()
    assert not [b for b in updated.buttons() if "Mark" in b["text"]["text"]]
    assert any(
        e.get("type") == "static_select"
        for b in updated.blocks
        if b["type"] == "actions"
        for e in b["elements"]
    )

    factory = make_sessionmaker(make_engine(app.env["DATABASE_URL"]))
    with factory() as s:
        formats = sorted(s.scalars(select(PayoutExport.format)))
        assert formats == ["csv", "xero"]
        actions_seen = set(s.scalars(select(AuditEvent.action)))
        assert {"payout.batch_created", "payout.exported", "payout.batch_paid"} <= actions_seen
