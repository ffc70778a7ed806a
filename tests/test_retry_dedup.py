"""Slack's redeliveries of one event are answered once, with the de-duplication in Redis or in memory."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support import EMPLOYEE, Harness, running_app, stack_urls


@pytest.fixture(params=["sqlite-memory", "postgresql-redis"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    url, redis = stack_urls(request)
    with running_app(tmp_path, database_url=url, redis_url=redis, workers=0) as harness:
        yield harness


def hints(app: Harness) -> list[object]:
    return [m for m in app.slack.dm_messages(EMPLOYEE) if m.is_bot and "Send me a photo" in (m.text or "")]


def test_an_event_delivered_again_and_again_is_answered_once(app: Harness) -> None:
    events = [app.driver.dm_message_event(EMPLOYEE, "help") for _ in range(3)]

    def deliver(i: int) -> int:  # each event four times at once: the original and three retries
        event = events[i // 4]
        retry = i % 4
        if retry == 0:
            return app.driver.event(event).status_code
        return app.driver.event(event, retry_num=retry, retry_reason="http_timeout").status_code

    with ThreadPoolExecutor(12) as pool:
        assert set(pool.map(deliver, range(12))) == {200}
    deadline = time.monotonic() + 60  # a generous wait for the app, not a speed check
    while len(hints(app)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1)  # a second answer to any of them would be here by now
    assert len(hints(app)) == 3
