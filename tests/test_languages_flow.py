"""A German employee sees German messages; a Chinese manager's request is in Chinese; an English
finance member's stays English: each in the language of their own Slack locale (bot/i18n.py)."""

from __future__ import annotations

import json
from pathlib import Path

from devslack import text_input
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
        for text in (
            "Ausgabe EXP-1",
            "*Händler*",
            "*Gesamtbetrag*\\n42,50 $",
            "*Kategorie*\\nVerpflegung",
            "*Status*\\nEntwurf",
            "Bearbeiten",
            "Verwerfen",
            recent_day().strftime("%d.%m.%Y"),
        ):
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
        app.slack.wait_until(
            lambda: (
                "Wartet auf Genehmigung: Führungskraft" in _shown(app.slack.message(card.channel, card.ts))
            ),
            timeout=60,
            what="the card waiting for the manager",
        )

        # The submitter may not decide; the refusal, which only they see, is in their language.
        before = len(app.slack.response_url_posts)
        app.driver.click(EMPLOYEE, request, "批准")
        refusal = app.slack.wait_for_response_post(after=before, timeout=60).body
        assert refusal.get("text") == "Sie können Ihre eigene Ausgabe nicht genehmigen oder ablehnen."
        app.driver.click(MANAGER, request, "批准")
        told = _shown(app.wait_dm(EMPLOYEE, "genehmigt"))
        assert "EXP-1 (42,50 $) wurde von <@U_MGR> genehmigt (Führungskraft)." in told
        assert "Die Ausgabe wartet jetzt auf die Freigabe durch: Finanzabteilung." in told
        # The manager's request, once decided, still reads Chinese.
        app.slack.wait_until(
            lambda: "<@U_MGR> 已批准" in _shown(app.slack.message(request.channel, request.ts)),
            timeout=60,
            what="the decided request in Chinese",
        )
        assert "提交人：<@U_EMP>" in _shown(app.slack.message(request.channel, request.ts))
        # Finance reads English (en-US), the company's language.
        finance_request = app.wait_card(FINANCE, contains="Approve")
        assert "Approval needed: EXP-1" in _shown(finance_request) and "42.50 USD" in _shown(finance_request)
        app.driver.click(FINANCE, finance_request, "Approve")
        app.slack.wait_until(
            lambda: (
                "Approved by <@U_FIN>"
                in _shown(app.slack.message(finance_request.channel, finance_request.ts))
            ),
            timeout=60,
            what="finance's decided request",
        )
        told = _shown(app.wait_dm(EMPLOYEE, "Auszahlung"))
        assert "Die Ausgabe wartet jetzt auf die Auszahlung." in told
        app.slack.wait_until(
            lambda: "Genehmigt, wartet auf Auszahlung" in _shown(app.slack.message(card.channel, card.ts)),
            timeout=60,
            what="the approved card",
        )

        app.cli("digest")
        app.driver.click(FINANCE, app.wait_card(FINANCE, contains="paid"), "paid")
        assert "Ihnen wurden 42,50 $ für EXP-1 ausgezahlt." in _shown(app.wait_dm(EMPLOYEE, "ausgezahlt"))


def test_a_german_employee_is_sent_back_and_rejected_in_german(tmp_path: Path, sqlite_url: str) -> None:
    with running_app(tmp_path, database_url=sqlite_url) as app:
        app.slack.add_user(EMPLOYEE, "emp@example.com", real_name="Emma Employee", locale="de-AT")
        app.slack.add_user(MANAGER, "mgr@example.com", real_name="Mia Manager", locale="zh-CN")
        app.upload(EMPLOYEE, cafe_receipt("64.00"), note="dinner")
        card = app.wait_card(EMPLOYEE, contains="Einreichen")
        app.driver.click(EMPLOYEE, card, "Einreichen")
        request = app.wait_card(MANAGER, contains="要求修改")
        assert "US$64.00" in _shown(request)
        app.driver.click(MANAGER, request, "要求修改")
        first_form = app.wait_view(MANAGER, "approval_reason_view")
        app.driver.submit_view(MANAGER, first_form, {"reason": {"reason": text_input("Add who attended")}})
        told = _shown(app.wait_dm(EMPLOYEE, "bittet um"))
        # de-AT: German text, Austrian formats (the currency sign first)
        assert "<@U_MGR> bittet um Änderungen an EXP-1 ($ 64,00): „Add who attended“" in told
        assert "Bearbeiten Sie die Ausgabe und reichen Sie sie über ihre Karte erneut ein." in told
        app.slack.wait_until(
            lambda: "Änderungen angefordert von <@U_MGR>" in _shown(app.slack.message(card.channel, card.ts)),
            timeout=60,
            what="the card sent back",
        )
        assert "<@U_MGR> 已退回修改" in _shown(app.slack.message(request.channel, request.ts))

        app.driver.click(EMPLOYEE, card, "Einreichen")

        def second() -> list[object]:
            return [m for m in app.slack.dm_messages(MANAGER) if m.buttons() and m.ts != request.ts]

        app.slack.wait_until(lambda: bool(second()), timeout=60, what="the second request")
        app.driver.click(MANAGER, second()[0], "拒绝")
        app.driver.submit_view(
            MANAGER,
            app.wait_view(MANAGER, "approval_reason_view", after=first_form),
            {"reason": {"reason": text_input("Not a business dinner")}},
        )
        told = _shown(app.wait_dm(EMPLOYEE, "abgelehnt"))
        assert "EXP-1 ($ 64,00) wurde von <@U_MGR> abgelehnt: „Not a business dinner“" in told
        assert "Sie können die Ausgabe über ihre Karte bearbeiten und erneut einreichen." in told
