"""A German employee sees German messages; a Chinese manager's request is in Chinese; an English
finance member's stays English: each in the language of their own Slack locale (bot/i18n.py)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import EMPLOYEE, FINANCE, MANAGER, cafe_receipt, recent_day, running_app


def _shown(message: object) -> str:
    """The message's text and blocks as a reader sees them (no-break spaces as spaces)."""
    blocks = json.dumps(getattr(message, "blocks", None) or [], ensure_ascii=False)
    return (str(getattr(message, "text", "") or "") + blocks).replace("\xa0", " ")


def test_a_german_employee_sees_german_messages(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(tmp_path, database_url=sqlite_url) as app:
        # Slack's users.info says so (include_locale): the employee reads German, the manager Chinese.
        app.slack.add_user(EMPLOYEE, "emp@example.com", real_name="Emma Employee", locale="de-DE")
        app.slack.add_user(MANAGER, "mgr@example.com", real_name="Mia Manager", locale="zh-CN")

        app.upload(EMPLOYEE, cafe_receipt("42.50"))
        card = app.wait_card(EMPLOYEE, contains="Einreichen")
        shown = _shown(card)
        for text in ("Ausgabe EXP-1", "*Händler*", "*Gesamtbetrag*\\n42,50 $", "*Kategorie*\\nVerpflegung",
                     "*Status*\\nEntwurf", "Bearbeiten", "Verwerfen", recent_day().strftime("%d.%m.%Y")):  # fmt: skip
            assert text in shown, text
        assert "Submit" not in shown and "42.50 USD" not in shown
        asked = [c for c in app.slack.calls if c.method == "users.info" and c.args.get("user") == EMPLOYEE]
        assert asked and all(str(c.args.get("include_locale")).lower() in ("1", "true") for c in asked)

        app.driver.click(EMPLOYEE, card, "Einreichen")
        request = app.wait_card(MANAGER, contains="批准")
        shown = _shown(request)
        for text in (
            "需要审批：EXP-1",
            "US$42.50",
            "<@U_EMP> 提交了一笔报销，请您审批（直属经理）",
            "拒绝",
            "要求修改",
        ):
            assert text in shown, text
        app.slack.wait_until(lambda: "Wartet auf Genehmigung: Führungskraft" in _shown(
            app.slack.message(card.channel, card.ts)), timeout=60, what="the card waiting for the manager")  # fmt: skip

        app.driver.click(MANAGER, request, "批准")
        told = _shown(app.wait_dm(EMPLOYEE, "genehmigt"))
        assert "EXP-1 (42,50 $) wurde von <@U_MGR> genehmigt (Führungskraft)." in told
        assert "Die Ausgabe wartet jetzt auf die Freigabe durch: Finanzabteilung." in told
        # Finance reads English (en-US), the company's language.
        finance_request = app.wait_card(FINANCE, contains="Approve")
        assert "Approval needed: EXP-1" in _shown(finance_request) and "42.50 USD" in _shown(finance_request)
        app.driver.click(FINANCE, finance_request, "Approve")
        told = _shown(app.wait_dm(EMPLOYEE, "Auszahlung"))
        assert "Die Ausgabe wartet jetzt auf die Auszahlung." in told
        app.slack.wait_until(lambda: "Genehmigt, wartet auf Auszahlung" in _shown(
            app.slack.message(card.channel, card.ts)), timeout=60, what="the approved card")  # fmt: skip

        app.cli("digest")
        app.driver.click(FINANCE, app.wait_card(FINANCE, contains="paid"), "paid")
        assert "Ihnen wurden 42,50 $ für EXP-1 ausgezahlt." in _shown(app.wait_dm(EMPLOYEE, "ausgezahlt"))
