"""The admins' CRM sync status line in the App Home: last sync, counts, last error."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from devslack import BackgroundServer
from integrations.crm.hubspot import HubSpotConnector
from integrations.crm.sync import sync_all
from storage.db import make_engine, make_sessionmaker
from storage.models import AuditEvent
from tests.fakes.crm_hubspot import FakeHubSpot
from tests.support import ADMIN, EMPLOYEE, FINANCE, Harness, running_app


def _no_sleep(seconds: float) -> None:
    pass


def home_until(app: Harness, user: str, ready: Callable[[str], bool], timeout: float = 60.0) -> str:
    """Open the App Home until what it shows satisfies ``ready`` (a generous wait, not a speed check)."""
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        app.driver.app_home_opened(user)
        for _ in range(40):
            view = app.slack.home_view(user)
            shown = str(view["blocks"]) if view else ""
            if ready(shown):
                return shown
            time.sleep(0.05)
    raise AssertionError(f"the App Home never showed what was expected: {shown[-1500:]}")


def test_admins_see_the_crm_sync_status_in_the_app_home(tmp_path: Path, sqlite_url: str) -> None:
    hubspot = FakeHubSpot()
    vandelay = hubspot.add_company("Vandelay Industries", "vandelay.com")
    vandelay_imports = hubspot.add_company("Vandelay Imports", None)
    hubspot.add_company("Kramerica", None)
    hubspot.add_deal("Vandelay import pilot", vandelay)
    hubspot.add_deal("Vandelay latex deal", vandelay, stage="closedwon")
    with BackgroundServer(hubspot.app, name="hubspot") as crm:
        env = {"EXPENSEBOT_HUBSPOT_TOKEN": hubspot.token, "EXPENSEBOT_HUBSPOT_URL": crm.url}
        with running_app(
            tmp_path, database_url=sqlite_url, extra_env=env, before_start=[["customers", "sync"]]
        ) as app:
            home = home_until(app, ADMIN, lambda h: "CRM sync (admin)" in h)
            assert "*HubSpot*: synced " in home and " UTC) · 3 customers, 1 open deals · last run: " in home
            assert "last error" not in home
            for user in (EMPLOYEE, FINANCE):  # finance sees its own sections, not the CRM's
                assert "CRM sync" not in home_until(app, user, lambda h: "My expenses" in h)

            # The app's own hourly sync runs once at start; let it finish so it is not the last run.
            factory = make_sessionmaker(make_engine(sqlite_url))
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with factory() as s:
                    runs = s.scalar(select(func.count()).where(AuditEvent.action == "customers.synced"))
                if runs and runs >= 2:
                    break
                time.sleep(0.1)

            hubspot.merge_companies(vandelay, vandelay_imports)
            connector = HubSpotConnector(hubspot.token, crm.url, sleep=_no_sleep)
            assert sync_all(factory, connectors=[connector]).ok
            home = home_until(app, ADMIN, lambda h: "merged" in h)
            assert "last run: companies 1 created, 2 merged" in home and "2 customers, 1 open deals" in home

            # The next run fails on the daily limit: the line says so and keeps the last good sync.
            hubspot.fail_next(429, policy="DAILY")
            assert not sync_all(factory, connectors=[connector]).ok
            home = home_until(app, ADMIN, lambda h: "last error" in h)
            assert ":warning: last error" in home and "companies: HubSpot daily API limit reached" in home
            assert "*HubSpot*: synced " in home and "2 customers" in home
