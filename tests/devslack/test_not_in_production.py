"""The stand-in is not part of the running app: serving, the workers and every command but
``demo`` work without loading it. (import-linter checks the imports it can see; this checks what
Python actually loads, lazy imports and ``importlib`` included.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, sys
import bot.web, bot.jobs, bot.delivery, bot.wiring
from bot.cli import LAZY_COMMANDS
for target in LAZY_COMMANDS.values():
    importlib.import_module(target.partition(":")[0])
bot.wiring.wire()  # every job and sender registered
assert bot.jobs.registry()
loaded = sorted(m for m in sys.modules if m == "devslack" or m.startswith("devslack."))
print(",".join(loaded) or "none")
"""


def test_the_app_and_its_commands_never_load_devslack() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "none"


def test_the_demo_is_the_one_command_that_does() -> None:
    probe = "import sys, bot.demo; print('devslack' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
