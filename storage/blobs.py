"""Where receipt files live (``EXPENSEBOT_RECEIPT_STORE``): one interface, three stores.

- ``db`` (default): the bytes are in ``receipt_files.content``, as before.
- ``file:///path``: a directory; each file at ``path/ab/cd/<sha256>``.
- ``s3://bucket/prefix``: any S3-compatible store (AWS, MinIO, Ceph) through boto3, with the
  standard ``AWS_*`` variables and ``AWS_ENDPOINT_URL``; objects at ``prefix/ab/cd/<sha256>``,
  encrypted at rest by the server (``ServerSideEncryption``, ``AES256`` unless
  ``EXPENSEBOT_S3_SSE`` says e.g. ``aws:kms``). No URL of the store is ever handed to Slack users.

Blobs are content-addressed by SHA-256: the same file is stored once, a write is idempotent (and
refreshes the file's time, which ``receipts gc`` respects), and a read checks the digest. The bytes are written to the store before the row that points to them
commits, so a committed row always finds its file. A row whose ``content`` is NULL has its bytes in
the store named by ``location``; ``expensebot receipts migrate`` moves them in either direction.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

DB = "db"


class BlobError(RuntimeError):
    """A receipt file could not be stored or read (the message says where and why)."""


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _relative(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise BlobError(f"not a SHA-256 digest: {sha256!r}")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class BlobStore(Protocol):
    url: str  # the EXPENSEBOT_RECEIPT_STORE value it was made from, recorded on each row

    @property
    def external(self) -> bool: ...

    def put(self, sha256: str, content: bytes, media_type: str | None = None) -> None: ...

    def get(self, sha256: str) -> bytes: ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None: ...

    def listing(self) -> Iterator[tuple[str, float]]:
        """Every stored digest with its write time (epoch seconds)."""
        ...


class DatabaseStore:
    """Receipts stay in the database rows (nothing to do here)."""

    url = DB

    @property
    def external(self) -> bool:
        return False

    def put(self, sha256: str, content: bytes, media_type: str | None = None) -> None:
        raise BlobError("the database store keeps receipts in their rows")

    def get(self, sha256: str) -> bytes:
        raise BlobError("the database store keeps receipts in their rows")

    def exists(self, sha256: str) -> bool:
        return False

    def delete(self, sha256: str) -> None:
        return None

    def listing(self) -> Iterator[tuple[str, float]]:
        return iter(())


class DirectoryStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.root = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path))

    @property
    def external(self) -> bool:
        return True

    def _path(self, sha256: str) -> Path:
        return self.root / _relative(sha256)

    def put(self, sha256: str, content: bytes, media_type: str | None = None) -> None:
        if sha256_of(content) != sha256:
            raise BlobError("content does not match its SHA-256")
        path = self._path(sha256)
        if path.exists():
            with contextlib.suppress(OSError):
                os.utime(path)  # fresh again: `receipts gc` keeps recently written files
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)  # atomic: a reader sees the whole file or none
        except OSError as exc:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)
            raise BlobError(f"cannot write receipt to {self.root}: {exc.strerror or exc}") from exc

    def get(self, sha256: str) -> bytes:
        try:
            content = self._path(sha256).read_bytes()
        except OSError as exc:
            raise BlobError(
                f"receipt {sha256[:12]} is missing from {self.root}: {exc.strerror or exc}"
            ) from exc
        if sha256_of(content) != sha256:
            raise BlobError(f"receipt {sha256[:12]} in {self.root} is damaged (its SHA-256 differs)")
        return content

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def delete(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(sha256).unlink()

    def listing(self) -> Iterator[tuple[str, float]]:
        if self.root.is_dir():
            for path in self.root.glob("??/??/*"):
                if len(path.name) == 64 and not path.name.startswith("."):
                    yield path.name, path.stat().st_mtime


DEFAULT_SSE = "AES256"


class S3Store:
    def __init__(self, url: str, client: Any = None, *, sse: str = DEFAULT_SSE) -> None:
        parts = urllib.parse.urlsplit(url)
        self.url = url
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.sse = sse  # the server-side encryption asked for on each write (EXPENSEBOT_S3_SSE)
        if client is None:
            import boto3

            # boto3 reads AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION...
            client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
        self.client = client

    @property
    def external(self) -> bool:
        return True

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}/{_relative(sha256)}" if self.prefix else _relative(sha256)

    def _fail(self, what: str, sha256: str, exc: Exception) -> BlobError:
        detail = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
        return BlobError(f"cannot {what} receipt {sha256[:12]} in s3://{self.bucket}/{self.prefix}: {detail}")

    def put(self, sha256: str, content: bytes, media_type: str | None = None) -> None:
        if sha256_of(content) != sha256:
            raise BlobError("content does not match its SHA-256")
        # Written even when present (same key, same bytes): the object is fresh again, so
        # `receipts gc` cannot take it between this write and the commit of the row that uses it.
        extra: dict[str, Any] = {"ServerSideEncryption": self.sse}
        if media_type:
            extra["ContentType"] = media_type
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode()  # the store checks what it got
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(sha256), Body=content, ChecksumSHA256=checksum, **extra
            )
        except Exception as exc:
            raise self._fail("store", sha256, exc) from exc

    def get(self, sha256: str) -> bytes:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))["Body"]
            content: bytes = body.read()
        except Exception as exc:
            raise self._fail("read", sha256, exc) from exc
        if sha256_of(content) != sha256:
            raise BlobError(f"receipt {sha256[:12]} in s3://{self.bucket} is damaged (its SHA-256 differs)")
        return content

    def exists(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
            return True
        except Exception as exc:
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            if code in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise self._fail("find", sha256, exc) from exc

    def delete(self, sha256: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))
        except Exception as exc:
            raise self._fail("delete", sha256, exc) from exc

    def listing(self) -> Iterator[tuple[str, float]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""):
            for item in page.get("Contents", []):
                name = str(item["Key"]).rsplit("/", 1)[-1]
                if len(name) == 64:
                    yield name, item["LastModified"].timestamp()


def make_store(url: str, *, sse: str = DEFAULT_SSE) -> BlobStore:
    """The store for an ``EXPENSEBOT_RECEIPT_STORE`` value (checked by the settings); ``sse``: the
    S3 server-side encryption of what it writes (``EXPENSEBOT_S3_SSE``)."""
    if url == DB:
        return DatabaseStore()
    if url.startswith("file://"):
        return DirectoryStore(url)
    if url.startswith("s3://"):
        return S3Store(url, sse=sse)
    raise BlobError(f"unknown receipt store {url!r}: use db, file:///path or s3://bucket/prefix")
