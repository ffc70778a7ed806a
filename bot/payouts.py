"""Finance: payout batches (the digest), Mark paid, and the employees told they were paid."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, update
from sqlalchemy.orm import Session

from bot import i18n, identity
from bot.blocks.common import Block, context, format_money, header, section
from bot.blocks.digest import DigestView, PayeeLine, build_digest, digest_fallback
from bot.context import AppContext
from bot.delivery import deliver_pending, post
from bot.i18n import _, ngettext
from bot.settings import Settings, load_settings
from storage import audit, outbox
from storage.db import DatabaseUnavailable, transaction
from storage.exports import Debtor, ExportFile
from storage.models import Expense, PayoutBatch, utcnow
from storage.reconcile import card_paid_clause
from storage.tenancy import current_team
from workflows.expenses import Move, Status, expense_ref, transition
from workflows.exports import ExportError, export_format

log = logging.getLogger(__name__)

# The app's Home tab as a link (found with auth.test / bots.info once per process).
_HOME_URL: dict[str, str] = {}


# Paid in the reimbursement currency at the rate kept at submission when the claim was converted
# (docs/currency.md), else in the claim's own currency.
CONVERTED = Expense.fx_rate.is_not(None) & Expense.reimburse_amount.is_not(None)
AMOUNT = case(
    (CONVERTED, Expense.reimburse_amount), else_=func.coalesce(Expense.approved_amount, Expense.amount, 0)
)
PAY_CURRENCY = case((CONVERTED, Expense.reimburse_currency), else_=func.coalesce(Expense.currency, "?"))
REFS_SHOWN = 10  # expense references listed per payee


@dataclass(frozen=True)
class Summary:
    lines: tuple[PayeeLine, ...]
    totals: dict[str, Decimal]
    counts: dict[str, int]
    oldest: tuple[int, str, dt.datetime] | None  # (expense id, employee, approved at)


def _summary(session: Session, where: ColumnElement[bool]) -> Summary:
    """Who is owed what per currency, aggregated in SQL (a few rows per payee, whatever the size)."""
    currency = PAY_CURRENCY
    groups = session.execute(
        select(Expense.employee_id, currency, func.sum(AMOUNT), func.count())
        .where(where).group_by(Expense.employee_id, currency).order_by(Expense.employee_id, currency)
    ).all()  # fmt: skip
    ranked = (
        select(Expense.id, Expense.employee_id, currency.label("cur"),
               func.row_number().over(partition_by=(Expense.employee_id, currency), order_by=Expense.id).label("n"))
        .where(where).subquery()
    )  # fmt: skip
    refs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for exp_id, emp, cur in session.execute(
        select(ranked.c.id, ranked.c.employee_id, ranked.c.cur)
        .where(ranked.c.n <= REFS_SHOWN)
        .order_by(ranked.c.id)
    ):
        refs[(emp, cur)].append(expense_ref(exp_id))
    oldest_row = session.execute(
        select(Expense.id, Expense.employee_id, Expense.approved_at)
        .where(where, Expense.approved_at.is_not(None)).order_by(Expense.approved_at, Expense.id).limit(1)
    ).first()  # fmt: skip
    lines = []
    totals: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for emp, cur, amount, count in groups:
        value = Decimal(str(amount))
        lines.append(PayeeLine(employee_id=emp, currency=cur, amount=value, count=int(count),
                               refs=tuple(refs[(emp, cur)])))  # fmt: skip
        totals[cur] += value
        counts[cur] += int(count)
    oldest = (oldest_row[0], oldest_row[1], oldest_row[2]) if oldest_row and oldest_row[2] else None
    return Summary(tuple(lines), dict(totals), dict(counts), oldest)


def _in_batch(batch_id: int) -> ColumnElement[bool]:
    return Expense.payout_batch_id == batch_id


def _awaiting_clause() -> ColumnElement[bool]:
    # An expense paid with a company card (linked to a card charge) is never reimbursed.
    return and_(Expense.status == Status.APPROVED, Expense.payout_batch_id.is_(None), ~card_paid_clause())


def digest_view(session: Session, batch: PayoutBatch) -> DigestView:
    summary = _summary(session, _in_batch(batch.id))
    oldest = summary.oldest
    return DigestView(batch_id=batch.id, lines=summary.lines, totals=summary.totals,
                      oldest_approved=oldest[2] if oldest else None,
                      paid_by=batch.paid_by, paid_at=batch.paid_at, counts=summary.counts,
                      oldest_ref=expense_ref(oldest[0]) if oldest else None,
                      oldest_employee=oldest[1] if oldest else None, home_url=_HOME_URL.get(current_team.get() or "url"))  # fmt: skip


@dataclass(frozen=True)
class DigestResult:
    batch_id: int | None
    text: str  # a plain-text rendering for the CLI


def render_text(lines: tuple[PayeeLine, ...], totals: dict[str, Decimal], title: str) -> str:
    out = [title]
    for line in lines:
        out.append(
            f"  {line.employee_id:<12} {format_money(line.amount, line.currency):>18}  ({', '.join(line.refs)}"
            + (f" and {line.count - len(line.refs)} more)" if line.count > len(line.refs) else ")")
        )
    out.append("  totals: " + (", ".join(format_money(a, c) for c, a in sorted(totals.items())) or "nothing"))
    return "\n".join(out)


def claim_batch(session: Session, actor: str) -> PayoutBatch | None:
    """Put every approved, unbatched expense in a new payout batch (in the caller's transaction).

    The expenses are claimed by one conditional UPDATE (``payout_batch_id IS NULL``), so an
    expense is never in two batches, however many digests run at once. Returns None (and
    writes nothing) when nothing waits.
    """
    batch = PayoutBatch(created_by=actor, totals={}, messages=[])
    session.add(batch)
    session.flush()
    claimed = session.execute(
        update(Expense).where(_awaiting_clause()).values(payout_batch_id=batch.id)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if not getattr(claimed, "rowcount", 0):
        session.rollback()
        return None
    summary = _summary(session, _in_batch(batch.id))
    batch.totals = {c: str(a) for c, a in summary.totals.items()}
    ids = list(session.scalars(select(Expense.id).where(_in_batch(batch.id)).order_by(Expense.id)))
    audit.record(session, actor=actor, action="payout.batch_created", entity="payout_batch", entity_id=batch.id,
                 after={"expenses": ids, "totals": batch.totals})  # fmt: skip
    outbox.add(session, "digest", {"batch_id": batch.id}, dedup_key=f"digest:{batch.id}")
    outbox.add(session, "digest_files", {"batch_id": batch.id}, dedup_key=f"digest_files:{batch.id}")
    return batch


def create_batch(ctx: AppContext, actor: str, *, dry_run: bool = False) -> DigestResult:
    """Put every approved, unbatched expense in a new payout batch and queue the digest."""
    with transaction(ctx.db) as session:
        if dry_run:
            summary = _summary(session, _awaiting_clause())
            if not summary.lines:
                return DigestResult(None, "Nothing is waiting for payout.")
            count = sum(summary.counts.values())
            return DigestResult(
                None,
                render_text(
                    summary.lines, summary.totals, f"Would create a payout batch of {count} expenses:"
                ),
            )
        batch = claim_batch(session, actor)
        if batch is None:
            return DigestResult(None, "Nothing is waiting for payout.")
        summary = _summary(session, _in_batch(batch.id))
        return DigestResult(
            batch.id, render_text(summary.lines, summary.totals, f"Payout batch #{batch.id}:")
        )


async def post_digest(ctx: AppContext, actor: str = "schedule", *, dry_run: bool = False) -> DigestResult:
    result = await asyncio.to_thread(create_batch, ctx, actor, dry_run=dry_run)
    if result.batch_id is not None:
        await remember_home_url(ctx)
        await deliver_pending(ctx)
    return result


def _mark_paid(ctx: AppContext, batch_id: int, user_id: str, email: str | None) -> str:
    directory = ctx.directory
    if not email or not (directory.is_finance(email) or directory.is_admin(email)):
        return "Only finance can mark payouts as paid."
    with transaction(ctx.db) as session:
        batch = session.get(PayoutBatch, batch_id)
        if batch is None:
            return f"Payout batch #{batch_id} does not exist."
        now = utcnow()
        claimed = session.execute(
            update(PayoutBatch)
            .where(PayoutBatch.id == batch_id, PayoutBatch.status == "open")
            .values(status="paid", paid_at=now, paid_by=user_id)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            session.refresh(batch)
            when = f" on {batch.paid_at:%d %b at %H:%M} UTC" if batch.paid_at else ""
            return (
                f"Batch #{batch_id} was already marked paid by <@{batch.paid_by}>{when}; nothing was changed."
            )
        expenses = list(session.scalars(select(Expense).where(Expense.payout_batch_id == batch_id)))
        per_employee: dict[str, list[Expense]] = defaultdict(list)
        for exp in expenses:
            before = audit.expense_snapshot(exp)
            exp.status = transition(exp.status, Move.PAY, ref=expense_ref(exp.id)).after
            exp.paid_at = now
            state = dict(exp.ocr or {})
            with i18n.use_locale(identity.stored_locale(session, ctx, exp.employee_id)):
                state["status_detail"] = _("Paid in batch #{batch}.").format(batch=batch_id)
            exp.ocr = state
            audit.record(session, actor=user_id, action="expense.paid", entity="expense", entity_id=exp.id,
                         before=before, after=audit.expense_snapshot(exp), detail=f"batch #{batch_id}")  # fmt: skip
            per_employee[exp.employee_id].append(exp)
        session.flush()
        for exp in expenses:
            outbox.add(session, "card", {"expense_id": exp.id}, dedup_key=f"card:{exp.id}:v{exp.version}")
        for employee_id, items in per_employee.items():
            by_currency: dict[str, Decimal] = defaultdict(Decimal)
            for exp in items:
                if exp.fx_rate is not None and exp.reimburse_currency and exp.reimburse_amount is not None:
                    by_currency[exp.reimburse_currency] += exp.reimburse_amount
                else:
                    by_currency[exp.currency or "?"] += exp.approved_amount or exp.amount or Decimal(0)
            refs = ", ".join(expense_ref(e.id) for e in items)
            with i18n.use_locale(identity.stored_locale(session, ctx, employee_id)):
                total = _(" and ").join(format_money(a, c) for c, a in sorted(by_currency.items()))
                told = ":moneybag: " + _("You have been paid {total} for {refs}.").format(
                    total=total, refs=refs
                )
            outbox.add(session, "dm", {"user_id": employee_id, "text": told},
                       dedup_key=f"paid:{batch_id}:{employee_id}")  # fmt: skip
        audit.record(session, actor=user_id, action="payout.batch_paid", entity="payout_batch", entity_id=batch_id,
                     before={"status": "open"}, after={"status": "paid"})  # fmt: skip
        outbox.add(session, "digest", {"batch_id": batch_id}, dedup_key=f"digest:{batch_id}:paid")
        return f"Batch #{batch_id} is marked paid; {len(per_employee)} people were told."


async def mark_paid(ctx: AppContext, batch_id: int, user_id: str) -> str:
    email = await identity.email_of(ctx, user_id)
    message = await asyncio.to_thread(_mark_paid, ctx, batch_id, user_id, email)
    await remember_home_url(ctx)
    await deliver_pending(ctx)
    return message


def due_slot(now: dt.datetime, cron: str, tz_name: str) -> str | None:
    """The schedule slot that has come due in the last minute (``None`` when none has)."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    local = now.astimezone(ZoneInfo(tz_name))
    prev = croniter(cron, local).get_prev(dt.datetime)
    if (local - prev).total_seconds() < 60:
        return str(prev.isoformat())
    return None


# --- digest extras: App Home link, chart and export file in the digest's thread ---------------


async def remember_home_url(ctx: AppContext) -> str | None:
    """A link that opens the app's Home tab (cached; None when Slack does not say who we are)."""
    key = current_team.get() or "url"  # one link per workspace in multi-workspace mode
    if key in _HOME_URL:
        return _HOME_URL[key]
    try:
        auth = await ctx.slack.auth_test()
    except Exception as exc:  # the digest goes out without the link
        log.warning("auth.test failed; the digest has no App Home link: %s", exc)
        return None
    team, bot_id, user_id = auth.get("team_id"), auth.get("bot_id"), auth.get("user_id")
    app_id = None
    if bot_id:
        try:
            info = await ctx.slack.bots_info(bot=bot_id)
            app_id = (info.get("bot") or {}).get("app_id")
        except Exception:  # bots.info is optional; fall back to the bot's conversation
            app_id = None
    if app_id and team:
        url = f"https://slack.com/app_redirect?app={app_id}&team={team}&tab=home"
    elif user_id and team:
        url = f"https://slack.com/app_redirect?channel={user_id}&team={team}"
    else:
        return None
    _HOME_URL[key] = url
    return url


def sepa_debtor(settings: Settings | None = None) -> Debtor | None:
    """The account SEPA transfers are paid from (EXPENSEBOT_SEPA_NAME / _IBAN / _BIC), if set."""
    settings = settings or load_settings()
    if not settings.sepa_name or not settings.sepa_iban:
        return None
    return Debtor(settings.sepa_name, settings.sepa_iban, settings.sepa_bic or None)


def make_export(ctx: AppContext, batch_id: int, fmt: str, actor: str) -> ExportFile:
    """Build, record and audit an export of ``batch_id`` (raises ExportError with a message)."""
    from storage.exports import build_export, ibans_from_directory, record_export

    pays = export_format(fmt).pays
    debtor = sepa_debtor(ctx.settings) if pays else None
    if pays and debtor is None:
        raise ExportError(
            "SEPA files need the paying account: set EXPENSEBOT_SEPA_NAME and EXPENSEBOT_SEPA_IBAN "
            "(and EXPENSEBOT_SEPA_BIC) for the app."
        )
    ibans = ibans_from_directory(ctx.directory) if pays else None
    with transaction(ctx.db) as session:
        result = build_export(session, batch_id, fmt, ibans=ibans, debtor=debtor)
        record_export(session, result, actor)
        return result


def period_chart(ctx: AppContext, batch_id: int) -> tuple[bytes | None, str]:
    """The period's spend by category and by customer as a PNG, with a caption.

    The period runs from the previous batch (or 30 days before) to this batch's creation day,
    in the company currency. Without the exchange rates it needs, the caption says why.
    """
    from storage.reports import ReportError, bar_chart_png, spend_report

    currency = ctx.settings.company_currency.upper()
    with ctx.db() as session:
        batch = session.get(PayoutBatch, batch_id)
        if batch is None:
            raise LookupError(f"payout batch {batch_id} is gone")
        end = batch.created_at.date()
        previous = session.scalar(select(func.max(PayoutBatch.created_at)).where(PayoutBatch.id < batch_id))
        start = previous.date() if previous else end - dt.timedelta(days=30)
        try:
            by_category = spend_report(session, "category", start, end, currency)
            by_customer = spend_report(session, "customer", start, end, currency, top_merchants=0)
        except ReportError as exc:
            return None, f"No spend chart for {start} to {end}: {exc}"
    if not by_category.rows:
        return None, f"No approved spend between {start} and {end} to chart."
    png = bar_chart_png(
        [(f"By category ({currency})", [(r.key, r.total) for r in by_category.rows[:12]]),
         (f"By customer, top 12 ({currency})", [(r.key, r.total) for r in by_customer.rows[:12]])],
        title=f"Approved spend {start} to {end}: {by_category.money(by_category.total)}",
    )  # fmt: skip
    return png, f"Approved spend {start} to {end} by category and customer ({currency})."


def _digest_bundle(ctx: AppContext, batch_id: int) -> tuple[Any, list[list[str]]]:
    with ctx.db() as session:
        batch = session.get(PayoutBatch, batch_id)
        if batch is None:
            raise LookupError(f"payout batch {batch_id} is gone")
        return digest_view(session, batch), list(batch.messages or [])


async def send_digest(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any] | None:
    batch_id = int(payload["batch_id"])
    view, existing = await asyncio.to_thread(_digest_bundle, ctx, batch_id)
    with i18n.use_locale(i18n.choose(None, ctx.settings.default_locale)):  # finance's: the company's language
        blocks = build_digest(view)
        text = digest_fallback(view)
    if existing:  # update in place
        for channel, ts in existing:
            await ctx.slack.chat_update(channel=channel, ts=ts, blocks=blocks, text=text)
        return {"updated": len(existing)}
    targets: list[str] = []
    if ctx.settings.finance_channel:
        targets.append(ctx.settings.finance_channel)
    else:
        for person in ctx.directory.finance():
            user_id = await identity.user_of(ctx, person.email)
            if user_id:
                targets.append(await identity.dm_channel(ctx, user_id))
    if not targets:
        raise RuntimeError("no finance channel and no finance member on Slack to receive the digest")
    posted = []
    for channel in targets:
        posted.append(await post(ctx.slack, channel=channel, blocks=blocks, text=text))

    def save() -> None:
        with transaction(ctx.db) as session:
            batch = session.get(PayoutBatch, batch_id)
            if batch is not None:
                batch.messages = [[p["channel"], p["ts"]] for p in posted]

    await asyncio.to_thread(save)
    return {"messages": posted}


async def send_digest_files(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any] | None:
    """After the digest is posted: the chart and the CSV export in its thread."""
    batch_id = int(payload["batch_id"])

    def where() -> list[list[str]]:
        with ctx.db() as session:
            batch = session.get(PayoutBatch, batch_id)
            return list(batch.messages or []) if batch is not None else []

    messages = await asyncio.to_thread(where)
    if not messages:
        raise RuntimeError(f"the digest of batch {batch_id} is not posted yet")
    try:
        png, caption = await asyncio.to_thread(period_chart, ctx, batch_id)
    except DatabaseUnavailable:
        raise
    except Exception as exc:  # the chart is a courtesy: the export still goes out
        log.exception("spend chart for batch %s failed", batch_id)
        png, caption = None, f"No spend chart this time ({type(exc).__name__})."
    try:
        export = await asyncio.to_thread(make_export, ctx, batch_id, "csv", "system")
    except ExportError as exc:
        export = None
        caption += f"\nNo export file: {exc}"
    uploaded = 0
    for channel, ts in messages:
        if png is not None:
            await ctx.slack.files_upload_v2(channel=channel, thread_ts=ts, content=png,
                                            filename=f"spend-batch-{batch_id}.png", title="Spend chart",
                                            initial_comment=caption)  # fmt: skip
            uploaded += 1
        else:
            await ctx.slack.chat_postMessage(channel=channel, thread_ts=ts, text=caption)
        if export is not None:
            await ctx.slack.files_upload_v2(channel=channel, thread_ts=ts, content=export.content,
                                            filename=export.filename, title=f"Payout batch #{batch_id} (CSV)",
                                            initial_comment=f"Export of batch #{batch_id}: {export.expense_count} "
                                                            "expenses; other formats from the Export menu.")  # fmt: skip
            uploaded += 1
    return {"uploaded": uploaded}


# --- App Home: the finance section ---------------------------------------------------------


def finance_home_blocks(ctx: AppContext, email: str | None) -> list[Block]:
    """The App Home's finance section (for finance and admins; empty for everyone else).

    What waits for payout per currency, the open batches, and this month's approved spend by
    category in the company currency.
    """
    from storage.reports import ReportError, spend_report

    directory = ctx.directory
    if not email or not (directory.is_finance(email) or directory.is_admin(email)):
        return []
    currency = ctx.settings.company_currency.upper()
    today = utcnow().date()
    with ctx.db() as session:
        waiting = _summary(session, _awaiting_clause())
        open_ids = list(session.scalars(
            select(PayoutBatch.id).where(PayoutBatch.status == "open").order_by(PayoutBatch.id)
        ))  # fmt: skip
        try:
            month = spend_report(session, "category", today.replace(day=1), today, currency, top_merchants=0)
            spend_error = None
        except ReportError as exc:
            month, spend_error = None, str(exc)
    blocks: list[Block] = [header(_("Finance"))]
    if waiting.lines:
        per = " · ".join(
            f"{format_money(a, c)} ({waiting.counts[c]})" for c, a in sorted(waiting.totals.items())
        )
        people = len({ln.employee_id for ln in waiting.lines})
        oldest = waiting.oldest
        since = (
            (
                " "
                + _("Oldest approved {day} ({ref}).").format(
                    day=i18n.format_date(oldest[2], "%d %b %Y"), ref=expense_ref(oldest[0])
                )
            )
            if oldest
            else ""
        )
        blocks.append(section("*" + _("Waiting for the next payout batch:") + "* "
                              + ngettext("{amounts} to {people} person.", "{amounts} to {people} people.",
                                         people).format(amounts=per, people=people) + since))  # fmt: skip
    else:
        blocks.append(section("*" + _("Waiting for the next payout batch:") + "* " + _("nothing.")))
    if open_ids:
        shown = ", ".join(f"#{i}" for i in open_ids[:10]) + (" …" if len(open_ids) > 10 else "")
        blocks.append(section("*" + _("Open batches (not yet marked paid):") + f"* {shown}"))
    if month is not None and month.rows:
        top = "\n".join(
            "• " + _(r.key) + f": {format_money(r.total, currency)} ({r.count})" for r in month.rows[:6]
        )
        title = _("Approved spend this month ({currency}):").format(currency=currency)
        blocks.append(section(f"*{title}* {format_money(month.total, currency)}\n{top}"))
    elif spend_error:
        blocks.append(context(_("Spend this month: {problem}").format(problem=spend_error)))
    blocks.append(context(_("Reports: {command}").format(
        command="`expensebot report --by customer|project|department|category|employee "
                "--from YYYY-MM-DD --to YYYY-MM-DD [--csv FILE] [--png FILE]`")))  # fmt: skip
    return blocks
