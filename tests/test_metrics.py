"""``GET /metrics``: Prometheus text format, scraped as Prometheus would."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devslack import SlackDriver
from storage.db import make_engine, make_sessionmaker
from storage.models import OutboxMessage
from tests.support import (
    EMPLOYEE,
    ORG_CSV,
    SIGNING_SECRET,
    Harness,
    cafe_receipt,
    running_app,
    workspace,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    answer = httpx.get(f"{url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):  # fails on a malformed exposition
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, f"duplicate series {key}"
            samples[key] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the series of ``name`` carrying ``labels`` (other labels summed over)."""
    wanted = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == name and wanted <= ls]
    assert found, f"no {name}{labels} in {sorted({n for n, _ in samples})}"
    return sum(found)


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str, redis_url: str) -> Iterator[Harness]:
    # Redis and no worker: jobs wait in the queue, where the scrape sees them.
    with running_app(tmp_path, database_url=sqlite_url, redis_url=redis_url, workers=0) as harness:
        yield harness


def test_metrics_show_requests_by_surface_queue_outbox_and_slack_rate_limits(
    app: Harness, sqlite_url: str
) -> None:
    assert app.driver.url_verification("x").status_code == 200
    assert app.driver.slash_command(EMPLOYEE, "/expense", "help").status_code == 200
    with app.driver.signing("missing"):
        assert app.driver.url_verification("x").status_code == 401
    app.upload(EMPLOYEE, cafe_receipt("12.00"))  # a read_receipt job waits in the queue
    app.slack.rate_limit("views.publish", times=1, retry_after=1)
    assert app.driver.app_home_opened(EMPLOYEE).status_code == 200
    deadline = time.monotonic() + 60  # App Home meets the rate limit once and is published again
    while time.monotonic() < deadline and len(app.slack.calls_to("views.publish")) < 2:
        time.sleep(0.05)

    # a message whose delivery is due in an hour, written ten minutes ago
    engine = make_engine(sqlite_url)
    now = dt.datetime.now(dt.UTC)
    with make_sessionmaker(engine).begin() as session:
        session.add(
            OutboxMessage(
                dedup_key="metrics-test",
                kind="chat.postMessage",
                payload={},
                created_at=now - dt.timedelta(minutes=10),
                not_before=now + dt.timedelta(hours=1),
            )
        )
    engine.dispose()

    samples = scrape(app.url)
    seconds = "expensebot_http_request_duration_seconds_count"
    assert value(samples, seconds, route="/slack/events", surface="event") >= 2
    assert value(samples, seconds, route="/slack/events", surface="command") >= 1
    assert value(samples, seconds, route="/slack/events", surface="refused", status="401") >= 1
    assert value(samples, seconds, route="/healthz", surface="none") >= 1
    assert value(samples, "expensebot_queue_jobs", state="queued") >= 1
    assert value(samples, "expensebot_outbox_backlog") >= 1
    assert value(samples, "expensebot_outbox_oldest_age_seconds") >= 600
    assert value(samples, "expensebot_slack_api_rate_limited_total", method="views.publish") == 1
    assert value(samples, "expensebot_slack_api_calls_total", method="views.publish", status="ok") >= 1
    assert value(samples, "expensebot_database_up") == 1
    assert value(samples, "expensebot_redis_up") == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_multiprocess_metrics_include_the_workers_jobs_and_ocr(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, the web process serves what its workers measured."""
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (tmp_path / "org.csv").write_text(ORG_CSV)
    with workspace() as fake:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.base_url,
            "DATABASE_URL": postgres_url,
            "REDIS_URL": redis_url,
            "EXPENSEBOT_ORG_FILE": str(tmp_path / "org.csv"),
            "EXPENSEBOT_SCHEDULER": "false",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
        env.pop("SLACK_APP_TOKEN", None)
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "db", "upgrade"],
            env=env,
            check=True,
            capture_output=True,
            cwd=tmp_path,
        )
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        procs = []
        try:
            with open(tmp_path / "web.log", "wb") as log:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "bot.cli", "run", "--port", str(port)],
                        env=env,
                        cwd=tmp_path,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            with open(tmp_path / "worker.log", "wb") as log:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "bot.cli", "worker"],
                        env=env,
                        cwd=tmp_path,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, (tmp_path / "web.log").read_text()
                time.sleep(0.1)
            with SlackDriver(url, SIGNING_SECRET, fake) as driver:
                up = driver.upload_in_dm(EMPLOYEE, cafe_receipt("33.00"), "receipt.jpg", "image/jpeg")
                for event in up.events:
                    assert driver.event(event).status_code == 200
                deadline = time.monotonic() + 120
                while not any(m.buttons() for m in fake.dm_messages(EMPLOYEE)):
                    assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
                    time.sleep(0.1)
            # the card is posted from inside the job: the job's own figures follow when it returns
            deadline = time.monotonic() + 30
            while True:
                samples = scrape(url)
                done = [
                    v
                    for (n, ls), v in samples.items()
                    if n == "expensebot_jobs_total" and ("job", "read_receipt") in ls
                ]
                if done or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    assert value(samples, "expensebot_ocr_seconds_count", outcome="read") == 1
    assert value(samples, "expensebot_ocr_seconds_sum") > 0
    assert value(samples, "expensebot_jobs_total", job="read_receipt", outcome="succeeded") >= 1
    assert value(samples, "expensebot_job_duration_seconds_count", job="read_receipt") >= 1
    assert value(samples, "expensebot_http_request_duration_seconds_count", surface="event") >= 2
    # Slack calls of both processes: the web process's DMs and the worker's files.info
    assert value(samples, "expensebot_slack_api_calls_total", method="files.info", status="ok") >= 1
    assert value(samples, "expensebot_outbox_backlog") == 0
    assert value(samples, "expensebot_db_pool_checked_out") >= 0
