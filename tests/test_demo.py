"""`expensebot demo`, the README's first command: the whole flow offline, step by step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_walks_a_receipt_from_upload_to_paid(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPENSEBOT_", "SLACK_"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    steps = ["Mark batch paid", "You have been paid 62.10 USD for EXP-1", "_Paid_", "Done in"]
    positions = [out.find(step) for step in steps]
    assert all(p >= 0 for p in positions), (steps, out[-3000:])
    assert positions == sorted(positions), "the steps are printed in the order they happen"
