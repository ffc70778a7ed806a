"""`expensebot perdiem quote` and `rates list|import|clear` on a SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'perdiem.db'}")
    monkeypatch.setenv("EXPENSEBOT_CURRENCY", "EUR")
    monkeypatch.delenv("EXPENSEBOT_PER_DIEM_RATES", raising=False)
    return tmp_path


def test_quote_lists_the_days_and_the_source(env: Path) -> None:
    result = CliRunner().invoke(
        cli, ["perdiem", "quote", "Kopenhagen", "2026-03-02", "2026-03-04", "meals:", "all=breakfast"]
    )
    assert result.exit_code == 0, result.output
    assert "Per diem for Denmark: 130.00 EUR" in result.output  # 35 + 60 + 35
    assert "Mon 02 Mar: first day 50.00 EUR − breakfast 15.00 EUR = 35.00 EUR" in result.output
    assert "BMF-Schreiben vom 5.12.2025" in result.output
    bad = CliRunner().invoke(cli, ["perdiem", "quote", "Atlantis", "2026-03-02"])
    assert bad.exit_code == 1 and "say how many hours" in bad.output


def test_company_table_import_list_and_clear(env: Path) -> None:
    rates = env / "rates.csv"
    rates.write_text(
        "destination,currency,full_day,partial_day,breakfast,lunch,dinner\nParis,EUR,70,50,10,20,20\n"
    )
    runner = CliRunner()
    imported = runner.invoke(cli, ["perdiem", "rates", "import", str(rates)])
    assert imported.exit_code == 0 and "1 destinations in EUR (replacing 0)" in imported.output
    listed = runner.invoke(cli, ["perdiem", "rates", "list", "--places"])
    assert "Company per diem rates (EUR, any date, 1 places)" in listed.output
    assert "Paris: full day 70.00 EUR, first/last day 50.00 EUR" in listed.output
    quote = runner.invoke(cli, ["perdiem", "quote", "Paris,", "France", "2026-03-02", "2026-03-03"])
    assert "Per diem for Paris: 100.00 EUR" in quote.output  # the company's 50 + 50, not the BMF's
    rates.write_text(
        "destination,currency,full_day,partial_day,breakfast,lunch,dinner\nParis,EUR,70,90,10,20,20\n"
    )
    refused = runner.invoke(cli, ["perdiem", "rates", "import", str(rates)])
    assert refused.exit_code == 1 and "line 2: partial_day is more than full_day" in refused.output
    assert "Paris: full day 70.00 EUR" in runner.invoke(cli, ["perdiem", "rates", "list", "--places"]).output
    cleared = runner.invoke(cli, ["perdiem", "rates", "clear"])
    assert "Removed the company's per diem table (1 destinations)" in cleared.output
    assert "Company table: none" in runner.invoke(cli, ["perdiem", "rates", "list"]).output
