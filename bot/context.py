"""The running app's shared parts, built once per process by :func:`build_context`."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.metrics import SlackCallMetrics
from bot.settings import Settings
from bot.teams import NoWorkspace, TeamRoutedClient, WorkspaceTokens
from storage.blobs import BlobStore, DatabaseStore, make_store
from storage.db import make_engine, make_sessionmaker, migrate
from storage.kv import KeyValue, make_kv
from workflows.directory import Directory, DirectoryError
from workflows.policy import Policy, PolicyError, default_policy, load_policy

if TYPE_CHECKING:
    from storage.customers import CustomerDirectory
    from storage.installations import AsyncInstallations, AsyncOAuthStates

log = logging.getLogger(__name__)


T = TypeVar("T")


class JobRunner(Protocol):
    """Where ``ctx.jobs.enqueue("name", *args)`` goes (the runners are in ``bot.jobs``)."""

    def enqueue(self, name: str, *args: Any) -> None: ...


class FileBacked(Generic[T]):
    """A value parsed from a file, re-read when the file changes; the last good value is kept."""

    def __init__(
        self,
        path: Path | None,
        parse: Callable[[str, str], T],
        default: T,
        on_read: Callable[[Path, str | None, str | None], None] | None = None,
    ) -> None:
        self._path = path
        self._parse = parse
        self._value = default
        self._mtime: float | None = None
        self._lock = threading.Lock()
        self.error: str | None = None
        # Told of every read of the file: (path, sha256 of its text or None, error or None).
        self._on_read = on_read

    @property
    def path(self) -> Path | None:
        return self._path

    def get(self) -> T:
        return self._read(force=False)

    def reload(self) -> tuple[T, str | None]:
        """Read the file now, changed or not: the value in force and the error (previous value kept)."""
        value = self._read(force=True)
        return value, self.error

    def _read(self, *, force: bool) -> T:
        if self._path is None:
            return self._value
        try:
            mtime = self._path.stat().st_mtime
        except OSError as exc:
            self.error = f"{self._path}: {exc.strerror}"
            return self._value
        with self._lock:
            if force or mtime != self._mtime:
                digest: str | None = None
                try:
                    text = self._path.read_text(encoding="utf-8-sig")
                    digest = hashlib.sha256(text.encode()).hexdigest()
                    self._value = self._parse(text, self._path.name)
                    self.error = None
                except UnicodeDecodeError:
                    self.error = f"{self._path.name}: is not UTF-8 text"
                    log.error("could not load %s: not UTF-8 text", self._path)
                except (DirectoryError, PolicyError, ValueError) as exc:
                    self.error = str(exc)
                    log.error("could not load %s: %s", self._path, exc)
                except OSError as exc:
                    self.error = f"{self._path}: {exc.strerror}"
                    log.error("could not read %s: %s", self._path, exc)
                self._mtime = mtime
                if self._on_read is not None:
                    try:
                        self._on_read(self._path, digest, self.error)
                    except Exception as exc:  # the audit must not stop the policy from loading
                        log.warning("could not record the reading of %s: %r", self._path, exc)
            return self._value


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    db: sessionmaker[Session]
    kv: KeyValue
    slack: AsyncWebClient
    directory_source: FileBacked[Directory]
    policy_source: FileBacked[Policy]
    customers: CustomerDirectory
    jobs: JobRunner | None = None
    bot_user_id: str | None = None
    # Multi-workspace mode (SLACK_CLIENT_ID): installations, OAuth states and per-workspace tokens.
    installations: AsyncInstallations | None = None
    oauth_states: AsyncOAuthStates | None = None
    tokens: WorkspaceTokens | None = None
    # Where receipt files live (EXPENSEBOT_RECEIPT_STORE): the database rows by default.
    receipts: BlobStore = field(default_factory=DatabaseStore)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    # Set when the process is told to stop (SIGTERM): background work starts nothing new and
    # gives up what it waits for. A threading.Event: work running in threads reads it too.
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def directory(self) -> Directory:
        return self.directory_source.get()

    @property
    def policy(self) -> Policy:
        return self.policy_source.get()

    async def bot_token(self) -> str | None:
        """The bot token for the current work: the workspace's own in multi-workspace mode."""
        if self.tokens is None:
            return self.settings.slack_bot_token
        from storage.tenancy import current_team

        team = current_team.get()
        if team is None:
            raise NoWorkspace("no workspace in scope for a Slack download (multi-workspace mode)")
        return await self.tokens.token(team)


def record_file_reload(
    db: sessionmaker[Session], entity: str, path: Path, digest: str | None, error: str | None
) -> bool:
    """Audit a policy or directory file the process (re)loaded, when it differs from the last one
    recorded (every process reads the files; one event per change). True when recorded."""
    from sqlalchemy import select

    from storage import audit
    from storage.db import transaction
    from storage.models import AuditEvent

    state = {"sha256": digest, "file": str(path), "error": error}
    with transaction(db) as session:
        last = session.scalar(
            select(AuditEvent.after)
            .where(AuditEvent.entity == entity, AuditEvent.action == f"{entity}.file_loaded")
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
        if last is not None and {k: last.get(k) for k in state} == state:
            return False
        detail = f"could not load: {error}; the previous version stays in force" if error else "now in force"
        previous = last.get("sha256") if last else None
        audit.record(
            session,
            actor="system",
            action=f"{entity}.file_loaded",
            entity=entity,
            entity_id=path.name[:64],
            after={**state, "previous_sha256": previous},
            detail=detail,
        )
    return True


def make_slack_client(settings: Settings, token: str | None = None) -> AsyncWebClient:
    """The Web API client; in multi-workspace mode one that carries each workspace's own token."""
    cls = AsyncWebClient
    if settings.multi_workspace and token is None:
        cls = TeamRoutedClient
    return cls(
        token=token or settings.slack_bot_token,
        base_url=settings.api_base_url,
        timeout=int(max(1, round(settings.slack_timeout_seconds))),
        retry_handlers=[
            SlackCallMetrics(),  # counts every answer, retries nothing
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_context(settings: Settings, *, run_migrations: bool = True) -> AppContext:
    from storage.customers import CustomerDirectory

    if run_migrations:
        migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    db = make_sessionmaker(engine)
    currency = settings.company_currency.upper()

    def parse_policy(text: str, source: str) -> Policy:
        return load_policy(text, source)

    def recorder(entity: str) -> Callable[[Path, str | None, str | None], None]:
        def record(path: Path, digest: str | None, error: str | None) -> None:
            record_file_reload(db, entity, path, digest, error)

        return record

    ctx = AppContext(
        settings=settings,
        engine=engine,
        db=db,
        kv=make_kv(settings.redis_url),
        slack=make_slack_client(settings),
        directory_source=FileBacked(
            settings.org_file, Directory.from_csv_text, Directory.empty(), on_read=recorder("directory")
        ),
        policy_source=FileBacked(
            settings.policy_file, parse_policy, default_policy(currency), on_read=recorder("policy")
        ),
        customers=CustomerDirectory(db),
        receipts=make_store(settings.receipt_store, sse=settings.s3_sse),
    )
    if settings.multi_workspace:
        _multi_workspace(ctx)
    return ctx


def _multi_workspace(ctx: AppContext) -> None:
    """Installation and state stores on the product's database; the client routed by workspace."""
    from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator

    from storage.installations import (
        AsyncInstallations,
        AsyncOAuthStates,
        DatabaseOAuthStateStore,
        EncryptedInstallationStore,
        make_cipher,
    )

    settings = ctx.settings
    assert settings.slack_client_id and settings.slack_client_secret and settings.secret_key
    store = EncryptedInstallationStore(settings.slack_client_id, ctx.engine, make_cipher(settings.secret_key))
    ctx.installations = AsyncInstallations(store)
    ctx.oauth_states = AsyncOAuthStates(DatabaseOAuthStateStore(ctx.engine))
    rotator = AsyncTokenRotator(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        client=AsyncWebClient(base_url=settings.api_base_url, timeout=15),  # client credentials, no token
    )
    ctx.tokens = WorkspaceTokens(ctx.installations, rotator)
    if isinstance(ctx.slack, TeamRoutedClient):
        ctx.slack.tokens = ctx.tokens
