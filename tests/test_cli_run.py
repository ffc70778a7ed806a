"""`expensebot run` as a real process, driven only by Slack's protocol (the interface promise)."""

from __future__ import annotations

import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from devslack import SlackDriver
from tests.support import CUSTOMERS_CSV, EMPLOYEE, MANAGER, ORG_CSV, SIGNING_SECRET, cafe_receipt, workspace


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_serves_slack_and_health(tmp_path: Path) -> None:
    (tmp_path / "org.csv").write_text(ORG_CSV)
    (tmp_path / "customers.csv").write_text(CUSTOMERS_CSV)
    port = free_port()
    with workspace() as fake:
        env = {
            k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "SLACK_APP_TOKEN", "DATABASE_URL"}
        }
        env.update(
            SLACK_BOT_TOKEN=fake.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.base_url,
            EXPENSEBOT_ORG_FILE=str(tmp_path / "org.csv"),
        )
        cli = [sys.executable, "-m", "bot.cli"]
        subprocess.run(
            [*cli, "customers", "import", "customers.csv"],
            env=env,
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
        proc = subprocess.Popen(
            [*cli, "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            assert httpx.get(f"{url}/healthz").json()["database"] is True
            assert (
                tmp_path / "expensebot.db"
            ).exists()  # the embedded default: SQLite in the working directory
            with SlackDriver(url, SIGNING_SECRET, fake) as driver:
                assert driver.url_verification("ping").json()["challenge"] == "ping"
                with driver.signing("bad"):
                    assert driver.url_verification("x").status_code == 401
                started = time.monotonic()
                up = driver.upload_in_dm(
                    EMPLOYEE, cafe_receipt("42.50"), "r.jpg", "image/jpeg", text="client lunch with Acme"
                )
                for event in up.events:
                    answer = driver.event(event)
                    assert answer.status_code == 200 and answer.elapsed.total_seconds() < 3
                while time.monotonic() - started < 30:
                    cards = [m for m in fake.dm_messages(EMPLOYEE) if m.buttons()]
                    if cards:
                        break
                    time.sleep(0.05)
                assert (
                    cards and "Acme Corporation" in str(cards[0].blocks) and "42.50" in str(cards[0].blocks)
                )
                driver.click(EMPLOYEE, cards[0], "Submit")
                deadline = time.monotonic() + 60  # a generous wait for the app, not a speed check
                while time.monotonic() < deadline and not fake.dm_messages(MANAGER):
                    time.sleep(0.05)
                assert "Approve" in str(fake.dm_messages(MANAGER)[0].buttons())
        finally:
            proc.terminate()
            output = proc.communicate(timeout=30)[0].decode()
        assert "Traceback" not in output, output
        assert fake.bot_token not in output  # tokens never reach the logs


class _Trickle(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TrickleHandler)
        self.reading = threading.Event()  # a client is reading the file
        self.gone = threading.Event()  # ... and hung up before the end
        self.closing = threading.Event()


class _TrickleHandler(socketserver.StreamRequestHandler):
    """A rate feed on a bad line: the headers, then its XML a few bytes at a time, for ever."""

    def handle(self) -> None:
        server = self.server
        assert isinstance(server, _Trickle)
        self.rfile.readline()
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 100000000\r\n\r\n")
        try:
            while not server.closing.is_set():
                self.wfile.write(b"<Cube>")
                self.wfile.flush()
                server.reading.set()
                time.sleep(0.2)
        except OSError:  # the client closed the connection
            server.gone.set()


@contextmanager
def trickling_feed() -> Iterator[_Trickle]:
    server = _Trickle()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.shutdown()
        server.server_close()


def test_run_stops_on_sigterm_while_background_work_is_under_way(tmp_path: Path) -> None:
    """SIGTERM while the scheduled rate fetch reads a feed that never ends: the process stops
    (the fetch gives up) instead of waiting for the feed for ever."""
    (tmp_path / "org.csv").write_text(ORG_CSV)
    port = free_port()
    with workspace() as fake, trickling_feed() as feed:
        env = {
            k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "SLACK_APP_TOKEN", "DATABASE_URL"}
        }
        env.update(
            SLACK_BOT_TOKEN=fake.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.base_url,
            EXPENSEBOT_ORG_FILE=str(tmp_path / "org.csv"),
            EXPENSEBOT_SCHEDULER="1",
            EXPENSEBOT_FX_FEED_URL=f"http://127.0.0.1:{feed.server_address[1]}/eurofxref-daily.xml",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            assert feed.reading.wait(120), "the app never fetched the rate feed"  # a generous wait
            assert proc.poll() is None
            proc.terminate()
            try:
                output = proc.communicate(timeout=60)[0].decode()  # generous: it must stop, not be fast
            except subprocess.TimeoutExpired:
                proc.kill()
                output = proc.communicate()[0].decode()
                raise AssertionError(f"expensebot run did not stop on SIGTERM:\n{output[-4000:]}") from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == -signal.SIGTERM, output  # uvicorn ends by re-raising the signal
        assert feed.gone.wait(10)  # the fetch hung up on the feed
        assert "Traceback" not in output, output
        assert "given up, the app is stopping" in output and "background work stopped" in output, output


def test_run_with_an_app_token_uses_socket_mode(tmp_path: Path) -> None:
    with workspace() as fake:
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
        env.update(
            SLACK_BOT_TOKEN=fake.bot_token,
            SLACK_APP_TOKEN="xapp-1-A0-test-token",
            SLACK_API_URL=fake.base_url,
        )
        env.pop("SLACK_SIGNING_SECRET", None)  # not needed without inbound HTTP
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            call = fake.wait_for("apps.connections.open", timeout=60)
            assert call.token == "xapp-1-A0-test-token"  # the app-level token opens the WebSocket
        finally:
            proc.terminate()
            output = proc.communicate(timeout=30)[0].decode()
        assert "Socket Mode" in output
        assert "xapp-1-A0-test-token" not in output


def test_a_bad_setting_stops_the_command_with_a_message_naming_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(EXPENSEBOT_OCR_SLOTS="-1", REDIS_URL="redis://127.0.0.1:1/0")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "worker"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "EXPENSEBOT_OCR_SLOTS='-1'" in result.stderr and "greater than or equal to 0" in result.stderr
    assert "Traceback" not in result.stderr
