"""Backups: SQLite's online backup API, and pg_dump/pg_restore for PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """A backup or restore that could not be done; ``str()`` says why and what to do."""


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# The names of the backups ``dated_target`` makes (and ``prune`` may delete): nothing else.
_DATED = re.compile(r"expensebot-\d{8}T\d{6}Z\.(sqlite|dump)")


def dated_target(url: str, directory: Path, now: dt.datetime | None = None) -> Path:
    """A new backup's file in ``directory``: ``expensebot-20261207T023000Z.dump`` (``.sqlite``)."""
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return directory / f"expensebot-{stamp}.{'sqlite' if url.startswith('sqlite') else 'dump'}"


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` dated backups in ``directory`` (no other file); the deleted."""
    dated = sorted((p for p in directory.iterdir() if p.is_file() and _DATED.fullmatch(p.name)), reverse=True)
    for old in dated[keep:]:
        old.unlink()
    return dated[keep:]


def backup(url: str, target: Path) -> str:
    """Write a consistent copy of the database to ``target`` while the app keeps running."""
    if url.startswith("sqlite"):
        source_path = _sqlite_path(url)
        if not source_path.exists():
            raise BackupError(f"{source_path} does not exist")
        source = sqlite3.connect(source_path)
        dest = sqlite3.connect(target)
        try:
            with dest:
                source.backup(dest)
        finally:
            dest.close()
            source.close()
        return f"SQLite online backup of {source_path} written to {target}"
    if url.startswith("postgresql"):
        if shutil.which("pg_dump") is None:
            raise BackupError("pg_dump is not installed; install the PostgreSQL client tools")
        done = subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", f"--file={target}", _libpq_url(url)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        return f"pg_dump (custom format) written to {target}"
    raise BackupError(f"backups of {make_url(url).drivername} databases are not supported")


def restore(url: str, source: Path, *, force: bool = False) -> str:
    """Replace the database at ``url`` with the backup in ``source``."""
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    if url.startswith("sqlite"):
        target = _sqlite_path(url)
        if target.exists() and not force:
            raise BackupError(f"{target} exists; stop the app and add --force to replace it")
        check = sqlite3.connect(source)
        try:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} is not a sound SQLite database")
            dest = sqlite3.connect(target)
            try:
                with dest:
                    check.backup(dest)
            finally:
                dest.close()
        finally:
            check.close()
        return f"{target} restored from {source}"
    if url.startswith("postgresql"):
        if shutil.which("pg_restore") is None:
            raise BackupError("pg_restore is not installed; install the PostgreSQL client tools")
        done = subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                f"--dbname={_libpq_url(url)}",
                str(source),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
        return f"database restored from {source}"
    raise BackupError(f"restores of {make_url(url).drivername} databases are not supported")
