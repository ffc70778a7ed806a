"""CRM projects: HubSpot projects (object 0-970) and a Salesforce custom object, synced through the
normal clients against the stand-ins (paging, 429 with Retry-After, errors); closed and deleted
projects; merges; the picker's options and picks; CSV import; write-back on the project."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fakes.crm_hubspot import FakeHubSpot
from fakes.crm_salesforce import FakeSalesforce
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devslack.serving import BackgroundServer
from integrations.crm.hubspot import HubSpotConnector
from integrations.crm.registry import crm_settings
from integrations.crm.salesforce import ProjectObject, SalesforceConnector
from integrations.crm.sync import sync_all
from integrations.crm.writeback import writeback_expense
from storage.db import transaction
from storage.models import AuditEvent, Customer, Deal, Expense, ExpenseProject, Project
from storage.projects import (
    ProjectCsvError,
    import_projects,
    offer_projects,
    pick_project,
    project_options,
)
from storage.reports import spend_report


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
    fake.define_object("Project__c", {"Account__c", "Opportunity__c", "Status__c", "Due_Date__c"})
    with BackgroundServer(fake.app, name="fake-salesforce") as server:
        fake.instance_url = server.url
        yield fake, server.url


SF_PROJECTS = ProjectObject(
    sobject="Project__c",
    account_field="Account__c",
    opportunity_field="Opportunity__c",
    status_field="Status__c",
    due_field="Due_Date__c",
)


def projects(
    factory: sessionmaker[Session], source: str
) -> dict[str, tuple[str, bool, bool, str | None, str | None]]:
    """external id -> (name, closed, archived, customer's external id, deal's external id)."""
    with factory() as session:
        customer = {c.id: c.external_id for c in session.scalars(select(Customer))}
        deal = {d.id: d.external_id for d in session.scalars(select(Deal))}
        return {
            p.external_id: (
                p.name,
                p.is_closed,
                p.archived,
                customer.get(p.customer_id or 0),
                deal.get(p.deal_id or 0),
            )
            for p in session.scalars(select(Project).where(Project.source == source))
        }


# ---------------------------------------------------------------------------- HubSpot


def test_hubspot_projects_full_paged_then_incremental(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    acme = fake.add_company("Acme Corp", "acme.example")
    globex = fake.add_company("Globex", "globex.example")
    pilot = fake.add_deal("Acme pilot", acme)
    ids = [fake.add_project(f"Rollout {i:03d}", acme if i % 2 else globex) for i in range(230)]
    linked = fake.add_project("Acme onsite", acme, pilot, due="2026-06-30")
    done = fake.add_project("Acme phase 1", acme, stage="done_stage")
    connector = HubSpotConnector(
        fake.token, url, sleep=Sleeps(), projects=True, project_closed_stages=frozenset({"done_stage"})
    )

    report = sync_all(factory, connectors=[connector])
    assert report.ok, report.lines()
    assert "hubspot projects (full): 232 created, 0 updated, 0 unchanged, 0 archived" in report.lines()
    pages = [r for r in fake.requests if r[:2] == ("GET", "/crm/v3/objects/0-970")]
    assert len(pages) == 3  # 100 + 100 + 32, following paging.next.after
    assert all(p[2]["associations"] == "companies,deals" for p in pages)
    synced = projects(factory, "hubspot")
    assert synced[linked] == ("Acme onsite", False, False, acme, pilot)
    assert synced[done] == ("Acme phase 1", True, False, acme, None)
    assert synced[ids[0]][3] == globex and synced[ids[1]][3] == acme
    with factory() as session:
        due = session.scalar(select(Project.due_date).where(Project.external_id == linked))
    assert due == dt.date(2026, 6, 30)

    # Later: one project closes, one is added; only they are asked for (search, v4 associations).
    fake.requests.clear()
    fake.update_project(ids[3], hs_pipeline_stage="done_stage")
    added = fake.add_project("Acme phase 2", acme, pilot)
    report = sync_all(factory, connectors=[connector])
    # (the cursor is inclusive: the newest project of the last run comes again, unchanged)
    assert "hubspot projects (changes only): 1 created, 1 updated, 1 unchanged, 0 archived" in report.lines()
    assert any(r[:2] == ("POST", "/crm/v3/objects/0-970/search") for r in fake.requests)
    assert any(r[:2] == ("POST", "/crm/v4/associations/0-970/deals/batch/read") for r in fake.requests)
    synced = projects(factory, "hubspot")
    assert synced[ids[3]][1] is True
    assert synced[added] == ("Acme phase 2", False, False, acme, pilot)

    # Deleted in HubSpot: a full run archives it (its expenses keep it).
    fake.delete_project(ids[5])
    report = sync_all(factory, connectors=[connector], full=True)
    assert "hubspot projects (full): 0 created, 0 updated, 232 unchanged, 1 archived" in report.lines()
    assert projects(factory, "hubspot")[ids[5]][2] is True


def test_hubspot_projects_only_when_configured_and_rate_limits(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    acme = fake.add_company("Acme Corp")
    fake.add_project("Acme onsite", acme)
    settings = crm_settings({"EXPENSEBOT_HUBSPOT_TOKEN": fake.token, "EXPENSEBOT_HUBSPOT_URL": url})
    assert sync_all(factory, settings).ok
    assert not any("0-970" in r[1] for r in fake.requests)  # projects are off unless asked for

    settings = crm_settings(
        {
            "EXPENSEBOT_HUBSPOT_TOKEN": fake.token,
            "EXPENSEBOT_HUBSPOT_URL": url,
            "EXPENSEBOT_HUBSPOT_PROJECTS": "true",
            "EXPENSEBOT_HUBSPOT_PROJECT_CLOSED_STAGES": " done , cancelled ",
        }
    )
    hub = settings.hubspot  # type: ignore[attr-defined]
    assert hub.projects is True and hub.project_closed_stages == frozenset({"done", "cancelled"})
    sleeps = Sleeps()
    connector = HubSpotConnector(fake.token, url, sleep=sleeps, projects=True)
    fake.fail_next(429, headers={"Retry-After": "3"})
    fake.fail_next(502)
    report = sync_all(factory, connectors=[connector], full=True)
    assert report.ok, report.lines()
    assert 3.0 in sleeps  # the Retry-After of the 429 was honoured
    assert [p[0] for p in projects(factory, "hubspot").values()] == ["Acme onsite"]


def test_hubspot_project_errors_leave_the_rest_synced(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    fake.add_company("Acme Corp")
    connector = HubSpotConnector(fake.token, url, sleep=Sleeps(), projects=True)
    original = fake.objects.pop("0-970")  # an account without the projects object
    report = sync_all(factory, connectors=[connector])
    fake.objects["0-970"] = original
    assert not report.ok
    line = next(line for line in report.lines() if line.startswith("hubspot projects"))
    assert "FAILED" in line and "Unknown object" in line
    assert any(line.startswith("hubspot companies (full): 1 created") for line in report.lines())


def test_hubspot_merge_moves_projects(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    a = fake.add_company("Acme Corp")
    b = fake.add_company("Acme Corporation")
    project = fake.add_project("Acme onsite", b)
    connector = HubSpotConnector(fake.token, url, sleep=Sleeps(), projects=True)
    assert sync_all(factory, connectors=[connector]).ok
    new_id = fake.merge_companies(a, b)
    fake.project_companies[project] = [new_id]
    fake.update_project(project)
    assert sync_all(factory, connectors=[connector]).ok
    assert projects(factory, "hubspot")[project][3] == new_id


# ---------------------------------------------------------------------------- Salesforce


def test_salesforce_custom_object_projects(
    factory: sessionmaker[Session], salesforce: tuple[FakeSalesforce, str]
) -> None:
    fake, url = salesforce
    acme = fake.add_account("Acme Corp")
    opp = fake.add_opportunity("Acme renewal", acme)
    open_ids = [
        fake.add_record("Project__c", Name=f"Acme site {i}", Account__c=acme, Status__c="Active")
        for i in range(5)
    ]
    linked = fake.add_record(
        "Project__c",
        Name="Acme rollout",
        Account__c=acme,
        Opportunity__c=opp,
        Status__c="In Progress",
        Due_Date__c="2026-09-30",
    )
    closed = fake.add_record("Project__c", Name="Acme pilot", Account__c=acme, Status__c="Completed")
    sleeps = Sleeps()
    connector = SalesforceConnector(url, token=fake.new_session(), sleep=sleeps, project_object=SF_PROJECTS)

    report = sync_all(factory, connectors=[connector])
    assert report.ok, report.lines()
    assert "salesforce projects (full): 7 created, 0 updated, 0 unchanged, 0 archived" in report.lines()
    more = [r for r in fake.requests if "/query/" in r[1]]
    assert len(more) >= 2  # 7 projects in batches of 3: nextRecordsUrl followed
    synced = projects(factory, "salesforce")
    assert synced[linked] == ("Acme rollout", False, False, acme, opp)
    assert synced[closed][1] is True
    assert all(synced[i][1] is False for i in open_ids)

    # A 429 with Retry-After is waited out; a deleted record arrives through queryAll, archived.
    fake.records["Project__c"][open_ids[0]]["IsDeleted"] = True
    fake.update_record("Project__c", open_ids[0])
    fake.update_record("Project__c", open_ids[1], Status__c="Closed")
    fake.fail_next(429, "REQUEST_LIMIT", "slow down", headers={"Retry-After": "2"})
    report = sync_all(factory, connectors=[connector])
    assert report.ok, report.lines()
    assert 2.0 in sleeps
    synced = projects(factory, "salesforce")
    assert synced[open_ids[0]][2] is True and synced[open_ids[1]][1] is True


def test_salesforce_projects_wrong_field_is_a_clear_error(
    factory: sessionmaker[Session], salesforce: tuple[FakeSalesforce, str]
) -> None:
    fake, url = salesforce
    fake.add_account("Acme Corp")
    wrong = ProjectObject(sobject="Project__c", account_field="Customer__c")
    connector = SalesforceConnector(url, token=fake.new_session(), sleep=Sleeps(), project_object=wrong)
    report = sync_all(factory, connectors=[connector])
    line = next(line for line in report.lines() if line.startswith("salesforce projects"))
    assert "FAILED" in line and "No such column 'Customer__c'" in line
    assert any(line.startswith("salesforce companies (full): 1 created") for line in report.lines())


def test_salesforce_project_settings() -> None:
    base = {
        "EXPENSEBOT_SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
        "EXPENSEBOT_SALESFORCE_TOKEN": "00Dtoken",
    }
    off = crm_settings(base).salesforce  # type: ignore[attr-defined]
    assert off.project is None  # off unless configured
    on = crm_settings(
        {
            **base,
            "EXPENSEBOT_SALESFORCE_PROJECT_OBJECT": "Project__c",
            "EXPENSEBOT_SALESFORCE_PROJECT_ACCOUNT_FIELD": "Account__c",
            "EXPENSEBOT_SALESFORCE_PROJECT_STATUS_FIELD": "Status__c",
            "EXPENSEBOT_SALESFORCE_PROJECT_CLOSED_VALUES": "Done, Archived",
        }
    ).salesforce  # type: ignore[attr-defined]
    assert on.project == ProjectObject(
        sobject="Project__c",
        account_field="Account__c",
        status_field="Status__c",
        closed_values=frozenset({"done", "archived"}),
    )
    with pytest.raises(ValidationError, match="needs EXPENSEBOT_SALESFORCE_PROJECT_ACCOUNT_FIELD"):
        crm_settings({**base, "EXPENSEBOT_SALESFORCE_PROJECT_OBJECT": "Project__c"})
    with pytest.raises(ValidationError, match="not the API name of a custom object"):
        crm_settings(
            {
                **base,
                "EXPENSEBOT_SALESFORCE_PROJECT_OBJECT": "Project; DROP",
                "EXPENSEBOT_SALESFORCE_PROJECT_ACCOUNT_FIELD": "Account__c",
            }
        )
    with pytest.raises(ValidationError, match="not the API name of a field"):
        crm_settings(
            {
                **base,
                "EXPENSEBOT_SALESFORCE_PROJECT_OBJECT": "Project__c",
                "EXPENSEBOT_SALESFORCE_PROJECT_ACCOUNT_FIELD": "Account__c, Name",
            }
        )
    with pytest.raises(ValidationError, match="need EXPENSEBOT_SALESFORCE_PROJECT_OBJECT"):
        crm_settings({**base, "EXPENSEBOT_SALESFORCE_PROJECT_ACCOUNT_FIELD": "Account__c"})


# ---------------------------------------------------------------------------- picker, CSV, reports


def _seed(factory: sessionmaker[Session]) -> dict[str, int]:
    with transaction(factory) as session:
        acme = Customer(source="csv", external_id="C1", name="Acme Corp")
        globex = Customer(source="csv", external_id="C2", name="Globex")
        session.add_all([acme, globex])
        session.flush()
        rows = {
            "onsite": Project(source="csv", external_id="P1", name="Acme onsite", customer_id=acme.id),
            "closed": Project(
                source="csv", external_id="P2", name="Acme pilot", customer_id=acme.id, is_closed=True
            ),
            "gone": Project(
                source="csv", external_id="P3", name="Acme old", customer_id=acme.id, archived=True
            ),
            "globex_move": Project(source="csv", external_id="P4", name="Globex move", customer_id=globex.id),
        }
        session.add_all(rows.values())
        expense = Expense(
            status="draft",
            employee_id="U1",
            source="dm",
            customer_id=acme.id,
            amount=Decimal("40"),
            currency="USD",
            spent_on=dt.date(2026, 3, 2),
        )
        session.add(expense)
        session.flush()
        return {
            "acme": acme.id,
            "globex": globex.id,
            "expense": expense.id,
            **{k: p.id for k, p in rows.items()},
        }


def test_picker_offers_open_projects_and_refuses_closed(factory: sessionmaker[Session]) -> None:
    ids = _seed(factory)
    with transaction(factory) as session:
        assert [p.name for p in project_options(session, ids["acme"])] == ["Acme onsite"]
        expense = session.get(Expense, ids["expense"])
        assert expense is not None
        offer_projects(session, expense)
        assert expense.ocr == {"project_options": [{"id": ids["onsite"], "name": "Acme onsite"}]}
        assert str(pick_project(session, expense, str(ids["closed"]), "U1")) == (
            "The project Acme pilot is closed: new expenses cannot go on it."
        )
        assert str(pick_project(session, expense, str(ids["globex_move"]), "U1")) == (
            "That project is not one of this customer's projects."
        )
        assert (
            str(pick_project(session, expense, str(ids["gone"]), "U1"))
            == "That project is not in the CRM any more."
        )
        assert str(pick_project(session, expense, "abc", "U1")) == "That is not a project I know."
        assert pick_project(session, expense, str(ids["onsite"]), "U1") is None
    with factory() as session:
        link = session.get(ExpenseProject, ids["expense"])
        assert link is not None and (link.project, link.project_id) == ("Acme onsite", ids["onsite"])
        picked = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "expense.project_picked")
        ).all()
        assert len(picked) == 1
    # The customer changes: the other customer's project link is dropped, its name stays as text.
    with transaction(factory) as session:
        expense = session.get(Expense, ids["expense"])
        assert expense is not None
        expense.customer_id = ids["globex"]
        offer_projects(session, expense)
        assert expense.ocr["project_options"] == [{"id": ids["globex_move"], "name": "Globex move"}]
    with factory() as session:
        link = session.get(ExpenseProject, ids["expense"])
        assert link is not None and (link.project, link.project_id) == ("Acme onsite", None)


def test_report_by_project_uses_the_linked_name(factory: sessionmaker[Session]) -> None:
    ids = _seed(factory)
    with transaction(factory) as session:
        expense = session.get(Expense, ids["expense"])
        assert expense is not None
        expense.status, expense.approved_at = "approved", dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
        assert pick_project(session, expense, str(ids["onsite"]), "U1") is None
        other = Expense(
            status="approved",
            employee_id="U2",
            source="dm",
            amount=Decimal("10"),
            currency="USD",
            spent_on=dt.date(2026, 3, 4),
            approved_at=dt.datetime(2026, 3, 5, tzinfo=dt.UTC),
        )
        session.add(other)
        session.flush()
        session.add(ExpenseProject(expense_id=other.id, project="Office move", set_by="U2"))
        project = session.get(Project, ids["onsite"])
        assert project is not None
        project.name = "Acme onsite 2026"  # renamed in the CRM since it was picked
        project.is_closed = True  # and closed: its history stays
    with factory() as session:
        report = spend_report(
            session, by="project", start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), currency="USD"
        )
    totals = {row.key: row.total for row in report.rows}
    assert totals == {"Acme onsite 2026": Decimal("40.00"), "Office move": Decimal("10.00")}


def test_csv_import_of_projects(factory: sessionmaker[Session]) -> None:
    _seed(factory)
    text = (
        "id,name,customer,status,due\n"
        "X1,Acme launch,C1,open,2026-05-01\n"
        "X2,Globex audit,C2,closed,\n"
        "X3,Nobody's,C9,open,\n"
        "X4,Bad status,C1,maybe,\n"
        ",No id,C1,,\n"
    )
    report = import_projects(factory, text, actor="finance@example.com")
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert report.errors == [
        "line 4: no csv customer with id 'C9' (import the customers first)",
        "line 5: status 'maybe' is neither open nor closed",
        "line 6: a project needs an id and a name",
    ]
    again = import_projects(factory, text.replace("Acme launch", "Acme launch EU"))
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    synced = projects(factory, "csv")
    assert synced["X1"][:3] == ("Acme launch EU", False, False) and synced["X2"][1] is True
    with pytest.raises(ProjectCsvError, match="missing: customer"):
        import_projects(factory, "id,name\nX1,Acme\n")


# ---------------------------------------------------------------------------- write-back


def test_writeback_associates_the_note_with_the_project(
    factory: sessionmaker[Session], hubspot: tuple[FakeHubSpot, str]
) -> None:
    fake, url = hubspot
    acme = fake.add_company("Acme Corp")
    project_ext = fake.add_project("Acme onsite", acme)
    connector = HubSpotConnector(fake.token, url, sleep=Sleeps(), projects=True)
    assert sync_all(factory, connectors=[connector]).ok
    with transaction(factory) as session:
        customer = session.scalar(select(Customer).where(Customer.external_id == acme))
        project = session.scalar(select(Project).where(Project.external_id == project_ext))
        assert customer is not None and project is not None
        expense = Expense(
            status="approved",
            employee_id="U1",
            source="dm",
            customer_id=customer.id,
            amount=Decimal("40"),
            currency="USD",
            spent_on=dt.date(2026, 3, 2),
            merchant="Cafe",
            approved_at=dt.datetime(2026, 3, 3, tzinfo=dt.UTC),
        )
        session.add(expense)
        session.flush()
        assert pick_project(session, expense, str(project.id), "U1") is None
        expense_id = expense.id
    fake.fail_next(429, headers={"Retry-After": "1"})
    result = writeback_expense(factory, expense_id, [connector])
    assert result.status == "done", result.message
    note = result.remote_id
    assert note is not None
    assert fake.note_projects[note] == [project_ext]
    assert fake.note_companies[note] == [acme]
    assert "Project: Acme onsite" in fake.objects["notes"][note]["properties"]["hs_note_body"]
