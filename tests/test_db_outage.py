"""A database outage, for real (a private PostgreSQL stopped and started again): one clear log
line, no traceback, and one "try again" per receipt whatever Slack sends for it."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from bot.listeners import TRY_AGAIN
from tests.support import EMPLOYEE, cafe_receipt, running_app
from tests.test_faults import PostgresServer

pytestmark = pytest.mark.skipif(shutil.which("pg_config") is None, reason="PostgreSQL is not installed")


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def matching(self, text: str) -> list[str]:
        return [r.getMessage() for r in self.records if text in r.getMessage()]


def failures() -> float:
    return REGISTRY.get_sample_value("expensebot_maintenance_failures_total", {"reason": "database"}) or 0.0


def wait(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_database_outage_one_log_line_and_one_try_again_per_receipt(tmp_path: Path, redis_url: str) -> None:
    pg = PostgresServer()
    pg.start()
    records = Records()
    root, bot_logger = logging.getLogger(), logging.getLogger("bot")
    level = bot_logger.level
    try:
        # Redis with no worker: nothing reads receipts in the app (none is read during an outage anyway).
        with running_app(tmp_path, database_url=pg.url, redis_url=redis_url, workers=0) as app:
            root.addHandler(records)
            bot_logger.setLevel(logging.INFO)
            pg.stop()
            before = failures()
            app.upload(EMPLOYEE, cafe_receipt("12.00"))  # both events Slack sends for one upload
            wait(
                lambda: any(m.text == TRY_AGAIN for m in app.slack.dm_messages(EMPLOYEE)),
                "no try-again reply",
            )
            wait(lambda: failures() >= before + 3, "the maintenance loop did not run into the outage 3 times")
            assert [m.text for m in app.slack.dm_messages(EMPLOYEE)].count(TRY_AGAIN) == 1

            unavailable = records.matching("database unavailable:")
            assert len(unavailable) == 1, unavailable  # one line for the outage, not one per pass
            assert "Traceback" not in unavailable[0] and "OperationalError" not in unavailable[0]
            tracebacks = [f"{r.name}: {r.getMessage()}" for r in records.records if r.exc_info]
            assert tracebacks == []

            pg.start()
            wait(lambda: bool(records.matching("database reachable again")), "no recovery line")
            taken = len(app.slack.calls_to("reactions.add"))
            app.upload(EMPLOYEE, cafe_receipt("13.00"))  # taken again (the 👀 on it), no new try-again
            wait(
                lambda: len(app.slack.calls_to("reactions.add")) > taken,
                "the upload after the outage was lost",
            )
            assert [m.text for m in app.slack.dm_messages(EMPLOYEE)].count(TRY_AGAIN) == 1
    finally:
        root.removeHandler(records)
        bot_logger.setLevel(level)
        pg.stop()
