"""Faults on purpose, with real processes: a worker killed mid-job, Redis going away."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
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
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
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
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        env=app.env,
        cwd=app.tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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


class PostgresServer:
    """A private PostgreSQL cluster that a test may stop and start again."""

    def __init__(self) -> None:
        root = Path(
            tempfile.mkdtemp(prefix="expensebot-pg-")
        )  # outside pytest's private tmp: postgres must reach it
        root.chmod(0o755)
        bindir = Path(
            subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        )
        self.initdb, self.pg_ctl = str(bindir / "initdb"), str(bindir / "pg_ctl")
        self.data = root / "pgdata"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.data.mkdir()
        if self.as_user:
            shutil.chown(root, "postgres")
            shutil.chown(self.data, "postgres")
        subprocess.run(
            [*self.as_user, self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust"],
            check=True,
            capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        log = str(self.data.parent / "server.log")  # the server must not hold our pipes open
        subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.data), "-l", log, "-o", options, "-w", "start"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )


@pytest.mark.skipif(shutil.which("pg_config") is None, reason="PostgreSQL is not installed")
def test_postgres_restart_gives_try_again_and_nothing_half_written(tmp_path: Path) -> None:
    from tests.support import MANAGER

    pg = PostgresServer()
    pg.start()
    try:
        with running_app(tmp_path, database_url=pg.url) as app:
            app.upload(EMPLOYEE, cafe_receipt("47.00"), note="lunch")
            app.driver.click(EMPLOYEE, app.wait_card(EMPLOYEE), "Submit")
            request = app.wait_card(MANAGER, contains="Approve")

            pg.stop()
            before = len(app.slack.response_url_posts)
            started = time.monotonic()
            assert app.driver.click(MANAGER, request, "Approve").status_code == 200
            assert time.monotonic() - started < 3
            answer = app.slack.wait_for_response_post(after=before, timeout=30)
            assert "try again" in str(answer.body.get("text")).lower()
            assert "Approve" in str(request.buttons())  # nothing changed

            pg.start()
            app.driver.click(MANAGER, request, "Approve")
            app.wait_dm(EMPLOYEE, "was approved by")
            time.sleep(1)
            approved = [m for m in app.slack.dm_messages(EMPLOYEE) if "was approved by" in (m.text or "")]
            assert len(approved) == 1
    finally:
        pg.stop()
        shutil.rmtree(pg.data.parent, ignore_errors=True)
