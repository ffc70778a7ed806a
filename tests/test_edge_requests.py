"""Requests to ``POST /slack/events`` that are not Slack's: refused before any parsing.

Unsigned (or badly signed, or stale) requests get 401 whatever their body; signed requests whose
body cannot be a Slack payload get a 4xx with a short message. Never a 5xx, never a traceback.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Harness, running_app

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

MALFORMED: list[tuple[str, bytes, str]] = [
    ("payload not JSON", b"payload=" + urllib.parse.quote(b"{not json").encode(), FORM),
    ("payload JSON list", b"payload=" + urllib.parse.quote(b"[1, 2]").encode(), FORM),
    ("payload JSON string", b"payload=" + urllib.parse.quote(b'"hello"').encode(), FORM),
    ("payload JSON number", b"payload=42", FORM),
    ("events body not JSON", b"{this is not json", JSON),
    ("events body JSON list", b"[1, 2, 3]", JSON),
    ("events body JSON null", b"null", JSON),
    ("events body truncated", b'{"type": "event_callback", "event": ', JSON),
    ("empty body", b"", JSON),
    ("empty form body", b"", FORM),
    ("event not an object", json.dumps({"type": "event_callback", "event": "x"}).encode(), JSON),
    ("not UTF-8", b"\xff\xfe{\x00", JSON),
]


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[str]:
        return [
            f"{r.name}: {r.getMessage()}" for r in self.records if r.exc_info or r.levelno >= logging.ERROR
        ]


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str, redis_url: str) -> Iterator[tuple[Harness, Records]]:
    # Redis with no worker: nothing reads receipts in this process (no OCR warm-up needed).
    records = Records()
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error", "slack_bolt")]
    with running_app(tmp_path, database_url=sqlite_url, redis_url=redis_url, workers=0) as harness:
        for logger in loggers:
            logger.addHandler(records)
        try:
            yield harness, records
        finally:
            for logger in loggers:
                logger.removeHandler(records)


@pytest.mark.parametrize("mode", ["missing", "bad", "stale"])
def test_unsigned_requests_get_401_whatever_their_body(app: tuple[Harness, Records], mode: str) -> None:
    harness, records = app
    with harness.driver.signing(mode):
        for name, body, content_type in MALFORMED:
            answer = harness.driver.post(body, content_type)
            assert answer.status_code == 401, (name, answer.status_code, answer.text)
        answer = harness.driver.url_verification("abc")  # a well-formed body is refused too
        assert answer.status_code == 401
    assert records.tracebacks() == []


def test_garbage_signature_headers_get_401(app: tuple[Harness, Records]) -> None:
    harness, records = app
    for headers in (
        {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=abc"},
        {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""},
        {"X-Slack-Request-Timestamp": "1" * 400, "X-Slack-Signature": "v0=" + "0" * 64},
    ):
        answer = harness.driver._client.post(
            harness.driver.url,
            content=b'{"type": "url_verification"}',
            headers={"Content-Type": JSON, **headers},
        )
        assert answer.status_code == 401, (headers, answer.text)
    assert records.tracebacks() == []


def test_signed_malformed_bodies_get_a_short_4xx(app: tuple[Harness, Records]) -> None:
    harness, records = app
    for name, body, content_type in MALFORMED:
        answer = harness.driver.post(body, content_type)
        assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text)
        assert 0 < len(answer.text) < 200, (name, answer.text)
    assert records.tracebacks() == []
    # the app still serves real requests afterwards
    answer = harness.driver.url_verification("still-here")
    assert answer.status_code == 200 and "still-here" in answer.text
