"""``expensebot transactions import|match``: the command-line contract of docs/transactions.md, on both databases."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import cli
from storage.db import make_engine, make_sessionmaker, migrate, transaction
from storage.models import AuditEvent, Expense, OutboxMessage, PayoutBatch, SlackUser, StatementLine

FIXTURES = Path(__file__).parent / "fixtures"
KEYS = [
    "transaction_id",
    "account",
    "date",
    "amount",
    "currency",
    "description",
    "status",
    "expense",
    "batch",
    "score",
    "reason",
]

ORG = """email,manager_email,department,role,iban,card_last4
boss@acme.test,,Exec,admin,,
ana@acme.test,boss@acme.test,Sales,employee,DE02120300000000202051,"1234,9999"
bo@acme.test,boss@acme.test,Sales,employee,DE02100500000054540402,5678
fin@acme.test,boss@acme.test,Finance,finance,,
"""


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> sessionmaker[Session]:
    org = tmp_path / "org.csv"
    org.write_text(ORG, encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("EXPENSEBOT_ORG_FILE", str(org))
    monkeypatch.setenv("EXPENSEBOT_CURRENCY", "USD")
    for name in ("EXPENSEBOT_POLICY_FILE", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    migrate(db_url)
    factory = make_sessionmaker(make_engine(db_url))
    with transaction(factory) as s:
        s.add_all(
            [
                SlackUser(user_id="U_ANA", email="ana@acme.test", name="Ana Lopez"),
                SlackUser(user_id="U_BO", email="bo@acme.test", name="Bo Berg"),
            ]
        )
    return factory


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def add_expense(
    factory: sessionmaker[Session],
    *,
    who: str = "ana",
    amount: str,
    merchant: str,
    day: dt.date,
    currency: str = "USD",
    status: str = "draft",
) -> int:
    with transaction(factory) as s:
        exp = Expense(
            status=status,
            employee_id=f"U_{who.upper()}",
            employee_email=f"{who}@acme.test",
            source="dm",
            merchant=merchant,
            spent_on=day,
            amount=Decimal(amount),
            currency=currency,
            category="meals",
            approved_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC) if status == "approved" else None,
        )
        s.add(exp)
        s.flush()
        return exp.id


def match_json(*extra: str) -> list[dict[str, Any]]:
    result = run("transactions", "match", "--json", *extra)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    for row in rows:
        assert list(row) == KEYS
    return rows


def test_import_counts_new_known_and_adds_nothing_twice(env: sessionmaker[Session]) -> None:
    first = run("transactions", "import", str(FIXTURES / "card.ofx"), "--json")
    assert first.exit_code == 0, first.output
    assert {k: json.loads(first.stdout)[k] for k in ("new", "known", "refused")} == {
        "new": 2,
        "known": 0,
        "refused": 0,
    }
    again = run("transactions", "import", str(FIXTURES / "card.ofx"), "--json")
    assert {k: json.loads(again.stdout)[k] for k in ("new", "known", "refused")} == {
        "new": 0,
        "known": 2,
        "refused": 0,
    }
    text = run("transactions", "import", str(FIXTURES / "chase.csv"), "--account", "Chase")
    assert text.exit_code == 0 and "5 new, 0 already known, 0 refused" in text.stdout
    # an overlapping statement: the first three lines again, and one more
    lines = (FIXTURES / "chase.csv").read_text().splitlines()
    overlap = "\n".join([lines[0], *lines[1:4], "11/20/2026,11/21/2026,LYFT *RIDE,Travel,Sale,-9.10,"]) + "\n"
    tmp = FIXTURES.parent / "overlap.csv"
    try:
        tmp.write_text(overlap)
        out = run("transactions", "import", str(tmp), "--account", "Chase", "--json")
    finally:
        tmp.unlink()
    assert {k: json.loads(out.stdout)[k] for k in ("new", "known")} == {"new": 1, "known": 3}
    with env() as s:
        assert s.scalar(select(func.count()).select_from(StatementLine)) == 8
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "statement.imported")))
        assert len(events) == 4 and events[0].after == {**events[0].after, "new": 2, "known": 0}


def test_a_bad_file_is_refused_whole_with_exit_2(env: sessionmaker[Session], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text((FIXTURES / "chase.csv").read_text().replace("-412.30", "four hundred"))
    result = run("transactions", "import", str(bad), "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["refused"] == 1 and json.loads(result.stdout)["new"] == 0
    assert "line 5: 'four hundred' is not an amount" in result.stderr
    cut = tmp_path / "cut.xml"
    cut.write_bytes((FIXTURES / "company.camt053.xml").read_bytes()[:1200])
    result = run("transactions", "import", str(cut))
    assert result.exit_code == 2 and "the XML is malformed or cut short" in result.stderr
    with env() as s:
        assert s.scalar(select(func.count()).select_from(StatementLine)) == 0


def test_an_ofx_of_another_account_is_refused(env: sessionmaker[Session]) -> None:
    assert (
        run("transactions", "import", str(FIXTURES / "card.ofx"), "--account", "Corporate card").exit_code
        == 0
    )
    result = run("transactions", "import", str(FIXTURES / "card_v2.qfx"), "--account", "Corporate card")
    assert result.exit_code == 2
    assert "XXXXXXXXXXXX5678" in result.stderr and "4111111111111234" in result.stderr
    # without --account the same file is its own account, and known lines stay known
    assert run("transactions", "import", str(FIXTURES / "card.ofx"), "--json").stdout.startswith(
        '{"new": 0, "known": 2'
    )


def test_match_links_suggests_and_reports_missing_receipts(
    env: sessionmaker[Session], tmp_path: Path
) -> None:
    coffee = add_expense(env, amount="12.50", merchant="Blue Bottle Coffee", day=dt.date(2026, 11, 2))
    dinner = add_expense(env, who="bo", amount="40.00", merchant="Zuni Café", day=dt.date(2026, 11, 10))
    hotel = add_expense(
        env,
        who="bo",
        amount="98.00",
        currency="EUR",
        merchant="Hotel Lutetia",
        day=dt.date(2026, 11, 18),
        status="pending",
    )
    add_expense(
        env, amount="500.00", merchant="Blue Bottle Coffee", day=dt.date(2026, 11, 2), status="discarded"
    )
    csv = tmp_path / "card.csv"
    csv.write_text(
        "Date,Payee,Amount,Card\n2026-11-04,SQ *BLUE BOTTLE 0423 OAKLAND CA,-12.50,XXXX1234\n"
        "2026-11-12,TST* ZUNI CAFE SAN FRANCISCO,-48.20,XXXX5678\n"
        "2026-11-19,HOTEL LUTETIA PARIS,-113.40,XXXX5678\n"
        "2026-11-20,DELTA AIR LINES,-412.30,XXXX1234\n2026-11-21,PARKING METER,-4.00,XXXX1234\n"
        "2026-11-22,SQ *BLUE BOTTLE OAKLAND,12.50,XXXX1234\n"
    )
    spec = "date=Date,amount=Amount,description=Payee,card=Card"
    assert run("transactions", "import", str(csv), "--map", spec, "--account", "Company cards").exit_code == 0
    with transaction(env) as s:  # a rate for the EUR receipt
        from storage.models import FxRate

        s.add(FxRate(base="EUR", quote="USD", day=dt.date(2026, 11, 18), rate=Decimal("1.16")))
    dry = match_json("--dry-run")
    by_desc = {row["description"]: row for row in dry}
    assert by_desc["SQ *BLUE BOTTLE 0423 OAKLAND CA"]["status"] == "matched"
    assert by_desc["SQ *BLUE BOTTLE 0423 OAKLAND CA"]["expense"] == f"EXP-{coffee}"
    assert by_desc["SQ *BLUE BOTTLE 0423 OAKLAND CA"]["amount"] == "-12.50"
    assert by_desc["SQ *BLUE BOTTLE 0423 OAKLAND CA"]["date"] == "2026-11-04"
    tip = by_desc["TST* ZUNI CAFE SAN FRANCISCO"]
    # a tip of 20.5 % added after the receipt, at the receipt's restaurant: linked
    assert (tip["status"], tip["expense"]) == ("matched", f"EXP-{dinner}") and "a tip of 21%" in tip["reason"]
    fx = by_desc["HOTEL LUTETIA PARIS"]
    assert (fx["status"], fx["expense"]) == ("matched", f"EXP-{hotel}")
    assert by_desc["DELTA AIR LINES"]["status"] == "missing_receipt"  # above the 75 USD receipt threshold
    assert by_desc["PARKING METER"]["status"] == "unmatched"  # the policy needs no receipt for 4 USD
    refund = by_desc["SQ *BLUE BOTTLE OAKLAND"]
    assert (refund["status"], refund["expense"], refund["amount"]) == ("matched", f"EXP-{coffee}", "12.50")
    assert all(0 <= row["score"] <= 1 for row in dry)
    with env() as s:  # a dry run stores nothing
        assert set(s.scalars(select(StatementLine.status))) == {"unmatched"}
    stored = match_json()
    assert [(r["status"], r["expense"]) for r in stored] == [(r["status"], r["expense"]) for r in dry]
    with env() as s:
        linked = s.scalar(select(StatementLine).where(StatementLine.description == "HOTEL LUTETIA PARIS"))
        assert linked is not None and linked.expense_id == hotel and linked.status == "matched"
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "statement_line.matched")
            )
            == 4
        )  # coffee, dinner, hotel, refund
    # links stay as they are on the next run
    assert [(r["status"], r["expense"]) for r in match_json()] == [(r["status"], r["expense"]) for r in dry]


def test_a_company_card_expense_is_paid_by_card_and_never_batched(
    env: sessionmaker[Session], tmp_path: Path
) -> None:
    from services.payouts import claim_batch

    on_card = add_expense(
        env, amount="12.50", merchant="Blue Bottle", day=dt.date(2026, 11, 2), status="approved"
    )
    out_of_pocket = add_expense(
        env, amount="30.00", merchant="Taxi", day=dt.date(2026, 11, 2), status="approved"
    )
    csv = tmp_path / "card.csv"
    csv.write_text("date,amount,description,card\n2026-11-03,-12.50,SQ *BLUE BOTTLE,1234\n")
    assert (
        run(
            "transactions",
            "import",
            str(csv),
            "--map",
            "date=date,amount=amount,description=description,card=card",
        ).exit_code
        == 0
    )
    assert [r["status"] for r in match_json()] == ["matched"]
    with transaction(env) as s:
        batch = claim_batch(s, "test")
        assert batch is not None
        batch_id = batch.id
    with env() as s:
        card_exp = s.get(Expense, on_card)
        assert card_exp is not None and card_exp.status == "paid" and card_exp.payout_batch_id is None
        assert "company card" in (card_exp.ocr or {}).get("status_detail", "")
        other = s.get(Expense, out_of_pocket)
        assert other is not None and other.payout_batch_id == batch_id
        assert (
            s.scalar(
                select(AuditEvent.action).where(
                    AuditEvent.entity_id == str(on_card), AuditEvent.action == "expense.paid_by_card"
                )
            )
            is not None
        )


def _camt_from_pain(pain: bytes, booked: str = "2026-11-20") -> bytes:
    """A bank's CAMT.053 for the credit transfers of a pain.001 file: one entry per transfer."""
    import xml.etree.ElementTree as ET

    ns = {"p": re.search(rb'xmlns="([^"]+)"', pain).group(1).decode()}  # type: ignore[union-attr]
    root = ET.fromstring(pain)
    debtor_iban = root.find(".//p:DbtrAcct/p:Id/p:IBAN", ns).text  # type: ignore[union-attr]
    entries = []
    for n, tx in enumerate(root.iterfind(".//p:CdtTrfTxInf", ns), start=1):
        amount = tx.find("p:Amt/p:InstdAmt", ns).text  # type: ignore[union-attr]
        e2e = tx.find("p:PmtId/p:EndToEndId", ns).text  # type: ignore[union-attr]
        name = tx.find("p:Cdtr/p:Nm", ns).text  # type: ignore[union-attr]
        iban = tx.find("p:CdtrAcct/p:Id/p:IBAN", ns).text  # type: ignore[union-attr]
        info = tx.find("p:RmtInf/p:Ustrd", ns).text  # type: ignore[union-attr]
        entries.append(f"""<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>{booked}</Dt></BookgDt><ValDt><Dt>{booked}</Dt></ValDt><AcctSvcrRef>BANK-{n:05d}</AcctSvcrRef>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
<NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs><RltdPties><Cdtr><Nm>{name}</Nm></Cdtr>
<CdtrAcct><Id><IBAN>{iban}</IBAN></Id></CdtrAcct></RltdPties><RmtInf><Ustrd>{info}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>STMT-1</MsgId><CreDtTm>{booked}T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>STMT-1</Id><CreDtTm>{booked}T18:00:00</CreDtTm><Acct><Id><IBAN>{debtor_iban}</IBAN></Id></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Dt><Dt>{booked}</Dt></Dt></Bal>
{"".join(entries)}</Stmt></BkToCstmrStmt></Document>""".encode()


def test_a_payout_batch_is_reconciled_from_a_camt053_of_its_own_pain001(
    env: sessionmaker[Session], tmp_path: Path
) -> None:
    from services.payouts import claim_batch

    ana = [
        add_expense(
            env, amount=a, currency="EUR", merchant="Taxi", day=dt.date(2026, 11, 2), status="approved"
        )
        for a in ("42.50", "19.99")
    ]
    bo = add_expense(
        env,
        who="bo",
        amount="80.00",
        currency="EUR",
        merchant="Train",
        day=dt.date(2026, 11, 2),
        status="approved",
    )
    with transaction(env) as s:
        batch = claim_batch(s, "test")
        assert batch is not None
        batch_id = batch.id
    pain = tmp_path / "pain.xml"
    result = run(
        "export",
        "--batch",
        str(batch_id),
        "--format",
        "sepa",
        "--out",
        str(pain),
        "--debtor-name",
        "Acme",
        "--debtor-iban",
        "DE89370400440532013000",
    )
    assert result.exit_code == 0, result.output
    camt = tmp_path / "camt.xml"
    camt.write_bytes(_camt_from_pain(pain.read_bytes()))
    imported = run("transactions", "import", str(camt), "--json")
    assert json.loads(imported.stdout)["new"] == 2, imported.output
    rows = match_json()
    assert [(r["status"], r["batch"], r["amount"]) for r in rows] == [
        ("reconciled", batch_id, "-62.49"),
        ("reconciled", batch_id, "-80.00"),
    ]
    assert "end-to-end id EB" in rows[0]["reason"]
    with env() as s:
        for exp_id in [*ana, bo]:
            exp = s.get(Expense, exp_id)
            assert exp is not None and exp.status == "paid"
        paid_batch = s.get(PayoutBatch, batch_id)
        assert paid_batch is not None and paid_batch.status == "paid"
        dms = [m.payload for m in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "dm"))]
        assert sorted(d["user_id"] for d in dms) == ["U_ANA", "U_BO"]
        assert all("paid" in d["text"] for d in dms)
        assert (
            s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "expense.paid"))
            == 3
        )
    # finance's own button now finds the batch paid; nothing is paid or told twice
    again = match_json()
    assert [r["status"] for r in again] == ["reconciled", "reconciled"]
    with env() as s:
        assert (
            s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "dm")) == 2
        )


def test_a_camt054_card_line_belongs_to_the_card_holder(env: sessionmaker[Session], tmp_path: Path) -> None:
    org = tmp_path / "org.csv"
    org.write_text(ORG.replace('"1234,9999"', '"1234,4321"'), encoding="utf-8")
    cafe = add_expense(
        env, amount="23.80", currency="EUR", merchant="Café de Flore", day=dt.date(2026, 11, 8)
    )
    add_expense(
        env, who="bo", amount="23.80", currency="EUR", merchant="Café de Flore", day=dt.date(2026, 11, 8)
    )
    assert run("transactions", "import", str(FIXTURES / "card.camt054.xml")).exit_code == 0
    (row,) = match_json()
    assert (row["status"], row["expense"], row["transaction_id"]) == (
        "matched",
        f"EXP-{cafe}",
        "C20261109-01",
    )


def test_near_match_answers_are_stored_and_kept(env: sessionmaker[Session], tmp_path: Path) -> None:
    from storage.reconcile import decide_suggestion

    dinner = add_expense(
        env, amount="40.00", merchant="Zuni Café", day=dt.date(2026, 11, 10), status="approved"
    )
    lunch = add_expense(env, amount="20.00", merchant="Zuni Café", day=dt.date(2026, 11, 20))
    csv = tmp_path / "card.csv"
    # a little above each receipt (a surcharge, or a misread total?): offered, not linked
    csv.write_text(
        "date,amount,description,card\n2026-11-11,-41.00,TST* ZUNI CAFE,1234\n"
        "2026-11-21,-20.50,TST* ZUNI CAFE,1234\n"
    )
    assert run("transactions", "import", str(csv)).exit_code == 0
    rows = match_json()
    assert [(r["status"], r["expense"]) for r in rows] == [
        ("suggested", f"EXP-{dinner}"),
        ("suggested", f"EXP-{lunch}"),
    ]
    with env() as s:
        line_ids = list(s.scalars(select(StatementLine.id).order_by(StatementLine.id)))
        questions = list(
            s.scalars(select(OutboxMessage).where(OutboxMessage.dedup_key.like("txn_suggest:%")))
        )
        assert len(questions) == 2 and "Not this one" in json.dumps(questions[0].payload)
    assert (
        decide_suggestion(
            env, line_ids[0], dinner, confirm=True, user_id="U_BO", may_decide_for_others=False
        )[0]
        is False
    )
    ok, message = decide_suggestion(
        env, line_ids[0], dinner, confirm=True, user_id="U_ANA", may_decide_for_others=False
    )
    assert ok and "Linked" in message
    ok, message = decide_suggestion(
        env, line_ids[1], lunch, confirm=False, user_id="U_ANA", may_decide_for_others=False
    )
    assert ok and "will not offer it again" in message
    assert (
        decide_suggestion(
            env, line_ids[1], lunch, confirm=True, user_id="U_ANA", may_decide_for_others=False
        )[0]
        is False
    )
    rows = match_json()
    assert [(r["status"], r["expense"]) for r in rows] == [("matched", f"EXP-{dinner}"), ("unmatched", None)]
    with env() as s:
        paid = s.get(Expense, dinner)
        assert paid is not None and paid.status == "paid"  # approved and paid with the company card
        actions = set(s.scalars(select(AuditEvent.action)))
        assert {"statement_line.matched", "statement_line.not_this_one", "expense.paid_by_card"} <= actions


def test_app_home_lists_my_charges_without_receipt_and_finance_open_items(
    env: sessionmaker[Session], tmp_path: Path, db_url: str
) -> None:
    from bot.context import build_context
    from bot.home import home_view, statement_blocks
    from bot.settings import Settings
    from services.payouts import claim_batch

    dinner = add_expense(env, amount="40.00", merchant="Zuni Café", day=dt.date(2026, 11, 10))
    add_expense(
        env,
        who="bo",
        amount="30.00",
        currency="EUR",
        merchant="Taxi",
        day=dt.date(2026, 11, 2),
        status="approved",
    )
    with transaction(env) as s:
        batch = claim_batch(s, "test")
        assert batch is not None
        batch_id = batch.id
    csv = tmp_path / "card.csv"
    csv.write_text(
        "date,amount,description,card\n2026-11-11,-41.00,TST* ZUNI CAFE,1234\n"
        "2026-11-20,-412.30,DELTA AIR LINES,1234\n"
    )
    assert run("transactions", "import", str(csv)).exit_code == 0
    match_json()
    ctx = build_context(
        Settings(DATABASE_URL=db_url, EXPENSEBOT_ORG_FILE=tmp_path / "org.csv", EXPENSEBOT_CURRENCY="USD")
    )
    try:
        mine = str(statement_blocks(ctx, "ana@acme.test", finance=False))
        assert "DELTA AIR LINES" in mine and "no receipt yet" in mine
        assert f"is it EXP-{dinner}?" in mine
        assert "Statements (finance)" not in mine
        assert statement_blocks(ctx, "bo@acme.test", finance=False) == []
        finance = str(statement_blocks(ctx, "fin@acme.test", finance=True))
        assert "1 missing a receipt, 1 offered" in finance and f"#{batch_id}" in finance
        assert "My card charges without a receipt" in str(home_view(ctx, "U_ANA", "ana@acme.test"))
    finally:
        ctx.engine.dispose()


def test_missing_receipts_reminded_once_each_and_in_a_weekly_digest(
    env: sessionmaker[Session], tmp_path: Path
) -> None:
    csv = tmp_path / "card.csv"
    csv.write_text(
        "date,amount,description,card\n2026-11-20,-412.30,DELTA AIR LINES,1234\n"
        "2026-11-21,-180.00,MARRIOTT SEATTLE WA,1234\n2026-11-21,-4.00,PARKING,1234\n"
    )
    assert run("transactions", "import", str(csv)).exit_code == 0
    match_json()
    match_json()  # a second run repeats nothing
    with env() as s:
        dms = [m for m in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "dm"))]
    reminders = [m for m in dms if m.dedup_key.startswith("missing_receipt:")]
    digests = [m for m in dms if m.dedup_key.startswith("missing_digest:")]
    assert len(reminders) == 2 and all(m.payload["email"] == "ana@acme.test" for m in reminders)
    assert "412.30 USD at DELTA AIR LINES on 2026-11-20" in reminders[0].payload["text"]
    (digest,) = digests
    assert "(2)" in digest.payload["text"] and "MARRIOTT" in digest.payload["text"]
    assert "PARKING" not in digest.payload["text"]  # no receipt needed for 4 USD
