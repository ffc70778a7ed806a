"""HubSpot and Salesforce sync against local fakes that page, rate-limit and expire sessions."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fakes.crm_hubspot import FakeHubSpot
from fakes.crm_salesforce import FakeSalesforce
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devslack.serving import BackgroundServer
from integrations.crm.base import CrmAuthError, parse_time
from integrations.crm.hubspot import HubSpotConnector
from integrations.crm.registry import crm_settings
from integrations.crm.salesforce import SalesforceConnector, api_version, website_domain
from integrations.crm.sync import sync_all
from storage.customers import CustomerDirectory
from storage.models import Contact, CrmSyncState, Customer


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


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


def customers(factory: sessionmaker[Session], source: str) -> dict[str, tuple[str, str | None, bool]]:
    with factory() as session:
        rows = session.execute(
            select(Customer.external_id, Customer.name, Customer.domain, Customer.archived).where(
                Customer.source == source
            )
        )
        return {ext: (name, domain, archived) for ext, name, domain, archived in rows}


# ---------------------------------------------------------------------------- HubSpot


def test_hubspot_full_then_incremental_sync(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    ids = [fake.add_company(f"Company {i:03d} Inc", f"c{i}.example.com") for i in range(250)]
    fake.add_company("", None)  # nameless companies are skipped
    contact = fake.add_contact("Dana", "Whitfield", "Dana@C7.example.com", ids[7])
    connector = HubSpotConnector(fake.token, url, sleep=Sleeps())

    report = sync_all(factory, connectors=[connector])
    assert report.ok, report.lines()
    assert report.lines()[0] == "hubspot companies (full): 250 created, 0 updated, 0 unchanged, 0 archived"
    lists = [r for r in fake.requests if r[:2] == ("GET", "/crm/v3/objects/companies")]
    assert len(lists) == 3  # 100 + 100 + 50, following paging.next.after
    synced = customers(factory, "hubspot")
    assert len(synced) == 250 and synced[ids[0]] == ("Company 000 Inc", "c0.example.com", False)
    with factory() as session:
        (linked,) = session.execute(select(Contact.external_id, Contact.email, Contact.customer_id)).all()
        customer_id = session.scalar(select(Customer.id).where(Customer.external_id == ids[7]))
    assert linked == (contact, "dana@c7.example.com", customer_id)

    # Later: two companies change; only they are asked for, through the search API.
    fake.requests.clear()
    fake.update_company(ids[3], name="Renamed Three LLC")
    fake.update_company(ids[9], domain="nine.example.com")
    report = sync_all(factory, connectors=[connector])
    assert (
        report.lines()[0] == "hubspot companies (changes only): 0 created, 2 updated, 1 unchanged, 0 archived"
    )
    searches = [body for method, path, body in fake.requests if path == "/crm/v3/objects/companies/search"]
    assert searches and searches[0]["filterGroups"][0]["filters"][0]["propertyName"] == "hs_lastmodifieddate"
    assert searches[0]["filterGroups"][0]["filters"][0]["operator"] == "GTE"
    assert not [r for r in fake.requests if r[:2] == ("GET", "/crm/v3/objects/companies")]
    synced = customers(factory, "hubspot")
    assert synced[ids[3]][0] == "Renamed Three LLC" and synced[ids[9]][1] == "nine.example.com"
    assert len(synced) == 250
    with factory() as session:
        state = session.scalar(select(CrmSyncState).filter_by(source="hubspot", object_type="companies"))
        assert state is not None and state.cursor and state.last_error is None


def test_hubspot_full_sync_archives_deleted_companies(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    keep, gone = fake.add_company("Keep Corp"), fake.add_company("Gone Corp")
    connector = HubSpotConnector(fake.token, url, sleep=Sleeps())
    sync_all(factory, connectors=[connector])
    fake.archive_company(gone)
    report = sync_all(factory, connectors=[connector], full=True)
    assert "1 archived" in report.lines()[0]
    assert customers(factory, "hubspot") == {
        keep: ("Keep Corp", None, False),
        gone: ("Gone Corp", None, True),
    }


def test_hubspot_search_restarts_after_its_result_window(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    fake.search_window = 250
    ids = [fake.add_company(f"Firm {i}") for i in range(10)]
    connector = HubSpotConnector(fake.token, url, sleep=Sleeps())
    connector.search_window = 250
    sync_all(factory, connectors=[connector])
    for i in range(600):
        fake.add_company(f"New Firm {i}")
    fake.update_company(ids[0], name="Firm Zero")
    report = sync_all(factory, connectors=[connector])
    assert report.ok, report.lines()
    assert report.parts[0].created == 600 and report.parts[0].updated == 1
    assert len(customers(factory, "hubspot")) == 610


@pytest.mark.parametrize(
    ("headers", "expected_wait"),
    [({"Retry-After": "3"}, 3.0), ({"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, 10.0), ({}, 1.0)],
)
def test_hubspot_rate_limit_waits_as_documented(
    factory: sessionmaker[Session],
    hubspot: tuple[FakeHubSpot, str],
    headers: dict[str, str],
    expected_wait: float,
) -> None:
    fake, url = hubspot
    fake.add_company("Acme Corp")
    fake.fail_next(429, headers=headers)
    fake.fail_next(429, headers=headers)
    sleeps = Sleeps()
    report = sync_all(factory, connectors=[HubSpotConnector(fake.token, url, sleep=sleeps)])
    assert report.ok
    assert sleeps[0] == expected_wait
    assert sleeps[1] >= sleeps[0]  # backs off
    assert len(customers(factory, "hubspot")) == 1


def test_hubspot_daily_limit_and_bad_token_are_reported(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    fake.add_company("Acme Corp")
    fake.fail_next(429, policy="DAILY")
    report = sync_all(factory, connectors=[HubSpotConnector(fake.token, url, sleep=Sleeps())])
    assert not report.ok
    assert "daily API limit" in report.lines()[0]
    with factory() as session:
        state = session.scalar(select(CrmSyncState).filter_by(source="hubspot", object_type="companies"))
        assert state is not None and "daily" in (state.last_error or "")
        assert state.cursor is None  # nothing was synced: the next run starts over
    report = sync_all(factory, connectors=[HubSpotConnector("wrong", url, sleep=Sleeps())])
    assert "refused the access token" in report.lines()[0]


def test_hubspot_server_errors_are_retried(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    fake.add_company("Acme Corp")
    for _ in range(3):
        fake.fail_next(502)
    sleeps = Sleeps()
    assert sync_all(factory, connectors=[HubSpotConnector(fake.token, url, sleep=sleeps)]).ok
    assert sleeps == [0.5, 1.0, 2.0]


def test_synced_customers_are_matched(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    acme = fake.add_company("Acme Robotics GmbH", "acme-robotics.de")
    fake.add_contact("Jens", "Vogel", "jens@acme-robotics.de", acme)
    sync_all(factory, connectors=[HubSpotConnector(fake.token, url, sleep=Sleeps())])
    index = CustomerDirectory(factory).index()
    for text in ("lunch w/ acme robotics", "call with jens@acme-robotics.de", "dinner with Jens Vogel"):
        result = index.match(text)
        assert result.customer is not None and result.customer.name == "Acme Robotics GmbH", text


# ---------------------------------------------------------------------------- Salesforce


def test_salesforce_full_then_incremental_sync(
    factory: sessionmaker[Session], salesforce: tuple[FakeSalesforce, str]
) -> None:
    fake, url = salesforce
    ids = [fake.add_account(f"Account {i}", f"https://www.acct{i}.example.com/home") for i in range(8)]
    fake.add_contact("Ana Lima", "ana@acct2.example.com", ids[2])
    connector = SalesforceConnector(url, token=fake.new_session(), version="60.0", sleep=Sleeps())
    report = sync_all(factory, connectors=[connector])
    assert report.ok, report.lines()
    assert report.lines()[0] == "salesforce companies (full): 8 created, 0 updated, 0 unchanged, 0 archived"
    follow_ups = [r for r in fake.requests if "/query/01g" in r[1]]
    assert len(follow_ups) == 2  # 3 + 3 + 2 records, following nextRecordsUrl
    assert customers(factory, "salesforce")[ids[0]] == ("Account 0", "acct0.example.com", False)

    fake.requests.clear()
    fake.update_account(ids[4], Name="Account Four")
    fake.delete_account(ids[5])
    report = sync_all(factory, connectors=[connector])
    assert report.ok
    soql = [
        body["q"] for _m, path, body in fake.requests if path.endswith("/queryAll") and "Account" in body["q"]
    ]
    assert "WHERE SystemModstamp >= " in soql[0]
    synced = customers(factory, "salesforce")
    assert synced[ids[4]][0] == "Account Four" and synced[ids[5]][2] is True
    assert sum(not archived for _n, _d, archived in synced.values()) == 7


def test_salesforce_expired_session_is_renewed_with_the_refresh_token(
    factory: sessionmaker[Session], salesforce: tuple[FakeSalesforce, str]
) -> None:
    fake, url = salesforce
    fake.add_account("Globex Corporation")
    connector = SalesforceConnector(
        url,
        token=fake.new_session(),
        client_id=fake.client_id,
        refresh_token=fake.refresh_token,
        login_url=url,
        sleep=Sleeps(),
    )
    fake.expire_sessions()
    report = sync_all(factory, connectors=[connector])
    assert report.ok, report.lines()
    assert fake.token_grants == ["refresh_token"]
    assert customers(factory, "salesforce")


def test_salesforce_client_credentials_without_a_token(
    factory: sessionmaker[Session], salesforce: tuple[FakeSalesforce, str]
) -> None:
    fake, url = salesforce
    fake.add_account("Initech LLC")
    connector = SalesforceConnector(
        url, client_id=fake.client_id, client_secret=fake.client_secret, sleep=Sleeps()
    )
    assert sync_all(factory, connectors=[connector]).ok
    assert fake.token_grants == ["client_credentials"]


def test_salesforce_expired_session_without_refresh_credentials(
    factory: sessionmaker[Session], salesforce: tuple[FakeSalesforce, str]
) -> None:
    fake, url = salesforce
    fake.add_account("Globex Corporation")
    report = sync_all(factory, connectors=[SalesforceConnector(url, token="stale", sleep=Sleeps())])
    assert not report.ok
    assert "INVALID_SESSION_ID" in report.lines()[0]
    with pytest.raises(CrmAuthError, match="needs an access token"):
        SalesforceConnector(url)


def test_salesforce_api_limit_stops_and_outage_is_retried(
    factory: sessionmaker[Session], salesforce: tuple[FakeSalesforce, str]
) -> None:
    fake, url = salesforce
    fake.add_account("Umbrella Corp")
    fake.fail_next(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    connector = SalesforceConnector(url, token=fake.new_session(), sleep=Sleeps())
    report = sync_all(factory, connectors=[connector])
    assert "REQUEST_LIMIT_EXCEEDED" in report.lines()[0]
    fake.fail_next(503)
    sleeps = Sleeps()
    connector = SalesforceConnector(url, token=fake.new_session(), sleep=sleeps)
    assert sync_all(factory, connectors=[connector]).ok and sleeps == [0.5]


def test_one_failing_crm_does_not_stop_the_other(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str], salesforce: tuple[FakeSalesforce, str]
) -> None:
    hs, hs_url = hubspot
    sf, sf_url = salesforce
    hs.add_company("Acme Corp")
    sf.add_account("Globex Corporation")
    report = sync_all(
        factory,
        connectors=[
            HubSpotConnector("wrong-token", hs_url, sleep=Sleeps()),
            SalesforceConnector(sf_url, token=sf.new_session(), sleep=Sleeps()),
        ],
    )
    assert not report.ok
    assert [p.source for p in report.parts if p.error] == ["hubspot"]
    assert customers(factory, "salesforce")


# ---------------------------------------------------------------------------- settings and helpers


def test_settings_from_env() -> None:
    assert not crm_settings({}).configured
    assert crm_settings({"EXPENSEBOT_HUBSPOT_TOKEN": "t"}).configured_names == ["hubspot"]
    only_url = crm_settings({"EXPENSEBOT_SALESFORCE_INSTANCE_URL": "https://x.my.salesforce.com"})
    assert not only_url.configured
    refresh = crm_settings(
        {
            "EXPENSEBOT_SALESFORCE_INSTANCE_URL": "https://x.my.salesforce.com",
            "EXPENSEBOT_SALESFORCE_CLIENT_ID": "id",
            "EXPENSEBOT_SALESFORCE_REFRESH_TOKEN": "r",
            "EXPENSEBOT_SALESFORCE_API_VERSION": "61.0",
        }
    )
    assert refresh.configured_names == ["salesforce"]
    assert [c.source for c in refresh.connectors()] == ["salesforce"]


@pytest.mark.parametrize(
    ("raw", "version"), [("60.0", "v60.0"), ("v61.0", "v61.0"), ("59", "v59.0"), (None, "v60.0")]
)
def test_api_version(raw: str | None, version: str) -> None:
    assert api_version(raw) == version


@pytest.mark.parametrize(
    ("website", "domain"),
    [("https://www.Acme.com/about", "acme.com"), ("acme.co.uk", "acme.co.uk"), ("", None), (None, None)],
)
def test_website_domain(website: str | None, domain: str | None) -> None:
    assert website_domain(website) == domain


@pytest.mark.parametrize(
    "value",
    ["2026-01-02T03:04:05.000+0000", "2026-01-02T03:04:05Z", "2026-01-02T03:04:05+00:00", "1767323045000"],
)
def test_parse_time(value: str) -> None:
    parsed = parse_time(value)
    assert parsed is not None and parsed.isoformat() == "2026-01-02T03:04:05+00:00"


def test_hubspot_sync_keeps_within_a_rolling_rate_limit(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    for i in range(450):
        fake.add_company(f"Firm {i:03d} LLC")
    fake.limit_rate(max_requests=2, interval_ms=200)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # really wait, as the limit is real
        sleeps.append(seconds)
        time.sleep(seconds)

    report = sync_all(factory, connectors=[HubSpotConnector(fake.token, url, sleep=sleep)])
    assert report.ok, report.lines()
    assert report.parts[0].created == 450
    assert fake.rate_limited >= 1 and sleeps and sleeps[0] == pytest.approx(0.2)


def test_salesforce_session_expiring_in_the_middle_of_paging(
    factory: sessionmaker[Session], salesforce: tuple[FakeSalesforce, str]
) -> None:
    fake, url = salesforce
    for i in range(10):
        fake.add_account(f"Account {i}")
    connector = SalesforceConnector(
        url,
        token=fake.new_session(),
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        sleep=Sleeps(),
    )
    fake.expire_sessions_after(2)  # the third page is asked for with an expired session
    report = sync_all(factory, connectors=[connector])
    assert report.ok, report.lines()
    assert fake.token_grants == ["client_credentials"]
    assert len(customers(factory, "salesforce")) == 10


def test_a_sync_is_audited(factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]) -> None:
    from storage.models import AuditEvent

    fake, url = hubspot
    fake.add_company("Audited Inc", "audited.example.com")
    report = sync_all(
        factory, connectors=[HubSpotConnector(fake.token, url, sleep=Sleeps())], actor="schedule"
    )
    assert report.ok
    with factory() as session:
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "customers.synced"))
    assert event.actor == "schedule" and event.after == {"full": False, "ok": True}
    assert "hubspot companies (full): 1 created" in str(event.detail)


# ---------------------------------------------------------------------------- deals


def deals(factory: sessionmaker[Session], source: str) -> dict[str, tuple[object, ...]]:
    from storage.models import Deal

    with factory() as session:
        rows = session.execute(
            select(
                Deal.external_id,
                Deal.name,
                Deal.stage,
                Deal.is_closed,
                Deal.amount,
                Deal.currency,
                Deal.close_date,
                Deal.owner,
                Deal.customer_id,
                Deal.archived,
            ).where(Deal.source == source)
        )
        return {row[0]: tuple(row[1:]) for row in rows}


def customer_id(factory: sessionmaker[Session], source: str, external_id: str) -> int | None:
    with factory() as session:
        return session.scalar(
            select(Customer.id).where(Customer.source == source, Customer.external_id == external_id)
        )


def test_hubspot_deals_full_then_incremental(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    import datetime as dt
    from decimal import Decimal

    fake, url = hubspot
    acme = fake.add_company("Acme Corp", "acme.com")
    globex = fake.add_company("Globex Inc", "globex.com")
    many = [fake.add_deal(f"Acme - seats {i}", acme, amount="1000") for i in range(120)]  # two pages
    renewal = fake.add_deal(
        "Globex renewal 2027", globex, amount="25000.50", closedate="2027-03-31T00:00:00Z", owner="77"
    )
    won = fake.add_deal("Globex pilot", globex, stage="closedwon", amount="5000")
    orphan = fake.add_deal("No company yet", None)
    connector = HubSpotConnector(fake.token, url, sleep=Sleeps())

    report = sync_all(factory, connectors=[connector])
    assert report.ok, report.lines()
    assert "hubspot deals (full): 123 created, 0 updated, 0 unchanged, 0 archived" in report.lines()
    lists = [r for r in fake.requests if r[:2] == ("GET", "/crm/v3/objects/deals")]
    assert len(lists) == 2 and all(r[2]["associations"] == "companies" for r in lists)
    synced = deals(factory, "hubspot")
    globex_id, acme_id = customer_id(factory, "hubspot", globex), customer_id(factory, "hubspot", acme)
    assert synced[renewal] == (
        "Globex renewal 2027",
        "appointmentscheduled",
        False,
        Decimal("25000.50"),
        "USD",
        dt.date(2027, 3, 31),
        "77",
        globex_id,
        False,
    )
    assert synced[won][2] is True  # closed deals are kept, marked closed
    assert synced[many[0]][7] == acme_id and synced[orphan][7] is None

    # Later: one deal moves on; only it is asked for, and its company comes from the v4 API.
    fake.requests.clear()
    fake.update_deal(renewal, dealstage="closedwon")
    report = sync_all(factory, connectors=[connector])
    assert report.ok, report.lines()
    assert "hubspot deals (changes only): 0 created, 1 updated, 1 unchanged, 0 archived" in report.lines()
    paths = [path for _m, path, _b in fake.requests]
    assert "/crm/v3/objects/deals/search" in paths
    assert "/crm/v4/associations/deals/companies/batch/read" in paths
    synced = deals(factory, "hubspot")
    assert synced[renewal][2] is True and synced[renewal][7] == globex_id


def test_salesforce_opportunities_full_then_incremental(
    factory: sessionmaker[Session], salesforce: tuple[FakeSalesforce, str]
) -> None:
    import datetime as dt
    from decimal import Decimal

    fake, url = salesforce
    account = fake.add_account("Initech", "https://initech.com")
    first = fake.add_opportunity(
        "Initech - TPS rollout", account, amount=12000.0, close_date="2027-01-15", owner="005A"
    )
    second = fake.add_opportunity("Initech - support", account, stage="Closed Lost")
    connector = SalesforceConnector(url, token=fake.new_session(), version="60.0", sleep=Sleeps())
    report = sync_all(factory, connectors=[connector])
    assert report.ok, report.lines()
    assert "salesforce deals (full): 2 created, 0 updated, 0 unchanged, 0 archived" in report.lines()
    synced = deals(factory, "salesforce")
    initech = customer_id(factory, "salesforce", account)
    assert synced[first] == (
        "Initech - TPS rollout",
        "Prospecting",
        False,
        Decimal("12000.0"),
        None,
        dt.date(2027, 1, 15),
        "005A",
        initech,
        False,
    )
    assert synced[second][2] is True

    fake.requests.clear()
    fake.update_opportunity(first, StageName="Negotiation/Review")
    fake.update_opportunity(second, IsDeleted=True)
    report = sync_all(factory, connectors=[connector])
    assert report.ok, report.lines()
    soql = [b["q"] for _m, p, b in fake.requests if p.endswith("/queryAll") and "Opportunity" in b["q"]]
    assert soql and "WHERE SystemModstamp >= " in soql[0]
    synced = deals(factory, "salesforce")
    assert synced[first][1] == "Negotiation/Review"
    assert synced[second][8] is True  # deleted in the CRM: archived, its history kept
