"""Deal owners: the CRM's owner ids mapped to people by e-mail (HubSpot owners API, Salesforce
User.Email), so the card prefers the open deal the employee owns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.crm_hubspot import FakeHubSpot
from fakes.crm_salesforce import FakeSalesforce
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devslack.serving import BackgroundServer
from integrations.crm.hubspot import HubSpotConnector
from integrations.crm.salesforce import SalesforceConnector
from integrations.crm.sync import sync_all
from storage.db import transaction
from storage.deals import choose_deal
from storage.models import CrmOwner, Customer, Deal, Expense
from tests.finance.conftest import add_expense


@pytest.fixture
def hubspot() -> Iterator[tuple[FakeHubSpot, str]]:
    fake = FakeHubSpot()
    with BackgroundServer(fake.app, name="fake-hubspot") as server:
        yield fake, server.url


@pytest.fixture
def salesforce() -> Iterator[tuple[FakeSalesforce, str]]:
    fake = FakeSalesforce(batch_size=2)
    with BackgroundServer(fake.app, name="fake-salesforce") as server:
        fake.instance_url = server.url
        yield fake, server.url


def _no_sleep(seconds: float) -> None:
    pass


def _choose(
    factory: sessionmaker[Session], source: str, company: str, email: str | None, note: str
) -> str | None:
    """The deal the card would suggest to ``email`` for ``note`` on ``company``, with its reason."""
    with transaction(factory) as s:
        customer = s.scalar(
            select(Customer.id).where(Customer.source == source, Customer.external_id == company)
        )
        expense = s.get(Expense, add_expense(s, email=email, customer_id=customer, status="draft"))
        assert expense is not None
        expense.note = note
        suggestion = choose_deal(s, expense)
        assert suggestion is not None
        return f"{suggestion.deal.name}: {suggestion.reason}" if suggestion.deal else None


def test_hubspot_owner_ids_resolve_to_the_employee(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    dana = fake.add_owner("Dana.Whitfield@example.com", "Dana", "Whitfield")
    emp = fake.add_owner("emp@example.com", "Emilie", "Dupre")
    for n in range(120):  # more than one page of owners
        fake.add_owner(f"rep{n}@example.com")
    acme = fake.add_company("Acme", "acme.com")
    fake.add_deal("Acme platform renewal", acme, owner=dana)
    fake.add_deal("Acme analytics pilot", acme, owner=emp)
    fake.add_deal("Acme closed thing", acme, owner=emp, stage="closedwon")
    report = sync_all(factory, connectors=[HubSpotConnector(fake.token, url, sleep=_no_sleep)])
    assert report.ok, report.lines()
    assert "hubspot owners (full): 122 created, 0 updated, 0 unchanged, 0 archived" in report.lines()
    assert len([r for r in fake.requests if r[1] == "/crm/v3/owners"]) == 2
    with factory() as s:
        owner = s.scalar(select(CrmOwner).filter_by(source="hubspot", external_id=dana))
        assert (
            owner is not None
            and owner.email == "dana.whitfield@example.com"
            and owner.name == "Dana Whitfield"
        )

    assert _choose(factory, "hubspot", acme, "emp@example.com", "lunch at acme") == (
        "Acme analytics pilot: the open deal you own"
    )
    assert _choose(factory, "hubspot", acme, "DANA.WHITFIELD@example.com", "acme visit") == (
        "Acme platform renewal: the open deal you own"
    )
    # The note naming a deal still wins over ownership; someone owning none gets the picker.
    assert _choose(factory, "hubspot", acme, "emp@example.com", "acme renewal dinner") == (
        "Acme platform renewal: named in the note (renewal)"
    )
    assert _choose(factory, "hubspot", acme, "other@example.com", "acme visit") is None

    # An owner who leaves the account is kept (deals keep their history), marked inactive.
    fake.owners[dana]["archived"] = True
    assert sync_all(factory, connectors=[HubSpotConnector(fake.token, url, sleep=_no_sleep)]).ok
    with factory() as s:
        owner = s.scalar(select(CrmOwner).filter_by(source="hubspot", external_id=dana))
        assert owner is not None and not owner.active


def test_salesforce_opportunity_owners_resolve_by_user_email(
    factory: sessionmaker[Session], salesforce: tuple[FakeSalesforce, str]
) -> None:
    fake, url = salesforce
    mine = fake.add_user("Emilie Dupre", "Emp@Example.com")
    theirs = fake.add_user("Otto Other", "other@example.com")
    fake.add_user("Former Rep", "former@example.com", active=False)
    account = fake.add_account("Umbrella Corporation", "umbrella.com")
    fake.add_opportunity("Umbrella security suite", account, owner=theirs)
    fake.add_opportunity("Umbrella data platform", account, owner=mine)
    connector = SalesforceConnector(url, token=fake.new_session(), sleep=_no_sleep)
    report = sync_all(factory, connectors=[connector])
    assert report.ok, report.lines()
    assert any(
        q["q"].startswith("SELECT Id, Name, Email, IsActive FROM User")
        for _m, p, q in fake.requests
        if p.endswith("/queryAll")
    )
    with factory() as s:
        owners = {o.external_id: (o.email, o.active) for o in s.scalars(select(CrmOwner))}
        assert owners[mine] == ("emp@example.com", True) and not all(active for _e, active in owners.values())
        assert (
            s.scalar(select(Deal.owner).where(Deal.name == "Umbrella data platform")) == mine
        )  # the CRM's id
    assert _choose(factory, "salesforce", account, "emp@example.com", "taxi to umbrella") == (
        "Umbrella data platform: the open deal you own"
    )
    assert _choose(factory, "salesforce", account, "other@example.com", "taxi to umbrella") == (
        "Umbrella security suite: the open deal you own"
    )
    assert _choose(factory, "salesforce", account, None, "taxi to umbrella") is None
