"""The whole path through Slack's protocol: receipt photo -> card -> approvals -> paid.

Runs on SQLite with in-process jobs, and on PostgreSQL with Redis and real RQ worker processes.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devslack import text_input
from tests.support import EMPLOYEE, FINANCE, MANAGER, OTHER, Harness, cafe_receipt, running_app, stack_urls


@pytest.fixture(params=["sqlite-inprocess", "postgresql-redis"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    url, redis = stack_urls(request)
    with running_app(tmp_path, database_url=url, redis_url=redis) as harness:
        yield harness


def texts(message: Any) -> str:
    parts = [message.text or ""]
    for block in message.blocks:
        parts.append(str(block))
    return " ".join(parts)


def button_labels(message: Any) -> list[str]:
    return [b["text"]["text"] for b in message.buttons()]


def test_protocol_checks(app: Harness) -> None:
    assert app.driver.url_verification("abc123").json() == {"challenge": "abc123"}
    for mode in ("bad", "stale", "missing"):
        with app.driver.signing(mode):
            response = app.driver.url_verification("x")
        assert response.status_code == 401, mode


def test_receipt_to_paid(app: Harness) -> None:
    upload, _ = app.upload(EMPLOYEE, cafe_receipt("42.50"), note="client lunch with Acme")
    card = app.wait_card(EMPLOYEE)
    assert card.thread_ts == upload.message.ts  # a reply in the upload's thread
    body = texts(card)
    assert "42.50" in body and "USD" in body
    assert "Acme Corporation" in body
    assert set(button_labels(card)) >= {"Submit", "Edit", "Discard"}

    # Slack redelivers both events (a retry): still one card.
    for event in upload.events:
        assert app.driver.event(event, retry_num=1, retry_reason="http_timeout").status_code == 200
    time.sleep(1.0)
    cards = [m for m in app.slack.dm_messages(EMPLOYEE) if "Submit" in str(button_labels(m))]
    assert len(cards) == 1

    # Submit -> the manager gets the request.
    assert app.driver.click(EMPLOYEE, card, "Submit").status_code == 200
    request = app.wait_card(MANAGER, contains="Approve")
    assert {"Approve", "Reject"} <= {label.split()[0] for label in button_labels(request)}

    # The manager's App Home lists what waits for their decision.
    app.driver.app_home_opened(MANAGER)
    app.slack.wait_until(lambda: app.slack.home_view(MANAGER) is not None, timeout=15, what="manager's home")
    home = app.slack.home_view(MANAGER)
    assert "Waiting for my decision" in str(home) and "EXP-1" in str(home)

    # Someone else and the submitter are refused; nothing changes.
    app.driver.click(OTHER, request, "Approve")
    app.driver.click(EMPLOYEE, request, "Approve")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(app.slack.response_url_posts) < 2:
        time.sleep(0.05)
    refusals = [p for p in app.slack.response_url_posts if p.body.get("response_type") == "ephemeral"]
    assert len(refusals) >= 2
    assert all(not p.body.get("replace_original") for p in refusals)
    assert "Approve" in str(button_labels(app.slack.message(request.channel, request.ts)))
    assert not [m for m in app.slack.dm_messages(EMPLOYEE) if "approved" in (m.text or "").lower()]

    # Two concurrent clicks by the manager: one decision, one DM.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: app.driver.click(MANAGER, request, "Approve"), range(2)))
    app.wait_dm(EMPLOYEE, "approved by")
    time.sleep(1.0)
    approved_dms = [m for m in app.slack.dm_messages(EMPLOYEE) if "approved" in (m.text or "").lower()]
    assert len(approved_dms) == 1
    updated = app.slack.message(request.channel, request.ts)
    assert updated.buttons() == []
    assert "Approved by" in texts(updated)

    # Finance approves; the employee is told.
    finance_request = app.wait_card(FINANCE, contains="Approve")
    app.driver.click(FINANCE, finance_request, "Approve")
    app.wait_dm(EMPLOYEE, "waits for payout")
    app.driver.app_home_opened(FINANCE)
    app.slack.wait_until(lambda: app.slack.home_view(FINANCE) is not None, timeout=15, what="finance's home")
    finance_home = app.slack.home_view(FINANCE)
    assert "Payout queue" in str(finance_home) and "42.50 USD" in str(finance_home)

    # The digest goes to finance; Mark paid tells the employee "paid".
    result = app.cli("digest")
    assert "42.50" in result.stdout
    digest = app.wait_card(FINANCE, contains="paid")
    button = next(b for b in digest.buttons() if "paid" in b["text"]["text"])
    app.driver.click(FINANCE, digest, "paid")
    app.wait_dm(EMPLOYEE, "been paid")
    # A second Mark paid (an old copy of the message) changes nothing and says so.
    app.slack.wait_for_response_post(lambda p: "is marked paid" in str(p.body.get("text")), timeout=15)
    before = len(app.slack.response_url_posts)
    app.driver.block_action(FINANCE, button["action_id"], button["value"], channel=digest.channel)
    again = app.slack.wait_for_response_post(after=before, timeout=15)
    assert "already marked paid" in str(again.body.get("text"))
    paid_dms = [m for m in app.slack.dm_messages(EMPLOYEE) if "been paid" in (m.text or "")]
    assert len(paid_dms) == 1
    assert app.slack.message(digest.channel, digest.ts).buttons() == []


def test_reject_with_reason(app: Harness) -> None:
    app.upload(EMPLOYEE, cafe_receipt("18.20"), note="team snacks")
    card = app.wait_card(EMPLOYEE)
    app.driver.click(EMPLOYEE, card, "Submit")
    request = app.wait_card(MANAGER, contains="Reject")
    app.driver.click(MANAGER, request, "Reject")
    view = app.wait_view(MANAGER, "approval_reason_view")
    # An empty reason is refused in the modal.
    answer = app.driver.submit_view(MANAGER, view, {"reason": {"reason": text_input("")}})
    assert answer.json()["response_action"] == "errors"
    reason = "Snacks are not covered by the policy, see section 4"
    app.driver.submit_view(MANAGER, view, {"reason": {"reason": text_input(reason)}})
    dm = app.wait_dm(EMPLOYEE, "was rejected by")
    assert f"“{reason}”" in dm.text
    assert app.slack.message(request.channel, request.ts).buttons() == []
