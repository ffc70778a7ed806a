"""Statement lines in the database: import (idempotent), and the accounts they belong to.

Parsing is :mod:`workflows.statements` (pure); this module decides the account, drops lines
already known (same account and transaction id) and stores the rest in one transaction, with
an audit event. A refused file stores nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage.camt_schema import validate_camt
from storage.db import transaction
from storage.models import StatementAccount, StatementLine, utcnow
from workflows.statements import Statement, StatementError, detect_format, parse, transaction_ids

DEFAULT_CSV_ACCOUNT = "csv"


@dataclass(frozen=True)
class ImportResult:
    new: int
    known: int
    refused: int
    accounts: tuple[str, ...]
    format: str


def _same_account(a: str, b: str) -> bool:
    def norm(text: str) -> str:
        return re.sub(r"[\s-]", "", text).upper()

    return norm(a) == norm(b)


def _account(session: Session, name: str) -> StatementAccount | None:
    """The account of that name in the current workspace (the ORM filter scopes the query)."""
    return session.scalar(select(StatementAccount).where(StatementAccount.name == name))


def _resolve_accounts(session: Session, statement: Statement, account: str | None, source: str) -> list[str]:
    """The stored account name each line belongs to; refuses a file of another account."""
    named = sorted(
        {line.account for line in statement.lines if line.account}
        | ({statement.account} if statement.account else set())
    )
    known = list(session.scalars(select(StatementAccount)))
    by_external = {a.external_id.upper(): a for a in known if a.external_id}
    if account is not None:
        account = account.strip()
        if not account:
            raise StatementError(["--account must not be empty"], source)
        if len(named) > 1:
            raise StatementError(
                [
                    f"the file holds several accounts ({', '.join(named)}); import it without "
                    "--account so each line keeps its own"
                ],
                source,
            )
        row = _account(session, account)
        external = named[0] if named else None
        if row is not None and row.external_id and external and not _same_account(row.external_id, external):
            raise StatementError(
                [
                    f"the file is a statement of account {external}, but account '{account}' is "
                    f"{row.external_id}: is it another account's file?"
                ],
                source,
            )
        if external and not _same_account(account, external):
            other = by_external.get(re.sub(r"[\s-]", "", external).upper())
            if other is not None and other.name != account:
                raise StatementError(
                    [
                        f"the file is a statement of account {external}, which is imported as "
                        f"'{other.name}', not '{account}'"
                    ],
                    source,
                )
        if row is None:
            session.add(StatementAccount(name=account, external_id=external, kind=statement.kind))
        else:
            if row.external_id is None and external:
                row.external_id = external
            if row.kind is None and statement.kind:
                row.kind = statement.kind
        return [account] * len(statement.lines)
    if not named:
        if _account(session, DEFAULT_CSV_ACCOUNT) is None:
            session.add(StatementAccount(name=DEFAULT_CSV_ACCOUNT, external_id=None, kind=statement.kind))
        return [DEFAULT_CSV_ACCOUNT] * len(statement.lines)
    names: dict[str, str] = {}
    for external in named:
        row = by_external.get(re.sub(r"[\s-]", "", external).upper()) or _account(session, external)
        if row is None:
            row = StatementAccount(name=external, external_id=external, kind=statement.kind)
            session.add(row)
        names[external] = row.name
    default = names.get(statement.account or "", next(iter(names.values())))
    return [names.get(line.account or "", default) for line in statement.lines]


def import_statement(
    factory: sessionmaker[Session],
    data: bytes,
    *,
    source: str = "statement",
    fmt: str | None = None,
    account: str | None = None,
    mapping: str | None = None,
    default_currency: str = "USD",
    actor: str = "cli",
) -> ImportResult:
    """Parse and store a statement; lines already stored for the account are counted as known.

    Raises :class:`workflows.statements.StatementError` (nothing stored) for a file with any
    unreadable line, a CAMT file that breaks its ISO 20022 schema, a file of another account, or a
    bad ``--map``.
    """
    fmt = fmt or detect_format(data)
    if fmt in ("camt053", "camt054") and data.strip():
        validate_camt(data, source)  # the ISO 20022 schema of its version, before anything is read
    statement = parse(data, fmt, mapping=mapping, default_currency=default_currency, source=source)
    digest = hashlib.sha256(data).hexdigest()
    for attempt in range(3):
        try:
            return _store(factory, statement, account, source, actor, digest)
        except IntegrityError:  # another import of an overlapping file stored some lines meanwhile
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _store(
    factory: sessionmaker[Session],
    statement: Statement,
    account: str | None,
    source: str,
    actor: str,
    digest: str,
) -> ImportResult:
    with transaction(factory) as session:
        names = _resolve_accounts(session, statement, account, source)
        per_account: dict[str, list[int]] = defaultdict(list)
        for index, name in enumerate(names):
            per_account[name].append(index)
        rows = []
        known = 0
        now = utcnow()
        for name, indexes in per_account.items():
            lines = [statement.lines[i] for i in indexes]
            ids = transaction_ids(name, lines)
            stored = set(
                session.scalars(select(StatementLine.transaction_id).where(StatementLine.account == name))
            )
            for line, tx_id in zip(lines, ids, strict=True):
                if tx_id in stored:
                    known += 1
                    continue
                stored.add(tx_id)
                rows.append(
                    {
                        "account": name,
                        "transaction_id": tx_id[:128],
                        "format": statement.format,
                        "booked_on": line.booked_on,
                        "value_on": line.value_on,
                        "amount": line.amount,
                        "currency": line.currency,
                        "description": line.description,
                        "card_last4": line.card_last4,
                        "counterparty": (line.counterparty or None) and line.counterparty[:255],
                        "counterparty_iban": line.counterparty_iban,
                        "end_to_end_id": line.end_to_end_id,
                        "original_amount": line.original_amount,
                        "original_currency": line.original_currency,
                        "raw": dict(line.raw),
                        "imported_at": now,
                        "imported_by": actor[:64],
                        "status": "unmatched",
                        "not_these": [],
                    }
                )
        for start in range(0, len(rows), 5000):
            session.execute(
                insert(cast(Table, StatementLine.__table__)), rows[start : start + 5000]
            )  # Core: fast
        accounts = tuple(sorted(per_account))
        audit.record(
            session,
            actor=actor,
            action="statement.imported",
            entity="statement_account",
            entity_id=",".join(accounts)[:64] or "-",
            after={"new": len(rows), "known": known, "format": statement.format, "sha256": digest},
            detail=source,
        )
    return ImportResult(len(rows), known, 0, accounts, statement.format)
