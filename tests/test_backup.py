"""`expensebot backup` / `restore`: every expense, receipt and audit event comes back."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.db import make_engine, make_sessionmaker
from storage.models import AuditEvent, Expense, ReceiptFile
from tests.support import EMPLOYEE, MANAGER, cafe_receipt, running_app


def counts(url: str) -> tuple[int, int, int, bytes]:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        result = (
            session.scalar(select(func.count()).select_from(Expense)) or 0,
            session.scalar(select(func.count()).select_from(ReceiptFile)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            session.scalar(select(ReceiptFile.content).order_by(ReceiptFile.id).limit(1)) or b"",
        )
    engine.dispose()
    return result


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_backup_and_restore(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = str(request.getfixturevalue("sqlite_url" if kind == "sqlite" else "postgres_url"))
    receipt = cafe_receipt("12.34")
    with running_app(tmp_path, database_url=url) as app:
        app.upload(EMPLOYEE, receipt, note="lunch")
        card = app.wait_card(EMPLOYEE)
        app.driver.click(EMPLOYEE, card, "Submit")
        app.wait_card(MANAGER, contains="Approve")  # the backup runs while the app is live
        backup_file = tmp_path / "backup.db"
        app.cli("backup", str(backup_file))
        before = counts(url)
    assert before[0] == 1 and before[1] == 1 and before[2] >= 3 and before[3] == receipt

    if kind == "sqlite":
        restored_url = f"sqlite:///{tmp_path}/restored.db"
    else:
        restored_url = str(request.getfixturevalue("another_postgres_url"))
    env = {"DATABASE_URL": restored_url, "PATH": "/usr/bin:/bin:/usr/local/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "restore", str(backup_file)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    expenses, receipts, events, content = counts(restored_url)
    assert (expenses, receipts, content) == (before[0], before[1], before[3])
    assert events == before[2] + 1  # everything, and the restore itself (database.restored)
    again = subprocess.run(
        [sys.executable, "-m", "bot.cli", "restore", str(backup_file)],
        env=env,
        capture_output=True,
        text=True,
    )
    if kind == "sqlite":
        assert again.returncode != 0 and "--force" in again.stderr


def test_backups_into_a_directory_get_dated_names_and_the_oldest_go(tmp_path: Path, sqlite_url: str) -> None:
    """What the daily timer in deploy/ runs: `expensebot backup --keep N DIRECTORY`."""
    from storage.backup import dated_target, prune
    from storage.db import migrate

    migrate(sqlite_url)
    folder = tmp_path / "backups"
    folder.mkdir()
    unrelated = folder / "notes.txt"
    unrelated.write_text("not a backup")
    for day in (1, 2, 3):  # three earlier backups
        dated_target(sqlite_url, folder, dt.datetime(2026, 12, day, 2, 30, tzinfo=dt.UTC)).write_bytes(b"old")
    env = {**os.environ, "DATABASE_URL": sqlite_url}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "backup", "--keep", "2", str(folder)],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert names[0] == "expensebot-20261203T023000Z.sqlite" and names[-1] == "notes.txt" and len(names) == 3
    assert "deleted the older backup expensebot-20261201T023000Z.sqlite" in done.stdout
    [new] = [folder / n for n in names[1:-1]]
    assert sqlite3.connect(new).execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    assert prune(folder, 5) == [] and unrelated.exists()
    refused = subprocess.run(
        [sys.executable, "-m", "bot.cli", "backup", "--keep", "2", str(tmp_path / "x.db")],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert refused.returncode == 2 and "--keep needs a directory" in refused.stderr
