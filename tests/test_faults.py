"""Faults on purpose, with real processes: a worker killed mid-job, Redis going away."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.db import make_engine, make_sessionmaker
from storage.models import Expense, ReceiptFile
from tests.support import EMPLOYEE, Harness, cafe_receipt, running_app

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


class RedisServer:
    """A private redis-server on a free port that a test may stop and start again."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def count(url: str, model: type) -> int:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        value = int(session.scalar(select(func.count()).select_from(model)) or 0)
    engine.dispose()
    return value


def cards(app: Harness) -> list[object]:
    return [m for m in app.slack.dm_messages(EMPLOYEE) if m.buttons()]


def start_worker(app: Harness) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], env=app.env, cwd=app.tmp,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    app.processes.append(proc)
    return proc


def test_a_worker_killed_mid_job_loses_nothing_and_gives_one_card(
    tmp_path: Path, postgres_url: str, own_redis: RedisServer
) -> None:
    env = {"EXPENSEBOT_STALE_READING_SECONDS": "6"}
    with running_app(
        tmp_path, database_url=postgres_url, redis_url=own_redis.url, extra_env=env, workers=1
    ) as app:
        worker = app.processes[0]
        # Slack is slow to hand over the file, so the job is surely under way when the worker dies.
        app.slack.fail("files.info", "internal_error", times=1, status=503)
        app.upload(EMPLOYEE, cafe_receipt("61.00"), note="lunch")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(app.slack.calls_to("files.info")) < 2:
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        start_worker(app)
        card = app.wait_card(EMPLOYEE, timeout=90)
        assert "61.00" in str(card.blocks)
        time.sleep(3)
        assert len(cards(app)) == 1
        assert count(postgres_url, Expense) == 1 and count(postgres_url, ReceiptFile) == 1


def test_redis_going_away_keeps_the_app_answering_without_duplicates(
    tmp_path: Path, postgres_url: str, own_redis: RedisServer
) -> None:
    with running_app(tmp_path, database_url=postgres_url, redis_url=own_redis.url) as app:
        app.upload(EMPLOYEE, cafe_receipt("10.00"))
        app.wait_card(EMPLOYEE)
        own_redis.stop()
        started = time.monotonic()
        up, _ = app.upload(EMPLOYEE, cafe_receipt("20.00"))
        for event in up.events:  # Slack retries while Redis is down: still one card
            answer = app.driver.event(event, retry_num=1, retry_reason="http_timeout")
            assert answer.status_code == 200
        assert time.monotonic() - started < 3 * 4
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(cards(app)) < 2:
            time.sleep(0.1)
        assert len(cards(app)) == 2  # read in-process while the queue is away
        own_redis.start()
        app.upload(EMPLOYEE, cafe_receipt("30.00"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(cards(app)) < 3:
            time.sleep(0.1)
        assert len(cards(app)) == 3
        assert count(postgres_url, Expense) == 3
