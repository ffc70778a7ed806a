"""Data rights: export everything about a person; erase it and keep money and audit anonymised."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli_finance import privacy
from storage import audit, outbox
from storage.db import transaction
from storage.models import ApprovalTask, AuditEvent, Delegation, Expense, ReceiptFile, SlackUser
from storage.privacy import erase_person, export_person, leftover_mentions
from tests.finance.conftest import add_expense

PHOTO = b"\xff\xd8\xff\xe0 receipt bytes of Emma"


def _seed(factory: sessionmaker[Session]) -> tuple[int, int]:
    with transaction(factory) as s:
        s.add(SlackUser(user_id="U_EMP", email="emp@example.com", name="Emma Employee", dm_channel="D1"))
        s.add(SlackUser(user_id="U_OTHER", email="other@example.com", name="Oscar Other"))
        receipt = ReceiptFile(sha256="ab" * 32, content=PHOTO, media_type="image/jpeg", filename="lunch.jpg",
                              size=len(PHOTO), uploaded_by="U_EMP")  # fmt: skip
        s.add(receipt)
        s.flush()
        mine = add_expense(s, amount="42.50", currency="EUR", status="paid")
        exp = s.get(Expense, mine)
        assert exp is not None
        before = audit.expense_snapshot(exp)
        exp.receipt_id, exp.note = receipt.id, "lunch with my sister Ann"
        exp.ocr = {"text": "EMMA EMPLOYEE card 1234"}
        s.flush()
        audit.record(s, actor="U_EMP", action="expense.edited", entity="expense", entity_id=mine,
                     before=before, after=audit.expense_snapshot(exp))  # fmt: skip
        theirs = add_expense(s, employee="U_OTHER", email="other@example.com", amount="9.00")
        s.add(ApprovalTask(expense_id=theirs, round=1, step=1, kind="manager",
                           approvers=["emp@example.com", "mgr@example.com"], status="approved",
                           decided_by="U_EMP", decided_by_email="emp@example.com",
                           decided_at=dt.datetime(2026, 11, 4, tzinfo=dt.UTC)))  # fmt: skip
        audit.record(s, actor="U_EMP", action="approval.approved", entity="expense", entity_id=theirs,
                     detail="approved by <@U_EMP>")  # fmt: skip
        s.add(Delegation(approver_email="emp@example.com", delegate_email="mgr@example.com",
                         until=dt.date(2026, 12, 1), created_by="U_EMP"))  # fmt: skip
        outbox.add(s, "dm", {"user_id": "U_EMP", "text": "You have been paid"}, dedup_key="paid:1:U_EMP")
        return mine, theirs


def test_export_directory_and_zip(factory: sessionmaker[Session], tmp_path: Path) -> None:
    mine, theirs = _seed(factory)
    with transaction(factory) as s:
        counts = export_person(s, "Emp@Example.com", tmp_path / "out", actor="U_ADMIN")
    data = json.loads((tmp_path / "out" / "person.json").read_text())
    assert data["email"] == "emp@example.com" and data["slack_user_ids"] == ["U_EMP"]
    assert [e["id"] for e in data["expenses"]] == [mine]
    assert data["expenses"][0]["note"] == "lunch with my sister Ann"
    assert data["expenses"][0]["amount"] == "42.5000"
    assert [t["expense_id"] for t in data["approval_tasks"]] == [theirs]  # decisions they made
    assert len(data["delegations"]) == 1 and len(data["messages_to_them"]) == 1
    assert {e["action"] for e in data["audit_events"]} == {"expense.edited", "approval.approved"}
    receipt = data["receipt_files"][0]
    assert (tmp_path / "out" / receipt["file"]).read_bytes() == PHOTO
    assert counts["expenses"] == 1 and counts["receipt_files"] == 1
    with transaction(factory) as s:
        export_person(s, "emp@example.com", tmp_path / "emp.zip", actor="U_ADMIN")
    with zipfile.ZipFile(tmp_path / "emp.zip") as archive:
        assert archive.read(receipt["file"]) == PHOTO
        assert json.loads(archive.read("person.json"))["expenses"][0]["id"] == mine
    with factory() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.exported")).all()
        assert len(events) == 2 and events[0].actor == "U_ADMIN"


def test_erase_keeps_money_and_anonymised_audit(factory: sessionmaker[Session], tmp_path: Path) -> None:
    mine, theirs = _seed(factory)
    with transaction(factory) as s:  # the export's own audit event names them too: it is anonymised
        export_person(s, "emp@example.com", tmp_path / "before-erasure", actor="U_ADMIN")
    with transaction(factory) as s:
        result = erase_person(s, "emp@example.com", actor="U_ADMIN")
    pseudonym = result["pseudonym"]
    assert pseudonym.startswith("erased-")
    with factory() as s:
        assert leftover_mentions(s, "emp@example.com", ["U_EMP"]) == 0
        exp = s.get(Expense, mine)
        assert exp is not None
        assert (exp.amount, exp.currency, exp.status, exp.spent_on) == (Decimal("42.5"), "EUR", "paid",
                                                                       dt.date(2026, 11, 2))  # fmt: skip
        assert exp.employee_id == pseudonym and exp.employee_email is None
        assert exp.note is None and exp.ocr is None and exp.receipt_id is None
        assert s.scalars(select(ReceiptFile)).all() == []
        assert [u.user_id for u in s.scalars(select(SlackUser))] == ["U_OTHER"]
        assert s.scalars(select(Delegation)).all() == []
        task = s.scalars(select(ApprovalTask)).one()
        assert task.decided_by == pseudonym and task.decided_by_email is None
        assert task.approvers == [pseudonym, "mgr@example.com"]
        edited = s.scalars(select(AuditEvent).where(AuditEvent.action == "expense.edited")).one()
        assert edited.actor == pseudonym and (edited.after or {}).get("note") is None
        approved = s.scalars(select(AuditEvent).where(AuditEvent.action == "approval.approved")).one()
        assert approved.detail == f"approved by <@{pseudonym}>"
        erased = s.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.erased")).one()
        assert erased.actor == "U_ADMIN" and erased.entity_id == pseudonym
        other = s.get(Expense, theirs)
        assert other is not None and other.employee_id == "U_OTHER"  # someone else's data is untouched


def test_cli_privacy(factory: sessionmaker[Session], db_url: str, tmp_path: Path) -> None:
    _seed(factory)
    env = {"DATABASE_URL": db_url}
    runner = CliRunner()
    out = tmp_path / "emma.zip"
    result = runner.invoke(privacy, ["export", "emp@example.com", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "1 expenses" in result.output and out.exists()
    result = runner.invoke(privacy, ["erase", "emp@example.com", "--yes"], env=env)
    assert result.exit_code == 0, result.output
    assert "Erased emp@example.com (now erased-" in result.output
    again = runner.invoke(privacy, ["erase", "emp@example.com", "--yes"], env=env)
    assert again.exit_code == 1 and "Nothing is stored" in again.output
