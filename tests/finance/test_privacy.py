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
        receipt = ReceiptFile(
            sha256="ab" * 32,
            content=PHOTO,
            media_type="image/jpeg",
            filename="lunch.jpg",
            size=len(PHOTO),
            uploaded_by="U_EMP",
        )
        s.add(receipt)
        s.flush()
        mine = add_expense(s, amount="42.50", currency="EUR", status="paid")
        exp = s.get(Expense, mine)
        assert exp is not None
        before = audit.expense_snapshot(exp)
        exp.receipt_id, exp.note = receipt.id, "lunch with my sister Ann"
        exp.ocr = {"text": "EMMA EMPLOYEE card 1234"}
        s.flush()
        audit.record(
            s,
            actor="U_EMP",
            action="expense.edited",
            entity="expense",
            entity_id=mine,
            before=before,
            after=audit.expense_snapshot(exp),
        )
        theirs = add_expense(s, employee="U_OTHER", email="other@example.com", amount="9.00")
        s.add(
            ApprovalTask(
                expense_id=theirs,
                round=1,
                step=1,
                kind="manager",
                approvers=["emp@example.com", "mgr@example.com"],
                status="approved",
                decided_by="U_EMP",
                decided_by_email="emp@example.com",
                decided_at=dt.datetime(2026, 11, 4, tzinfo=dt.UTC),
            )
        )
        audit.record(
            s,
            actor="U_EMP",
            action="approval.approved",
            entity="expense",
            entity_id=theirs,
            detail="approved by <@U_EMP>",
        )
        s.add(
            Delegation(
                approver_email="emp@example.com",
                delegate_email="mgr@example.com",
                until=dt.date(2026, 12, 1),
                created_by="U_EMP",
            )
        )
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


def test_erase_outside_retention_keeps_money_and_anonymised_audit(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    mine, theirs = _seed(factory)
    with transaction(factory) as s:  # the export's own audit event names them too: it is anonymised
        export_person(s, "emp@example.com", tmp_path / "before-erasure", actor="U_ADMIN")
    with transaction(factory) as s:  # paid in 2020: ten years from 1 January 2021 are over in 2031
        exp = s.get(Expense, mine)
        assert exp is not None
        exp.paid_at = dt.datetime(2020, 6, 1, tzinfo=dt.UTC)
    with transaction(factory) as s:
        result = erase_person(
            s,
            "emp@example.com",
            actor="U_ADMIN",
            retention_days=3653,
            now=dt.datetime(2031, 1, 2, tzinfo=dt.UTC),
        )
    pseudonym = result["pseudonym"]
    assert pseudonym.startswith("erased-")
    assert result["receipt_files_deleted"] == 1 and result["receipt_files_kept"] == 0 and result["kept"] == []
    with factory() as s:
        assert leftover_mentions(s, "emp@example.com", ["U_EMP"]) == 0
        exp = s.get(Expense, mine)
        assert exp is not None
        assert (exp.amount, exp.currency, exp.status, exp.spent_on) == (
            Decimal("42.5"),
            "EUR",
            "paid",
            dt.date(2026, 11, 2),
        )
        assert exp.employee_id == pseudonym and exp.employee_email is None
        assert exp.note is None and exp.ocr is None and exp.receipt_id is None
        assert s.scalars(select(ReceiptFile)).all() == []  # outside its retention: the receipt goes
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.retained")).all() == []
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
    # The seeded claim was paid just now: its receipt is inside the retention period.
    assert "receipt files kept: 1" in result.output
    assert "Kept receipt" in result.output and "GDPR Art. 17(3)(b)" in result.output
    again = runner.invoke(privacy, ["erase", "emp@example.com", "--yes"], env=env)
    assert again.exit_code == 1 and "Nothing is stored" in again.output


def test_erase_inside_retention_keeps_the_receipt_pseudonymised_until_gc_deletes_it(
    factory: sessionmaker[Session],
) -> None:
    from storage.receipts import expire_receipt, expired_receipts

    mine, _theirs = _seed(factory)
    with transaction(factory) as s:
        exp = s.get(Expense, mine)
        assert exp is not None
        exp.paid_at = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)  # kept for 3653 days from 1 January 2027
        receipt_id = exp.receipt_id
        draft = add_expense(s, amount="5.00", status="draft")  # never in the books: its receipt goes
        photo = ReceiptFile(
            sha256="cd" * 32,
            content=b"draft photo",
            media_type="image/jpeg",
            filename="emma-taxi.jpg",
            size=11,
            uploaded_by="U_EMP",
            slack_file_id="F_DRAFT",
        )
        s.add(photo)
        s.flush()
        s.get(Expense, draft).receipt_id = photo.id  # type: ignore[union-attr]
        s.get(ReceiptFile, receipt_id).slack_file_id = "F_EMMA"  # type: ignore[union-attr]
    erased_at = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    with transaction(factory) as s:
        result = erase_person(s, "emp@example.com", actor="U_ADMIN", retention_days=3653, now=erased_at)
    pseudonym = result["pseudonym"]
    until = dt.datetime(2037, 1, 1, tzinfo=dt.UTC)  # 2027-01-01 + 3653 days
    assert [(k.receipt_id, k.expense_ids, k.kept_until) for k in result["kept"]] == [
        (receipt_id, (mine,), until)
    ]
    assert result["receipt_files_kept"] == 1 and result["receipt_files_deleted"] == 1
    with factory() as s:
        assert leftover_mentions(s, "emp@example.com", ["U_EMP"]) == 0
        exp = s.get(Expense, mine)
        assert exp is not None and exp.receipt_id == receipt_id  # the voucher stays with its claim
        assert (exp.amount, exp.currency, exp.status) == (Decimal("42.5"), "EUR", "paid")
        assert exp.employee_id == pseudonym and exp.employee_email is None
        assert exp.note is None and exp.ocr is None and exp.slack_file_id is None and exp.channel_id is None
        [receipt] = s.scalars(select(ReceiptFile)).all()
        assert receipt.id == receipt_id and receipt.content == PHOTO
        assert (receipt.uploaded_by, receipt.slack_file_id, receipt.filename) == (
            pseudonym,
            None,
            f"receipt-{receipt_id}.jpg",
        )
        draft_row = s.get(Expense, draft)
        assert draft_row is not None and draft_row.receipt_id is None
        retained = s.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.retained")).one()
        assert (retained.actor, retained.entity, retained.entity_id) == (
            "U_ADMIN",
            "receipt_file",
            str(receipt_id),
        )
        assert retained.after == {
            "expenses": [mine],
            "retention_days": 3653,
            "kept_until": until.isoformat(),
            "person": pseudonym,
        }
        assert "Art. 17(3)(b)" in str(retained.detail) and "until 2037-01-01" in str(retained.detail)
        erased = s.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.erased")).one()
        assert (erased.after or {})["kept"] == {str(receipt_id): until.isoformat()}

    # The receipts' gc keeps it until the period ends, then deletes it like any other.
    assert expired_receipts(factory, 3653, until - dt.timedelta(days=1)) == []
    [expired] = expired_receipts(factory, 3653, until)
    assert expired.receipt_id == receipt_id
    assert expire_receipt(factory, expired, days=3653, now=until, actor="U_ADMIN", via=None)
    with factory() as s:
        assert s.scalars(select(ReceiptFile)).all() == []
        exp = s.get(Expense, mine)
        assert exp is not None and exp.receipt_id is None and exp.amount == Decimal("42.5")


def test_erase_keeps_the_receipt_of_a_claim_awaiting_payment(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        receipt = ReceiptFile(
            sha256="ef" * 32,
            content=b"hotel",
            media_type="image/png",
            filename="hotel.png",
            size=5,
            uploaded_by="U_EMP",
        )
        s.add(receipt)
        s.flush()
        waiting = add_expense(s, amount="120.00", status="approved")
        s.get(Expense, waiting).receipt_id = receipt.id  # type: ignore[union-attr]
    with transaction(factory) as s:
        result = erase_person(s, "emp@example.com", actor="U_ADMIN", retention_days=1)
    [kept] = result["kept"]
    assert kept.kept_until is None and "while the claim is open" in kept.describe()
    with factory() as s:
        assert s.scalars(select(ReceiptFile.id)).all() == [kept.receipt_id]
