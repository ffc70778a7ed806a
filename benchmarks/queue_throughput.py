"""Receipts queued all at once: every one read once, and throughput against the number of workers.

For each worker count (--workers 1,2,4) the script makes a fresh PostgreSQL database, starts the
Slack stand-in, one real `expensebot run` web process and N `expensebot worker` processes on
Redis, then drops --receipts receipt photos (default 1,000, each with its own total) into the
employee's DM at once, as Slack delivers them: both the `message`/`file_share` and the
`file_shared` event per upload, signed, from --senders threads. It waits until every upload has
its card (printing progress), and reports per worker count:

- read: uploads whose card reached the employee;
- lost: uploads without a card;
- duplicated: uploads with more than one expense, card, card outbox row, download of the file,
  stored receipt, reading (audit events `receipt.stored` / `expense.read`) or reading job (RQ);
- wrong total: cards whose total is not the one printed on the receipt (a misreading, not a
  queue fault; reported, not counted as a failure);
- wall time from the first upload to the last card, and receipts per second;
- the OCR threads each worker was given (EXPENSEBOT_OCR_THREADS: by default the cores divided
  among the workers) and the largest peak memory of one worker.

It exits with status 1 if any upload is lost or duplicated.

    eval "$(scripts/services)"
    .venv/bin/python benchmarks/queue_throughput.py --receipts 1000 --workers 1,2,4

PostgreSQL and Redis come from --database-url / --redis-url or TEST_DATABASE_URL /
TEST_REDIS_URL. The database URL is a server login allowed to create databases: each run gets
its own database, dropped afterwards. The job queue's keys in that Redis database are cleared
before each run.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devslack import ApiCall, FakeSlack, SlackDriver  # noqa: E402
from tests.support import CUSTOMERS_CSV, EMPLOYEE, ORG_CSV, SIGNING_SECRET, cafe_receipt, workspace  # noqa: E402


def total_of(i: int) -> str:
    """A distinct total per receipt (10.00, 10.01, ...), so each card can be checked."""
    return f"{10 + i // 100}.{i % 100:02d}"


@dataclass
class Run:
    workers: int
    receipts: int
    read: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong_total: int = 0
    ocr_threads: int = 0
    worker_peak_mb: float = 0.0
    wall: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.read / self.wall if self.wall else 0.0


class CardWatch:
    """Cards as the app posts them, recorded from the stand-in's call log as they happen."""

    def __init__(self, fake: FakeSlack) -> None:
        self.lock = threading.Lock()
        self.cards: list[tuple[int, str | None, str, float]] = []  # expense id, thread, blocks text, when
        self.unsubscribe = fake.subscribe(self.on_call)

    def on_call(self, call: ApiCall) -> None:
        if call.method != "chat.postMessage" or not call.ok:
            return
        expense_id = submit_value(call.args.get("blocks"))
        if expense_id is not None:
            with self.lock:
                self.cards.append(
                    (expense_id, call.args.get("thread_ts"), str(call.args["blocks"]), time.time())
                )

    def count(self) -> int:
        with self.lock:
            return len(self.cards)

    def snapshot(self) -> list[tuple[int, str | None, str, float]]:
        with self.lock:
            return list(self.cards)


def submit_value(blocks: Any) -> int | None:
    """The expense id a card's Submit button carries."""
    if not isinstance(blocks, list):
        return None
    for block in blocks:
        for element in block.get("elements", []) if isinstance(block, dict) else []:
            if isinstance(element, dict) and element.get("action_id") == "expense_submit":
                try:
                    return int(element["value"])
                except (KeyError, TypeError, ValueError):
                    return None
    return None


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"expensebot_queue_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def clear_queue(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for pattern in ("rq:*", "expensebot:*"):
        keys = list(client.scan_iter(pattern, count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, redis_url: str, workers: int, procs: list[subprocess.Popen[bytes]]) -> None:
    import redis
    from rq import Worker

    deadline = time.monotonic() + 180
    connection = redis.Redis.from_url(redis_url)
    try:
        while True:
            if any(p.poll() is not None for p in procs):
                raise SystemExit(
                    "a process of the app exited during start-up; see the logs in the run directory"
                )
            try:
                healthy = httpx.get(f"{url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                healthy = False
            if healthy and Worker.count(connection=connection) >= workers:
                return
            if time.monotonic() > deadline:
                raise SystemExit("the app or its workers did not start within 180 s")
            time.sleep(0.2)
    finally:
        connection.close()


def tally(database_url: str) -> dict[str, Any]:
    """Per expense: its Slack file and how often it was stored, read and queued as a card."""
    from sqlalchemy import func, select

    from storage.db import make_engine, make_sessionmaker
    from storage.models import AuditEvent, Expense, OutboxMessage

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            files = {e: f for e, f in session.execute(select(Expense.id, Expense.slack_file_id))}
            events = session.execute(
                select(AuditEvent.entity_id, AuditEvent.action, func.count())
                .where(
                    AuditEvent.entity == "expense", AuditEvent.action.in_(["expense.read", "receipt.stored"])
                )
                .group_by(AuditEvent.entity_id, AuditEvent.action)
            ).all()
            card_rows = Counter(
                int(payload["expense_id"])
                for payload in session.scalars(
                    select(OutboxMessage.payload).where(OutboxMessage.kind == "card")
                )
            )
    finally:
        engine.dispose()
    audit: dict[tuple[int, str], int] = {(int(e), a): int(n) for e, a, n in events}
    return {"files": files, "audit": audit, "card_rows": card_rows}


def reading_jobs(redis_url: str) -> Counter[int]:
    """Receipt-reading jobs per expense that the queue holds in any state (finished ones included)."""
    import redis
    from rq import Queue
    from rq.job import Job

    from bot.jobs import QUEUE_NAME

    connection = redis.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    ids = [*queue.get_job_ids()]
    for registry in (
        queue.started_job_registry,
        queue.scheduled_job_registry,
        queue.failed_job_registry,
        queue.finished_job_registry,
    ):
        ids += registry.get_job_ids()
    found: Counter[int] = Counter()
    for start in range(0, len(ids), 500):
        for job in Job.fetch_many(ids[start : start + 500], connection=connection):
            if job is not None and job.args and job.args[0] == "read_receipt":
                found[int(job.args[1])] += 1
    connection.close()
    return found


def check(
    run: Run,
    fake: FakeSlack,
    watch: CardWatch,
    uploads: dict[str, tuple[str, str]],
    database_url: str,
    redis_url: str,
) -> None:
    """Fill in read / lost / duplicated / wrong total from the stand-in, the database and the queue."""
    facts = tally(database_url)
    jobs = reading_jobs(redis_url)
    file_of: dict[int, str | None] = facts["files"]
    expenses_per_file = Counter(f for f in file_of.values() if f)
    downloads = Counter(d.file_id for d in fake.file_downloads if d.authorized)
    cards_per_file: dict[str, list[str]] = {}
    for expense_id, _thread, blocks, _at in watch.snapshot():
        file_id = file_of.get(expense_id)
        if file_id is None:
            run.problems.append(f"a card for expense {expense_id}, which no upload created")
            continue
        cards_per_file.setdefault(file_id, []).append(blocks)
    expense_of = {f: e for e, f in file_of.items() if f}
    for file_id, (total, _ts) in uploads.items():
        cards = cards_per_file.get(file_id, [])
        if not cards:
            run.lost += 1
            continue
        run.read += 1
        expense_id = expense_of[file_id]
        counts = {
            "expenses": expenses_per_file[file_id],
            "cards": len(cards),
            "card outbox rows": facts["card_rows"][expense_id],
            "downloads": downloads[file_id],
            "stored": facts["audit"].get((expense_id, "receipt.stored"), 0),
            "readings": facts["audit"].get((expense_id, "expense.read"), 0),
            "reading jobs": jobs[expense_id],
        }
        extra = {name: n for name, n in counts.items() if n > 1}
        if extra:
            run.duplicated += 1
            run.problems.append(f"upload {file_id} (expense {expense_id}): {extra}")
        if total not in cards[0]:
            run.wrong_total += 1


def peak_rss_mb(pid: int) -> float:
    """A live process's peak resident memory (Linux /proc), 0 where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def one_run(args: argparse.Namespace, workers: int, photos: list[bytes], root: Path) -> Run:
    cores = len(os.sched_getaffinity(0))
    threads = args.ocr_threads if args.ocr_threads is not None else max(1, cores // workers)
    run = Run(workers=workers, receipts=len(photos), ocr_threads=threads)
    tmp = root / f"workers-{workers}"
    tmp.mkdir()
    (tmp / "org.csv").write_text(ORG_CSV)
    (tmp / "customers.csv").write_text(CUSTOMERS_CSV)
    clear_queue(args.redis_url)
    with fresh_database(args.database_url) as database_url, workspace() as fake:
        env = dict(os.environ)
        env.pop("SLACK_APP_TOKEN", None)
        env.update(
            SLACK_BOT_TOKEN=fake.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.base_url,
            DATABASE_URL=database_url,
            REDIS_URL=args.redis_url,
            EXPENSEBOT_ORG_FILE=str(tmp / "org.csv"),
            EXPENSEBOT_SCHEDULER="false",
            EXPENSEBOT_LOG_LEVEL="WARNING",
            OMP_THREAD_LIMIT="1",
            EXPENSEBOT_OCR_THREADS=str(run.ocr_threads),
        )
        cli = [sys.executable, "-m", "bot.cli"]
        for command in (["db", "upgrade"], ["customers", "import", str(tmp / "customers.csv")]):
            subprocess.run([*cli, *command], env=env, cwd=tmp, check=True, capture_output=True)
        port = free_port()
        procs = [
            subprocess.Popen(
                [*cli, "run", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                cwd=tmp,
                stderr=(tmp / "app.log").open("wb"),
            )
        ]
        procs += [
            subprocess.Popen([*cli, "worker"], env=env, cwd=tmp, stderr=(tmp / f"worker-{i}.log").open("wb"))
            for i in range(workers)
        ]
        url = f"http://127.0.0.1:{port}"
        watch = CardWatch(fake)
        try:
            wait_ready(url, args.redis_url, workers, procs)
            uploads: dict[str, tuple[str, str]] = {}  # file id -> (total, message ts)
            failures: list[str] = []
            lock = threading.Lock()
            with SlackDriver(url, SIGNING_SECRET, fake, max_connections=args.senders) as driver:

                def upload(i: int) -> None:
                    up = driver.upload_in_dm(EMPLOYEE, photos[i], f"receipt-{i:04d}.jpg", "image/jpeg")
                    with lock:
                        uploads[str(up.file["id"])] = (total_of(i), up.message.ts)
                    for event in up.events:
                        try:
                            status = driver.event(event).status_code
                        except httpx.HTTPError as exc:
                            status = 0
                            failures.append(f"{type(exc).__name__}")
                        if status != 200:
                            failures.append(f"HTTP {status}")

                started = time.time()
                with ThreadPoolExecutor(args.senders) as pool:
                    list(pool.map(upload, range(len(photos))))
                sent = time.time() - started
                print(
                    f"  {len(photos)} uploads ({2 * len(photos)} signed events) sent in {sent:.1f} s"
                    + (f"; {len(failures)} not accepted: {sorted(set(failures))}" if failures else ""),
                    flush=True,
                )
                last_count, last_change, last_print = 0, time.monotonic(), time.monotonic()
                while watch.count() < len(photos):
                    now = time.monotonic()
                    count = watch.count()
                    if count != last_count:
                        last_count, last_change = count, now
                    if now - last_change > args.stall:
                        print(f"  no new card for {args.stall:.0f} s: giving up", flush=True)
                        break
                    if any(p.poll() is not None for p in procs):
                        print("  a process of the app exited: giving up", flush=True)
                        break
                    if now - last_print >= args.progress:
                        elapsed = time.time() - started
                        rate = count / elapsed
                        left = (len(photos) - count) / rate if rate else float("nan")
                        print(
                            f"  {elapsed:6.0f} s  {count:5d} / {len(photos)} cards  {rate:5.2f}/s  "
                            f"about {left:.0f} s left",
                            flush=True,
                        )
                        last_print = now
                    time.sleep(0.2)
                cards = watch.snapshot()
                run.wall = (max(at for *_, at in cards) - started) if cards else time.time() - started
                time.sleep(args.settle)  # anything read twice shows up now
                check(run, fake, watch, uploads, database_url, args.redis_url)
                if failures:
                    run.problems.append(f"{len(failures)} events not accepted: {sorted(set(failures))}")
        finally:
            watch.unsubscribe()
            run.worker_peak_mb = max((peak_rss_mb(p.pid) for p in procs[1:]), default=0.0)
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--receipts", type=int, default=1000, help="uploads dropped at once (default 1000)")
    parser.add_argument("--workers", default="1,2,4", help="RQ worker counts to compare (default 1,2,4)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="PostgreSQL server URL that may create databases (default TEST_DATABASE_URL)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("TEST_REDIS_URL"),
        help="Redis URL; its job queue keys are cleared (default TEST_REDIS_URL)",
    )
    parser.add_argument(
        "--ocr-threads",
        type=int,
        default=None,
        help="EXPENSEBOT_OCR_THREADS for each worker (default: cores / workers, at least 1)",
    )
    parser.add_argument("--senders", type=int, default=16, help="threads sending the upload events")
    parser.add_argument("--progress", type=float, default=10, help="seconds between progress lines")
    parser.add_argument("--stall", type=float, default=300, help="give up after this long without a new card")
    parser.add_argument("--settle", type=float, default=5, help="seconds to wait for late duplicates")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error(
            'a PostgreSQL URL is needed: --database-url or TEST_DATABASE_URL (eval "$(scripts/services)")'
        )
    if not args.redis_url:
        parser.error('a Redis URL is needed: --redis-url or TEST_REDIS_URL (eval "$(scripts/services)")')
    try:
        counts = [int(part) for part in args.workers.split(",") if part.strip()]
    except ValueError:
        parser.error(f"--workers takes worker counts separated by commas, e.g. 1,2,4 (got {args.workers!r})")
    if not counts or min(counts) < 1 or args.receipts < 1:
        parser.error("--workers needs counts of at least 1 and --receipts at least 1")

    root = Path(tempfile.mkdtemp(prefix="expensebot-queue-"))
    print(
        f"{args.receipts} receipts at once, workers {counts}; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}; logs in {root}",
        flush=True,
    )
    photos = [cafe_receipt(total_of(i)) for i in range(args.receipts)]
    runs: list[Run] = []
    for workers in counts:
        print(f"\n{workers} worker{'s' if workers > 1 else ''}:", flush=True)
        runs.append(one_run(args, workers, photos, root))
        r = runs[-1]
        print(
            f"  done: {r.read} read, {r.lost} lost, {r.duplicated} duplicated in {r.wall:.1f} s", flush=True
        )
        for problem in r.problems[:10]:
            print(f"    {problem}", flush=True)

    print(
        f"\n{'workers':>7} {'receipts':>8} {'read':>6} {'lost':>5} {'duplicated':>10} {'wrong total':>11} "
        f"{'OCR threads':>11} {'worker MB':>9} {'wall s':>8} {'receipts/s':>10}"
    )
    for r in runs:
        print(
            f"{r.workers:>7} {r.receipts:>8} {r.read:>6} {r.lost:>5} {r.duplicated:>10} {r.wrong_total:>11} "
            f"{r.ocr_threads:>11} {r.worker_peak_mb:>9.0f} {r.wall:>8.1f} {r.per_second:>10.2f}"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    bad = any(r.lost or r.duplicated for r in runs)
    if bad:
        print("FAILED: receipts were lost or handled more than once", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
