"""Finance on Slack: the thin edge of :mod:`services.payouts` (the digest and its thread, Mark
paid, exports, the App Home's finance section)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot import i18n, identity
from bot.blocks.common import Block, context, format_money, header, section
from bot.blocks.digest import DigestView, PayeeLine, build_digest, digest_fallback
from bot.context import AppContext
from bot.delivery import deliver_pending, post
from bot.i18n import _, format_count, ngettext
from bot.settings import Settings, load_settings
from services import payouts as service
from services.payouts import BatchState, PaidRefusal, PayeeTotal
from storage.db import DatabaseUnavailable
from storage.exports import Debtor, ExportFile
from storage.models import utcnow
from storage.tenancy import current_team
from workflows.expenses import expense_ref
from workflows.exports import ExportError

log = logging.getLogger(__name__)

# The app's Home tab as a link (found with auth.test / bots.info once per process).
_HOME_URL: dict[str, str] = {}


def digest_view(state: BatchState) -> DigestView:
    summary = state.summary
    oldest = summary.oldest
    return DigestView(
        batch_id=state.batch_id,
        lines=_lines(summary.lines),
        totals=summary.totals,
        oldest_approved=oldest[2] if oldest else None,
        paid_by=state.paid_by,
        paid_at=state.paid_at,
        counts=summary.counts,
        oldest_ref=expense_ref(oldest[0]) if oldest else None,
        oldest_employee=oldest[1] if oldest else None,
        home_url=_HOME_URL.get(current_team.get() or "url"),
    )


def _lines(totals: tuple[PayeeTotal, ...]) -> tuple[PayeeLine, ...]:
    return tuple(PayeeLine(t.employee_id, t.currency, t.amount, t.count, t.refs) for t in totals)


def render_text(lines: tuple[PayeeTotal, ...], totals: dict[str, Decimal], title: str) -> str:
    """A batch for the CLI, in plain text."""
    out = [title]
    for line in lines:
        out.append(
            f"  {line.employee_id:<12} {format_money(line.amount, line.currency):>18}  ({', '.join(line.refs)}"
            + (f" and {line.count - len(line.refs)} more)" if line.count > len(line.refs) else ")")
        )
    out.append("  totals: " + (", ".join(format_money(a, c) for c, a in sorted(totals.items())) or "nothing"))
    return "\n".join(out)


@dataclass(frozen=True)
class DigestResult:
    batch_id: int | None  # None: a dry run, or nothing waited
    text: str  # a plain-text rendering for the CLI


def create_batch(ctx: AppContext, actor: str, *, dry_run: bool = False) -> DigestResult:
    """Put every approved, unbatched expense in a new payout batch and queue the digest."""
    result = service.create_batch(ctx.db, actor, dry_run=dry_run)
    summary = result.summary
    if not summary.lines:
        return DigestResult(None, "Nothing is waiting for payout.")
    if result.batch_id is None:
        count = sum(summary.counts.values())
        title = f"Would create a payout batch of {count} expenses:"
        return DigestResult(None, render_text(summary.lines, summary.totals, title))
    return DigestResult(
        result.batch_id, render_text(summary.lines, summary.totals, f"Payout batch #{result.batch_id}:")
    )


async def post_digest(ctx: AppContext, actor: str = "schedule", *, dry_run: bool = False) -> DigestResult:
    result = await asyncio.to_thread(create_batch, ctx, actor, dry_run=dry_run)
    if result.batch_id is not None:
        await remember_home_url(ctx)
        await deliver_pending(ctx)
    return result


def mark_paid_text(result: service.MarkPaidResult) -> str:
    batch_id = result.batch_id
    if result.refused is PaidRefusal.NOT_FINANCE:
        return "Only finance can mark payouts as paid."
    if result.refused is PaidRefusal.NO_BATCH:
        return f"Payout batch #{batch_id} does not exist."
    if result.refused is PaidRefusal.ALREADY_PAID:
        when = f" on {result.paid_at:%d %b at %H:%M} UTC" if result.paid_at else ""
        return f"Batch #{batch_id} was already marked paid by <@{result.paid_by}>{when}; nothing was changed."
    return f"Batch #{batch_id} is marked paid; {result.people} people were told."


async def mark_paid(ctx: AppContext, batch_id: int, user_id: str) -> str:
    email = await identity.email_of(ctx, user_id)
    result = await asyncio.to_thread(service.mark_paid, ctx.db, ctx.directory, batch_id, user_id, email)
    await remember_home_url(ctx)
    await deliver_pending(ctx)
    return mark_paid_text(result)


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
    return service.make_export(ctx.db, ctx.directory, sepa_debtor(ctx.settings), batch_id, fmt, actor)


async def send_digest(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any] | None:
    batch_id = int(payload["batch_id"])
    state = await asyncio.to_thread(service.batch_state, ctx.db, batch_id)
    view = digest_view(state)
    with i18n.use_locale(i18n.choose(None, ctx.settings.default_locale)):  # finance's: the company's language
        blocks = build_digest(view)
        text = digest_fallback(view)
    if state.messages:  # update in place
        for channel, ts in state.messages:
            await ctx.slack.chat_update(channel=channel, ts=ts, blocks=blocks, text=text)
        return {"updated": len(state.messages)}
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
    where = [(str(p["channel"]), str(p["ts"])) for p in posted]
    await asyncio.to_thread(service.save_digest_messages, ctx.db, batch_id, where)
    return {"messages": posted}


async def send_digest_files(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any] | None:
    """After the digest is posted: the chart and the CSV export in its thread."""
    batch_id = int(payload["batch_id"])
    state = await asyncio.to_thread(service.batch_state, ctx.db, batch_id)
    if not state.messages:
        raise RuntimeError(f"the digest of batch {batch_id} is not posted yet")
    currency = ctx.settings.company_currency.upper()
    try:
        chart = await asyncio.to_thread(service.period_chart, ctx.db, batch_id, currency)
    except DatabaseUnavailable:
        raise
    except Exception:  # the chart is a courtesy: the export still goes out
        log.exception("spend chart for batch %s failed", batch_id)
        chart = None
    try:
        export = await asyncio.to_thread(make_export, ctx, batch_id, "csv", "system")
        export_problem = None
    except ExportError as exc:
        export, export_problem = None, str(exc)
    # Like the digest: finance reads the thread together, in the company's language.
    with i18n.use_locale(i18n.choose(None, ctx.settings.default_locale)):
        texts = thread_texts(batch_id, chart, export, export_problem)
    uploaded = 0
    for channel, ts in state.messages:
        if chart is not None and chart.png is not None:
            await ctx.slack.files_upload_v2(
                channel=channel,
                thread_ts=ts,
                content=chart.png,
                filename=f"spend-batch-{batch_id}.png",
                title=texts.chart_title,
                initial_comment=texts.caption,
            )
            uploaded += 1
        else:
            await ctx.slack.chat_postMessage(channel=channel, thread_ts=ts, text=texts.caption)
        if export is not None:
            await ctx.slack.files_upload_v2(
                channel=channel,
                thread_ts=ts,
                content=export.content,
                filename=export.filename,
                title=texts.export_title,
                initial_comment=texts.export_comment,
            )
            uploaded += 1
    return {"uploaded": uploaded}


@dataclass(frozen=True)
class ThreadTexts:
    """What the digest's thread says with its files, in the current locale."""

    caption: str
    chart_title: str
    export_title: str
    export_comment: str


def thread_texts(
    batch_id: int, chart: service.PeriodChart | None, export: ExportFile | None, export_problem: str | None
) -> ThreadTexts:
    """The chart's caption (or why there is no chart, and no export file) and the export's title and
    comment, in the current locale (the company's: :func:`send_digest_files`)."""
    if chart is None:
        caption = _("No spend chart this time.")
    else:
        start, end = i18n.format_date(chart.start), i18n.format_date(chart.end)
        if chart.problem is not None:
            caption = _("No spend chart for {start} to {end}: {problem}").format(
                start=start, end=end, problem=chart.problem
            )
        elif chart.png is None:
            caption = _("No approved spend between {start} and {end} to chart.").format(start=start, end=end)
        else:
            caption = _("Approved spend {start} to {end} by category and customer ({currency}).").format(
                start=start, end=end, currency=chart.currency
            )
    if export_problem is not None:
        caption += "\n" + _("No export file: {problem}").format(problem=export_problem)
    count = export.expense_count if export is not None else 0
    return ThreadTexts(
        caption=caption,
        chart_title=_("Spend chart"),
        export_title=_("Payout batch #{batch} (CSV)").format(batch=batch_id),
        export_comment=ngettext(
            "Export of batch #{batch}: {count} expense; other formats from the Export menu.",
            "Export of batch #{batch}: {count} expenses; other formats from the Export menu.",
            count,
        ).format(batch=batch_id, count=format_count(count)),
    )


# --- App Home: the finance section ---------------------------------------------------------


def finance_home_blocks(ctx: AppContext, email: str | None) -> list[Block]:
    """The App Home's finance section (for finance and admins; empty for everyone else).

    What waits for payout per currency, the open batches, and this month's approved spend by
    category in the company currency.
    """
    if not service.may_pay(ctx.directory, email):
        return []
    currency = ctx.settings.company_currency.upper()
    overview = service.finance_overview(ctx.db, currency, utcnow().date())
    waiting, open_ids, month = overview.waiting, overview.open_batches, overview.month
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
        blocks.append(
            section(
                "*"
                + _("Waiting for the next payout batch:")
                + "* "
                + ngettext("{amounts} to {people} person.", "{amounts} to {people} people.", people).format(
                    amounts=per, people=people
                )
                + since
            )
        )
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
    elif overview.spend_error:
        blocks.append(context(_("Spend this month: {problem}").format(problem=overview.spend_error)))
    blocks.append(
        context(
            _("Reports: {command}").format(
                command="`expensebot report --by customer|project|department|category|employee "
                "--from YYYY-MM-DD --to YYYY-MM-DD [--csv FILE] [--png FILE]`"
            )
        )
    )
    return blocks
