"""Structured logging: one JSON object a line, with the request it belongs to, and redaction.

Every line carries its time (``ts``, UTC) and, when known, the context it was written in:

- ``request_id``: one id per inbound HTTP request (``bot.web``: the caller's ``X-Request-ID`` when
  it is a sane id, else a new one), returned as the ``X-Request-ID`` response header; a background
  job logs the id of the request that queued it (carried in the RQ job's ``meta``);
- ``team``: the Slack workspace; ``slack_type``: what Slack sent (``event:file_shared``,
  ``block_actions:approve``, ``command:/expense``…); ``job``: the background job's name.

The context lives in a :class:`contextvars.ContextVar`: set for a request (or a job) it follows
every task the request starts (asyncio copies the context into each new task), and ends with it.
Tokens and email addresses never reach the logs: messages and context values are redacted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

_SECRETS = re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")

# The fields a line may carry from its context, in the order they are written.
CONTEXT_FIELDS = ("request_id", "team", "slack_type", "job")
REQUEST_ID_HEADER = "X-Request-ID"
# An incoming X-Request-ID is reused only when it looks like an id (a UUID, a proxy's hex or
# base64url id…): letters, digits and ``-_.:``, 8 to 128 of them. Anything else gets a new id.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{7,127}")

_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("expensebot_log_context", default=_EMPTY)


def redact(text: str) -> str:
    text = _SECRETS.sub("[token]", text)
    text = _BEARER.sub(r"\1[token]", text)
    return _EMAIL.sub("[email]", text)


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(header: str | None) -> str:
    """The id for an inbound request: the caller's ``X-Request-ID`` if it is a sane id, else a new one."""
    if header is not None and _REQUEST_ID.fullmatch(header) and redact(header) == header:
        return header
    return new_request_id()


def log_context() -> Mapping[str, str]:
    """The context of the current request or job (empty outside one)."""
    return _context.get()


def current_request_id() -> str | None:
    return _context.get().get("request_id")


def _merged(fields: Mapping[str, str | None]) -> Mapping[str, str]:
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"not a log context field: {', '.join(sorted(unknown))}")
    merged = dict(_context.get())
    merged.update({name: str(value) for name, value in fields.items() if value})
    return MappingProxyType(merged)


def bind(**fields: str | None) -> None:
    """Add fields to the current context for the rest of this task (and the tasks it starts)."""
    _context.set(_merged(fields))


@contextlib.contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """Add fields to the context for a block (a job run); ``None`` values leave a field as it is."""
    token = _context.set(_merged(fields))
    try:
        yield
    finally:
        _context.reset(token)


@contextlib.contextmanager
def fresh(**fields: str | None) -> Iterator[None]:
    """A new context for a block (one inbound request): nothing of the enclosing one is kept."""
    token = _context.set(_EMPTY)
    try:
        with bound(**fields):
            yield
    finally:
        _context.reset(token)


class RedactingJsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(message),
        }
        context: Mapping[str, str] = getattr(record, "log_context", None) or _context.get()
        for name in CONTEXT_FIELDS:
            if name in context:
                line[name] = redact(context[name])
        return json.dumps(line)


class ContextFilter(logging.Filter):
    """Pins the context to the record where it is logged (a handler elsewhere still sees it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "log_context"):
            record.log_context = _context.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for this process, uvicorn's and RQ's own lines included."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingJsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "rq.worker"):  # through the root handler, as JSON
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    for noisy in ("httpx", "httpcore", "slack_sdk", "slack_bolt", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
