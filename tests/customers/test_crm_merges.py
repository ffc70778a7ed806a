"""Merges and deletions in the CRM: merged companies keep their expenses (moved to the survivor,
audited), deleted ones are kept for history but no longer offered. Against the local stand-ins,
which merge the way HubSpot and Salesforce document."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fakes.crm_hubspot import FakeHubSpot
from fakes.crm_salesforce import FakeSalesforce
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devslack.serving import BackgroundServer
from integrations.crm.hubspot import HubSpotConnector
from integrations.crm.salesforce import SalesforceConnector
from integrations.crm.sync import sync_all
from storage.customers import load_records
from storage.db import transaction
from storage.models import AuditEvent, Customer, CustomerAlias, Deal, Expense
from tests.finance.conftest import add_expense


@pytest.fixture
def hubspot() -> Iterator[tuple[FakeHubSpot, str]]:
    fake = FakeHubSpot()
    with BackgroundServer(fake.app, name="fake-hubspot") as server:
        yield fake, server.url


@pytest.fixture
def salesforce() -> Iterator[tuple[FakeSalesforce, str]]:
    fake = FakeSalesforce(batch_size=3)
    with BackgroundServer(fake.app, name="fake-salesforce") as server:
        fake.instance_url = server.url
        yield fake, server.url


def _no_sleep(seconds: float) -> None:
    pass


def _customer(session: Session, source: str, external_id: str) -> Customer:
    found = session.scalar(
        select(Customer).where(Customer.source == source, Customer.external_id == external_id)
    )
    assert found is not None, external_id
    return found


def _expense_on(factory: sessionmaker[Session], source: str, external_id: str, amount: str) -> int:
    with transaction(factory) as s:
        return add_expense(s, amount=amount, customer_id=_customer(s, source, external_id).id)


def _customer_of(factory: sessionmaker[Session], expense_id: int) -> tuple[str, str]:
    with factory() as s:
        expense = s.get(Expense, expense_id)
        assert expense is not None and expense.customer is not None
        return expense.customer.external_id, expense.customer.name


def _offered(factory: sessionmaker[Session]) -> set[str]:
    with factory() as s:
        return {r.name for r in load_records(s)}


def test_the_hubspot_stand_in_merges_as_documented(hubspot: tuple[FakeHubSpot, str]) -> None:
    fake, url = hubspot
    acme = fake.add_company("Acme", "acme.com")
    acme_inc = fake.add_company("Acme Inc", None)
    gone = fake.add_company("Gone Ltd", None)
    fake.archive_company(gone)
    headers = {"Authorization": f"Bearer {fake.token}"}
    merged = httpx.post(
        f"{url}/crm/v3/objects/companies/merge",
        headers=headers,
        json={"primaryObjectId": acme, "objectIdToMerge": acme_inc},
    ).json()
    assert merged["id"] not in (acme, acme_inc)  # a new record with a new id
    assert merged["properties"]["hs_merged_object_ids"] == f"{acme};{acme_inc}"
    assert merged["properties"]["name"] == "Acme" and merged["properties"]["domain"] == "acme.com"
    for old in (acme, acme_inc):  # an old id answers the merged record, with its new id
        answer = httpx.get(f"{url}/crm/v3/objects/companies/{old}", headers=headers)
        assert answer.status_code == 200 and answer.json()["id"] == merged["id"]
    missing = httpx.get(f"{url}/crm/v3/objects/companies/{gone}", headers=headers)
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"
    listed = httpx.get(f"{url}/crm/v3/objects/companies", headers=headers, params={"limit": 100}).json()
    assert [r["id"] for r in listed["results"]] == [merged["id"]]


def test_hubspot_merge_moves_expenses_to_the_new_record(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    facebook = fake.add_company("Facebook", "facebook.com")
    meta = fake.add_company("Meta Platforms", "meta.com")
    other = fake.add_company("Globex", "globex.com")
    deal = fake.add_deal("Facebook ads pilot", facebook)
    connector = HubSpotConnector(fake.token, url, sleep=_no_sleep)
    assert sync_all(factory, connectors=[connector]).ok
    on_facebook = _expense_on(factory, "hubspot", facebook, "12.50")
    on_meta = _expense_on(factory, "hubspot", meta, "7.25")
    on_globex = _expense_on(factory, "hubspot", other, "3.00")
    with transaction(factory) as s:
        s.add(
            CustomerAlias(customer_id=_customer(s, "hubspot", facebook).id, alias="FB", origin="correction")
        )

    survivor = fake.merge_companies(meta, facebook)
    report = sync_all(factory, connectors=[connector], actor="sync-test")  # changes only
    assert report.ok, report.lines()
    assert report.lines()[0] == (
        "hubspot companies (changes only): 1 created, 0 updated, 1 unchanged, 0 archived, 2 merged"
    )
    assert _customer_of(factory, on_facebook) == (survivor, "Meta Platforms")
    assert _customer_of(factory, on_meta) == (survivor, "Meta Platforms")
    assert _customer_of(factory, on_globex) == (other, "Globex")
    with factory() as s:
        new = _customer(s, "hubspot", survivor)
        for old in (facebook, meta):
            gone = _customer(s, "hubspot", old)
            assert gone.archived and gone.merged_into_id == new.id  # kept for history
        aliases = set(s.scalars(select(CustomerAlias.alias).where(CustomerAlias.customer_id == new.id)))
        assert {"Facebook", "FB"} <= aliases  # the former name and the learned alias follow
        assert s.scalar(select(Deal.customer_id).where(Deal.external_id == deal)) == new.id
        moved = s.scalars(select(AuditEvent).where(AuditEvent.action == "expense.customer_merged")).all()
        assert sorted(int(e.entity_id) for e in moved) == sorted([on_facebook, on_meta])
        assert all(e.actor == "sync-test" and e.after and e.after["customer_id"] == new.id for e in moved)
        merges = s.scalars(select(AuditEvent).where(AuditEvent.action == "customer.merged")).all()
        assert len(merges) == 2
    assert _offered(factory) == {"Meta Platforms", "Globex"}

    # The survivor keeps listing the merged ids: seen again, nothing moves twice.
    again = sync_all(factory, connectors=[connector], full=True)
    assert again.ok and "merged" not in again.lines()[0]
    with factory() as s:
        assert len(s.scalars(select(AuditEvent).where(AuditEvent.action == "customer.merged")).all()) == 2


def test_hubspot_full_sync_asks_where_a_vanished_customer_went(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    """A company that left the list while expenses point at it is read by its id: a merged-away
    id answers the survivor (whatever the survivor lists), a deleted one 404."""
    fake, url = hubspot
    kept = fake.add_company("Initech", "initech.com")
    absorbed = fake.add_company("Initech Europe", None)
    deleted = fake.add_company("Vandelay Industries", None)
    unused = fake.add_company("Nobody Uses Me", None)
    connector = HubSpotConnector(fake.token, url, sleep=_no_sleep)
    assert sync_all(factory, connectors=[connector]).ok
    moved = _expense_on(factory, "hubspot", absorbed, "40.00")
    stays = _expense_on(factory, "hubspot", deleted, "9.99")
    # As before HubSpot's merges made new records: the primary keeps its id, lists nothing.
    fake.objects["companies"].pop(absorbed)
    fake.merged[absorbed] = kept
    fake.archive_company(deleted)
    fake.archive_company(unused)
    fake.requests.clear()

    report = sync_all(factory, connectors=[connector], full=True)
    assert report.ok, report.lines()
    assert (
        report.lines()[0]
        == "hubspot companies (full): 0 created, 0 updated, 1 unchanged, 3 archived, 1 merged"
    )
    reads = sorted(
        p for m, p, _b in fake.requests if m == "GET" and p.startswith("/crm/v3/objects/companies/")
    )
    assert reads == sorted(
        f"/crm/v3/objects/companies/{i}" for i in (absorbed, deleted)
    )  # not the unused one
    assert _customer_of(factory, moved) == (kept, "Initech")
    assert _customer_of(factory, stays) == (deleted, "Vandelay Industries")  # history kept
    with factory() as s:
        assert (
            _customer(s, "hubspot", deleted).archived
            and _customer(s, "hubspot", deleted).merged_into_id is None
        )
    assert _offered(factory) == {"Initech"}


@pytest.mark.parametrize("full", [False, True])
def test_salesforce_merge_moves_expenses_to_the_master(
    factory: sessionmaker[Session], salesforce: tuple[FakeSalesforce, str], full: bool
) -> None:
    fake, url = salesforce
    master = fake.add_account("Umbrella Corporation", "umbrella.com")
    victim = fake.add_account("Umbrella Corp (dup)", None)
    removed = fake.add_account("Soylent", None)
    opportunity = fake.add_opportunity("Umbrella renewal", victim)
    connector = SalesforceConnector(url, token=fake.new_session(), sleep=_no_sleep)
    assert sync_all(factory, connectors=[connector]).ok
    on_victim = _expense_on(factory, "salesforce", victim, "55.10")
    on_removed = _expense_on(factory, "salesforce", removed, "1.00")

    fake.merge_accounts(master, victim)
    fake.delete_account(removed)
    report = sync_all(factory, connectors=[connector], full=full)
    assert report.ok, report.lines()
    assert report.lines()[0].endswith("1 merged")
    assert _customer_of(factory, on_victim) == (master, "Umbrella Corporation")
    assert _customer_of(factory, on_removed) == (removed, "Soylent")  # deleted: kept for its expense
    with factory() as s:
        survivor = _customer(s, "salesforce", master)
        assert _customer(s, "salesforce", victim).merged_into_id == survivor.id
        assert _customer(s, "salesforce", removed).archived
        assert s.scalar(select(Deal.customer_id).where(Deal.external_id == opportunity)) == survivor.id
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "expense.customer_merged")).one()
        assert event.entity_id == str(on_victim) and "salesforce merged Umbrella Corp (dup)" in (
            event.detail or ""
        )
    assert _offered(factory) == {"Umbrella Corporation"}
    soql = [b["q"] for _m, p, b in fake.requests if p.endswith("/queryAll") and "FROM Account" in b["q"]]
    assert all("MasterRecordId" in q for q in soql)
