"""Test helpers: receipts rendered with Pillow, and the real app served against the Slack fake."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from devslack import BackgroundServer, FakeSlack, SlackDriver

SIGNING_SECRET = "test-signing-secret-8f2a"

EMPLOYEE, MANAGER, FINANCE, OTHER, ADMIN = "U_EMP", "U_MGR", "U_FIN", "U_OTHER", "U_ADMIN"
ORG_CSV = """email,manager_email,department,role
emp@example.com,mgr@example.com,sales,employee
other@example.com,mgr@example.com,sales,employee
mgr@example.com,boss@example.com,sales,manager
boss@example.com,,sales,manager
fin@example.com,boss@example.com,finance,finance
admin@example.com,boss@example.com,it,admin
solo@example.com,,sales,employee
"""
CUSTOMERS_CSV = """id,name,aliases,domain
C-100,Acme Corporation,ACME;Acme Corp,acme.com
C-200,Globex Industries Inc,Globex,globex.com
C-300,Initech LLC,,initech.com
"""


def render_receipt(lines: list[str], *, width: int = 900, size: int = 34) -> bytes:
    """A clean receipt photo as JPEG bytes."""
    font = ImageFont.load_default(size=size)
    height = 80 + len(lines) * int(size * 1.6)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    y = 40
    for line in lines:
        draw.text((50, y), line, fill="black", font=font)
        y += int(size * 1.6)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


def recent_day(days_back: int = 1) -> dt.date:
    """A working day at least ``days_back`` days before today.

    Expenses have to be recent to be claimed (the policy refuses old ones and flags weekends), so
    the receipts and forms in the tests carry dates relative to the day the tests run.
    """
    day = dt.date.today() - dt.timedelta(days=days_back)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def cafe_receipt(total: str = "42.50", date: str | None = None) -> bytes:
    """A US café receipt in USD; the date is printed month first as such a receipt prints it."""
    if date is None:
        date = recent_day().strftime("%m/%d/%Y")
    return render_receipt(
        [
            "BLUE BOTTLE CAFE",
            "12 Market Street, Springfield",
            f"Date: {date}   Time: 12:41",
            "Flat white           2 x 4.50      9.00",
            "Club sandwich                     24.00",
            f"Subtotal                          {total}",
            f"TOTAL                        USD {total}",
            "Thank you, come again",
        ]
    )


@dataclass
class Harness:
    slack: FakeSlack
    driver: SlackDriver
    url: str
    env: dict[str, str]
    tmp: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.tmp,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"expensebot {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def upload(
        self,
        user: str,
        content: bytes,
        note: str = "",
        name: str = "receipt.jpg",
        mimetype: str = "image/jpeg",
    ) -> tuple[object, str]:
        """Drop a file in the bot DM and deliver both events Slack sends; returns the upload and DM id."""
        up = self.driver.upload_in_dm(user, content, name, mimetype, text=note)
        for event in up.events:
            assert self.driver.event(event).status_code == 200
        return up, up.message.channel

    def wait_card(self, user: str, contains: str = "Submit", timeout: float = 40.0) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.slack.dm_messages(user):
                if any(contains in str(b.get("text", {}).get("text", "")) for b in message.buttons()):
                    return message
            time.sleep(0.05)
        raise AssertionError(
            f"no card with a '{contains}' button reached {user}; DM: "
            f"{[m.text for m in self.slack.dm_messages(user)]}"
        )

    def wait_view(
        self, user: str, callback_id: str, timeout: float = 40.0, after: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The modal the app opened for ``user`` (views.open happens after the click's ack); with
        ``after``, a modal other than that earlier one (the same form opened a second time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            view = self.slack.latest_view(user)
            fresh = after is None or view is None or view.get("id") != after.get("id")
            if view is not None and view.get("callback_id") == callback_id and fresh:
                return view
            time.sleep(0.05)
        raise AssertionError(f"no {callback_id} view was opened for {user}")

    def wait_dm(self, user: str, contains: str, timeout: float = 40.0) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.slack.dm_messages(user):
                if contains.lower() in (message.text or "").lower():
                    return message
            time.sleep(0.05)
        raise AssertionError(
            f"no DM containing {contains!r} reached {user}; DM: "
            f"{[m.text for m in self.slack.dm_messages(user)]}"
        )

    def command(self, user: str, text: str, timeout: float = 15.0) -> str:
        """Type ``/expense TEXT`` as ``user``; the ephemeral answer only they see."""
        before = len(self.slack.ephemeral(user))
        assert self.driver.slash_command(user, "/expense", text).status_code == 200
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.slack.ephemeral(user)
            if len(messages) > before:
                return str(messages[-1].text)
            time.sleep(0.05)
        raise AssertionError(f"no ephemeral answer to /expense {text}")


def workspace() -> FakeSlack:
    fake = FakeSlack()
    fake.add_user(EMPLOYEE, "emp@example.com", real_name="Emma Employee")
    fake.add_user(OTHER, "other@example.com", real_name="Oscar Other")
    fake.add_user(MANAGER, "mgr@example.com", real_name="Mia Manager")
    fake.add_user("U_BOSS", "boss@example.com", real_name="Bo Boss")
    fake.add_user(FINANCE, "fin@example.com", real_name="Fay Finance")
    fake.add_user(ADMIN, "admin@example.com", real_name="Ada Admin")
    return fake


def stack_urls(request: Any) -> tuple[str, str | None]:
    """Database and Redis URLs for an app fixture parametrised "sqlite-..." (SQLite, jobs in the app)
    or "postgresql-redis" (PostgreSQL and Redis, from the conftest fixtures)."""
    if str(request.param).startswith("sqlite"):
        return str(request.getfixturevalue("sqlite_url")), None
    return str(request.getfixturevalue("postgres_url")), str(request.getfixturevalue("redis_url"))


@contextmanager
def running_app(
    tmp: Path,
    *,
    database_url: str,
    redis_url: str | None = None,
    extra_env: dict[str, str] | None = None,
    workers: int = 2,
    before_start: list[list[str]] | None = None,
) -> Iterator[Harness]:
    """The real FastAPI app on a loopback port (workers as real processes when Redis is used)."""
    from bot.settings import Settings
    from bot.web import create_app

    org = tmp / "org.csv"
    org.write_text(ORG_CSV)
    customers = tmp / "customers.csv"
    customers.write_text(CUSTOMERS_CSV)
    with workspace() as fake:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.base_url,
            "DATABASE_URL": database_url,
            "EXPENSEBOT_ORG_FILE": str(org),
            "EXPENSEBOT_SCHEDULER": "false",
            **(extra_env or {}),
        }
        env.pop("SLACK_APP_TOKEN", None)
        if redis_url:
            env["REDIS_URL"] = redis_url
        else:
            env.pop("REDIS_URL", None)
        harness_env = {k: v for k, v in env.items() if v is not None}
        saved = dict(os.environ)
        os.environ.update(harness_env)
        if not redis_url:
            os.environ.pop("REDIS_URL", None)
        try:
            settings = Settings()
            subprocess.run(
                [sys.executable, "-m", "bot.cli", "customers", "import", str(customers)],
                env=harness_env,
                check=True,
                capture_output=True,
                cwd=tmp,
            )
            for command in before_start or []:  # e.g. a CRM sync before the app starts
                subprocess.run(
                    [sys.executable, "-m", "bot.cli", *command],
                    env=harness_env,
                    check=True,
                    capture_output=True,
                    cwd=tmp,
                )
            procs: list[subprocess.Popen[bytes]] = []
            if redis_url:
                for n in range(workers):
                    with open(tmp / f"worker-{n}.log", "wb") as log:  # the child keeps its own copy
                        procs.append(
                            subprocess.Popen(
                                [sys.executable, "-m", "bot.cli", "worker"],
                                env={**harness_env, "PYTHONFAULTHANDLER": "1"},
                                cwd=tmp,
                                stdout=log,
                                stderr=subprocess.STDOUT,
                            )
                        )
            with (
                BackgroundServer(create_app(settings), name="expensebot") as server,
                SlackDriver(server.url, SIGNING_SECRET, fake) as driver,
            ):
                harness = Harness(fake, driver, server.url, harness_env, tmp, procs)
                _wait_healthy(driver, server.url)
                if redis_url and workers:
                    _wait_workers(redis_url, workers)
                try:
                    yield harness
                finally:
                    _stop_workers(procs, tmp)
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _stop_workers(procs: list[subprocess.Popen[bytes]], tmp: Path, timeout: float = 30.0) -> None:
    """SIGTERM, as a process manager stops a worker: it finishes the job under way and exits."""
    for proc in procs:
        proc.terminate()
    deadline = time.monotonic() + timeout
    stuck = []
    for n, proc in enumerate(procs):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            # PYTHONFAULTHANDLER is on in the workers: SIGABRT writes every thread's stack to the log
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")  # e.g. RQ's scheduler
            child_pids = children.read_text().split() if children.exists() else []
            for pid in [proc.pid, *map(int, child_pids)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGABRT)
            time.sleep(2)
            proc.kill()
            proc.wait()
            stuck.append(f"worker-{n}:\n" + (tmp / f"worker-{n}.log").read_text(errors="replace")[-4000:])
    if stuck:
        raise AssertionError(f"workers did not stop within {timeout:.0f} s of SIGTERM\n" + "\n".join(stuck))


def _wait_workers(redis_url: str, count: int, timeout: float = 90.0) -> None:
    """RQ workers register once they are up (engine loaded), so the first job is not slowed."""
    import redis
    from rq import Worker

    connection = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while Worker.count(connection=connection) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} workers did not start")
        time.sleep(0.1)
    connection.close()


def _wait_healthy(driver: SlackDriver, url: str, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the app did not become healthy")
