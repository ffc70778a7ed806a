"""The employee's side on Slack: a receipt becomes an expense, is read, corrected, submitted or
discarded.

The changes themselves are use cases in ``services.expenses`` and ``services.reading``: each
commits (with its audit event and its outbox messages) before anything is said on Slack. This
module is the edge: Slack files, the reading job and its lease, and the words for refusals.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image, ImageDraw
from slack_sdk.errors import SlackApiError

from bot import i18n, identity
from bot.context import AppContext
from bot.delivery import deliver_pending
from bot.metrics import OCR_SECONDS
from bot.projects import project_refusal_text
from ocr import OcrConfig, OcrError, ReceiptFacts, ReceiptHint, read_receipt
from ocr.slots import default_slots, reading_slot
from services import expenses as service
from services import reading
from services.expenses import Outcome, Refusal, RefusalKind, SharedReceipt
from workflows.expense_edits import Edit
from workflows.expenses import Status, expense_ref

log = logging.getLogger(__name__)

RECEIPT_FILETYPES = frozenset(
    {"jpg", "jpeg", "png", "heic", "heif", "webp", "pdf", "gif", "tif", "tiff", "bmp"}
)
RECEIPT_MIME_PREFIXES = ("image/", "application/pdf")


def is_receipt_file(file: dict[str, Any]) -> bool:
    """By Slack's description of the file; the content is checked again after download."""
    mimetype = str(file.get("mimetype") or "")
    filetype = str(file.get("filetype") or "").lower()
    if not mimetype and not filetype:
        return True  # unknown yet (a file_shared event): decide by content later
    return mimetype.startswith(RECEIPT_MIME_PREFIXES) or filetype in RECEIPT_FILETYPES


def not_a_receipt_message(file: dict[str, Any]) -> str:
    name = file.get("name") or file.get("title") or "This file"
    kind = file.get("pretty_type") or file.get("filetype") or "that kind of file"
    return (
        f"“{name}” is {kind}, not a receipt I can read. Send a photo (JPEG, PNG, HEIC, WebP) or a PDF "
        "of the receipt, or use /expense to type the expense in."
    )


# --- intake -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intake:
    user_id: str
    channel_id: str
    file: dict[str, Any]
    thread_ts: str | None
    note: str
    source: str  # dm | channel | shortcut | command


async def intake_file(ctx: AppContext, item: Intake) -> int | None:
    """Start an expense from a shared file. Idempotent per Slack file id."""
    if not is_receipt_file(item.file):
        if ctx.kv.first_time(f"refused-file:{item.file['id']}"):
            await ctx.slack.chat_postMessage(
                channel=item.channel_id, thread_ts=item.thread_ts, text=not_a_receipt_message(item.file)
            )
        return None
    shared = SharedReceipt(
        user_id=item.user_id,
        channel_id=item.channel_id,
        slack_file_id=str(item.file["id"]),
        thread_ts=item.thread_ts,
        note=item.note,
        source=item.source,
    )
    started = await asyncio.to_thread(service.start_from_file, ctx.db, shared)
    if not started.new:
        return None
    if item.thread_ts:
        try:
            await ctx.slack.reactions_add(channel=item.channel_id, timestamp=item.thread_ts, name="eyes")
        except SlackApiError as exc:
            log.info("reaction not added: %s", exc.response.get("error"))
    queue_read(ctx, started.expense_id)
    return started.expense_id


# --- reading ------------------------------------------------------------------------------------

# A reading waits in the queue under a "queued" mark and runs under a "reading" lease that its
# job renews; an expense still unread after the stale time is queued again only when it has
# neither (its job was lost with a process). However long the queue, each upload is read once.
QUEUED_FOR = 24 * 3600


def _queued_key(expense_id: int) -> str:
    return f"read-queued:{expense_id}"


def _reading_key(expense_id: int) -> str:
    return f"reading:{expense_id}"


def queue_read(ctx: AppContext, expense_id: int) -> None:
    """Put the reading of an expense on the job queue."""
    assert ctx.jobs is not None
    ctx.kv.put(_queued_key(expense_id), QUEUED_FOR)
    ctx.jobs.enqueue("read_receipt", expense_id)


def read_pending(ctx: AppContext, expense_id: int) -> bool:
    """True while a reading of the expense waits in the queue or is under way in a live process."""
    # The queued mark first: a starting job takes its lease before it drops the mark, so one of
    # the two is always seen while the job runs.
    return ctx.kv.exists(_queued_key(expense_id)) or ctx.kv.exists(_reading_key(expense_id))


def _lease_seconds(ctx: AppContext) -> int:
    return max(2, ctx.settings.stale_reading_seconds)


async def _keep_lease(ctx: AppContext, expense_id: int) -> None:
    lease = _lease_seconds(ctx)
    while True:
        await asyncio.sleep(lease / 3)
        ctx.kv.put(_reading_key(expense_id), lease)


class DownloadError(Exception):
    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


async def download_slack_file(ctx: AppContext, file_id: str) -> tuple[bytes, str | None, str | None]:
    """The file's bytes, name and Slack mimetype, from ``url_private_download`` with the bot token."""
    info = await ctx.slack.files_info(file=file_id)
    file = info.get("file") or {}
    limit = ctx.settings.max_upload_bytes
    size = int(file.get("size") or 0)
    if size > limit:
        raise DownloadError(
            f"“{file.get('name', 'The file')}” is {size / 1e6:.1f} MB; receipts up to {limit / 1e6:.0f} MB "
            "can be read. Send a smaller photo or a PDF, or type the expense in with Edit."
        )
    url = file.get("url_private_download") or file.get("url_private")
    if not url:
        raise DownloadError("Slack did not give me a way to download this file; please send it again.")
    headers = {"Authorization": f"Bearer {await ctx.bot_token()}"}
    chunks: list[bytes] = []
    received = 0
    async with (
        httpx.AsyncClient(timeout=30, follow_redirects=True) as client,
        client.stream("GET", url, headers=headers) as resp,
    ):
        if resp.status_code != 200:
            raise RuntimeError(f"download of {file_id} answered HTTP {resp.status_code}")
        async for chunk in resp.aiter_bytes():
            received += len(chunk)
            if received > limit:
                raise DownloadError(
                    f"This file is larger than {limit / 1e6:.0f} MB; send a smaller photo or a PDF."
                )
            chunks.append(chunk)
    return b"".join(chunks), file.get("name"), file.get("mimetype")


def _read(ctx: AppContext, content: bytes) -> tuple[ReceiptFacts | None, str | None]:
    hint = ReceiptHint(
        currency=ctx.settings.company_currency.upper(), known_merchants=tuple(reading.known_merchants(ctx.db))
    )
    config = OcrConfig(threads=ctx.settings.ocr_threads)
    with reading_slot(ctx.settings.ocr_slots or default_slots()):
        started = time.perf_counter()
        try:
            facts = read_receipt(content, hint=hint, config=config)
        except OcrError as exc:
            OCR_SECONDS.labels("unreadable").observe(time.perf_counter() - started)
            return None, exc.user_message
    OCR_SECONDS.labels("read").observe(time.perf_counter() - started)
    return facts, None


def _apply_reading(ctx: AppContext, expense_id: int, facts: ReceiptFacts | None, error: str | None) -> None:
    reading.apply_reading(
        ctx.db,
        expense_id,
        facts,
        error,
        company_currency=ctx.settings.company_currency,
        categories=ctx.policy.categories.keys(),
        customers=ctx.customers.index(),
    )


async def read_receipt_job(ctx: AppContext, expense_id: int) -> None:
    """Read the receipt unless another job is reading it now (see :func:`queue_read`)."""
    taken = ctx.kv.first_time(_reading_key(expense_id), ttl_seconds=_lease_seconds(ctx))
    ctx.kv.delete(_queued_key(expense_id))
    if not taken:
        log.info("expense %s is being read by another job", expense_id)
        return
    keeper = asyncio.create_task(_keep_lease(ctx, expense_id))
    try:
        await _read_receipt(ctx, expense_id)
    except Exception:
        ctx.kv.put(_queued_key(expense_id), QUEUED_FOR)  # the job is tried again
        raise
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        ctx.kv.delete(_reading_key(expense_id))


async def _read_receipt(ctx: AppContext, expense_id: int) -> None:
    """Download (once), store (before reading), read, match the customer, and post the card."""
    job = await asyncio.to_thread(reading.to_read, ctx.db, expense_id)
    if job.status is not Status.READING:
        return
    facts, error = None, None
    receipt_id = job.receipt_id
    if receipt_id is None and job.slack_file_id:
        try:
            content, name, _mime = await download_slack_file(ctx, job.slack_file_id)
        except DownloadError as exc:
            error = exc.user_message
        else:
            receipt_id = await asyncio.to_thread(
                reading.store_receipt, ctx.db, ctx.receipts, expense_id, content, name, job.employee_id
            )
    if receipt_id is not None and error is None:
        content = await asyncio.to_thread(reading.receipt_content, ctx.db, ctx.receipts, receipt_id)
        facts, error = await asyncio.to_thread(_read, ctx, content)
    await asyncio.to_thread(_apply_reading, ctx, expense_id, facts, error)
    await deliver_pending(ctx)


async def _department(ctx: AppContext, user_id: str) -> str | None:
    """The employee's team, which scopes the customer aliases learned from corrections."""
    try:
        email = await identity.email_of(ctx, user_id)
    except Exception:  # matching still works without the team's own aliases
        return None
    person = ctx.directory.get(email) if email else None
    return person.department if person else None


async def read_receipt_failed(ctx: AppContext, expense_id: int, error: str) -> None:
    """The reading job failed for good: the employee gets a card to fill in by hand."""
    message = (
        "I could not read this receipt because of an internal error (it was tried several times). "
        "Click *Edit* to type the merchant, date and total, or send the receipt again."
    )
    log.error("reading expense %s failed for good: %s", expense_id, error)
    ctx.kv.delete(_queued_key(expense_id))
    await asyncio.to_thread(_apply_reading, ctx, expense_id, None, message)
    await deliver_pending(ctx)


# --- edits, picks, discards ---------------------------------------------------------------------


def refusal_text(refusal: Refusal, verb: str) -> str:
    """A refused change in the words the employee reads (``verb``: what they tried, e.g. "edit")."""
    match refusal.kind:
        case RefusalKind.GONE:
            return "This expense no longer exists."
        case RefusalKind.NOT_OWNER:
            return f"Only <@{refusal.owner}> can {verb} {expense_ref(refusal.expense_id)}."
        case RefusalKind.NOT_NOW | RefusalKind.INVALID:
            return refusal.detail


def _answer(outcome: Outcome, verb: str) -> str | None:
    """What to tell the employee: why the change was refused, or what part of it was not kept."""
    if isinstance(outcome, Refusal):
        return refusal_text(outcome, verb)
    return project_refusal_text(outcome.project_refused) if outcome.project_refused is not None else None


async def save_edit(ctx: AppContext, expense_id: int, user_id: str, edit: Edit) -> str | None:
    email = await identity.email_of(ctx, user_id)
    person = ctx.directory.get(email) if email else None
    department = person.department if person else None
    outcome = await asyncio.to_thread(service.save_edit, ctx.db, expense_id, user_id, edit, department)
    await deliver_pending(ctx)
    with i18n.use_locale(await identity.locale_for(ctx, user_id)):
        return _answer(outcome, "edit")


async def pick_deal(ctx: AppContext, expense_id: int, user_id: str, value: str) -> str | None:
    outcome = await asyncio.to_thread(service.pick_deal, ctx.db, expense_id, user_id, value)
    await deliver_pending(ctx)
    return _answer(outcome, "change")


async def pick_customer(ctx: AppContext, expense_id: int, user_id: str, value: str) -> str | None:
    """``value``: the customer's id from the card's picker, or "none"."""
    department = await _department(ctx, user_id)
    customer_id = None if value == "none" else int(value)
    outcome = await asyncio.to_thread(
        service.pick_customer, ctx.db, expense_id, user_id, customer_id, department
    )
    await deliver_pending(ctx)
    return _answer(outcome, "change")


async def discard(ctx: AppContext, expense_id: int, user_id: str) -> str | None:
    outcome = await asyncio.to_thread(service.discard, ctx.db, expense_id, user_id)
    await deliver_pending(ctx)
    return _answer(outcome, "discard")


async def create_typed(
    ctx: AppContext, user_id: str, edit: Edit, source: str = "command", file: dict[str, Any] | None = None
) -> int:
    """An expense typed into the /expense modal, optionally with a receipt uploaded in it."""
    expense_id = await asyncio.to_thread(
        service.create_typed, ctx.db, user_id, edit, source, with_file=file is not None
    )
    if file is not None:
        # The receipt is stored, then read like any other (a job): it fills what was left empty,
        # is compared with the total typed, and is checked for duplicates.
        try:
            content, name, _ = await download_slack_file(ctx, str(file["id"]))
            await asyncio.to_thread(
                reading.store_receipt, ctx.db, ctx.receipts, expense_id, content, name, user_id
            )
        except DownloadError as exc:
            log.info("receipt from modal not stored: %s", exc.user_message)
            await asyncio.to_thread(_apply_reading, ctx, expense_id, None, exc.user_message)
        else:
            queue_read(ctx, expense_id)
    await deliver_pending(ctx)
    return expense_id


def stale_reading(ctx: AppContext, older_than: dt.timedelta) -> list[int]:
    """Expenses stuck in reading whose job was lost with its process: to be read again.

    An expense waiting in a long queue, or being read right now, is not stuck.
    """
    unread = reading.unread_before(ctx.db, older_than)
    unmarked = [expense_id for expense_id in unread if not read_pending(ctx, expense_id)]
    # A job may have finished between the first query and the look at its marks: it drops its
    # lease only after committing the reading, so a second look at the status settles it.
    return reading.still_reading(ctx.db, unmarked)


def warm_up_reader(threads: int = 0) -> None:
    """Load the receipt reader's engines now, so the first real receipt is not slowed by it."""
    image = Image.new("RGB", (400, 120), "white")
    ImageDraw.Draw(image).text((10, 40), "TOTAL 1.00", fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    with contextlib.suppress(OcrError):
        read_receipt(out.getvalue(), config=OcrConfig(threads=threads))
