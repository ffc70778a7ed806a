"""The bot's languages: catalogues complete and compiled, locales chosen from Slack, money and dates
formatted by locale (bot/i18n.py)."""

from __future__ import annotations

import datetime as dt
import json
import string
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot import i18n
from bot.blocks.card import build_receipt_card, card_fallback_text
from bot.blocks.common import ExpenseView
from workflows.expenses import Status

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def _key(message_id: object) -> str:
    """A message's key: its text, or the singular of a plural message (ngettext)."""
    return str(message_id[0]) if isinstance(message_id, (tuple, list)) else str(message_id)


def _forms(value: object) -> tuple[str, ...]:
    """A translation's text, or each of a plural message's forms."""
    return tuple(str(v) for v in value) if isinstance(value, (tuple, list)) else (str(value),)


def _po(lang: str) -> dict[str, tuple[str, ...]]:
    with open(i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f, locale=lang)
    assert not [m.id for m in catalog if m.id and m.fuzzy], f"{lang}: fuzzy entries need a translator's look"
    return {_key(m.id): _forms(m.string) for m in catalog if m.id}


def _template() -> dict[str, tuple[str, ...]]:
    """Each message of the template, with its source texts (singular and plural of a plural one)."""
    with open(i18n.LOCALE_DIR / "messages.pot", "rb") as f:
        return {_key(m.id): _forms(m.id) for m in read_po(f) if m.id}


def _source_ids() -> set[str]:
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS)
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_template_holds_every_message_of_the_source() -> None:
    assert _source_ids() == set(_template()), "run scripts/catalogues and translate the new messages"


@pytest.mark.parametrize("lang", i18n.CATALOGUES)
def test_every_message_is_translated_with_its_placeholders(lang: str) -> None:
    template = _template()
    translated = _po(lang)
    assert set(translated) == set(template)
    assert [msgid for msgid, forms in translated.items() if not all(text.strip() for text in forms)] == []
    # The translation names the same {placeholders} (a missing or misspelt one would raise or vanish);
    # each form of a plural message names those of the English plural.
    assert [
        msgid
        for msgid, forms in translated.items()
        if any(_fields(text) != _fields(template[msgid][-1]) for text in forms)
    ] == []


@pytest.mark.parametrize("lang", i18n.CATALOGUES)
def test_the_compiled_catalogues_are_those_of_the_po_files(lang: str) -> None:
    with open(i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.mo", "rb") as f:
        compiled = {_key(m.id): _forms(m.string) for m in read_mo(f) if m.id}
    assert compiled == _po(lang), "run scripts/catalogues to compile the .mo files"


@pytest.mark.parametrize(
    ("slack", "default", "chosen", "catalogue"),
    [
        ("de-DE", "en", "de_DE", "de"),
        ("de-AT", "en", "de_AT", "de"),
        ("zh-CN", "en", "zh_Hans_CN", "zh_Hans"),
        ("en-GB", "de", "en_GB", None),
        ("zh-TW", "en", "en", None),  # Traditional Chinese: no catalogue, the company default
        ("fr-FR", "de", "de", "de"),  # no French catalogue: the company's language
        ("es-LA", "en", "en", None),  # a Slack locale Babel does not know
        (None, "zh-CN", "zh_Hans_CN", "zh_Hans"),
        ("", "en", "en", None),
    ],
)
def test_the_locale_is_the_persons_when_the_bot_speaks_it(
    slack: str | None, default: str, chosen: str, catalogue: str | None
) -> None:
    locale = i18n.choose(slack, default)
    assert str(locale) == chosen
    assert i18n.catalogue_of(locale) == catalogue


def _nbsp(text: str) -> str:
    return text.replace("\xa0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(
    ("tag", "amount", "currency", "shown"),
    [
        ("de-DE", "1234.56", "EUR", "1.234,56 €"),
        ("de-DE", "1234.56", "USD", "1.234,56 $"),
        ("de-DE", "1234", "JPY", "1.234 ¥"),  # no minor unit
        ("de-DE", "1234.567", "KWD", "1.234,567 KWD"),  # three decimals
        ("zh-CN", "1234.56", "CNY", "¥1,234.56"),
        ("zh-CN", "1234.56", "USD", "US$1,234.56"),
        ("zh-CN", "1234.56", "EUR", "€1,234.56"),
        ("zh-CN", "-5.00", "CNY", "-¥5.00"),
        ("en-US", "1234.56", "USD", "1,234.56 USD"),  # English keeps the app's unambiguous form
    ],
)
def test_money_is_formatted_by_locale(tag: str, amount: str, currency: str, shown: str) -> None:
    with i18n.use_locale(tag):
        assert _nbsp(i18n.format_money(Decimal(amount), currency)) == shown
    assert (
        i18n.format_money(Decimal(amount), currency) == f"{Decimal(amount):,} {currency}"
    )  # outside: English


def test_dates_are_formatted_by_locale() -> None:
    day = dt.date(2026, 12, 4)
    with i18n.use_locale("de-DE"):
        assert i18n.format_date(day) == "04.12.2026"
    with i18n.use_locale("zh-CN"):
        assert i18n.format_date(day) == "2026年12月4日"
    with i18n.use_locale("en-US"):
        assert i18n.format_date(day) == "2026-12-04"
    assert i18n.format_date(day, "%d %b %Y") == "04 Dec 2026"


def test_text_outside_a_locale_is_english_and_unknown_text_is_left_as_it_is() -> None:
    assert i18n._("Approve") == "Approve"
    with i18n.use_locale("de-DE"):
        assert i18n._("Approve") == "Genehmigen"
        assert i18n._("Travel (Acme policy)") == "Travel (Acme policy)"  # a policy's own label
    with i18n.use_locale("zh-CN"):
        assert i18n._("Approve") == "批准"
    assert i18n._("Approve") == "Approve"  # the block restored the English of the caller


def _view() -> ExpenseView:
    return ExpenseView(
        id=7,
        status=Status.DRAFT,
        employee_id="U1",
        merchant="Café Ost",
        spent_on=dt.date(2026, 12, 4),
        amount=Decimal("1234.56"),
        currency="EUR",
        category="meals",
        confidence={"date": 0.5},
    )


def test_the_receipt_card_in_german_and_chinese() -> None:
    with i18n.use_locale(i18n.choose("de-DE")):
        german = _nbsp(json.dumps(build_receipt_card(_view()), ensure_ascii=False))
        fallback = _nbsp(card_fallback_text(_view()))
    for text in (
        "Ausgabe EXP-7",
        "*Händler*",
        "*Datum*\\n04.12.2026 :warning: _bitte prüfen_",
        "*Gesamtbetrag*\\n1.234,56 €",
        "*Kategorie*\\nVerpflegung",
        "*Status*\\nEntwurf",
        "Einreichen",
        "Bearbeiten",
        "Verwerfen",
        "Möglicherweise falsch gelesen: Datum.",
    ):
        assert text in german, text
    assert fallback == "Ausgabe EXP-7: Café Ost, 1.234,56 €"
    with i18n.use_locale(i18n.choose("zh-CN")):
        chinese = json.dumps(build_receipt_card(_view()), ensure_ascii=False)
    for text in (
        "报销 EXP-7",
        "*商户*",
        "*日期*\\n2026年12月4日",
        "*总额*\\n€1,234.56",
        "餐饮",
        "草稿",
        "提交",
    ):
        assert text in chinese, text
    english = json.dumps(build_receipt_card(_view()))
    assert "Expense EXP-7" in english and "1,234.56 EUR" in english and "2026-12-04" in english


def test_the_company_locale_must_be_one_babel_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from bot.settings import Settings

    monkeypatch.setenv("EXPENSEBOT_LOCALE", "de-AT")
    assert Settings().default_locale == "de-AT"
    monkeypatch.setenv("EXPENSEBOT_LOCALE", "klingon")
    with pytest.raises(ValidationError, match="not a locale"):
        Settings()


def test_a_conversion_is_described_in_the_readers_language() -> None:
    from bot.blocks.common import describe_conversion
    from workflows.conversion import CARD_STATEMENT, convert_at
    from workflows.money import Money

    ecb = convert_at(Money(Decimal("42.50"), "USD"), "EUR", Decimal("0.9341"), dt.date(2026, 12, 4), "ECB")
    assert describe_conversion(ecb) == ecb.describe()  # English: as the domain says it
    with i18n.use_locale("de-DE"):
        assert _nbsp(describe_conversion(ecb)) == "42,50 $ × 0,9341 (ECB-Kurs vom 04.12.2026) = 39,70 €"
    card = convert_at(
        Money(Decimal("1000"), "JPY"), "CNY", Decimal("0.048"), dt.date(2026, 12, 4), CARD_STATEMENT
    )
    with i18n.use_locale("zh-CN"):
        assert describe_conversion(card) == "JP¥1,000 × 0.048（2026年12月4日的您银行卡账单上的汇率）= ¥48.00"


async def test_the_slack_locale_is_cached_with_the_persons_identity(sqlite_url: str) -> None:
    from bot import identity
    from bot.context import build_context
    from bot.settings import Settings
    from devslack import FakeSlack

    with FakeSlack() as slack:
        slack.add_user("U_DE", "de@example.com", locale="de-DE")
        slack.add_user("U_FR", "fr@example.com", locale="fr-FR")
        settings = Settings(
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET="s",
            SLACK_API_URL=slack.base_url,
            DATABASE_URL=sqlite_url,
            REDIS_URL=None,
            EXPENSEBOT_SCHEDULER=False,
            EXPENSEBOT_LOCALE="zh-CN",
        )
        ctx = build_context(settings)
        try:
            assert str(await identity.locale_for(ctx, "U_DE")) == "de_DE"
            assert await identity.email_of(ctx, "U_DE") == "de@example.com"  # from the same answer
            assert str(await identity.locale_for(ctx, "U_DE")) == "de_DE"
            assert len([c for c in slack.calls if c.method == "users.info"]) == 1
            # French has no catalogue: the company's language
            assert str(await identity.locale_for(ctx, "U_FR")) == "zh_Hans_CN"
            with ctx.db() as session:
                assert str(identity.stored_locale(session, ctx, "U_DE")) == "de_DE"
                assert str(identity.stored_locale(session, ctx, "U_NEVER_SEEN")) == "zh_Hans_CN"
        finally:
            ctx.engine.dispose()
