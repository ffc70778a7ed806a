"""``expensebot transactions no-receipt``: the command-line twin of the reminder's No receipt… button
(both databases)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import AuditEvent, StatementLine
from tests.transactions.test_transactions_cli import env, match_json, run  # noqa: F401  (env is a fixture)


def _import(tmp_path: Path) -> None:
    statement = tmp_path / "card.csv"
    statement.write_text(
        "id,date,amount,description\nT1,2026-11-02,-40.00,CITY PARKING 12\n"
        "T2,2026-11-03,-120.00,HOTEL LE GRAND\nT3,2026-11-04,-9.00,KIOSK\n"
    )
    result = run(
        "transactions",
        "import",
        str(statement),
        "--account",
        "ana@acme.test",
        "--map",
        "id=id,date=date,amount=amount,description=description",
    )
    assert result.exit_code == 0, result.output


def test_the_card_holder_within_the_threshold_finance_above_it(
    env: sessionmaker[Session],  # noqa: F811
    tmp_path: Path,
) -> None:
    _import(tmp_path)
    assert [r["status"] for r in match_json()] == ["unmatched", "missing_receipt", "unmatched"]

    # the default policy: no receipt needed up to 75.00 USD, so the card holder may say so up to that
    done = run(
        "transactions", "no-receipt", "T1", "--reason", "parking meter, no slip", "--as", "ana@acme.test"
    )
    assert done.exit_code == 0, done.output
    assert "has no receipt (parking meter, no slip)" in done.stdout

    refused = run("transactions", "no-receipt", "T2", "--reason", "lost it", "--as", "ana@acme.test")
    assert refused.exit_code == 2
    assert "needs a receipt for anything above 75.00 USD, and this charge is 120.00 USD" in refused.stderr
    other = run("transactions", "no-receipt", "T3", "--reason", "never given", "--as", "bo@acme.test")
    assert other.exit_code == 2 and "Only the card holder (or finance)" in other.stderr
    short = run("transactions", "no-receipt", "T3", "--reason", "no", "--as", "ana@acme.test")
    assert short.exit_code == 2 and "Say why there is no receipt" in short.stderr
    unknown = run("transactions", "no-receipt", "T9", "--reason", "never given")
    assert unknown.exit_code == 2 and "No statement line has the transaction id 'T9'" in unknown.stderr

    # finance may accept it above the threshold
    accepted = run(
        "transactions", "no-receipt", "T2", "--reason", "receipt lost in a taxi", "--as", "fin@acme.test"
    )
    assert accepted.exit_code == 0, accepted.output
    again = run(
        "transactions", "no-receipt", "T2", "--reason", "receipt lost in a taxi", "--as", "fin@acme.test"
    )
    assert again.exit_code == 2 and "already marked" in again.stderr

    rows = match_json()  # kept by later runs; no reminder is due for them any more
    assert [r["status"] for r in rows] == ["no_receipt", "no_receipt", "unmatched"]
    assert rows[1]["reason"] == "no receipt: receipt lost in a taxi"
    with env() as s:
        events = list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "statement_line.no_receipt")
                .order_by(AuditEvent.id)
            )
        )
        assert [(e.actor, (e.before or {}).get("status"), (e.after or {}).get("reason")) for e in events] == [
            ("ana@acme.test", "unmatched", "parking meter, no slip"),
            ("fin@acme.test", "missing_receipt", "receipt lost in a taxi"),
        ]
        assert all("command line" in (e.detail or "") for e in events)
        line = s.scalars(select(StatementLine).where(StatementLine.transaction_id == "T2")).one()
        assert (line.status, line.decided_by) == ("no_receipt", "fin@acme.test")
