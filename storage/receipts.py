"""Receipt files through the configured blob store (``storage.blobs``), moving them between the
database and the store (``expensebot receipts migrate``), and their end (``receipts gc``): after
their retention period (``workflows.retention``) or when no row points to them any more."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage.blobs import DB, BlobError, BlobStore, make_store, sha256_of
from storage.models import Expense, ReceiptFile
from workflows.retention import Claim, kept_until

log = logging.getLogger(__name__)


def place(store: BlobStore, content: bytes, media_type: str | None) -> tuple[bytes | None, str | None]:
    """Before the row is written: the store gets the bytes (if external). Returns the row's
    ``content`` and ``location``: (bytes, None) for the database store, (None, url) otherwise."""
    if not store.external:
        return content, None
    store.put(sha256_of(content), content, media_type)
    return None, store.url


def content_of(receipt: ReceiptFile, store: BlobStore | None = None) -> bytes:
    """The receipt's bytes, wherever its row says they are (``store``: the configured one, reused)."""
    if receipt.content is not None:
        return receipt.content
    location = receipt.location or ""
    source = store if store is not None and location == store.url else _store_for(location)
    return source.get(receipt.sha256)


def _store_for(location: str) -> BlobStore:
    if not location or location == DB:
        raise BlobError("this receipt's file is neither in the database nor in a store")
    return make_store(location)


@dataclass
class MigrationResult:
    moved: int
    remaining: int
    failed: list[str]


def migrate_receipts(
    factory: sessionmaker[Session],
    store: BlobStore,
    *,
    to_store: bool,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    delete_from_store: bool = False,
) -> MigrationResult:
    """Move receipt files into ``store`` (``to_store``) or back into the database.

    One row at a time, each in its own transaction: the file is written at its destination
    before the row changes, and the row changes only if it still is as read. Stopped at any
    point (or by ``limit``), it is resumed by running it again; nothing is moved twice.
    """
    if to_store and not store.external:
        raise BlobError("EXPENSEBOT_RECEIPT_STORE is db: set it to file:///path or s3://bucket/prefix first")
    pending = ReceiptFile.content.is_not(None) if to_store else ReceiptFile.content.is_(None)
    moved, failed = 0, []
    last_id = 0
    with factory() as session:
        total = int(session.scalar(select(func.count()).select_from(ReceiptFile).where(pending)) or 0)
    while limit is None or moved < limit:
        with factory() as session:
            receipt = session.scalars(
                select(ReceiptFile).where(pending, ReceiptFile.id > last_id).order_by(ReceiptFile.id).limit(1)
            ).first()
            if receipt is None:
                break
            last_id = receipt.id
            try:
                if to_store:
                    content = receipt.content
                    assert content is not None
                    if sha256_of(content) != receipt.sha256:
                        raise BlobError(f"receipt file {receipt.id}: its bytes do not match its SHA-256")
                    store.put(receipt.sha256, content, receipt.media_type)
                    change: dict[str, bytes | str | None] = {"content": None, "location": store.url}
                    still = ReceiptFile.content.is_not(None)
                else:
                    change = {"content": content_of(receipt, store), "location": None}
                    still = ReceiptFile.content.is_(None)
            except BlobError as exc:
                failed.append(f"receipt file {receipt.id}: {exc}")
                continue
            done = session.execute(
                update(ReceiptFile)
                .where(ReceiptFile.id == receipt.id, still)
                .values(**change)
                .execution_options(synchronize_session=False)
            )
            session.commit()
            if getattr(done, "rowcount", 0):
                moved += 1
                if not to_store and delete_from_store:
                    _delete_if_unused(factory, store, receipt.sha256)
            if progress is not None:
                progress(moved, total)
    with factory() as session:
        remaining = int(session.scalar(select(func.count()).select_from(ReceiptFile).where(pending)) or 0)
    return MigrationResult(moved, remaining, failed)


def _delete_if_unused(factory: sessionmaker[Session], store: BlobStore, sha256: str) -> None:
    with factory() as session:
        still_used = session.scalar(
            select(func.count())
            .select_from(ReceiptFile)
            .where(ReceiptFile.sha256 == sha256, ReceiptFile.content.is_(None))
        )
    if not still_used:
        store.delete(sha256)


def collect_garbage(
    factory: sessionmaker[Session], store: BlobStore, *, dry_run: bool = False, min_age_seconds: float = 3600
) -> list[str]:
    """Files in the store that no receipt row points to any more (after a privacy erase or a
    move back into the database): deleted, and listed. Files younger than ``min_age_seconds``
    are kept: an upload writes its file before its row commits."""
    cutoff = time.time() - min_age_seconds
    stored = list(store.listing())
    with factory() as session:
        used = set(session.scalars(select(ReceiptFile.sha256).where(ReceiptFile.content.is_(None))))
    orphans = sorted(key for key, at in stored if key not in used and at <= cutoff)
    if not dry_run:
        for key in orphans:
            store.delete(key)
    return orphans


@dataclass(frozen=True)
class ExpiredReceipt:
    """A receipt whose retention period is over: it and its file may go."""

    receipt_id: int
    sha256: str
    expense_ids: tuple[int, ...]
    kept_until: dt.datetime
    location: str | None  # the store holding its file; None: in its row


def _claims(session: Session, receipt_id: int) -> list[tuple[int, Claim]]:
    rows = session.execute(
        select(Expense.id, Expense.status, Expense.paid_at, Expense.updated_at)
        .where(Expense.receipt_id == receipt_id)
        .order_by(Expense.id)
    ).all()
    return [(row.id, Claim(row.status, row.paid_at, row.updated_at)) for row in rows]


def expired_receipts(factory: sessionmaker[Session], days: int, now: dt.datetime) -> list[ExpiredReceipt]:
    """The receipts whose retention period is over at ``now`` (every claim pointing to them closed,
    and its period of ``days`` over), oldest first."""
    if days < 1:
        raise ValueError("a retention period is at least one day")
    # No period ends before the upload's day plus the period: only older receipts can be past it.
    uploaded_before = now - dt.timedelta(days=days)
    found = []
    with factory() as session:
        candidates = session.execute(
            select(
                ReceiptFile.id,
                ReceiptFile.sha256,
                ReceiptFile.created_at,
                ReceiptFile.location,
                ReceiptFile.content.is_(None).label("external"),
            )
            .where(ReceiptFile.created_at <= uploaded_before)
            .order_by(ReceiptFile.id)
        ).all()
        for row in candidates:
            claims = _claims(session, row.id)
            until = kept_until([claim for _, claim in claims], row.created_at, days)
            if until is not None and until <= now:
                found.append(
                    ExpiredReceipt(
                        row.id,
                        row.sha256,
                        tuple(i for i, _ in claims),
                        until,
                        (row.location or None) if row.external else None,
                    )
                )
    return found


def expire_receipt(
    factory: sessionmaker[Session],
    receipt: ExpiredReceipt,
    *,
    days: int,
    now: dt.datetime,
    actor: str,
    via: str | None,
    store: BlobStore | None = None,
) -> bool:
    """Delete one receipt past its retention: its row (its claims keep their amounts, dates and
    audit trail, without the receipt), an audit event per claim (or for the receipt itself when no
    claim points to it), then its file in the store if no other receipt row uses it. Checked again
    in the transaction: a receipt whose claim changed since it was listed stays (returns False)."""
    with factory() as session:
        row = session.get(ReceiptFile, receipt.receipt_id)
        if row is None:
            return False
        claims = _claims(session, row.id)
        until = kept_until([claim for _, claim in claims], row.created_at, days)
        if until is None or until > now:
            return False
        before = {"receipt_id": row.id, "receipt_sha256": row.sha256, "receipt_filename": row.filename}
        # record() keeps the keys that change: the receipt's go to None, the period's are new.
        after = {**dict.fromkeys(before), "retention_days": days, "kept_until": until.isoformat()}
        session.execute(
            update(Expense)
            .where(Expense.receipt_id == row.id)
            .values(receipt_id=None, version=Expense.version + 1)
            .execution_options(synchronize_session=False)
        )
        for expense_id, claim in claims:
            audit.record(
                session,
                actor=actor,
                action="receipt.expired",
                entity="expense",
                entity_id=expense_id,
                before={**before, "status": claim.status},
                after=after,
                detail=via,
            )
        if not claims:
            audit.record(
                session,
                actor=actor,
                action="receipt.expired",
                entity="receipt_file",
                entity_id=row.id,
                before=before,
                after=after,
                detail=via,
            )
        external = row.content is None
        location, sha256 = row.location, row.sha256
        session.execute(delete(ReceiptFile).where(ReceiptFile.id == row.id))
        session.commit()
    if external and location and location != DB:
        with factory() as session:
            still_used = session.scalar(
                select(func.count())
                .select_from(ReceiptFile)
                .where(ReceiptFile.sha256 == sha256, ReceiptFile.content.is_(None))
            )
        if not still_used:
            try:
                source = store if store is not None and store.url == location else make_store(location)
                source.delete(sha256)
            except BlobError as exc:  # the row is gone: the file is an orphan, collected by the next gc
                log.warning("could not delete the file of expired receipt %s: %s", receipt.receipt_id, exc)
    return True
