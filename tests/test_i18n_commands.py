"""The last surfaces in the reader's language (bot/i18n.py): the `/expense delegate`, `/expense
policy` and `/expense perdiem` answers, the per diem day lines and the card's "tax lines do not add
up" warning, the partial-approval form's total, the "try again" of a database outage, the payout
digest thread's captions and the project picker's refusals; each in German and Chinese."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot import i18n
from bot.blocks.approvals import build_partial_modal
from bot.blocks.common import tax_wording
from bot.context import build_context
from bot.i18n import _
from bot.listeners.common import TRY_AGAIN, in_their_words
from bot.payouts import thread_texts
from bot.policy_admin import overview, summary
from bot.projects import project_refusal_text
from bot.settings import Settings
from bot.views import expense_view
from services.payouts import PeriodChart
from storage.exports import ExportFile
from storage.models import Expense
from storage.projects import ProjectRefusal, ProjectRefusalKind
from tests.support import ADMIN, EMPLOYEE, MANAGER, OTHER, running_app
from workflows.expenses import Status
from workflows.per_diem import Meal, PerDiemError, Trip, parse_command, price, shipped_tables
from workflows.policy import load_policy
from workflows.tax import TaxFacts, mismatch

GERMAN, CHINESE = i18n.choose("de-DE"), i18n.choose("zh-CN")


def _nbsp(text: str) -> str:
    return text.replace("\xa0", " ").replace("\u202f", " ")


# --- through Slack: /expense delegate, policy and perdiem in German and Chinese --------------------


def test_the_delegate_policy_and_per_diem_answers_in_german_and_chinese(
    tmp_path: Path, sqlite_url: str
) -> None:
    with running_app(tmp_path, database_url=sqlite_url) as app:
        app.slack.add_user(MANAGER, "mgr@example.com", real_name="Mia Manager", locale="de-DE")
        app.slack.add_user(EMPLOYEE, "emp@example.com", real_name="Emma Employee", locale="zh-CN")
        app.slack.add_user(ADMIN, "admin@example.com", real_name="Ada Admin", locale="de-DE")

        assert app.command(MANAGER, "delegate someone").startswith("Verwendung: `/expense delegate")
        assert "liegt in der Vergangenheit" in app.command(MANAGER, f"delegate <@{OTHER}> until 2001-01-01")
        assert "„2030-02-30“ ist kein Datum" in app.command(MANAGER, f"delegate <@{OTHER}> until 2030-02-30")
        assert app.command(MANAGER, f"delegate <@{OTHER}> until 2030-01-01") == (
            f"Ihre Genehmigungen gehen bis einschließlich 01.01.2030 an <@{OTHER}>. "
            f"<@{OTHER}> kann ebenso wie Sie darüber entscheiden."
        )
        assert app.command(MANAGER, "delegate off") == "Vertretung entfernt."
        assert app.command(EMPLOYEE, f"delegate <@{MANAGER}> for <@{OTHER}> until 2030-01-01") == (
            "只有管理员可以替他人设置代理人。"
        )

        german = _nbsp(app.command(MANAGER, "policy"))
        for text in (
            "*Geltende Ausgabenrichtlinie* (aus der eingebauten Standardrichtlinie)",
            "Firmenwährung: USD.",
            "Belege sind ab",
            "Genehmigungsweg: Führungskraft → über ",
            "nächsthöhere Führungskraft",
            "→ Finanzabteilung.",
        ):
            assert text in german, german
        assert "Approval route" not in german and "Company currency" not in german
        assert _nbsp(app.command(MANAGER, "policy reload")).startswith(
            "Nur Administratoren können die Richtlinie neu laden. Administratoren: "
        )
        reloaded = _nbsp(app.command(ADMIN, "policy reload"))
        assert "Es ist keine Richtliniendatei eingerichtet (EXPENSEBOT_POLICY_FILE)" in reloaded, reloaded
        assert (
            "Firmenwährung USD" in reloaded and "Verzeichnis aus org.csv neu geladen: 7 Personen" in reloaded
        )
        chinese = app.command(EMPLOYEE, "policy")
        assert "*现行报销政策*（来自 内置默认政策）" in chinese and "审批流程：直属经理" in chinese

        assert app.command(MANAGER, "perdiem Paris 2026-13-01") == "2026-13-01 ist kein Tag des Kalenders."
        assert app.command(MANAGER, "perdiem 2026-03-02").startswith(
            "Nennen Sie vor den Daten, wohin Sie gereist sind. Rechnen Sie Verpflegungspauschalen mit"
        )
        assert "不是餐食" in app.command(EMPLOYEE, "perdiem Paris 2026-03-02 2026-03-03 meals: all=cake")


# --- per diem: parsing errors and the day lines -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "german", "chinese"),
    [
        (
            "perdiem Paris 2026-03-02 2026-03-03 meals: 03/03=lunch",
            "„03/03“ ist kein Datum: Schreiben Sie es als JJJJ-MM-TT",
            "“03/03”不是日期",
        ),
        (
            "perdiem Paris 2026-03-04 2026-03-02",
            "Der letzte Tag (2026-03-02) liegt vor dem ersten (2026-03-04).",
            "最后一天（2026-03-02）早于第一天（2026-03-04）。",
        ),
        (
            "perdiem Paris 2026-03-02 2026-03-03 hours: 5",
            "`hours:` gilt nur für eine eintägige Reise",
            "`hours:` 仅用于",
        ),
        ("perdiem Paris 2026-03-02 hours: lots", "„lots“ ist keine Stundenzahl", "“lots”不是小时数"),
        (
            "perdiem Paris 2026-03-02 2026-03-03 meals: 2026-03-03",
            "Schreiben Sie gestellte Mahlzeiten als",
            "请按 <日期>=<餐食>",
        ),
        (
            "perdiem Paris 2026-03-02 extra",
            "„extra“ habe ich nicht verstanden. Rechnen Sie Verpflegungspauschalen",
            "无法理解“extra”。使用 `/expense perdiem",
        ),
    ],
)
def test_the_per_diem_command_explains_its_mistakes_in_german_and_chinese(
    text: str, german: str, chinese: str
) -> None:
    with pytest.raises(PerDiemError) as english:
        parse_command(text)
    for locale, expected in ((GERMAN, german), (CHINESE, chinese)):
        with i18n.use_locale(locale), pytest.raises(PerDiemError) as caught:
            parse_command(text, say=_)
        assert expected in str(caught.value), str(caught.value)
        assert str(caught.value) != str(english.value)


def test_pricing_problems_in_german() -> None:
    tables = [t for t in shipped_tables() if t.table == "de-bmf"]
    with i18n.use_locale(GERMAN), pytest.raises(PerDiemError) as caught:
        price(Trip("Atlantis", dt.date(2026, 3, 2), dt.date(2026, 3, 3)), shipped=tables, say=_)
    assert str(caught.value).startswith("„Atlantis“ ist nicht in den Pauschalsätzen")
    with i18n.use_locale(GERMAN), pytest.raises(PerDiemError) as caught:
        price(Trip("Paris", dt.date(2026, 3, 2), dt.date(2026, 3, 2)), shipped=tables, say=_)
    assert "wie viele Stunden Sie abwesend waren" in str(caught.value)


def _per_diem_expense() -> Expense:
    tables = [t for t in shipped_tables() if t.table == "de-bmf"]
    trip = Trip(
        "Paris",
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 4),
        meals={dt.date(2026, 3, 3): frozenset({Meal.BREAKFAST})},
    )
    quote = price(trip, shipped=[t for t in tables if t.covers(trip.start)])
    return Expense(
        id=9,
        employee_id=EMPLOYEE,
        status=Status.DRAFT,
        merchant="Per diem: Paris",
        amount=quote.total.amount,
        currency=quote.currency,
        category="per_diem",
        ocr={"per_diem": quote.to_json()},
    )


def test_the_per_diem_day_lines_in_the_readers_language() -> None:
    expense = _per_diem_expense()
    english = expense_view(expense).per_diem_lines
    assert english == tuple(expense.ocr["per_diem"]["lines"])  # the English the claim was priced with
    assert english[1].startswith("Tue 03 Mar: full day ") and " − breakfast " in english[1]
    with i18n.use_locale(GERMAN):
        german = [_nbsp(line) for line in expense_view(expense).per_diem_lines]
    assert german[0].startswith("Mo., 2. März: Anreisetag ") and german[0].endswith(" €")
    assert (
        german[1].startswith("Di., 3. März: voller Tag ")
        and " − Frühstück " in german[1]
        and " = " in german[1]
    )
    assert german[2].startswith("Mi., 4. März: Abreisetag ")
    with i18n.use_locale(CHINESE):
        chinese = expense_view(expense).per_diem_lines
    assert chinese[1].startswith("3月3日周二：全天 €") and " − 早餐 €" in chinese[1]


def test_kept_lines_of_an_older_per_diem_claim_are_shown_as_kept() -> None:
    expense = _per_diem_expense()
    assert expense.ocr is not None
    priced = {k: v for k, v in expense.ocr["per_diem"].items() if k != "days"}
    expense.ocr = {"per_diem": priced}
    with i18n.use_locale(GERMAN):
        assert expense_view(expense).per_diem_lines == tuple(priced["lines"])


# --- the card's tax warning, the partial-approval form ------------------------------------------


def test_the_tax_lines_warning_in_german_and_chinese() -> None:
    facts = TaxFacts(net=Decimal("90.00"), tax=Decimal("19.00"))
    assert mismatch(facts, Decimal("119.00"), "EUR") == (
        "The tax lines do not add up: net 90.00 EUR + tax 19.00 EUR = 109.00 EUR, but the total is 119.00 EUR. "
        "Click *Edit* to correct them."
    )
    with i18n.use_locale(GERMAN):
        german = _nbsp(mismatch(facts, Decimal("119.00"), "EUR", tax_wording()) or "")
        over = _nbsp(mismatch(TaxFacts(tax=Decimal("200")), Decimal("119.00"), "EUR", tax_wording()) or "")
        rate = mismatch(
            TaxFacts(Decimal("100.00"), Decimal("19.00"), Decimal(7)), Decimal("119.00"), "EUR", tax_wording()
        )
    assert german == (
        "Die Steuerzeilen gehen nicht auf: Netto 90,00 € + Steuer 19,00 € = 109,00 €, der Gesamtbetrag ist aber "
        "119,00 €. Klicken Sie auf *Bearbeiten*, um sie zu korrigieren."
    )
    assert (
        over
        == "Die Steuerzeilen gehen nicht auf: Die Steuer 200,00 € ist höher als der Gesamtbetrag 119,00 €."
    )
    assert rate is not None and _nbsp(rate).startswith(
        "Die Steuerzeilen gehen nicht auf: 7 % von 100,00 € sind 7,00 €"
    )
    with i18n.use_locale(CHINESE):
        chinese = mismatch(facts, Decimal("119.00"), "EUR", tax_wording())
    assert (
        chinese
        == "税额各项对不上：净额 €90.00 + 税额 €19.00 = €109.00，但总额是 €119.00。请点击 *编辑* 进行更正。"
    )


def test_the_partial_approval_form_formats_the_claim_for_its_reader() -> None:
    def shown(locale: Any) -> str:
        with i18n.use_locale(locale):
            modal = build_partial_modal(task_id=1, ref="EXP-7", total=Decimal("1234.5"), currency="EUR")
        return _nbsp(json.dumps(modal, ensure_ascii=False))

    assert "The claim is *1,234.50 EUR*" in shown(None)
    assert "Beantragt sind *1.234,50 €*" in shown(GERMAN)
    assert "€1,234.50" in shown(CHINESE) and "批准金额（EUR）" in shown(CHINESE)


# --- a database outage: "try again" in the person's language -----------------------------------


def test_try_again_in_the_company_language_when_neither_database_nor_slack_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/missing/dir/db.sqlite")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("EXPENSEBOT_LOCALE", "de-DE")
    monkeypatch.delenv("REDIS_URL", raising=False)
    ctx = build_context(Settings(), run_migrations=False)
    try:
        german = asyncio.run(in_their_words(ctx, EMPLOYEE, TRY_AGAIN))
    finally:
        ctx.engine.dispose()
    assert german == (
        "Ich konnte die Datenbank gerade nicht erreichen; es wurde nichts geändert. "
        "Versuchen Sie es gleich noch einmal."
    )
    with i18n.use_locale(CHINESE):
        assert _(TRY_AGAIN) == "暂时无法连接数据库；没有任何更改。请稍后再试。"


# --- the payout digest's thread (the company's language) ----------------------------------------


def _export(count: int) -> ExportFile:
    return ExportFile(
        batch_id=3,
        format="csv",
        content=b"",
        filename="batch-3.csv",
        media_type="text/csv",
        expense_count=count,
        totals={},
        batch_totals={},
    )


def test_the_digest_threads_captions_in_german_and_chinese() -> None:
    start, end = dt.date(2026, 11, 4), dt.date(2026, 12, 4)
    chart = PeriodChart(b"png", start, end, "EUR")
    english = thread_texts(3, chart, _export(3), None)
    assert (
        english.caption
        == chart.caption
        == "Approved spend 2026-11-04 to 2026-12-04 by category and customer (EUR)."
    )
    assert english.export_comment == "Export of batch #3: 3 expenses; other formats from the Export menu."
    with i18n.use_locale(GERMAN):
        german = thread_texts(3, chart, _export(1), None)
        empty = thread_texts(3, PeriodChart(None, start, end, "EUR"), None, "Stapel #3 ist leer.")
    assert (
        german.caption == "Genehmigte Ausgaben vom 04.11.2026 bis 04.12.2026 nach Kategorie und Kunde (EUR)."
    )
    assert (german.chart_title, german.export_title) == ("Ausgabendiagramm", "Auszahlungsstapel #3 (CSV)")
    assert (
        german.export_comment
        == "Export von Stapel #3: 1 Ausgabe; andere Formate über das Menü „Exportieren“."
    )
    assert empty.caption == (
        "Zwischen 04.11.2026 und 04.12.2026 gibt es keine genehmigten Ausgaben für ein Diagramm.\n"
        "Keine Exportdatei: Stapel #3 ist leer."
    )
    with i18n.use_locale(CHINESE):
        chinese = thread_texts(3, PeriodChart(None, start, end, "EUR", problem="no rate"), _export(3), None)
        failed = thread_texts(3, None, _export(3), None)
    assert chinese.caption == "2026年11月4日 至 2026年12月4日 没有支出图表：no rate"
    assert chinese.export_comment == "批次 #3 的导出：3 笔报销；其他格式请使用“导出”菜单。"
    assert failed.caption == "本次没有支出图表。" and failed.chart_title == "支出图表"


# --- the project picker's refusals, the policy in force -----------------------------------------


@pytest.mark.parametrize(
    ("kind", "german", "chinese"),
    [
        (ProjectRefusalKind.UNKNOWN, "Dieses Projekt kenne ich nicht.", "无法识别该项目。"),
        (ProjectRefusalKind.GONE, "Dieses Projekt ist nicht mehr im CRM.", "该项目已不在 CRM 中。"),
        (
            ProjectRefusalKind.OTHER_CUSTOMER,
            "Dieses Projekt gehört nicht zu diesem Kunden.",
            "该项目不属于此客户。",
        ),
        (
            ProjectRefusalKind.CLOSED,
            "Das Projekt Acme pilot ist abgeschlossen: Neue Ausgaben können nicht darauf gebucht werden.",
            "项目 Acme pilot 已关闭：不能再将新的报销记到该项目。",
        ),
    ],
)
def test_the_project_refusals_in_german_and_chinese(
    kind: ProjectRefusalKind, german: str, chinese: str
) -> None:
    refusal = ProjectRefusal(kind, "Acme pilot")
    assert project_refusal_text(refusal) == str(refusal)  # English: the storage's own words
    with i18n.use_locale(GERMAN):
        assert project_refusal_text(refusal) == german
    with i18n.use_locale(CHINESE):
        assert project_refusal_text(refusal) == chinese


POLICY = load_policy(
    """company_currency: EUR
auto_approve_below: 25.00
categories:
  meals: {limit: 60.00, auto_approve: false}
  mileage: {rate_per_unit: 0.30, unit: km}
  gambling: {prohibited: true}
prohibited_merchants: ["*casino*"]
budgets:
  - {department: Sales, period: month, amount: 20000}
"""
)


def test_the_policy_in_force_in_german_and_chinese() -> None:
    english = overview(POLICY)
    assert (
        "Approved by policy: claims below 25.00 EUR with no findings and no anomaly flags (never for Meals)."
        in english
    )
    with i18n.use_locale(GERMAN):
        german = [_nbsp(line) for line in overview(POLICY)]
        short = _nbsp(summary(POLICY))
    assert (
        german[0]
        == "Firmenwährung: EUR. Ausgaben in anderen Währungen werden zum Kurs des Ausgabetags umgerechnet."
    )
    assert "Verpflegung: 60,00 € pro Ausgabe" in german[2] and "0,30 € pro km" in german[2]
    assert german[3] == (
        "Durch die Richtlinie genehmigt: Ausgaben unter 25,00 € ohne Beanstandungen und ohne Auffälligkeiten "
        "(nie für Verpflegung)."
    )
    assert (
        german[-2].startswith("Nie erstattet: Kategorien ")
        and "Händler, die auf *casino* passen" in german[-2]
    )
    assert (
        german[-1]
        == "Budgets (Genehmigende werden ab 90 % gewarnt): Sales (Abteilung) 20.000,00 € pro Monat."
    )
    assert short.startswith("Firmenwährung EUR, ") and short.endswith("1 gesperrter Händler, 1 Budget")
    with i18n.use_locale(CHINESE):
        chinese = overview(POLICY)
    assert chinese[-1] == "预算（达到 90% 时提醒审批人）：Sales（部门）每月 €20,000.00。"
