"""Card-matching benchmark: a generated company's year of card charges matched to its receipts.

A company of 200 cardholders spends for one year: about 30,000 card charges with the
descriptors card networks print (``SQ *BLUE BOTTLE 0423 OAKLAND CA``, ``TST* ...``,
``UBER *TRIP HELP.UBER.COM CA``, airline ticket numbers, ``AMZN MKTP US*2K4LL1``), booked 0-6
days after the purchase; restaurant tips added after the receipt was printed; purchases abroad
in EUR/GBP/JPY charged in USD at the day's rate plus a 0-3 % card fee (the statement prints the
original amount for half of them); refunds; monthly subscriptions; duplicate charges; and
purchases nobody sent a receipt for.

Receipts are what the product reads: the merchant header as printed (its own spelling, not the
descriptor), date and total, with the reading errors measured for the OCR on the 150 dev
receipts (docs/ocr.md: totals 98.0 %, dates 99.3 %, merchants 90.0 % right); a wrong total is
corrected by the employee on the receipt card in 4 of 5 cases (the card asks when the reading's
confidence is low), a wrong date or merchant is left as read. Rendering 30,000 images and
reading them would take hours on this machine, so the readings are simulated with those rates.

The statement is written as a CSV and imported with the product's importer; the receipts are
stored as expenses (drafts, pending, approved); ``transactions match`` runs on the whole year.
Figures: of the charges with a receipt, linked to the right one / linked wrongly / offered
(suggested) / reported missing; of the charges without a receipt, linked wrongly / missing or
unmatched. Duplicated charges count as right when either one is linked.

Seeds: ``--split tune`` (seed 1) is what the matcher was tuned on; ``--split report`` (seed 2,
the default) is held out and gives the published figures.

    .venv/bin/python benchmarks/card_match.py                         # report split, SQLite
    .venv/bin/python benchmarks/card_match.py --database-url postgresql+psycopg://...   # an empty database
    .venv/bin/python benchmarks/card_match.py --import-only camt053   # time importing it as CAMT.053
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from storage.db import make_engine, make_sessionmaker, migrate, transaction
from storage.models import Expense, SlackUser
from storage.reconcile import run_match
from storage.statements import import_statement
from workflows.directory import Directory, Person, Role
from workflows.policy import default_policy

SPLITS = {"tune": 1, "report": 2}
# How often the reader gets a receipt's total, date and merchant wrong (eval-ocr, README "Receipt
# reading"): "dev" on the receipts it was developed on (sroie-dev, the figures the matcher was
# tuned with), "sroie-val" on receipts it never saw (2026-12-07, model 2026-12-07.2: totals 88.5 %,
# dates 93.5 %, merchants 66.5 % right). A wrong total is flagged on the card and corrected by the
# employee in 4 of 5 cases either way.
READINGS = {
    "dev": (Decimal("0.020"), Decimal("0.007"), Decimal("0.10")),
    "sroie-val": (Decimal("0.115"), Decimal("0.065"), Decimal("0.335")),
}
YEAR = 2026
CENT = Decimal("0.01")

# (receipt header, descriptor pattern, low, high, kind); {n} store number, {c} city, {t} ticket
MERCHANTS: list[tuple[str, str, int, int, str]] = [
    ("Blue Bottle Coffee", "SQ *BLUE BOTTLE {n} {c}", 4, 14, "coffee"),
    ("Starbucks", "STARBUCKS STORE {n} {c}", 3, 12, "coffee"),
    ("Philz Coffee", "PHILZ COFFEE {n} {c}", 4, 11, "coffee"),
    ("Peet's Coffee", "PEETS {n} {c}", 3, 10, "coffee"),
    ("Zuni Café", "TST* ZUNI CAFE {c}", 35, 140, "restaurant"),
    ("Nopa", "TST* NOPA {c}", 40, 160, "restaurant"),
    ("The Slanted Door", "SLANTED DOOR {c}", 45, 220, "restaurant"),
    ("Chipotle Mexican Grill", "CHIPOTLE {n} {c}", 9, 18, "lunch"),
    ("Sweetgreen", "SWEETGREEN {c}", 11, 19, "lunch"),
    ("Panera Bread", "PANERA BREAD #{n} {c}", 9, 22, "lunch"),
    ("Shake Shack", "SHAKE SHACK {n} {c}", 10, 35, "lunch"),
    ("Olive Garden", "OLIVE GARDEN {n} {c}", 30, 120, "restaurant"),
    ("Uber", "UBER *TRIP HELP.UBER.COM CA", 8, 65, "ride"),
    ("Lyft", "LYFT *RIDE {d} {c}", 8, 60, "ride"),
    ("Yellow Cab Co", "YELLOW CAB {n} {c}", 12, 70, "ride"),
    ("Delta Air Lines", "DELTA AIR {t}", 180, 900, "air"),
    ("United Airlines", "UNITED {t}", 160, 950, "air"),
    ("Southwest Airlines", "SOUTHWES {t}", 90, 500, "air"),
    ("Alaska Airlines", "ALASKA AIR {t}", 110, 600, "air"),
    ("Marriott", "MARRIOTT {c}", 180, 900, "hotel"),
    ("Hilton Garden Inn", "HILTON GARDEN INN {c}", 150, 700, "hotel"),
    ("Hyatt Regency", "HYATT REGENCY {c}", 200, 1000, "hotel"),
    ("Holiday Inn Express", "HOLIDAY INN EXP {c}", 120, 450, "hotel"),
    ("Hertz", "HERTZ RENT-A-CAR {c}", 90, 600, "car"),
    ("Enterprise Rent-A-Car", "ENTERPRISE RENT-A-CAR {c}", 80, 550, "car"),
    ("Shell", "SHELL OIL {n} {c}", 30, 90, "fuel"),
    ("Chevron", "CHEVRON {n} {c}", 30, 95, "fuel"),
    ("Office Depot", "OFFICE DEPOT #{n} {c}", 8, 250, "office"),
    ("Staples", "STAPLES {n} {c}", 8, 240, "office"),
    ("Amazon", "AMZN MKTP US*{r}", 9, 300, "office"),
    ("Best Buy", "BEST BUY {n} {c}", 20, 900, "office"),
    ("FedEx Office", "FEDEX OFFIC{n} {c}", 6, 120, "office"),
    ("Walgreens", "WALGREENS #{n} {c}", 4, 40, "office"),
    ("CVS Pharmacy", "CVS/PHARMACY #{n} {c}", 4, 40, "office"),
    ("Whole Foods Market", "WHOLEFDS {c3} {n}", 8, 90, "lunch"),
    ("Trader Joe's", "TRADER JOE S #{n} {c}", 8, 80, "lunch"),
    ("Apple Store", "APPLE STORE #R{n} {c}", 19, 1500, "office"),
    ("Parking Concepts", "PARKING CONCEPTS {n} {c}", 6, 45, "parking"),
    ("SFO Parking", "SFO PARKING {c}", 20, 120, "parking"),
    ("WeWork", "WEWORK {t}", 45, 600, "office"),
]
SUBSCRIPTIONS: list[tuple[str, str, Decimal]] = [
    ("Zoom", "ZOOM.US 888-799-9666 CA", Decimal("15.99")),
    ("Slack Technologies", "SLACK T0123ABC DUBLIN", Decimal("8.75")),
    ("Adobe", "ADOBE *CREATIVE CLD 800-833-6687 CA", Decimal("54.99")),
    ("GitHub", "GITHUB, INC. SAN FRANCISCO CA", Decimal("21.00")),
    ("Dropbox", "DROPBOX*ABCD12EF34 SAN FRANCISCO CA", Decimal("19.99")),
    ("LinkedIn", "LINKEDIN PRE *1234567 LINKEDIN.COM CA", Decimal("39.99")),
    ("Notion Labs", "NOTION LABS, INC. NOTION.SO CA", Decimal("10.00")),
    ("Figma", "FIGMA MONTHLY FIGMA.COM CA", Decimal("15.00")),
]
ABROAD: list[tuple[str, str, str, int, int, Decimal]] = [
    ("Hotel Lutetia", "HOTEL LUTETIA PARIS", "EUR", 250, 900, Decimal("1.08")),
    ("Café de Flore", "CAFE DE FLORE PARIS", "EUR", 8, 60, Decimal("1.08")),
    ("Deutsche Bahn", "DB VERTRIEB GMBH FRANKFURT", "EUR", 30, 180, Decimal("1.08")),
    ("Pret A Manger", "PRET A MANGER LONDON", "GBP", 5, 18, Decimal("1.27")),
    ("The Savoy", "THE SAVOY HOTEL LONDON", "GBP", 300, 1200, Decimal("1.27")),
    ("Transport for London", "TFL TRAVEL CH TFL.GOV.UK/CP", "GBP", 3, 40, Decimal("1.27")),
    ("Ichiran Ramen", "ICHIRAN SHIBUYA TOKYO", "JPY", 980, 3500, Decimal("0.0067")),
]
CITIES = [
    "OAKLAND CA",
    "SAN FRANCISCO CA",
    "PALO ALTO CA",
    "SEATTLE WA",
    "NEW YORK NY",
    "CHICAGO IL",
    "AUSTIN TX",
    "BOSTON MA",
    "DENVER CO",
    "PORTLAND OR",
]


@dataclass
class Charge:
    booked: dt.date
    amount: Decimal  # signed
    currency: str
    text: str
    card: str
    original: tuple[Decimal, str] | None
    receipt: int | None  # the true receipt (expense number in generation order)
    duplicate_of: int | None = None  # index of the charge this one duplicates
    tip: bool = False  # a tip added after the receipt was printed


@dataclass
class Receipt:
    employee: int
    merchant: str
    day: dt.date
    total: Decimal
    currency: str
    status: str


def money(value: float | Decimal, currency: str = "USD") -> Decimal:
    exp = Decimal(1) if currency == "JPY" else CENT
    return Decimal(str(value)).quantize(exp, rounding=ROUND_HALF_UP)


def misread(text: str, rng: random.Random) -> str:
    """A merchant header as OCR gets it wrong: a character swapped, dropped or a word lost."""
    choice = rng.random()
    if choice < 0.4 and len(text) > 4:
        i = rng.randrange(len(text))
        return text[:i] + rng.choice("IlO0S5B8E") + text[i + 1 :]
    if choice < 0.7 and len(text) > 4:
        i = rng.randrange(len(text))
        return text[:i] + text[i + 1 :]
    words = text.split()
    return " ".join(words[:-1]) if len(words) > 1 else text.upper()


def generate(
    seed: int, holders: int = 200, per_holder: int = 150, reading: str = "dev"
) -> tuple[list[str], list[str], list[Charge], list[Receipt]]:
    rng = random.Random(seed)
    total_wrong, date_wrong, merchant_wrong = (float(x) for x in READINGS[reading])
    cards = rng.sample(range(1000, 10000), holders)
    emails = [f"cardholder{i:03d}@acme.test" for i in range(holders)]
    charges: list[Charge] = []
    receipts: list[Receipt] = []
    start = dt.date(YEAR, 1, 1)

    def receipt_for(emp: int, merchant: str, day: dt.date, total: Decimal, currency: str) -> int | None:
        if rng.random() < 0.10:  # nobody sent the receipt
            return None
        read_total, read_day, read_merchant = total, day, merchant
        if rng.random() < total_wrong and rng.random() < 0.2:  # a wrong total left uncorrected
            read_total = total + rng.choice([CENT * 9, -CENT * 9, total * 9, Decimal(1)])
            read_total = money(abs(read_total), currency)
        if rng.random() < date_wrong:
            read_day = day + dt.timedelta(days=rng.choice([-30, 30, -1, 1, 365]))
        if rng.random() < merchant_wrong:
            read_merchant = misread(merchant, rng)
        status = rng.choices(["draft", "pending", "approved", "paid"], [10, 15, 35, 40])[0]
        receipts.append(Receipt(emp, read_merchant, read_day, read_total, currency, status))
        return len(receipts) - 1

    def lag() -> int:
        return rng.choices([0, 1, 2, 3, 4, 5, 6], [20, 40, 20, 10, 5, 3, 2])[0]

    for emp in range(holders):
        card = f"XXXX{cards[emp]}"
        city = rng.choice(CITIES)
        subs = rng.sample(SUBSCRIPTIONS, rng.choice([0, 0, 1, 1, 2]))
        for name, text, price in subs:
            day0 = rng.randrange(1, 28)
            for month in range(1, 13):
                day = dt.date(YEAR, month, day0)
                rid = receipt_for(emp, name, day, price, "USD")
                charges.append(
                    Charge(
                        day + dt.timedelta(days=rng.choice([0, 0, 1])), -price, "USD", text, card, None, rid
                    )
                )
        count = per_holder - 12 * len(subs)
        for _ in range(count):
            day = start + dt.timedelta(days=rng.randrange(358))
            if rng.random() < 0.06:  # abroad
                name, text, cur, low, high, rate = rng.choice(ABROAD)
                total = money(rng.uniform(low, high), cur)
                fee = Decimal(1) + Decimal(rng.choice([0, 0, 1, 2, 3])) / 100
                usd = money(total * rate * fee * Decimal(str(rng.uniform(0.99, 1.01))))
                rid = receipt_for(emp, name, day, total, cur)
                original = (-total, cur) if rng.random() < 0.5 else None
                charges.append(Charge(day + dt.timedelta(days=lag()), -usd, "USD", text, card, original, rid))
                continue
            name, pattern, low, high, kind = rng.choice(MERCHANTS)
            total = money(rng.uniform(low, high) if rng.random() < 0.8 else round(rng.uniform(low, high)))
            text = pattern.format(
                n=f"{rng.randrange(10000):04d}",
                c=city,
                c3=city[:3],
                t=f"{rng.randrange(10**12):013d}",
                r=f"{rng.randrange(36**6):06X}",
                d=f"{rng.randrange(10**6):06d}",
            )
            charged = total
            tip = kind == "restaurant" and rng.random() < 0.3  # on the signed copy for the rest
            if tip:  # tip added after the receipt was printed
                charged = money(total * Decimal(str(rng.choice([1.15, 1.18, 1.2, 1.22]))))
            booked_day = day + dt.timedelta(
                days=lag() + (rng.randrange(0, 3) if kind in ("hotel", "car") else 0)
            )
            rid = receipt_for(emp, name, day, total, "USD")
            charges.append(Charge(booked_day, -charged, "USD", text, card, None, rid, tip=tip))
            if rng.random() < 0.005:  # the merchant charged twice
                charges.append(Charge(booked_day, -charged, "USD", text, card, None, rid, len(charges) - 1))
            if rng.random() < 0.02 and rid is not None:  # a refund, whole or part
                part = charged if rng.random() < 0.6 else money(charged * Decimal("0.3"))
                charges.append(
                    Charge(
                        booked_day + dt.timedelta(days=rng.randrange(2, 40)),
                        part,
                        "USD",
                        text,
                        card,
                        None,
                        rid,
                    )
                )
    order = sorted(range(len(charges)), key=lambda i: charges[i].booked)
    position = {old: new for new, old in enumerate(order)}
    ordered = [charges[i] for i in order]
    for c in ordered:
        if c.duplicate_of is not None:
            c.duplicate_of = position[c.duplicate_of]
    return emails, [str(c) for c in cards], ordered, receipts


def statement_csv(charges: list[Charge]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Posted Date", "Description", "Amount", "Card", "Currency"])
    for c in charges:
        writer.writerow([c.booked.isoformat(), c.text, str(c.amount), c.card, c.currency])
    return out.getvalue().encode()


def statement_camt053(charges: list[Charge]) -> bytes:
    """The same charges as one ISO 20022 camt.053.001.08 statement (card number in AddtlCardData,
    the merchant as the creditor, the original amount in InstdAmt): ~30 elements per entry."""
    from xml.sax.saxutils import escape

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">\n'
        f"  <BkToCstmrStmt>\n    <GrpHdr><MsgId>BENCH-{YEAR}</MsgId><CreDtTm>{YEAR}-12-31T23:00:00</CreDtTm></GrpHdr>\n"
        f"    <Stmt>\n      <Id>CARDS-{YEAR}</Id>\n"
        "      <Acct><Id><Othr><Id>COMPANY-CARDS-1</Id></Othr></Id><Ccy>USD</Ccy></Acct>\n"
        '      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">0.00</Amt>'
        f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{YEAR}-01-01</Dt></Dt></Bal>\n"
    ]
    for index, c in enumerate(charges, start=1):
        sign = "DBIT" if c.amount < 0 else "CRDT"
        ref = f"{c.booked:%Y%m%d}{index:07d}"
        instructed = ""
        if c.original is not None:
            instructed = (
                f'            <AmtDtls><InstdAmt><Amt Ccy="{c.original[1]}">{abs(c.original[0])}</Amt></InstdAmt>'
                "</AmtDtls>\n"
            )
        out.append(
            f"      <Ntry>\n        <NtryRef>{ref}</NtryRef>\n"
            f'        <Amt Ccy="{c.currency}">{abs(c.amount)}</Amt>\n        <CdtDbtInd>{sign}</CdtDbtInd>\n'
            f"        <Sts><Cd>BOOK</Cd></Sts>\n        <BookgDt><Dt>{c.booked.isoformat()}</Dt></BookgDt>\n"
            f"        <ValDt><Dt>{c.booked.isoformat()}</Dt></ValDt>\n        <AcctSvcrRef>{ref}</AcctSvcrRef>\n"
            "        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>CCRD</Cd><SubFmlyCd>POSD</SubFmlyCd></Fmly></Domn></BkTxCd>\n"
            "        <NtryDtls>\n          <TxDtls>\n"
            f"            <Refs><AcctSvcrRef>{ref}</AcctSvcrRef></Refs>\n{instructed}"
            f"            <RltdPties><Cdtr><Pty><Nm>{escape(c.text[:140])}</Nm></Pty></Cdtr></RltdPties>\n"
            f"            <CardTx><Card><AddtlCardData>XXXXXXXXXXXX{c.card[-4:]}</AddtlCardData></Card></CardTx>\n"
            "          </TxDtls>\n        </NtryDtls>\n      </Ntry>\n"
        )
    out.append("    </Stmt>\n  </BkToCstmrStmt>\n</Document>\n")
    return "".join(out).encode()


def import_only(split: str, database_url: str | None, fmt: str) -> dict[str, float]:
    """Import the year's statement (as CSV or CAMT.053), twice: the second adds nothing."""
    _, _, charges, _ = generate(SPLITS[split])
    tmp = tempfile.TemporaryDirectory()
    url = database_url or f"sqlite:///{tmp.name}/bench.db"
    migrate(url)
    factory = make_sessionmaker(make_engine(url))
    spec = None
    if fmt == "camt053":
        data = statement_camt053(charges)
    else:
        data = statement_csv(charges)
        spec = "date=Posted Date,amount=Amount,description=Description,card=Card,currency=Currency"
    t0, c0 = time.perf_counter(), time.process_time()
    result = import_statement(factory, data, source=f"bench.{fmt}", account="Company cards", mapping=spec)
    import_s, import_cpu = time.perf_counter() - t0, time.process_time() - c0
    assert result.new == len(charges), (result.new, len(charges))
    t0, c0 = time.perf_counter(), time.process_time()
    again = import_statement(factory, data, source=f"bench.{fmt}", account="Company cards", mapping=spec)
    again_s, again_cpu = time.perf_counter() - t0, time.process_time() - c0
    assert again.new == 0 and again.known == len(charges)
    tmp.cleanup()
    return {
        "lines": len(charges),
        "bytes": len(data),
        "import_s": import_s,
        "import_cpu": import_cpu,
        "again_s": again_s,
        "again_cpu": again_cpu,
    }


def run(split: str, database_url: str | None, reading: str = "dev") -> dict[str, float]:
    seed = SPLITS[split]
    emails, cards, charges, receipts = generate(seed, reading=reading)
    directory = Directory.from_people(
        [
            Person(email=e, manager_email=None, department="Sales", role=Role.EMPLOYEE, card_last4=(c,))
            for e, c in zip(emails, cards, strict=True)
        ]
    )
    tmp = tempfile.TemporaryDirectory()
    url = database_url or f"sqlite:///{tmp.name}/bench.db"
    migrate(url)
    factory = make_sessionmaker(make_engine(url))
    with transaction(factory) as s:
        s.execute(insert(SlackUser), [{"user_id": f"U{i:05d}", "email": e} for i, e in enumerate(emails)])
        rows = [
            {
                "status": r.status,
                "employee_id": f"U{r.employee:05d}",
                "employee_email": emails[r.employee],
                "source": "dm",
                "merchant": r.merchant,
                "spent_on": r.day,
                "amount": r.total,
                "currency": r.currency,
                "category": "meals",
                "version": 1,
            }
            for r in receipts
        ]
        for i in range(0, len(rows), 5000):
            s.execute(insert(Expense), rows[i : i + 5000])
    data = statement_csv(charges)
    spec = "date=Posted Date,amount=Amount,description=Description,card=Card,currency=Currency"
    t0, c0 = time.perf_counter(), time.process_time()
    result = import_statement(factory, data, source="bench.csv", account="Company cards", mapping=spec)
    import_s, import_cpu = time.perf_counter() - t0, time.process_time() - c0
    assert result.new == len(charges), (result.new, len(charges))
    again = import_statement(factory, data, source="bench.csv", account="Company cards", mapping=spec)
    assert again.new == 0 and again.known == len(charges)
    policy = default_policy("USD")
    with transaction(factory) as s:  # the rates the FX charges need
        from storage.models import FxRate

        day = dt.date(YEAR, 1, 1)
        fx = []
        while day.year == YEAR:
            for base, rate in (("EUR", "1.08"), ("GBP", "1.27"), ("JPY", "0.0067")):
                fx.append({"base": base, "quote": "USD", "day": day, "rate": Decimal(rate)})
            day += dt.timedelta(days=1)
        s.execute(insert(FxRate), fx)
    t0, c0 = time.perf_counter(), time.process_time()
    rows_out = run_match(factory, directory, policy, dry_run=False, actor="bench")
    match_s, match_cpu = time.perf_counter() - t0, time.process_time() - c0
    # expense ids were assigned in insertion order
    with factory() as s:
        from sqlalchemy import select

        first_id = s.scalar(select(Expense.id).order_by(Expense.id).limit(1)) or 1
    counts: Counter[str] = Counter()
    outcome = {}
    for index, row in enumerate(sorted(rows_out, key=lambda r: r.line_id)):
        outcome[index] = (row.status, int(row.expense[4:]) - first_id if row.expense else None)
    twins = {c.duplicate_of: i for i, c in enumerate(charges) if c.duplicate_of is not None}
    for index, charge in enumerate(charges):
        if charge.duplicate_of is not None:
            continue  # judged with the charge it duplicates
        kind = "refund" if charge.amount > 0 else "charge"
        results = [outcome[index]] + ([outcome[twins[index]]] if index in twins else [])
        linked = [expense for status, expense in results if status == "matched"]
        if charge.receipt is None:
            counts[f"{kind}_without_receipt"] += 1
            counts[f"{kind}_without_receipt_linked"] += bool(linked)
            continue
        counts[f"{kind}_with_receipt"] += 1
        if linked:
            right = linked == [charge.receipt]
            counts[f"{kind}_right" if right else f"{kind}_wrong"] += 1
        elif any(status == "suggested" for status, _ in results):
            counts[f"{kind}_offered"] += 1
            counts[f"{kind}_offered_tip"] += charge.tip
        else:
            counts[f"{kind}_missing"] += 1
    with_receipt = counts["charge_with_receipt"]
    figures = {
        "charges": sum(1 for c in charges if c.amount < 0),
        "refunds": sum(1 for c in charges if c.amount > 0),
        "receipts": len(receipts),
        "import_s": import_s,
        "match_s": match_s,
        "import_cpu": import_cpu,
        "match_cpu": match_cpu,
        "right_pct": 100 * counts["charge_right"] / with_receipt,
        "wrong_pct": 100 * counts["charge_wrong"] / with_receipt,
        "offered_pct": 100 * counts["charge_offered"] / with_receipt,
        "offered_tip_pct": 100 * counts["charge_offered_tip"] / with_receipt,
        "missing_pct": 100 * counts["charge_missing"] / with_receipt,
        "no_receipt_linked_pct": 100
        * counts["charge_without_receipt_linked"]
        / max(1, counts["charge_without_receipt"]),
        "refund_right_pct": 100 * counts["refund_right"] / max(1, counts["refund_with_receipt"]),
        "refund_wrong_pct": 100 * counts["refund_wrong"] / max(1, counts["refund_with_receipt"]),
    }
    tmp.cleanup()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=sorted(SPLITS), default="report")
    parser.add_argument("--database-url", help="An EMPTY database to use (default: a temporary SQLite file).")
    parser.add_argument(
        "--import-only",
        choices=["csv", "camt053"],
        help="Only time the import of the year's statement written in this format (no receipts, no matching).",
    )
    parser.add_argument(
        "--reading",
        choices=sorted(READINGS),
        default="dev",
        help="The reader's error rates for the simulated receipts: on its development receipts (dev) or "
        "on receipts it never saw (sroie-val).",
    )
    args = parser.parse_args()
    if args.import_only:
        g = import_only(args.split, args.database_url, args.import_only)
        print(
            f"import of {g['lines']:.0f} lines ({args.import_only}, {g['bytes'] / 1e6:.1f} MB, database "
            f"{'given' if args.database_url else 'SQLite'}): {g['import_s']:.2f} s ({g['import_cpu']:.2f} s CPU "
            f"in this process); again (all known): {g['again_s']:.2f} s ({g['again_cpu']:.2f} s CPU)"
        )
        return
    f = run(args.split, args.database_url, args.reading)
    print(
        f"split {args.split} (seed {SPLITS[args.split]}), readings as on {args.reading}: {f['charges']:.0f} charges, {f['refunds']:.0f} refunds, "
        f"{f['receipts']:.0f} receipts; database {'given' if args.database_url else 'SQLite'}"
    )
    print(
        f"charges with a receipt: linked right {f['right_pct']:.2f}%, linked wrong {f['wrong_pct']:.2f}%, "
        f"offered {f['offered_pct']:.2f}% (tips added after the receipt {f['offered_tip_pct']:.2f}%), "
        f"reported missing/unmatched {f['missing_pct']:.2f}%"
    )
    print(f"charges without a receipt linked to one anyway: {f['no_receipt_linked_pct']:.2f}%")
    print(
        f"refunds linked to the right receipt {f['refund_right_pct']:.1f}%, wrongly {f['refund_wrong_pct']:.1f}%"
    )
    print(
        f"import of {f['charges'] + f['refunds']:.0f} lines: {f['import_s']:.2f} s ({f['import_cpu']:.2f} s CPU in "
        f"this process); match: {f['match_s']:.2f} s ({f['match_cpu']:.2f} s CPU)"
    )


if __name__ == "__main__":
    main()
