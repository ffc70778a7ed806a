"""Database engine, sessions and schema migrations.

SQLite is the embedded default (a file in the working directory); PostgreSQL is the production
database (``postgresql+psycopg://...``). The schema is owned by Alembic migrations in
``storage/migrations``; :func:`migrate` brings any database to the newest revision.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, MetaData, Numeric, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

DEFAULT_DATABASE_URL = "sqlite:///expensebot.db"
T = TypeVar("T")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Amount(TypeDecorator[Decimal]):
    """An exact decimal amount (``NUMERIC(18, 4)``), returned as :class:`Decimal` on every backend.

    SQLite has no decimal type; SQLAlchemy's Numeric stores it as text-compatible numeric and
    returns Decimal, which is exact for the 4 decimals kept here.
    """

    impl = Numeric(18, 4, asdecimal=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


class DatabaseUnavailable(RuntimeError):
    """The database did not answer (down, restarting, locked too long). Safe to retry later."""


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str = DEFAULT_DATABASE_URL, **kwargs: Any) -> Engine:
    if is_sqlite(url):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets `expensebot digest` and a running app share the file safely.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any error.

    Connection-level failures are raised as :class:`DatabaseUnavailable`, so callers can tell a
    person to try again in a moment; nothing is half-written because the transaction rolls back.
    """
    session = factory()
    try:
        yield session
        session.commit()
    except (OperationalError, DBAPIError) as exc:
        session.rollback()
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            raise DatabaseUnavailable(str(exc.orig) if exc.orig else str(exc)) from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def migrate(url: str) -> None:
    """Create or upgrade the schema to the newest revision (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")


def retry_on_conflict(fn: Callable[..., T], *args: Any, attempts: int = 3) -> T:
    """Run ``fn`` (one transaction) again when another writer changed the same row meanwhile.

    Rows with a version counter raise ``StaleDataError`` on such a conflict; the work is
    redone from a fresh read, so the second writer sees the first one's change.
    """
    from sqlalchemy.orm.exc import StaleDataError

    for attempt in range(attempts):
        try:
            return fn(*args)
        except StaleDataError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")
