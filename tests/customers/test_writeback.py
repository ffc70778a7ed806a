"""Approved expenses logged on the customer in HubSpot / Salesforce, exactly once."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fakes.crm_hubspot import FakeHubSpot
from fakes.crm_salesforce import FakeSalesforce
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devslack.serving import BackgroundServer
from integrations.crm.hubspot import HubSpotConnector
from integrations.crm.salesforce import SalesforceConnector
from integrations.crm.sync import sync_all
from integrations.crm.writeback import marker, retry_pending, writeback_expense
from storage.db import transaction
from storage.models import CrmWriteback, Customer, Expense, ReceiptFile


def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def hubspot() -> Iterator[tuple[FakeHubSpot, HubSpotConnector]]:
    fake = FakeHubSpot()
    with BackgroundServer(fake.app, name="fake-hubspot") as server:
        connector = HubSpotConnector(fake.token, server.url, sleep=no_sleep)
        yield fake, connector
        connector.close()


@pytest.fixture
def salesforce() -> Iterator[tuple[FakeSalesforce, SalesforceConnector]]:
    fake = FakeSalesforce()
    with BackgroundServer(fake.app, name="fake-salesforce") as server:
        connector = SalesforceConnector(server.url, token=fake.new_session(), sleep=no_sleep)
        yield fake, connector
        connector.close()


def add_expense(
    factory: sessionmaker[Session], source: str, external_id: str, *, status: str = "approved"
) -> int:
    with transaction(factory) as session:
        customer_id = session.scalar(
            select(Customer.id).where(Customer.source == source, Customer.external_id == external_id)
        )
        receipt = ReceiptFile(
            sha256="ab" * 32,
            content=b"%PDF",
            media_type="application/pdf",
            filename="dinner.pdf",
            size=4,
            uploaded_by="U1",
        )
        session.add(receipt)
        session.flush()
        expense = Expense(
            status=status,
            employee_id="U1",
            employee_email="sam@example.com",
            source="dm",
            note="dinner w/ acme team",
            merchant="Chez Panisse",
            spent_on=dt.date(2026, 3, 4),
            amount=Decimal("184.50"),
            currency="EUR",
            customer_id=customer_id,
            receipt_id=receipt.id,
            approved_at=dt.datetime(2026, 3, 5, 9, 30, tzinfo=dt.UTC),
        )
        session.add(expense)
        session.flush()
        return expense.id


def writeback_rows(factory: sessionmaker[Session]) -> list[tuple[int, str, str, int, str | None]]:
    with factory() as session:
        rows = session.execute(
            select(
                CrmWriteback.expense_id,
                CrmWriteback.source,
                CrmWriteback.status,
                CrmWriteback.attempts,
                CrmWriteback.remote_id,
            )
        )
        return [
            (expense, source, status, attempts, remote) for expense, source, status, attempts, remote in rows
        ]


def test_hubspot_note_on_the_company_exactly_once(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, HubSpotConnector]
) -> None:
    fake, connector = hubspot
    company = fake.add_company("Acme Corp", "acme.com")
    sync_all(factory, connectors=[connector])
    expense_id = add_expense(factory, "hubspot", company)

    first = writeback_expense(factory, expense_id, [connector])
    assert first.status == "done" and first.remote_id
    (note_id,) = fake.objects["notes"]
    body = fake.objects["notes"][note_id]["properties"]["hs_note_body"]
    assert "184.5" in body and "EUR" in body and "Chez Panisse" in body
    assert "receipt #" in body and "dinner.pdf" in body and marker(expense_id) in body
    assert fake.note_companies[note_id] == [company]
    assert fake.objects["notes"][note_id]["properties"]["hs_timestamp"] == "2026-03-05T09:30:00Z"

    again = writeback_expense(factory, expense_id, [connector])
    assert (again.status, again.remote_id, again.message) == ("done", first.remote_id, "already logged")
    assert len(fake.objects["notes"]) == 1
    assert writeback_rows(factory) == [(expense_id, "hubspot", "done", 1, first.remote_id)]


def test_failures_are_retried_and_a_lost_answer_is_not_logged_twice(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, HubSpotConnector]
) -> None:
    fake, connector = hubspot
    company = fake.add_company("Acme Corp")
    sync_all(factory, connectors=[connector])
    expense_id = add_expense(factory, "hubspot", company)

    fake.create_then_fail = 1  # HubSpot stores the note but the answer is lost
    failed = writeback_expense(factory, expense_id, [connector])
    assert failed.status == "pending" and "502" in failed.message
    assert len(fake.objects["notes"]) == 1
    assert writeback_rows(factory)[0][2:4] == ("pending", 1)

    (retried,) = retry_pending(factory, [connector])
    assert retried.status == "done"
    assert len(fake.objects["notes"]) == 1  # found by its marker, not created again
    assert retried.remote_id == next(iter(fake.objects["notes"]))
    assert writeback_rows(factory)[0][2:4] == ("done", 2)
    assert retry_pending(factory, [connector]) == []


def test_gives_up_after_max_attempts(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, HubSpotConnector]
) -> None:
    fake, connector = hubspot
    company = fake.add_company("Acme Corp")
    sync_all(factory, connectors=[connector])
    expense_id = add_expense(factory, "hubspot", company)
    statuses = []
    for _ in range(3):
        fake.fail_next(400)
        statuses.append(writeback_expense(factory, expense_id, [connector], max_attempts=3).status)
    assert statuses == ["pending", "pending", "failed"]
    assert writeback_expense(factory, expense_id, [connector], max_attempts=3).status == "failed"
    assert not fake.objects["notes"]


def test_a_second_worker_backs_off_while_the_first_is_sending(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, HubSpotConnector]
) -> None:
    fake, connector = hubspot
    company = fake.add_company("Acme Corp")
    sync_all(factory, connectors=[connector])
    expense_id = add_expense(factory, "hubspot", company)
    with transaction(factory) as session:
        session.add(
            CrmWriteback(
                expense_id=expense_id,
                source="hubspot",
                status="sending",
                attempts=1,
                last_error="sending since " + dt.datetime.now(dt.UTC).isoformat(),
            )
        )
    busy = writeback_expense(factory, expense_id, [connector])
    assert busy.status == "pending" and "another worker" in busy.message
    assert not fake.objects["notes"]
    # The worker died: once its lease is old, the next attempt checks the CRM, then logs.
    with transaction(factory) as session:
        row = session.scalars(select(CrmWriteback)).one()
        row.last_error = "sending since " + (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    assert writeback_expense(factory, expense_id, [connector]).status == "done"
    assert len(fake.objects["notes"]) == 1


def test_salesforce_task_on_the_account(
    factory: sessionmaker[Session], salesforce: tuple[FakeSalesforce, SalesforceConnector]
) -> None:
    fake, connector = salesforce
    account = fake.add_account("Globex Corporation", "globex.com")
    sync_all(factory, connectors=[connector])
    expense_id = add_expense(factory, "salesforce", account)
    fake.create_then_fail = 1
    assert writeback_expense(factory, expense_id, [connector]).status == "pending"
    done = writeback_expense(factory, expense_id, [connector])
    assert done.status == "done"
    (task,) = fake.records["Task"].values()
    assert done.remote_id == task["Id"]
    assert (
        task["WhatId"] == account and task["Status"] == "Completed" and task["ActivityDate"] == "2026-03-04"
    )
    assert marker(expense_id) in task["Subject"] and "184.5" in task["Subject"] and "EUR" in task["Subject"]
    assert "Receipt: receipt #" in task["Description"]


@pytest.mark.parametrize(
    ("status", "source", "why"),
    [("draft", "hubspot", "expense is draft"), ("approved", "csv", "no csv connection")],
)
def test_skipped_expenses(
    factory: sessionmaker[Session],
    hubspot: tuple[FakeHubSpot, HubSpotConnector],
    status: str,
    source: str,
    why: str,
) -> None:
    fake, connector = hubspot
    company = fake.add_company("Acme Corp")
    sync_all(factory, connectors=[connector])
    if source == "csv":
        with transaction(factory) as session:
            session.add(Customer(source="csv", external_id=company, name="Acme Corp"))
    expense_id = add_expense(factory, source, company, status=status)
    result = writeback_expense(factory, expense_id, [connector])
    assert result.status == "skipped" and why in result.message
    assert writeback_rows(factory) == []
    assert writeback_expense(factory, 999_999, [connector]).message == "no such expense"


def test_concurrent_workers_log_once(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, HubSpotConnector]
) -> None:
    fake, connector = hubspot
    company = fake.add_company("Acme Corp")
    sync_all(factory, connectors=[connector])
    expense_id = add_expense(factory, "hubspot", company)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(writeback_expense(factory, expense_id, [connector]).status)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(fake.objects["notes"]) == 1
    assert "done" in results and set(results) <= {"done", "pending"}
    assert writeback_rows(factory)[0][2] == "done"


def attach_deal(factory: sessionmaker[Session], expense_id: int, source: str, external_id: str) -> None:
    from storage.models import Deal

    with transaction(factory) as session:
        deal_id = session.scalar(
            select(Deal.id).where(Deal.source == source, Deal.external_id == external_id)
        )
        expense = session.get(Expense, expense_id)
        assert deal_id is not None and expense is not None
        expense.deal_id = deal_id


def test_hubspot_note_goes_on_the_deal_too(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, HubSpotConnector]
) -> None:
    fake, connector = hubspot
    company = fake.add_company("Acme Corp", "acme.com")
    deal = fake.add_deal("Acme - Platform renewal 2027", company, amount="50000")
    sync_all(factory, connectors=[connector])
    expense_id = add_expense(factory, "hubspot", company)
    attach_deal(factory, expense_id, "hubspot", deal)
    assert writeback_expense(factory, expense_id, [connector]).status == "done"
    (note_id,) = fake.objects["notes"]
    assert fake.note_companies[note_id] == [company] and fake.note_deals[note_id] == [deal]
    assert (
        "Deal: Acme - Platform renewal 2027" in fake.objects["notes"][note_id]["properties"]["hs_note_body"]
    )


def test_salesforce_task_on_the_opportunity(
    factory: sessionmaker[Session], salesforce: tuple[FakeSalesforce, SalesforceConnector]
) -> None:
    fake, connector = salesforce
    account = fake.add_account("Globex Corporation", "globex.com")
    opportunity = fake.add_opportunity("Globex - pilot", account)
    sync_all(factory, connectors=[connector])
    expense_id = add_expense(factory, "salesforce", account)
    attach_deal(factory, expense_id, "salesforce", opportunity)
    fake.create_then_fail = 1  # the lost answer is found again on the opportunity, not logged twice
    assert writeback_expense(factory, expense_id, [connector]).status == "pending"
    assert writeback_expense(factory, expense_id, [connector]).status == "done"
    (task,) = fake.records["Task"].values()
    assert task["WhatId"] == opportunity and "Deal: Globex - pilot" in task["Description"]
