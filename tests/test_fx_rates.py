"""Exchange rates: `expensebot fx import`, and claims in another currency than the company's."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from sqlalchemy import func, select

from storage.db import make_engine, make_sessionmaker
from storage.models import FxRate
from tests.support import EMPLOYEE, MANAGER, cafe_receipt, recent_day, running_app


def test_fx_import_and_conversion_at_submit(tmp_path: Path, sqlite_url: str) -> None:
    spent = recent_day()  # the receipt's date; a rate is used up to 7 days after its own
    day, day_before = spent.isoformat(), (spent - dt.timedelta(days=1)).isoformat()
    with running_app(tmp_path, database_url=sqlite_url, extra_env={"EXPENSEBOT_CURRENCY": "EUR"}) as app:
        bad = tmp_path / "bad.csv"
        bad.write_text(f"date,from,to,rate\n{day_before},USD,EUR,0.93\n{day},USD,EUR,abc\n")
        result = app.cli("fx", "import", str(bad), check=False)
        assert result.returncode != 0 and "bad.csv line 3" in result.stderr

        app.upload(EMPLOYEE, cafe_receipt("42.50"))
        card = app.wait_card(EMPLOYEE)
        assert "42.50 USD" in str(card.blocks)  # the receipt keeps its own currency
        before = len(app.slack.response_url_posts)
        app.driver.click(EMPLOYEE, card, "Submit")
        deadline = time.monotonic() + 60  # a generous wait for the app, not a speed check
        while len(app.slack.response_url_posts) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        refusal = str(app.slack.response_url_posts[-1].body.get("text"))
        assert "USD" in refusal and "EUR" in refusal and "fx import" in refusal  # never a silent 1:1

        good = tmp_path / "rates.csv"
        good.write_text(f"date,from,to,rate\n{day_before},USD,EUR,0.92\n{day},USD,EUR,0.93\n")
        assert "2 rates imported" in app.cli("fx", "import", str(good)).stdout
        good.write_text(f"date,from,to,rate\n{day},USD,EUR,0.94\n")
        app.cli("fx", "import", str(good))
        engine = make_engine(sqlite_url)
        with make_sessionmaker(engine)() as session:
            assert session.scalar(select(func.count()).select_from(FxRate)) == 2  # updated, not duplicated
        engine.dispose()

        app.driver.click(EMPLOYEE, card, "Submit")
        request = app.wait_card(MANAGER, contains="Approve")
        assert "42.50 USD" in str(request.blocks)
