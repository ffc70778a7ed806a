"""`/expense policy` for anyone, `/expense policy reload` for admins (signed slash commands)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.context import build_context
from bot.settings import Settings
from storage.models import AuditEvent
from tests.support import ADMIN, EMPLOYEE, running_app

POLICY = """company_currency: USD
auto_approve_below: 20.00
approval_levels:
  - above: 500.00
    approver: manager_of_manager
"""


def audit_actions(file_loads: bool = False) -> list[tuple[str, str, str | None]]:
    """The policy's audit events: the reloads people asked for or, with ``file_loads``, the
    versions of the file that were loaded (read automatically by every process)."""
    ctx = build_context(Settings())
    try:
        with ctx.db() as session:
            loaded = AuditEvent.action == "policy.file_loaded"
            rows = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity == "policy", loaded if file_loads else ~loaded)
                .order_by(AuditEvent.id)
            )
            return [(row.actor, row.action, row.detail) for row in rows]
    finally:
        ctx.engine.dispose()


def test_admin_reloads_a_changed_policy_and_a_broken_one_keeps_the_old(
    tmp_path: Path, sqlite_url: str
) -> None:
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(POLICY)
    with running_app(
        tmp_path, database_url=sqlite_url, extra_env={"EXPENSEBOT_POLICY_FILE": str(policy_file)}
    ) as app:
        shown = app.command(EMPLOYEE, "policy")
        assert "Company currency: USD" in shown
        assert "below 20.00 USD" in shown
        assert "manager → above 500.00 USD: manager's manager → finance" in shown

        policy_file.write_text(POLICY.replace("20.00", "30.00").replace("USD", "EUR"))
        answer = app.command(ADMIN, "policy reload")
        assert "Policy reloaded from policy.yml" in answer and "company currency EUR" in answer
        assert "Directory reloaded from org.csv: 7 people" in answer
        assert "below 30.00 EUR" in app.command(EMPLOYEE, "policy")

        policy_file.write_text("company_currency: EUR\nauto_approve_below: 30.00\nmax_age_days: soon\n")
        answer = app.command(ADMIN, "policy reload")
        assert "Policy not reloaded: policy.yml line 3: max_age_days: 'soon' is not a whole number" in answer
        assert "previous policy stays in force" in answer
        shown = app.command(EMPLOYEE, "policy")
        assert "below 30.00 EUR" in shown  # the last good policy is still in force
        assert "policy.yml line 3" in shown  # and the mistake is mentioned

        assert "Usage" in app.command(ADMIN, "policy frobnicate")

        actions = audit_actions()
        assert [(actor, action) for actor, action, _ in actions] == [
            (ADMIN, "policy.reload"),
            (ADMIN, "policy.reload"),
        ]
        assert "error: policy.yml line 3" in (actions[1][2] or "")
        loads = audit_actions(file_loads=True)  # the first version, the changed one, the broken one
        assert [detail.split(":")[0] for _, _, detail in loads if detail] == [
            "now in force",
            "now in force",
            "could not load",
        ]


def test_someone_who_is_not_an_admin_is_refused(tmp_path: Path, sqlite_url: str) -> None:
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(POLICY)
    with running_app(
        tmp_path, database_url=sqlite_url, extra_env={"EXPENSEBOT_POLICY_FILE": str(policy_file)}
    ) as app:
        answer = app.command(EMPLOYEE, "policy reload")
        assert answer == f"Only admins can reload the policy. Admins: <@{ADMIN}>"
        assert audit_actions() == [(EMPLOYEE, "policy.reload_refused", "emp@example.com is not an admin")]
