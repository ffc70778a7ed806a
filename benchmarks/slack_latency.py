"""Ack latency of signed Slack requests under concurrent load, and upload -> card time.

Starts the Slack stand-in and a real `expensebot run` process (SQLite and in-process jobs by
default; set DATABASE_URL / REDIS_URL and --workers N for PostgreSQL, Redis and RQ workers), then:

1. fires --requests signed requests (event callbacks and button clicks) from --concurrency
   threads and prints the HTTP answer time (p50 / p99 / max; Slack's limit is 3 s);
2. uploads --uploads receipt photos one after another and prints the time from the upload
   events to the card in the employee's DM (median / p95 / max).

    .venv/bin/python benchmarks/slack_latency.py
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devslack import SlackDriver  # noqa: E402
from tests.support import EMPLOYEE, ORG_CSV, SIGNING_SECRET, cafe_receipt, workspace  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--uploads", type=int, default=10)
    parser.add_argument("--workers", type=int, default=0, help="RQ worker processes (needs REDIS_URL)")
    parser.add_argument("--web", type=int, default=1, help="web processes (expensebot run --workers)")
    parser.add_argument(
        "--rate", type=float, default=0, help="open loop: requests per second (with --duration)"
    )
    parser.add_argument("--duration", type=float, default=60, help="open loop: seconds")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="expensebot-bench-"))
    (tmp / "org.csv").write_text(ORG_CSV)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with workspace() as fake:
        env = dict(os.environ)
        env.update(
            SLACK_BOT_TOKEN=fake.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.base_url,
            EXPENSEBOT_ORG_FILE=str(tmp / "org.csv"),
            EXPENSEBOT_LOG_LEVEL="WARNING",
            OMP_THREAD_LIMIT="1",
        )
        cli = [sys.executable, "-m", "bot.cli"]
        procs = [
            subprocess.Popen(
                [*cli, "run", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.web)],
                env=env,
                cwd=tmp,
                stderr=(tmp / "app.log").open("wb"),
            )
        ]
        procs += [
            subprocess.Popen([*cli, "worker"], env=env, cwd=tmp, stderr=subprocess.DEVNULL)
            for _ in range(args.workers)
        ]
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the app did not start")
                time.sleep(0.2)
            mode = f"{'PostgreSQL' if 'postgresql' in env.get('DATABASE_URL', '') else 'SQLite'}, " + (
                f"Redis + {args.workers} workers" if env.get("REDIS_URL") else "in-process jobs"
            )
            print(f"expensebot run on {url} ({mode}); {os.cpu_count()} CPUs; app log: {tmp / 'app.log'}")

            threads = max(args.concurrency, int(args.rate))
            with SlackDriver(url, SIGNING_SECRET, fake, max_connections=threads) as driver:
                # one real card to click on
                up = driver.upload_in_dm(EMPLOYEE, cafe_receipt("10.00"), "warm.jpg", "image/jpeg")
                for event in up.events:
                    driver.event(event)
                while not [m for m in fake.dm_messages(EMPLOYEE) if m.buttons()]:
                    time.sleep(0.05)
                card = next(m for m in fake.dm_messages(EMPLOYEE) if m.buttons())

                failures: list[str] = []

                def one(i: int) -> float:
                    started = time.perf_counter()
                    try:
                        if i % 2:
                            response = driver.send_dm(EMPLOYEE, f"note {i}")
                        else:  # someone else clicks the card: a refusal only they see
                            response = driver.click("U_OTHER", card, "Submit")
                        if response.status_code != 200:
                            failures.append(f"HTTP {response.status_code}")
                    except httpx.HTTPError as exc:
                        failures.append(type(exc).__name__)
                    return time.perf_counter() - started

                started = time.perf_counter()
                if args.rate:
                    total = int(args.rate * args.duration)

                    def paced(i: int) -> float:
                        delay = started + i / args.rate - time.perf_counter()
                        if delay > 0:
                            time.sleep(delay)
                        return one(i)

                    with ThreadPoolExecutor(max(args.concurrency, int(args.rate))) as pool:
                        times = list(pool.map(paced, range(total)))
                    wall = time.perf_counter() - started
                    print(
                        f"\nack latency, open loop at {args.rate:.0f} req/s for {args.duration:.0f} s "
                        f"({total} signed events and clicks; achieved {total / wall:.0f} req/s)"
                    )
                else:
                    with ThreadPoolExecutor(args.concurrency) as pool:
                        times = list(pool.map(one, range(args.requests)))
                    wall = time.perf_counter() - started
                    print(
                        f"\nack latency, {args.requests} signed requests (events + button clicks), "
                        f"{args.concurrency} concurrent: {args.requests / wall:.0f} req/s"
                    )
                print(
                    f"  p50 {pct(times, 0.5) * 1000:.1f} ms   p99 {pct(times, 0.99) * 1000:.1f} ms   "
                    f"max {max(times) * 1000:.1f} ms   over 3 s: {sum(t > 3 for t in times)}   "
                    f"failed: {len(failures)} {sorted(set(failures))}"
                )

                card_times: list[float] = []
                for i in range(args.uploads):
                    before = len([m for m in fake.dm_messages(EMPLOYEE) if m.buttons()])
                    started = time.perf_counter()
                    up = driver.upload_in_dm(
                        EMPLOYEE, cafe_receipt(f"{20 + i}.{i:02d}"), f"r{i}.jpg", "image/jpeg"
                    )
                    for event in up.events:
                        driver.event(event)
                    while len([m for m in fake.dm_messages(EMPLOYEE) if m.buttons()]) <= before:
                        time.sleep(0.01)
                    card_times.append(time.perf_counter() - started)
                print(f"\nupload -> card, {args.uploads} receipt photos one after another:")
                print(
                    f"  median {statistics.median(card_times):.2f} s   p95 {pct(card_times, 0.95):.2f} s   "
                    f"max {max(card_times):.2f} s"
                )
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
