"""The App Home's finance section."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.context import build_context
from bot.payouts import finance_home_blocks
from bot.settings import Settings
from services.payouts import claim_batch
from storage.db import transaction
from tests.finance.conftest import add_expense
from tests.support import ORG_CSV


def _text(blocks: list[dict[str, object]]) -> str:
    return str(blocks)


def test_finance_home_blocks(db_url: str, tmp_path: Path) -> None:
    org = tmp_path / "org.csv"
    org.write_text(ORG_CSV)
    ctx = build_context(Settings(DATABASE_URL=db_url, EXPENSEBOT_ORG_FILE=org, EXPENSEBOT_CURRENCY="USD"))
    today = dt.date.today()
    with transaction(ctx.db) as s:
        add_expense(s, amount="10.00", spent_on=today)
        add_expense(s, amount="5.50", category="travel", spent_on=today)
    with transaction(ctx.db) as s:
        batch = claim_batch(s, "test")
        assert batch is not None
        add_expense(s, amount="7.00", currency="USD", spent_on=today)
        add_expense(
            s, employee="U_OTHER", email="other@example.com", amount="3.00", currency="EUR", spent_on=today
        )
    assert finance_home_blocks(ctx, "emp@example.com") == []
    assert finance_home_blocks(ctx, None) == []
    text = _text(finance_home_blocks(ctx, "fin@example.com"))
    assert "3.00 EUR (1) · 7.00 USD (1) to 2 people" in text
    assert f"Open batches (not yet marked paid):* #{batch.id}" in text
    # The EUR expense has no rate this month: said plainly, not converted 1:1.
    assert "No exchange rate EUR→USD" in text
    admin = _text(finance_home_blocks(ctx, "admin@example.com"))
    assert "Waiting for the next payout batch" in admin
    ctx.engine.dispose()
