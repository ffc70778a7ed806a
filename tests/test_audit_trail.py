"""The audit trail: append-only in the database, and every change leaves an event."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from storage import audit
from storage.db import make_engine, make_sessionmaker, migrate, transaction
from storage.models import AuditEvent

ROOT = Path(__file__).resolve().parents[1]


def test_tampering_with_the_audit_trail_fails_on_postgres(postgres_url: str) -> None:
    migrate(postgres_url)
    engine = make_engine(postgres_url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        event = audit.record(
            session,
            actor="U_FIN",
            action="expense.approved",
            entity="expense",
            entity_id=7,
            after={"status": "approved"},
        )
        session.flush()
        event_id = event.id
    attempts = [
        "UPDATE audit_events SET actor = 'someone-else' WHERE id = :id",
        "UPDATE audit_events SET after = NULL WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ]
    for statement in attempts:
        with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement), {"id": event_id})
            conn.commit()
    with (
        pytest.raises(DBAPIError, match="append-only"),
        transaction(factory) as session,
    ):  # through the ORM too
        row = session.get(AuditEvent, event_id)
        assert row is not None
        session.delete(row)
    # a plain connection of the app's role cannot lift it without saying so in its transaction
    raw = create_engine(postgres_url)
    with raw.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("SET expensebot.audit_redaction = 'off'"))
        conn.execute(text("UPDATE audit_events SET detail = 'x'"))
    raw.dispose()
    with factory() as session:
        rows = list(session.scalars(select(AuditEvent)))
    assert [(r.id, r.actor, r.after) for r in rows] == [(event_id, "U_FIN", {"status": "approved"})]
    engine.dispose()


def test_project_and_distance_edits_are_audited(db_url: str) -> None:
    import datetime as dt

    from bot.context import build_context
    from bot.settings import Settings
    from services.expenses import Changed, save_edit
    from tests.finance.conftest import add_expense
    from workflows.expense_edits import Edit

    ctx = build_context(Settings(DATABASE_URL=db_url))
    with transaction(ctx.db) as session:
        expense_id = add_expense(session, status="draft", category="mileage", amount="10.00")
    day = dt.date.today() - dt.timedelta(days=1)

    def edit(project: str | None, distance: str | None) -> Edit:
        return Edit(
            merchant="Drive",
            spent_on=day,
            amount_text="10.00",
            currency="USD",
            category="mileage",
            customer_id=None,
            customer_cleared=False,
            note=None,
            distance_text=distance,
            project=project,
        )

    for project, distance in (("Apollo", "42"), ("Gemini", "42"), (None, "50")):
        assert isinstance(save_edit(ctx.db, expense_id, "U_EMP", edit(project, distance), None), Changed)
    with ctx.db() as session:
        events = audit.history(session, "expense", expense_id)
    projects = [(e.before, e.after) for e in events if e.action == "expense.project"]
    assert projects == [
        ({"project": None}, {"project": "Apollo"}),
        ({"project": "Apollo"}, {"project": "Gemini"}),
        ({"project": "Gemini"}, {"project": None}),
    ]
    changes = [
        ((e.before or {}).get("distance"), e.after["distance"])
        for e in events
        if e.action == "expense.edited" and "distance" in (e.after or {})
    ]
    assert [(b and Decimal(b), Decimal(a)) for b, a in changes] == [
        (None, Decimal(42)),
        (Decimal(42), Decimal(50)),
    ]
    assert all(e.actor == "U_EMP" for e in events if e.action in ("expense.project", "expense.edited"))
    ctx.engine.dispose()


def test_policy_and_directory_file_changes_are_audited_once(sqlite_url: str, tmp_path: Path) -> None:
    import os

    from bot.context import build_context
    from bot.settings import Settings
    from tests.support import ORG_CSV

    org = tmp_path / "org.csv"
    org.write_text(ORG_CSV)
    policy = tmp_path / "policy.yml"
    policy.write_text((ROOT / "policy.example.yml").read_text())
    settings = Settings(DATABASE_URL=sqlite_url, EXPENSEBOT_ORG_FILE=org, EXPENSEBOT_POLICY_FILE=policy)
    web, worker = build_context(settings), build_context(settings)  # two processes read the same files

    def loaded(entity: str) -> list[AuditEvent]:
        with web.db() as session:
            return list(
                session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.action == f"{entity}.file_loaded")
                    .order_by(AuditEvent.id)
                )
            )

    assert len(web.directory) == len(worker.directory) > 0
    web.policy, worker.policy  # noqa: B018 - reading is what is audited
    assert [e.actor for e in loaded("directory")] == ["system"] and len(loaded("policy")) == 1

    org.write_text(ORG_CSV + "new@example.com,mgr@example.com,sales,employee\n")
    os.utime(org, (os.path.getmtime(org) + 5,) * 2)
    assert "new@example.com" in web.directory and "new@example.com" in worker.directory
    first, changed = loaded("directory")
    assert changed.after is not None and first.after is not None
    assert changed.after["previous_sha256"] == first.after["sha256"] and changed.after["file"] == str(org)
    assert changed.after["sha256"] != first.after["sha256"] and changed.after["error"] is None

    policy.write_text("this: [is not a policy")
    os.utime(policy, (os.path.getmtime(policy) + 5,) * 2)
    web.policy  # noqa: B018
    broken = loaded("policy")[-1]
    assert (
        broken.after is not None and broken.after["error"] and "previous version stays" in str(broken.detail)
    )
    for ctx in (web, worker):
        ctx.engine.dispose()
