"""`expensebot run` as a real process, driven only by Slack's protocol (the interface promise)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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
        env.update(SLACK_BOT_TOKEN=fake.bot_token, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake.base_url,
                   EXPENSEBOT_ORG_FILE=str(tmp_path / "org.csv"))  # fmt: skip
        cli = [sys.executable, "-m", "bot.cli"]
        subprocess.run([*cli, "customers", "import", "customers.csv"], env=env, cwd=tmp_path, check=True,
                       capture_output=True)  # fmt: skip
        proc = subprocess.Popen([*cli, "run", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
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
                up = driver.upload_in_dm(EMPLOYEE, cafe_receipt("42.50"), "r.jpg", "image/jpeg",
                                         text="client lunch with Acme")  # fmt: skip
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


def test_run_with_an_app_token_uses_socket_mode(tmp_path: Path) -> None:
    with workspace() as fake:
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
        env.update(
            SLACK_BOT_TOKEN=fake.bot_token,
            SLACK_APP_TOKEN="xapp-1-A0-test-token",
            SLACK_API_URL=fake.base_url,
        )
        env.pop("SLACK_SIGNING_SECRET", None)  # not needed without inbound HTTP
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
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
    result = subprocess.run([sys.executable, "-m", "bot.cli", "worker"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert "EXPENSEBOT_OCR_SLOTS='-1'" in result.stderr and "greater than or equal to 0" in result.stderr
    assert "Traceback" not in result.stderr
