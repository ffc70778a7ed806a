"""Machine-wide reading slots: at most N receipts are read at once, whatever the number of processes.

Reading a receipt is CPU-bound. Running more job workers than cores helps with everything around
the reading (downloads, database, Slack), but readings beyond the core count only compete for the
cores. Each slot is an exclusive ``flock`` on a small file; the kernel drops the lock when its
holder exits, so a worker that crashes mid-reading never leaks a slot.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def default_slots() -> int:
    """One reading per core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))


def slot_directory() -> Path:
    return Path(tempfile.gettempdir()) / f"expensebot-reading-slots-{os.getuid()}"


@contextlib.contextmanager
def reading_slot(count: int, directory: Path | None = None, poll: float = 0.05) -> Iterator[int]:
    """Hold one of ``count`` slots shared by every process on this machine, waiting for a free one.

    Yields the slot's number. The slots live in ``directory`` (by default one per user in the
    temporary directory); processes that should share the machine's cores must use the same one.
    """
    if count < 1:
        raise ValueError("at least one reading slot is needed")
    folder = directory or slot_directory()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    while True:
        for number in range(count):
            fd = os.open(folder / f"slot-{number}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield number
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            return
        time.sleep(poll)
