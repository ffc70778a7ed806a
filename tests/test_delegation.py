"""`/expense delegate`: an approver away hands their approvals to someone until a date."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support import EMPLOYEE, MANAGER, OTHER, cafe_receipt, running_app


def test_a_delegate_receives_and_decides(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(tmp_path, database_url=sqlite_url) as app:
        cases = [
            (EMPLOYEE, f"delegate <@{MANAGER}> for <@{OTHER}> until 2030-01-01", "Only admins"),
            (MANAGER, f"delegate <@{OTHER}> until 2001-01-01", "in the past"),
            (MANAGER, "delegate someone", "Usage"),
            (MANAGER, f"delegate <@{OTHER}> until 2030-01-01", "go to <@U_OTHER> until 01 Jan 2030"),
        ]
        for user, text, expected in cases:
            assert expected in app.command(user, text)

        app.upload(EMPLOYEE, cafe_receipt("21.00"), note="lunch")
        app.driver.click(EMPLOYEE, app.wait_card(EMPLOYEE), "Submit")
        app.wait_card(MANAGER, contains="Approve")
        delegate_copy = app.wait_card(OTHER, contains="Approve")
        app.driver.click(OTHER, delegate_copy, "Approve")
        app.wait_dm(EMPLOYEE, "was approved by <@U_OTHER>")
        # both copies of the request are closed
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(m.buttons() for m in app.slack.dm_messages(MANAGER)):
            time.sleep(0.05)
        assert not any(m.buttons() for m in app.slack.dm_messages(MANAGER))

        assert "removed" in app.command(MANAGER, "delegate off")
