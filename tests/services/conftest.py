"""The use cases on a real, migrated SQLite database (no Slack, no Redis, no reader)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker


@pytest.fixture
def db(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    from storage.db import make_engine, make_sessionmaker, migrate

    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    yield make_sessionmaker(engine)
    engine.dispose()
