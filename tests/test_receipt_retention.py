"""Receipt retention: `expensebot receipts gc` deletes receipts past EXPENSEBOT_RECEIPT_RETENTION_DAYS
(a paid claim's receipt is kept that long from 1 January after payment), audited on each claim,
and lists them first with --dry-run. With the directory store, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from bot.settings import Settings
from storage.blobs import make_store
from storage.db import make_engine, make_sessionmaker, migrate, transaction
from storage.models import AuditEvent, Expense, ReceiptFile
from tests.support import EMPLOYEE

UTC = dt.UTC


def at(year: int, month: int = 1, day: int = 1) -> dt.datetime:
    return dt.datetime(year, month, day, 12, tzinfo=UTC)


def gc(tmp_path: Path, db_url: str, store: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "receipts", "gc", *args],
        env={**os.environ, "DATABASE_URL": db_url, "EXPENSEBOT_RECEIPT_STORE": store, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def seed(db_url: str, store_url: str) -> dict[str, tuple[int, int, str]]:
    """Claims with their receipts in the store: name -> (expense id, receipt id, sha256)."""
    migrate(db_url)
    store = make_store(store_url)
    claims = {  # name: (status, paid_at, last change, uploaded, file)
        "paid_2014": ("paid", at(2014, 5, 1), at(2014, 5, 1), at(2014, 4, 2), b"receipt one"),
        "paid_2022_same_file": ("paid", at(2022, 3, 1), at(2022, 3, 1), at(2022, 2, 1), b"receipt one"),
        "paid_2020": ("paid", at(2020, 3, 1), at(2020, 3, 1), at(2020, 2, 1), b"receipt two"),
        "discarded_2012": ("discarded", None, at(2012, 7, 1), at(2012, 6, 1), b"receipt three"),
        "approved_2010": ("approved", None, at(2010, 7, 1), at(2010, 6, 1), b"receipt four"),
    }
    engine = make_engine(db_url)
    ids: dict[str, tuple[int, int, str]] = {}
    with transaction(make_sessionmaker(engine)) as session:
        for name, (status, paid_at, changed, uploaded, content) in claims.items():
            digest = hashlib.sha256(content).hexdigest()
            store.put(digest, content, "image/jpeg")
            receipt = ReceiptFile(
                sha256=digest,
                content=None,
                location=store_url,
                size=len(content),
                media_type="image/jpeg",
                filename=f"{name}.jpg",
                uploaded_by=EMPLOYEE,
                created_at=uploaded,
            )
            session.add(receipt)
            session.flush()
            expense = Expense(
                status=status,
                employee_id=EMPLOYEE,
                source="dm",
                receipt_id=receipt.id,
                paid_at=paid_at,
                created_at=uploaded,
                updated_at=changed,
            )
            session.add(expense)
            session.flush()
            ids[name] = (expense.id, receipt.id, digest)
    engine.dispose()
    return ids


def state(db_url: str) -> tuple[dict[int, int | None], list[AuditEvent]]:
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        links = {e.id: e.receipt_id for e in session.scalars(select(Expense))}
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        session.expunge_all()
    engine.dispose()
    return links, events


def test_receipts_past_retention_go_with_an_audit_event_each(tmp_path: Path, db_url: str) -> None:
    store_url = f"file://{tmp_path}/receipts"
    ids = seed(db_url, store_url)
    store = make_store(store_url)
    links_before, events_before = state(db_url)

    dry = gc(tmp_path, db_url, store_url, "--dry-run", "--min-age", "0")
    assert dry.returncode == 0, dry.stderr
    listed = [line for line in dry.stdout.splitlines() if line.startswith("expired receipt")]
    assert [line.split()[2] for line in listed] == [str(ids["paid_2014"][1]), str(ids["discarded_2012"][1])]
    assert f"expense {ids['paid_2014'][0]}; kept until 2025-01-01" in listed[0]
    assert "2 receipts past the retention of 3653 days would be deleted" in dry.stderr
    links, events = state(db_url)
    assert links == links_before and len(events) == len(
        events_before
    )  # a dry run changes and records nothing
    assert sorted(k for k, _ in store.listing()) == sorted({sha for *_, sha in ids.values()})

    done = gc(tmp_path, db_url, store_url, "--min-age", "0")
    assert done.returncode == 0, done.stderr
    links, events = state(db_url)
    gone = {"paid_2014", "discarded_2012"}
    for name, (expense_id, receipt_id, _) in ids.items():
        assert links[expense_id] == (None if name in gone else receipt_id), name
    # The claims stay (amounts, dates, trail); their receipts' rows are deleted.
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        receipts_left = set(session.scalars(select(ReceiptFile.id)))
        assert session.scalar(select(func.count()).select_from(Expense)) == len(ids)
    engine.dispose()
    assert receipts_left == {ids[n][1] for n in ids if n not in gone}
    # "receipt one" is also the file of a claim paid in 2022: it stays; "receipt three" goes.
    assert store.exists(ids["paid_2014"][2]) and not store.exists(ids["discarded_2012"][2])
    assert store.exists(ids["paid_2020"][2]) and store.exists(ids["approved_2010"][2])
    expired = [e for e in events[len(events_before) :] if e.action == "receipt.expired"]
    assert sorted(e.entity_id for e in expired) == sorted(str(ids[n][0]) for n in gone)
    for event in expired:
        assert event.entity == "expense" and event.actor.startswith("cli:")
        assert event.before is not None and event.before["receipt_sha256"] in {ids[n][2] for n in gone}
        assert (
            event.after is not None
            and event.after["receipt_id"] is None
            and event.after["retention_days"] == 3653
        )
    [summary] = [e for e in events[len(events_before) :] if e.action == "receipts.collected"]
    assert summary.after is not None and summary.after["expired"] == 2

    again = gc(tmp_path, db_url, store_url, "--min-age", "0")
    assert again.returncode == 0 and "expired receipt" not in again.stdout

    # A shorter period (EXPENSEBOT_RECEIPT_RETENTION_DAYS) lets the later paid claims' receipts go too;
    # the open claim keeps its receipt whatever its age.
    short = gc(tmp_path, db_url, store_url, "--min-age", "0", EXPENSEBOT_RECEIPT_RETENTION_DAYS="365")
    assert short.returncode == 0, short.stderr
    links, _ = state(db_url)
    assert links[ids["approved_2010"][0]] == ids["approved_2010"][1]
    assert links[ids["paid_2020"][0]] is None and links[ids["paid_2022_same_file"][0]] is None
    assert [k for k, _ in store.listing()] == [
        ids["approved_2010"][2]
    ]  # the shared file went with its last row


def test_retention_applies_to_receipts_kept_in_the_database(tmp_path: Path, sqlite_url: str) -> None:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    with transaction(make_sessionmaker(engine)) as session:
        receipt = ReceiptFile(
            sha256=hashlib.sha256(b"old").hexdigest(),
            content=b"old",
            size=3,
            uploaded_by=EMPLOYEE,
            created_at=at(2001),
        )
        session.add(receipt)
        session.flush()
        session.add(
            Expense(
                status="paid",
                employee_id=EMPLOYEE,
                source="dm",
                receipt_id=receipt.id,
                paid_at=at(2001, 2),
                created_at=at(2001),
                updated_at=at(2001, 2),
            )
        )
    engine.dispose()
    done = gc(tmp_path, sqlite_url, "db")
    assert done.returncode == 0, done.stderr
    assert "1 receipts past the retention of 3653 days deleted; 0 unreferenced files deleted" in done.stderr
    links, events = state(sqlite_url)
    assert list(links.values()) == [None] and [e.action for e in events][-2:] == [
        "receipt.expired",
        "receipts.collected",
    ]


def test_the_retention_setting_is_checked() -> None:
    assert Settings().receipt_retention_days == 3653
    assert Settings(EXPENSEBOT_RECEIPT_RETENTION_DAYS="2922").receipt_retention_days == 2922
    with pytest.raises(ValidationError):
        Settings(EXPENSEBOT_RECEIPT_RETENTION_DAYS="0")
