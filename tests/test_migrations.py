"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import storage.models  # noqa: F401
from storage.db import Base, alembic_config, make_engine, migrate


def test_migrations_match_the_models_and_go_down_and_up(db_url: str) -> None:
    migrate(db_url)
    migrate(db_url)  # idempotent
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == []
    command.downgrade(alembic_config(db_url), "base")
    command.upgrade(alembic_config(db_url), "head")
    engine.dispose()
