"""Slack installations of the app (multi-workspace mode) in the product's database.

slack_sdk's SQLAlchemy installation and OAuth state stores, on the tables of migration 0007
(``storage.models``), with every token encrypted at rest by Fernet under ``EXPENSEBOT_SECRET_KEY``.
The key may be a comma-separated list: the first encrypts, all of them decrypt (key rotation).

Bolt's asynchronous app needs asynchronous stores: :class:`AsyncInstallations` and
:class:`AsyncOAuthStates` run the database work on a thread.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, Table, delete, select
from sqlalchemy.orm import Session

from storage import audit
from storage.db import Base
from storage.models import SlackBot, SlackInstallation, SlackOAuthState

log = logging.getLogger(__name__)

TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


class SecretKeyError(ValueError):
    """``EXPENSEBOT_SECRET_KEY`` is missing or not a Fernet key."""


class UndecryptableToken(RuntimeError):
    """A stored token cannot be decrypted with the configured key (the key was changed?)."""


def make_cipher(secret_key: str) -> MultiFernet:
    """A cipher from ``EXPENSEBOT_SECRET_KEY``: one or more comma-separated Fernet keys."""
    keys = [part.strip() for part in secret_key.split(",") if part.strip()]
    if not keys:
        raise SecretKeyError("EXPENSEBOT_SECRET_KEY is empty")
    fernets = []
    for n, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            which = "" if len(keys) == 1 else f" (key {n} of {len(keys)})"
            raise SecretKeyError(
                f"EXPENSEBOT_SECRET_KEY{which} is not a Fernet key: it must be 32 bytes in URL-safe "
                "base64 (44 characters); make one with: python -c 'from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())'"
            ) from None
    return MultiFernet(fernets)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy store on the product's tables; tokens are Fernet ciphertext in them.

    Saving and ending an installation each write an audit event.
    """

    def __init__(self, client_id: str, engine: Engine, cipher: MultiFernet) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=log)
        self.metadata = Base.metadata
        self.installations = _table(SlackInstallation)
        self.bots = _table(SlackBot)
        self.cipher = cipher

    def create_tables(self) -> None:
        raise RuntimeError("the tables come from the migrations: run `expensebot db upgrade`")

    # -- encryption

    def _encrypt(self, value: str | None) -> str | None:
        return None if value is None else self.cipher.encrypt(value.encode()).decode("ascii")

    def _decrypt(self, value: str | None) -> str | None:
        if value is None or not _looks_sealed(value):  # e.g. already opened by find_bot
            return value
        try:
            return self.cipher.decrypt(value.encode("ascii")).decode()
        except InvalidToken:
            raise UndecryptableToken(
                "a stored Slack token cannot be decrypted with EXPENSEBOT_SECRET_KEY (was the key "
                "changed? list the old key after the new one, comma-separated)"
            ) from None

    def _sealed(self, entity: Any) -> Any:
        sealed = copy.copy(entity)
        for name in TOKEN_FIELDS:
            if hasattr(sealed, name):
                setattr(sealed, name, self._encrypt(getattr(sealed, name)))
        return sealed

    def _opened(self, entity: Any) -> Any:
        """The entity with its tokens decrypted; None (as if not installed, the operator told in
        the log) when they cannot be: a wrong key must not become an error page per request."""
        if entity is not None:
            try:
                for name in TOKEN_FIELDS:
                    if hasattr(entity, name):
                        setattr(entity, name, self._decrypt(getattr(entity, name)))
            except UndecryptableToken as exc:
                log.error("workspace %s: %s", getattr(entity, "team_id", None), exc)
                return None
        return entity

    # -- the store

    def save(self, installation: Installation) -> None:
        first = (
            self.find_bot(
                enterprise_id=installation.enterprise_id,
                team_id=installation.team_id,
                is_enterprise_install=installation.is_enterprise_install,
            )
            is None
        )
        super().save(self._sealed(installation))
        with Session(self.engine) as session, session.begin():
            audit.record(
                session,
                actor=installation.user_id or "slack",
                entity="workspace",
                action="workspace.installed" if first else "workspace.updated",
                entity_id=installation.team_id or installation.enterprise_id or "",
                after={
                    "team_id": installation.team_id,
                    "team_name": installation.team_name,
                    "enterprise_id": installation.enterprise_id,
                    "scopes": installation.bot_scopes,
                },
            )

    def save_bot(self, bot: Bot) -> None:
        # Called by save() with an already sealed bot, and by Bolt's token rotation with a plain one.
        token = bot.bot_token
        if token is not None and not _looks_sealed(token):
            bot = self._sealed(bot)
        super().save_bot(bot)

    def find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        found = super().find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        bot: Bot | None = self._opened(found)
        return bot

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = super().find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        installation: Installation | None = self._opened(found)
        return installation

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None, actor: str = "slack") -> None:
        """The app was uninstalled: every token of the workspace is forgotten."""
        with Session(self.engine) as session, session.begin():
            for model in (SlackBot, SlackInstallation):
                session.execute(
                    delete(model).where(
                        model.client_id == self.client_id,
                        model.enterprise_id.is_(None)
                        if enterprise_id is None
                        else model.enterprise_id == enterprise_id,
                        model.team_id.is_(None) if team_id is None else model.team_id == team_id,
                    )
                )
            audit.record(
                session,
                actor=actor,
                action="workspace.uninstalled",
                entity="workspace",
                entity_id=team_id or enterprise_id or "",
                detail="app_uninstalled",
            )

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        super().delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        with Session(self.engine) as session, session.begin():
            audit.record(
                session,
                actor="slack",
                action="workspace.bot_token_revoked",
                entity="workspace",
                entity_id=team_id or enterprise_id or "",
                detail="tokens_revoked",
            )

    def installed_teams(self) -> list[str]:
        """The workspaces (team ids) where the app is installed now, with a bot token."""
        return installed_teams(self.engine, self.client_id)


def _looks_sealed(token: str) -> bool:
    return token.startswith("gAAAAA")  # every Fernet token starts with version 0x80 + timestamp


class DatabaseOAuthStateStore(SQLAlchemyOAuthStateStore):
    """OAuth ``state`` values in the product's database: each is used once, before it expires."""

    def __init__(self, engine: Engine, expiration_seconds: int = 600) -> None:
        super().__init__(expiration_seconds=expiration_seconds, engine=engine, logger=log)
        self.metadata = Base.metadata
        self.oauth_states = _table(SlackOAuthState)

    def create_tables(self) -> None:
        raise RuntimeError("the tables come from the migrations: run `expensebot db upgrade`")

    def purge_expired(self) -> int:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with self.engine.begin() as conn:
            result = conn.execute(delete(SlackOAuthState).where(SlackOAuthState.expire_at <= now))
            return int(result.rowcount or 0)


class AsyncInstallations(AsyncInstallationStore):
    """The asynchronous face of :class:`EncryptedInstallationStore` (database work on a thread)."""

    def __init__(self, store: EncryptedInstallationStore) -> None:
        self.store = store

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.store.save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.store.save_bot, bot)

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        return await asyncio.to_thread(
            lambda: self.store.find_bot(
                enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
            )
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await asyncio.to_thread(
            lambda: self.store.find_installation(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                is_enterprise_install=is_enterprise_install,
            )
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(lambda: self.store.delete_bot(enterprise_id=enterprise_id, team_id=team_id))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            lambda: self.store.delete_installation(
                enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
            )
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(lambda: self.store.delete_all(enterprise_id=enterprise_id, team_id=team_id))


class AsyncOAuthStates(AsyncOAuthStateStore):
    def __init__(self, store: DatabaseOAuthStateStore) -> None:
        self.store = store

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.store.issue)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.store.consume, state)


def installed_teams(engine: Engine, client_id: str) -> list[str]:
    """The workspaces (team ids) where the app is installed now, with a bot token."""
    with Session(engine) as session:
        rows = session.scalars(
            select(SlackBot.team_id)
            .where(SlackBot.client_id == client_id, SlackBot.bot_token.is_not(None))
            .distinct()
        )
        return sorted(team for team in rows if team)
