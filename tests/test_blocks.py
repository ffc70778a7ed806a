"""Block Kit builders: what each message and modal contains, state by state."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from bot.blocks.approvals import build_approval_request, build_decided, build_reason_modal
from bot.blocks.card import build_expense_modal, build_receipt_card, card_fallback_text
from bot.blocks.common import CustomerView, ExpenseView, escape
from bot.blocks.digest import DigestView, PayeeLine, build_digest
from bot.blocks.home import HomeView, build_home
from workflows.expenses import Status


def view(**kw: Any) -> ExpenseView:
    base: dict[str, Any] = dict(
        id=7,
        status=Status.DRAFT,
        employee_id="U1",
        merchant="Blue <Bottle> & Co",
        spent_on=dt.date(2026, 11, 3),
        amount=Decimal("42.5"),
        currency="USD",
        category="meals",
        customer=CustomerView(3, "Acme Corporation", 91.0),
    )
    base.update(kw)
    return ExpenseView(**base)


def labels(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        e["text"]["text"]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "button"
    ]


def flat(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_card_for_a_draft_shows_facts_and_three_buttons() -> None:
    blocks = build_receipt_card(view())
    text = flat(blocks)
    assert "42.50 USD" in text  # two decimals
    assert "Acme Corporation (91% match)" in text
    assert "Blue &lt;Bottle&gt; &amp; Co" in text  # user text escaped for mrkdwn
    assert labels(blocks) == ["Submit", "Edit", "Discard"]
    discard = [e for b in blocks if b["type"] == "actions" for e in b["elements"]][2]
    assert "confirm" in discard


@pytest.mark.parametrize(
    "status", [Status.PENDING, Status.APPROVED, Status.PAID, Status.DISCARDED, Status.READING]
)
def test_card_has_no_buttons_outside_editable_states(status: Status) -> None:
    assert labels(build_receipt_card(view(status=status))) == []


@pytest.mark.parametrize("status", [Status.REJECTED, Status.CHANGES_REQUESTED])
def test_rejected_or_sent_back_can_be_fixed_and_resubmitted(status: Status) -> None:
    assert labels(build_receipt_card(view(status=status))) == ["Submit", "Edit", "Discard"]


def test_card_asks_for_what_is_missing_and_offers_candidates() -> None:
    v = view(
        amount=None,
        customer=None,
        problems=("I could not read the total: click *Edit* and type it.",),
        candidates=(CustomerView(1, "Acme Corporation", 71.0), CustomerView(2, "Acme Foods", 65.0)),
        warnings=("Looks like the expense you submitted on 3 Nov (EXP-2: same merchant, date and total).",),
    )
    blocks = build_receipt_card(v)
    text = flat(blocks)
    assert "could not read the total" in text and "not read: add it" in text
    assert "Looks like the expense you submitted on 3 Nov" in text
    select = next(b["accessory"] for b in blocks if b.get("block_id") == "customer_pick")
    assert [o["value"] for o in select["options"]] == ["1", "2", "none"]
    assert "42.50" not in card_fallback_text(v)


def test_fields_read_without_confidence_are_marked_and_confirmed_before_submit() -> None:
    unsure = view(confidence={"merchant": 0.55, "date": 0.97, "total": 0.93, "currency": 0.5})
    blocks = build_receipt_card(unsure)
    fields = next(b["fields"] for b in blocks if b["type"] == "section" and "fields" in b)
    marked = {f["text"].split("\n")[0]: "please check" in f["text"] for f in fields}
    assert marked["*Merchant*"] and marked["*Total*"]  # the total shows its currency, read unsure
    assert not marked["*Date*"]
    submit = next(e for b in blocks if b["type"] == "actions" for e in b["elements"])
    assert submit["text"]["text"] == "Submit"
    assert "merchant, currency" in submit["confirm"]["text"]["text"]
    assert len(submit["confirm"]["confirm"]["text"]) <= 30  # Slack's limit for the dialog's buttons

    sure = build_receipt_card(
        view(confidence={"merchant": 0.95, "date": 0.99, "total": 0.9, "currency": 0.96})
    )
    assert "please check" not in flat(sure)
    assert "confirm" not in next(e for b in sure if b["type"] == "actions" for e in b["elements"])


def test_edit_modal_is_prefilled() -> None:
    modal = build_expense_modal(view())
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert blocks["merchant"]["element"]["initial_value"] == "Blue <Bottle> & Co"
    assert blocks["amount"]["element"]["initial_value"] == "42.50"
    assert blocks["date"]["element"]["initial_date"] == "2026-11-03"
    assert blocks["currency"]["element"]["initial_value"] == "USD"
    assert blocks["category"]["element"]["initial_option"]["value"] == "meals"
    assert blocks["customer"]["element"]["initial_option"] == {
        "text": {"type": "plain_text", "text": "Acme Corporation", "emoji": True},
        "value": "3",
    }
    assert json.loads(modal["private_metadata"]) == {"expense_id": 7}
    assert len(modal["title"]["text"]) <= 24


def test_new_expense_modal_has_a_file_input_and_company_currency() -> None:
    modal = build_expense_modal(None, callback_id="new", with_file=True, default_currency="EUR")
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert blocks["receipt"]["element"]["type"] == "file_input"
    assert blocks["currency"]["element"]["initial_value"] == "EUR"
    assert "initial_value" not in blocks["amount"]["element"]


def test_approval_request_and_decided_message() -> None:
    blocks = build_approval_request(
        view(status=Status.PENDING, note="lunch w/ Acme", has_receipt=True),
        step_label="manager",
        step_reason="mia is emma's manager",
        task_id=11,
    )
    assert labels(blocks) == ["Approve", "Reject", "Ask for changes"]
    assert {e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]} == {"11"}
    assert "<@U1>" in flat(blocks) and "lunch w/ Acme" in flat(blocks)
    done = build_decided(view(status=Status.APPROVED), "Approved by <@U2> · 14:02")
    assert labels(done) == [] and "Approved by <@U2>" in flat(done)


def test_reason_modal_requires_text() -> None:
    modal = build_reason_modal(task_id=3, kind="reject", ref="EXP-7", channel="D1", ts="1.2")
    reason = modal["blocks"][0]
    assert reason["block_id"] == "reason" and not reason.get("optional")
    assert json.loads(modal["private_metadata"])["kind"] == "reject"


def test_digest_lists_people_totals_and_mark_paid() -> None:
    d = DigestView(
        batch_id=4,
        lines=(
            PayeeLine("U1", "USD", Decimal("42.50"), 1, ("EXP-7",)),
            PayeeLine("U2", "EUR", Decimal("10"), 2, ("EXP-8", "EXP-9")),
        ),
        totals={"USD": Decimal("42.50"), "EUR": Decimal("10")},
        oldest_approved=None,
    )
    blocks = build_digest(d)
    text = flat(blocks)
    assert "42.50 USD" in text and "10.00 EUR" in text and "EXP-8, EXP-9" in text
    assert labels(blocks) == ["Mark batch paid"]
    paid = build_digest(
        DigestView(4, d.lines, d.totals, None, paid_by="U9", paid_at=dt.datetime(2026, 11, 3, 9, 0))
    )
    assert labels(paid) == [] and "<@U9>" in flat(paid)


def test_home_sections() -> None:
    home = build_home(HomeView(mine=(view(),), waiting_for_me=(), payout_queue=None))
    text = flat(home["blocks"])
    assert home["type"] == "home"
    assert "My expenses" in text and "EXP-7" in text and "Nothing waits for you" in text
    assert "Payout queue" not in text
    finance = build_home(HomeView(mine=(), waiting_for_me=(), payout_queue=(view(status=Status.APPROVED),)))
    assert "Payout queue" in flat(finance["blocks"])


def test_escape() -> None:
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"
