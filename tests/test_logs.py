"""Logs are JSON lines with tokens and personal data redacted."""

from __future__ import annotations

import json
import logging

import pytest

from bot.logs import RedactingJsonFormatter, redact


@pytest.mark.parametrize(
    ("raw", "hidden"),
    [
        ("token xoxb-1234-5678-abcdEFGH used", "xoxb-1234-5678-abcdEFGH"),
        ("app token xapp-1-A0-123-abc", "xapp-1-A0-123-abc"),
        ("Authorization: Bearer s3cr3t.value", "s3cr3t.value"),
        ("user ann.lee@example.com not found", "ann.lee@example.com"),
    ],
)
def test_redact(raw: str, hidden: str) -> None:
    assert hidden not in redact(raw)


def test_formatter_writes_redacted_json() -> None:
    record = logging.LogRecord(
        "bot", logging.WARNING, __file__, 1, "users.info %s for %s", ("xoxb-9-9-z", "a@b.co"), None
    )
    line = json.loads(RedactingJsonFormatter().format(record))
    assert line["level"] == "WARNING" and line["logger"] == "bot"
    assert "xoxb-9-9-z" not in line["message"] and "a@b.co" not in line["message"]
    assert "[token]" in line["message"] and "[email]" in line["message"]
