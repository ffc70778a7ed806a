"""CRM in the running app: synced customers are matched, approved expenses are logged once."""

from __future__ import annotations

import time
from pathlib import Path

from devslack import BackgroundServer
from tests.fakes.crm_hubspot import FakeHubSpot
from tests.support import EMPLOYEE, FINANCE, MANAGER, cafe_receipt, running_app


def test_approved_expense_is_logged_once_on_the_hubspot_company(tmp_path: Path, sqlite_url: str) -> None:
    hubspot = FakeHubSpot()
    company = hubspot.add_company("Vandelay Industries", "vandelay.com")
    with BackgroundServer(hubspot.app, name="hubspot") as crm:
        env = {"EXPENSEBOT_HUBSPOT_TOKEN": hubspot.token, "EXPENSEBOT_HUBSPOT_URL": crm.url}
        with running_app(
            tmp_path, database_url=sqlite_url, extra_env=env, before_start=[["customers", "sync"]]
        ) as app:
            app.upload(EMPLOYEE, cafe_receipt("88.00"), note="client lunch with Vandelay")
            card = app.wait_card(EMPLOYEE)
            assert "Vandelay Industries" in str(card.blocks)
            app.driver.click(EMPLOYEE, card, "Submit")
            app.driver.click(MANAGER, app.wait_card(MANAGER, contains="Approve"), "Approve")
            app.driver.click(FINANCE, app.wait_card(FINANCE, contains="Approve"), "Approve")
            app.wait_dm(EMPLOYEE, "waits for payout")
            deadline = time.monotonic() + 60  # a generous wait for the app, not a speed check
            while time.monotonic() < deadline and not hubspot.objects["notes"]:
                time.sleep(0.1)
            time.sleep(1.0)
            notes = list(hubspot.objects["notes"].values())
            assert len(notes) == 1
            assert company in hubspot.note_companies[notes[0]["id"]]
            assert "88.00" in str(notes[0])
