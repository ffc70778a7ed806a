"""The surfaces besides the card in the reader's language (bot/i18n.py): the /expense answers and
form, the edit, split, reason and partial-approval forms, App Home and the payout digest; and the
tax fields of the /expense form, checked with messages in the employee's language."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot import i18n
from bot.blocks.approvals import build_partial_modal, build_reason_modal
from bot.blocks.card import NEW_VIEW, build_expense_modal
from bot.blocks.common import ExpenseView, tax_wording
from bot.blocks.digest import DigestView, PayeeLine, build_digest, digest_fallback
from bot.blocks.home import HomeView, build_home, crm_status_line
from bot.blocks.split import build_split_modal
from bot.i18n import _
from bot.listeners.commands import HELP
from devslack import date, text_input
from devslack import select as pick
from integrations.crm.sync import SyncStatus
from storage.models import AuditEvent, Expense
from tests.support import EMPLOYEE, recent_day, running_app
from workflows.categories import CATEGORIES
from workflows.expense_edits import Edit, validate_edit
from workflows.expenses import Status
from workflows.tax import TaxFacts, TaxInput, parse_tax

GERMAN, CHINESE = i18n.choose("de-DE"), i18n.choose("zh-CN")


def _nbsp(text: str) -> str:
    return text.replace("\xa0", " ").replace("\u202f", " ")


def _json(value: Any) -> str:
    return _nbsp(json.dumps(value, ensure_ascii=False))


def _plain_texts(value: Any) -> set[str]:
    """Every plain_text a view shows (labels, hints, titles, buttons, placeholders, options)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if value.get("type") == "plain_text":
            found.add(str(value["text"]))
        for inner in value.values():
            found |= _plain_texts(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _plain_texts(inner)
    return found


def _view(**extra: Any) -> ExpenseView:
    return ExpenseView(
        id=7,
        status=Status.DRAFT,
        employee_id="U1",
        merchant="Café Ost",
        spent_on=dt.date(2026, 12, 4),
        amount=Decimal("119.00"),
        currency="EUR",
        category="meals",
        **extra,
    )


def _new_form() -> dict[str, Any]:
    return build_expense_modal(
        None,
        callback_id=NEW_VIEW,
        with_file=True,
        default_currency="EUR",
        categories=list(CATEGORIES.items()),
    )


# The English of labels, buttons and titles that must not be left on a German view.
ENGLISH_FORM = [
    "Merchant",
    "Date",
    "Total",
    "Currency",
    "Net (before tax)",
    "Tax (VAT, GST)",
    "Tax rate (%)",
    "Category",
    "Customer",
    "Note",
    "Project",
    "Save",
    "Cancel",
    "New expense",
    "Meals",
    "Receipt (photo or PDF)",
    "Type to search customers",
]


def test_the_expense_form_in_german_and_chinese_with_the_tax_fields() -> None:
    english = _new_form()
    assert [b["block_id"] for b in english["blocks"]][4:7] == ["net", "tax", "tax_rate"]
    assert all(b.get("optional") for b in english["blocks"][4:7])
    assert set(ENGLISH_FORM) <= _plain_texts(english)
    with i18n.use_locale(GERMAN):
        german = _new_form()
    shown = _plain_texts(german)
    for text in (
        "Neue Ausgabe",
        "Händler",
        "Datum",
        "Gesamtbetrag",
        "Währung",
        "Netto (vor Steuer)",
        "Steuer (MwSt., USt.)",
        "Steuersatz (%)",
        "Kategorie",
        "Verpflegung",
        "Kunde",
        "Notiz",
        "Beleg (Foto oder PDF)",
        "Speichern",
        "Abbrechen",
        "Tippen, um Kunden zu suchen",
    ):
        assert text in shown, text
    assert shown.isdisjoint(ENGLISH_FORM), shown & set(ENGLISH_FORM)
    with i18n.use_locale(CHINESE):
        chinese = _plain_texts(_new_form())
    for text in (
        "新建报销",
        "商户",
        "总额",
        "币种",
        "净额（税前）",
        "税额（增值税、消费税）",
        "税率（%）",
        "餐饮",
        "保存",
    ):
        assert text in chinese, text


def test_the_edit_form_in_german_keeps_the_tax_kept_on_the_expense() -> None:
    view = _view(net_amount=Decimal("100.00"), tax_amount=Decimal("19.00"), tax_rate=Decimal("19"))
    with i18n.use_locale(GERMAN):
        modal = build_expense_modal(view, categories=list(CATEGORIES.items()))
    assert modal["title"]["text"] == "EXP-7 bearbeiten"
    fields = {b["block_id"]: b for b in modal["blocks"]}
    assert [fields[k]["element"]["initial_value"] for k in ("net", "tax", "tax_rate")] == [
        "100.00",
        "19.00",
        "19",
    ]
    assert fields["category"]["element"]["initial_option"]["text"]["text"] == "Verpflegung"
    assert _plain_texts(modal).isdisjoint(ENGLISH_FORM)
    with i18n.use_locale(CHINESE):
        assert build_expense_modal(view)["title"]["text"] == "编辑 EXP-7"


def test_the_reason_and_partial_approval_forms_in_german_and_chinese() -> None:
    with i18n.use_locale(GERMAN):
        reject = build_reason_modal(task_id=1, kind="reject", ref="EXP-7")
        send_back = build_reason_modal(task_id=1, kind="send_back", ref="EXP-7")
        partial = build_partial_modal(task_id=1, ref="EXP-7", total=Decimal("119.00"), currency="EUR")
    assert (reject["title"]["text"], reject["submit"]["text"], reject["close"]["text"]) == (
        "Ablehnen EXP-7",
        "Ablehnen",
        "Abbrechen",
    )
    assert reject["blocks"][0]["label"]["text"] == "Warum wird sie abgelehnt?"
    assert send_back["blocks"][0]["label"]["text"] == "Was soll geändert werden?"
    assert "Genehmigter Betrag (EUR)" in _json(partial) and "Beantragt sind *119,00 €*" in _json(partial)
    for english in (reject, send_back, partial):
        assert _plain_texts(english).isdisjoint(
            {
                "Reject",
                "Cancel",
                "Why is it rejected?",
                "Approve",
                "What should be changed?",
                "Why is part of it not approved?",
            }
        )
    with i18n.use_locale(CHINESE):
        reject = build_reason_modal(task_id=1, kind="reject", ref="EXP-7")
        partial = build_partial_modal(task_id=1, ref="EXP-7", total=Decimal("119.00"), currency="EUR")
    assert (
        reject["blocks"][0]["label"]["text"] == "拒绝的原因是什么？"
        and reject["title"]["text"] == "拒绝 EXP-7"
    )
    assert "批准金额（EUR）" in _json(partial) and "为什么部分金额未获批准？" in _json(partial)


def test_the_split_form_in_german_and_chinese() -> None:
    expense = Expense(id=7, employee_id="U1", status=Status.DRAFT, amount=Decimal("1234.50"), currency="EUR")
    with i18n.use_locale(GERMAN):
        german = build_split_modal(expense, list(CATEGORIES.items()))
    shown = _json(german)
    for text in (
        "EXP-7 aufteilen",
        "Teilen Sie den Gesamtbetrag von *1.234,50 €* in Teile auf",
        "Teil 1: Anteil",
        "Teil 4: Projekt",
        "Verpflegung",
        "Lassen Sie alle Zeilen leer",
        "Speichern",
    ):
        assert text in shown, text
    assert _plain_texts(german).isdisjoint({"Part 1: share", "Category", "Meals", "Save", "Cancel"})
    with i18n.use_locale(CHINESE):
        chinese = _json(build_split_modal(expense, list(CATEGORIES.items())))
    assert "拆分 EXP-7" in chinese and "第 1 部分：份额" in chinese and "€1,234.50" in chinese


def _home() -> dict[str, Any]:
    view = _view()
    return build_home(
        HomeView(
            mine=(view,),
            waiting_for_me=(),
            payout_queue=(),
            notice=_("No company directory is configured yet, so expenses cannot be routed for approval."),
        )
    )


def test_app_home_in_german_and_chinese() -> None:
    english = _json(_home())
    assert "Waiting for my decision" in english and "Payout queue (finance)" in english
    with i18n.use_locale(GERMAN):
        german = _json(_home())
    for text in (
        "Wartet auf meine Entscheidung",
        "Nichts wartet auf Sie.",
        "Meine Ausgaben",
        "Auszahlungswarteschlange (Finanzen)",
        "Nichts wartet auf Auszahlung.",
        "Café Ost",
        "119,00 €",
        "Entwurf",
        "Es ist noch kein Firmenverzeichnis eingerichtet",
    ):
        assert text in german, text
    for text in ("Waiting for my decision", "My expenses", "Nothing waits for you.", "Payout queue", "Draft"):
        assert text not in german, text
    with i18n.use_locale(CHINESE):
        chinese = _json(_home())
    for text in ("等待我审批", "没有等待您处理的事项。", "我的报销", "待付款队列（财务）", "草稿"):
        assert text in chinese, text


def test_the_admins_crm_line_in_german() -> None:
    now = dt.datetime(2026, 12, 8, 10, 14, tzinfo=dt.UTC)
    status = SyncStatus(
        source="csv",
        last_ok_at=now - dt.timedelta(minutes=12),
        last_run_at=now,
        customers=7854,
        open_deals=312,
        counts={"companies": {"created": 3, "merged": 1}},
        errors={},
    )
    assert crm_status_line(status, now) == (
        "*CSV*: synced 12 min ago (2026-12-08 10:02 UTC) · 7,854 customers, 312 open deals"
        " · last run: companies 3 created, 1 merged"
    )
    with i18n.use_locale(GERMAN):
        assert crm_status_line(status, now) == (
            "*CSV*: synchronisiert vor 12 Min. (08.12.2026 10:02 UTC) · 7.854 Kunden, 312 offene Deals"
            " · letzter Lauf: Unternehmen 3 angelegt, 1 zusammengeführt"
        )


def _digest(paid: bool = False) -> DigestView:
    approved = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
    return DigestView(
        batch_id=3,
        lines=(
            PayeeLine("U1", "EUR", Decimal("1234.56"), 2, ("EXP-1", "EXP-2")),
            PayeeLine("U2", "EUR", Decimal("10.00"), 1, ("EXP-3",)),
        ),
        totals={"EUR": Decimal("1244.56")},
        counts={"EUR": 3},
        oldest_approved=approved,
        oldest_ref="EXP-1",
        oldest_employee="U1",
        home_url="https://slack.example/app",
        paid_by="U_FIN" if paid else None,
        paid_at=approved if paid else None,
    )


def test_the_payout_digest_in_german_and_chinese() -> None:
    english = _json(build_digest(_digest()))
    assert "Payout batch #3: 3 approved expenses" in english and "(2 expenses: EXP-1, EXP-2)" in english
    assert (
        "(1 expense: EXP-3)" in english
        and "Oldest item waiting: EXP-1 (<@U1>), approved 04 Dec 2026" in english
    )
    with i18n.use_locale(GERMAN):
        german = _json(build_digest(_digest()))
        paid = _json(build_digest(_digest(paid=True)))
        fallback = _nbsp(digest_fallback(_digest()))
    for text in (
        "Auszahlungsstapel #3: 3 genehmigte Ausgaben",
        "*1.234,56 €* (2 Ausgaben: EXP-1, EXP-2)",
        "(1 Ausgabe: EXP-3)",
        "*Summen je Währung*\\n1.244,56 € · 3 Ausgaben",
        "*Auszuzahlende Personen*\\n2",
        "Am längsten wartend: EXP-1 (<@U1>), genehmigt am 04.12.2026",
        "Stapel als ausgezahlt markieren",
        "Diesen Stapel als ausgezahlt markieren?",
        "Exportieren …",
        "Öffnen Sie die App-Startseite",
    ):
        assert text in german, text
    for text in ("Payout batch", "Totals per currency", "People to pay", "Mark batch paid", "Oldest item"):
        assert text not in german, text
    assert "Ausgezahlt · markiert von <@U_FIN> · 04.12.2026 09:00 UTC" in paid
    assert fallback == "Auszahlungsstapel #3: 1.244,56 €"
    with i18n.use_locale(CHINESE):
        chinese = _json(build_digest(_digest()))
    for text in (
        "付款批次 #3：3 笔已批准的报销",
        "€1,234.56",
        "按币种合计",
        "待付款人数",
        "将批次标记为已付款",
    ):
        assert text in chinese, text


def test_the_help_of_the_slash_command_in_german_and_chinese() -> None:
    with i18n.use_locale(GERMAN):
        assert _(HELP).startswith("Senden Sie mir ein Foto oder PDF eines Belegs als Direktnachricht")
    with i18n.use_locale(CHINESE):
        assert "`/expense perdiem <目的地> <第一天> <最后一天>`" in _(HELP)
    assert _(HELP) == HELP


# --- the tax fields: checked with messages in the employee's language ----------------------------


@pytest.mark.parametrize(
    ("entry", "field", "german"),
    [
        (TaxInput(tax_text="200"), "tax", "Die Steuer (200,00 €) ist höher als der Gesamtbetrag (119,00 €)."),
        (
            TaxInput(net_text="130"),
            "net",
            "Der Nettobetrag (130,00 €) ist höher als der Gesamtbetrag (119,00 €).",
        ),
        (TaxInput(tax_text="-1"), "tax", "Die Steuer darf nicht negativ sein."),
        (TaxInput(tax_text="abc"), "tax", "„abc“ ist kein Betrag: Geben Sie Ziffern wie 3.99 ein."),
        (TaxInput(tax_text="1.234"), "tax", "1.234 hat mehr Nachkommastellen als EUR (2)."),
        (
            TaxInput(rate_text="120"),
            "tax_rate",
            "Ein Steuersatz liegt zwischen 0 und 100 %, nicht bei 120 %.",
        ),
        (TaxInput(rate_text="viel"), "tax_rate", "„viel“ ist kein Steuersatz"),
        (
            TaxInput("90.00", "19.00"),
            "tax",
            "Netto 90,00 € + Steuer 19,00 € = 109,00 €, nicht der Gesamtbetrag 119,00 €.",
        ),
        (
            TaxInput("100.00", "19.00", "7"),
            "tax_rate",
            "7 % von 100,00 € sind 7,00 €, nicht die Steuer 19,00 €.",
        ),
        (TaxInput(net_text="0"), "net", "Der Nettobetrag muss größer als null sein"),
    ],
)
def test_the_tax_fields_explain_what_is_wrong_in_german(entry: TaxInput, field: str, german: str) -> None:
    with i18n.use_locale(GERMAN):
        facts, errors = parse_tax(entry, Decimal("119.00"), "EUR", tax_wording())
    assert facts == TaxFacts() and field in errors
    assert german in _nbsp(errors[field]), errors


def test_the_tax_fields_in_chinese_and_english() -> None:
    with i18n.use_locale(CHINESE):
        _facts, errors = parse_tax(TaxInput("90.00", "19.00"), Decimal("119.00"), "EUR", tax_wording())
    assert errors == {"tax": "净额 €90.00 + 税额 €19.00 = €109.00，与总额 €119.00 不符。"}
    # the English wording (the default) is the domain's own
    _facts, errors = parse_tax(TaxInput("90.00", "19.00"), Decimal("119.00"), "EUR")
    assert errors == {"tax": "Net 90.00 EUR + tax 19.00 EUR = 109.00 EUR, not the total 119.00 EUR."}


@pytest.mark.parametrize(
    ("entry", "facts"),
    [
        (
            TaxInput(rate_text="19"),
            TaxFacts(Decimal("100.00"), Decimal("19.00"), Decimal(19)),
        ),  # net and tax derived
        (TaxInput(tax_text="19"), TaxFacts(Decimal("100.00"), Decimal("19.00"), Decimal(19))),  # net and rate
        (
            TaxInput(net_text="100"),
            TaxFacts(Decimal("100.00"), Decimal("19.00"), Decimal(19)),
        ),  # tax and rate
        (TaxInput("100.00", "19.00", "19 %"), TaxFacts(Decimal("100.00"), Decimal("19.00"), Decimal(19))),
        (TaxInput(tax_text="0"), TaxFacts(Decimal("119.00"), Decimal(0), Decimal(0))),  # tax-free
    ],
)
def test_the_tax_fields_derive_what_is_missing(entry: TaxInput, facts: TaxFacts) -> None:
    assert parse_tax(entry, Decimal("119.00"), "EUR") == (facts, {})


def test_the_form_checks_in_the_employees_language() -> None:
    edit = Edit(
        merchant="Café Ost",
        spent_on=dt.date.today() + dt.timedelta(days=5),
        amount_text=None,
        currency="EUX",
        category="meals",
        customer_id=None,
        customer_cleared=False,
        note=None,
        distance_text="weit",
        tax=TaxInput(tax_text="5"),
    )
    with i18n.use_locale(GERMAN):
        errors = validate_edit(edit, today=dt.date.today(), wording=tax_wording())
    assert errors == {
        "distance": "„weit“ ist keine Strecke: Geben Sie eine Zahl wie 42,5 ein.",
        "currency": "„EUX“ ist kein ISO-4217-Währungscode (z. B. USD, EUR, MYR).",
        "amount": "Geben Sie den Gesamtbetrag ein, z. B. 42.50.",
        "date": "Das Datum liegt in der Zukunft.",
    }
    with i18n.use_locale(CHINESE):
        errors = validate_edit(edit, today=dt.date.today(), wording=tax_wording())
    assert errors["date"] == "日期在未来。" and errors["amount"] == "请输入总额，例如 42.50。"


# --- through Slack: a German employee's /expense ---------------------------------------------------


def _wait(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_german_employee_types_an_expense_with_its_tax(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(
        tmp_path, database_url=sqlite_url, extra_env={"EXPENSEBOT_COMPANY_CURRENCY": "EUR"}
    ) as app:
        app.slack.add_user(EMPLOYEE, "emp@example.com", real_name="Emma Employee", locale="de-DE")
        future = dt.date.today() + dt.timedelta(days=3)
        answer = app.command(EMPLOYEE, f"perdiem Munich {future} {future + dt.timedelta(days=1)}")
        assert "Verpflegungspauschalen werden nach der Reise abgerechnet" in answer, answer
        assert app.command(EMPLOYEE, "help", timeout=60).startswith("Senden Sie mir")

        assert app.driver.slash_command(EMPLOYEE, "/expense").status_code == 200
        modal = app.wait_view(EMPLOYEE, "expense_new_view")
        assert modal["title"]["text"] == "Neue Ausgabe"
        labels = {b["block_id"]: b["label"]["text"] for b in modal["blocks"]}
        assert (labels["net"], labels["tax"], labels["tax_rate"]) == (
            "Netto (vor Steuer)",
            "Steuer (MwSt., USt.)",
            "Steuersatz (%)",
        )

        def values(tax: str, rate: str) -> dict[str, Any]:
            return {
                "merchant": {"merchant": text_input("Café Ost")},
                "date": {"date": date(recent_day(2).isoformat())},
                "amount": {"amount": text_input("119.00")},
                "currency": {"currency": text_input("EUR")},
                "category": {"category": pick("meals", "Verpflegung")},
                "net": {"net": text_input(None)},
                "tax": {"tax": text_input(tax)},
                "tax_rate": {"tax_rate": text_input(rate)},
            }

        refused = app.driver.submit_view(EMPLOYEE, modal, values("200", "")).json()
        assert refused["response_action"] == "errors"
        assert (
            _nbsp(refused["errors"]["tax"])
            == "Die Steuer (200,00 €) ist höher als der Gesamtbetrag (119,00 €)."
        )
        refused = app.driver.submit_view(EMPLOYEE, modal, values("", "150")).json()
        assert "zwischen 0 und 100 %" in refused["errors"]["tax_rate"]

        app.driver.submit_view(EMPLOYEE, modal, values("", "19"))  # only the rate: net and tax worked out
        card = app.wait_card(EMPLOYEE, contains="Einreichen")
        shown = _json(card.blocks)
        assert "Netto 100,00 €" in shown and "Steuer 19,00 €" in shown
        engine = create_engine(app.env["DATABASE_URL"])
        try:
            with Session(engine) as s:
                expense = s.scalars(select(Expense)).one()
                assert (expense.net_amount, expense.tax_amount, expense.tax_rate) == (
                    Decimal("100.00"),
                    Decimal("19.00"),
                    19,
                )
                created = s.scalars(select(AuditEvent).where(AuditEvent.action == "expense.created")).one()
                assert created.actor == EMPLOYEE and created.after is not None
                assert (Decimal(created.after["net_amount"]), Decimal(created.after["tax_amount"])) == (
                    Decimal("100.00"),
                    Decimal("19.00"),
                )
        finally:
            engine.dispose()
