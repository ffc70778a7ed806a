"""Databases for the customer tests: SQLite always, PostgreSQL when ``TEST_DATABASE_URL`` is set.

Each PostgreSQL test gets its own freshly migrated schema, dropped afterwards. Without
``TEST_DATABASE_URL`` the PostgreSQL variant is skipped, unless ``EXPENSEBOT_REQUIRE_SERVICES=1``
(CI), where a missing database is a failure.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_sessionmaker, migrate

# The CRM fakes live in tests/fakes; make them importable as ``fakes`` however pytest is run.
_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'customers.db'}"
        migrate(url)
        yield url
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        if os.environ.get("EXPENSEBOT_REQUIRE_SERVICES") == "1":
            pytest.fail(
                "TEST_DATABASE_URL must point at a PostgreSQL database when EXPENSEBOT_REQUIRE_SERVICES=1"
            )
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL)")
    schema = f"customers_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        migrate(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()
