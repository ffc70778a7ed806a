"""Receipt files through the configured blob store (``storage.blobs``), and moving them between
the database and the store (``expensebot receipts migrate``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.blobs import DB, BlobError, BlobStore, make_store, sha256_of
from storage.models import ReceiptFile


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
                update(ReceiptFile).where(ReceiptFile.id == receipt.id, still).values(**change)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
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
            select(func.count()).select_from(ReceiptFile)
            .where(ReceiptFile.sha256 == sha256, ReceiptFile.content.is_(None))
        )  # fmt: skip
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
