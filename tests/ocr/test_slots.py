"""Machine-wide reading slots: shared by processes, released when a holder dies."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ocr.slots import reading_slot

ROOT = Path(__file__).resolve().parents[2]


def test_slots_are_numbered_and_a_full_set_makes_the_next_reader_wait(tmp_path: Path) -> None:
    got: list[int] = []
    with reading_slot(2, tmp_path) as first, reading_slot(2, tmp_path) as second:
        assert {first, second} == {0, 1}
        waiter = threading.Thread(target=lambda: got.append(_take(tmp_path)))
        waiter.start()
        waiter.join(timeout=0.5)
        assert waiter.is_alive() and not got  # both slots taken: it waits
    waiter.join(timeout=5)
    assert got and got[0] in (0, 1)


def _take(directory: Path) -> int:
    with reading_slot(2, directory) as number:
        return number


def test_a_killed_holder_gives_its_slot_back(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from ocr.slots import reading_slot\n"
            "with reading_slot(1, Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        got: list[int] = []
        waiter = threading.Thread(target=lambda: got.append(_take_one(tmp_path)))
        waiter.start()
        waiter.join(timeout=0.5)
        assert waiter.is_alive(), "the slot held by another process was taken"
        holder.kill()  # a worker dying mid-reading
        waiter.join(timeout=5)
        assert got == [0]
    finally:
        holder.kill()
        holder.wait()


def _take_one(directory: Path) -> int:
    with reading_slot(1, directory) as number:
        return number


def test_zero_slots_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one"), reading_slot(0, tmp_path):
        pass
