"""Receipt files outside the database (EXPENSEBOT_RECEIPT_STORE): a directory or an S3-compatible
store (moto's S3 server on a loopback port stands in for AWS/MinIO), content-addressed, encrypted
at rest by the server, and moved out of the database and back by `expensebot receipts migrate`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.blobs import BlobError, DirectoryStore, S3Store, make_store
from storage.db import make_engine, make_sessionmaker, migrate, transaction
from storage.models import ReceiptFile
from tests.support import EMPLOYEE, cafe_receipt, running_app

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3() -> Iterator[dict[str, str]]:
    """moto's S3 server on a loopback port, and a fresh bucket; yields the environment to reach it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {**S3_ENV, "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    saved = dict(os.environ)
    os.environ.update(env)
    bucket = f"receipts-{uuid.uuid4().hex[:8]}"
    raw_client().create_bucket(Bucket=bucket)
    try:
        yield {**env, "BUCKET": bucket}
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


def raw_client() -> object:
    import boto3

    return boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])


def test_s3_store_is_content_addressed_encrypted_and_checked(s3: dict[str, str]) -> None:
    store = make_store(f"s3://{s3['BUCKET']}/tenant-a/receipts")
    assert isinstance(store, S3Store)
    content = cafe_receipt("12.30")
    digest = hashlib.sha256(content).hexdigest()
    assert not store.exists(digest)
    store.put(digest, content, "image/jpeg")
    store.put(digest, content, "image/jpeg")  # idempotent
    client = raw_client()
    key = f"tenant-a/receipts/{digest[:2]}/{digest[2:4]}/{digest}"
    head = client.head_object(Bucket=s3["BUCKET"], Key=key)  # type: ignore[attr-defined]
    assert head["ServerSideEncryption"] == "AES256" and head["ContentType"] == "image/jpeg"
    assert store.get(digest) == content
    assert [k for k, _ in store.listing()] == [digest]
    with pytest.raises(BlobError, match="does not match"):
        store.put(digest, b"other bytes")
    client.put_object(Bucket=s3["BUCKET"], Key=key, Body=b"tampered")  # type: ignore[attr-defined]
    with pytest.raises(BlobError, match="damaged"):
        store.get(digest)
    with pytest.raises(BlobError, match="NoSuchKey"):
        store.get("0" * 64)


def test_directory_store_round_trip(tmp_path: Path) -> None:
    store = make_store(f"file://{tmp_path}/blobs")
    assert isinstance(store, DirectoryStore)
    content = b"%PDF-1.4 receipt"
    digest = hashlib.sha256(content).hexdigest()
    store.put(digest, content)
    assert (tmp_path / "blobs" / digest[:2] / digest[2:4] / digest).read_bytes() == content
    assert store.get(digest) == content and store.exists(digest)
    store.delete(digest)
    with pytest.raises(BlobError, match="missing"):
        store.get(digest)


def _receipts(url: str) -> list[tuple[int, bytes | None, str | None, str]]:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        rows = session.execute(
            select(ReceiptFile.id, ReceiptFile.content, ReceiptFile.location, ReceiptFile.sha256).order_by(
                ReceiptFile.id
            )
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_receipts_move_to_s3_and_back_resumably(tmp_path: Path, db_url: str, s3: dict[str, str]) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    contents = [
        cafe_receipt("1.00"),
        cafe_receipt("2.00"),
        cafe_receipt("1.00"),
    ]  # the first and last: same file
    with transaction(make_sessionmaker(engine)) as session:
        for n, content in enumerate(contents):
            session.add(
                ReceiptFile(
                    sha256=hashlib.sha256(content).hexdigest(),
                    content=content,
                    size=len(content),
                    media_type="image/jpeg",
                    filename=f"r{n}.jpg",
                    uploaded_by=EMPLOYEE,
                )
            )
    engine.dispose()
    url = f"s3://{s3['BUCKET']}/expensebot"
    env = {**os.environ, **s3, "DATABASE_URL": db_url, "EXPENSEBOT_RECEIPT_STORE": url}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "receipts", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )

    first = cli("migrate", "--to", "store", "--limit", "1")  # stopped after one: resumed below
    assert first.returncode == 0, first.stderr
    assert "1 receipt files moved" in first.stdout and "2 still to move" in first.stdout
    assert [location for _, _, location, _ in _receipts(db_url)] == [url, None, None]
    rest = cli("migrate", "--to", "store")
    assert (
        rest.returncode == 0 and "2 receipt files moved" in rest.stdout and "0 still to move" in rest.stdout
    )
    rows = _receipts(db_url)
    assert all(content is None and location == url for _, content, location, _ in rows)
    store = make_store(url)
    assert sorted(k for k, _ in store.listing()) == sorted({sha for *_, sha in rows})  # two distinct files
    assert cli("migrate", "--to", "store").stdout.startswith("0 receipt files moved")  # nothing twice

    # An orphan (e.g. left by a privacy erase) is collected; the receipts' files are not.
    orphan = b"erased receipt"
    store.put(hashlib.sha256(orphan).hexdigest(), orphan)
    gc = cli("gc", "--min-age", "0")
    assert gc.returncode == 0 and gc.stdout.split() == [hashlib.sha256(orphan).hexdigest()]

    back = cli("migrate", "--to", "db", "--delete")
    assert back.returncode == 0 and "3 receipt files moved to the database" in back.stdout
    assert [(content, location) for _, content, location, _ in _receipts(db_url)] == [
        (c, None) for c in contents
    ]
    assert list(store.listing()) == []


def test_an_upload_is_stored_in_the_directory_store_and_read_from_it(tmp_path: Path, sqlite_url: str) -> None:
    blobs = tmp_path / "blobs"
    with running_app(
        tmp_path, database_url=sqlite_url, extra_env={"EXPENSEBOT_RECEIPT_STORE": f"file://{blobs}"}
    ) as app:
        content = cafe_receipt("42.50")
        app.upload(EMPLOYEE, content)
        card = app.wait_card(EMPLOYEE)
        assert "42.50" in str(card.blocks)  # type: ignore[attr-defined]
    [(_, stored, location, digest)] = _receipts(sqlite_url)
    assert stored is None and location == f"file://{blobs}" and digest == hashlib.sha256(content).hexdigest()
    assert (blobs / digest[:2] / digest[2:4] / digest).read_bytes() == content
