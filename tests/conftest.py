"""Shared fixtures: databases (SQLite and a real PostgreSQL), Redis, and the running app.

PostgreSQL and Redis come from ``TEST_DATABASE_URL`` (an admin URL; each test gets a fresh
database) and ``TEST_REDIS_URL``, which ``.ci/run`` and ``scripts/test`` set after starting the
servers. Without them those variants are skipped, unless ``EXPENSEBOT_REQUIRE_SERVICES=1``
(CI), where a missing service fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

REQUIRE = os.environ.get("EXPENSEBOT_REQUIRE_SERVICES") == "1"


def _missing(what: str) -> None:
    if REQUIRE:
        pytest.fail(f"{what} is required (EXPENSEBOT_REQUIRE_SERVICES=1) but not configured")
    pytest.skip(f"{what} not configured")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    yield from _fresh_postgres()


@pytest.fixture
def another_postgres_url() -> Iterator[str]:
    """A second fresh database (e.g. a restore target)."""
    yield from _fresh_postgres()


def _fresh_postgres() -> Iterator[str]:
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        _missing("TEST_DATABASE_URL (PostgreSQL)")
        raise AssertionError  # unreachable
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"expensebot_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/expensebot.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on both databases."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated database (both databases, through ``db_url``)."""
    from storage.db import make_engine, make_sessionmaker, migrate

    migrate(db_url)
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        _missing("TEST_REDIS_URL (Redis)")
        raise AssertionError  # unreachable
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()
