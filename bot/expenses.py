"""The employee's side: a receipt becomes an expense, is read, corrected, submitted or discarded.

Every change commits to the database (with its audit event and its outbox messages) before
anything is said on Slack.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from slack_sdk.errors import SlackApiError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot import identity
from bot.blocks.common import tax_wording
from bot.context import AppContext
from bot.delivery import deliver_pending
from bot.i18n import _
from bot.metrics import OCR_SECONDS
from storage import audit, outbox
from storage.db import retry_on_conflict, transaction
from storage.models import Customer, Expense, ExpenseProject, MerchantCorrection, ReceiptFile, utcnow
from storage.projects import offer_projects, pick_project
from storage.receipts import content_of, place
from workflows.categories import CATEGORIES, guess_category
from workflows.corrections import alias_from_note
from workflows.expenses import Move, Status, TransitionError, expense_ref, transition
from workflows.money import Money, MoneyError, is_currency, parse_amount
from workflows.policy import Policy, mileage_amount
from workflows.tax import TaxFacts, TaxInput, parse_tax, tax_facts

log = logging.getLogger(__name__)

RECEIPT_FILETYPES = frozenset(
    {"jpg", "jpeg", "png", "heic", "heif", "webp", "pdf", "gif", "tif", "tiff", "bmp"}
)
RECEIPT_MIME_PREFIXES = ("image/", "application/pdf")


class UserError(Exception):
    """Something the person can fix; ``str()`` is shown to them as is."""


def merchant_key(merchant: str | None) -> str | None:
    if not merchant:
        return None
    return re.sub(r"[^0-9A-Z]+", " ", merchant.upper()).strip() or None


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


def _create(ctx: AppContext, item: Intake) -> int | None:
    """Insert the expense for one Slack file; None when that file already has one."""
    try:
        with transaction(ctx.db) as session:
            expense = Expense(
                status=Status.READING, employee_id=item.user_id, source=item.source,
                note=item.note.strip() or None, slack_file_id=item.file["id"], channel_id=item.channel_id,
                thread_ts=item.thread_ts,
            )  # fmt: skip
            session.add(expense)
            session.flush()
            audit.record(session, actor=item.user_id, action="expense.created", entity="expense",
                         entity_id=expense.id, after=audit.expense_snapshot(expense),
                         detail=f"from Slack file {item.file['id']} ({item.source})")  # fmt: skip
            return expense.id
    except IntegrityError:
        _fill_thread(ctx, item)
        return None


def _fill_thread(ctx: AppContext, item: Intake) -> None:
    """A redelivery may carry what the first delivery lacked (the message ts, the note)."""
    with transaction(ctx.db) as session:
        by_file = Expense.slack_file_id == item.file["id"]
        if item.thread_ts:
            session.execute(
                update(Expense)
                .where(by_file, Expense.thread_ts.is_(None), Expense.card_ts.is_(None))
                .values(thread_ts=item.thread_ts, channel_id=item.channel_id)
                .execution_options(synchronize_session=False)
            )
        if item.note.strip():
            session.execute(
                update(Expense)
                .where(by_file, Expense.note.is_(None), Expense.status == Status.READING)
                .values(note=item.note.strip())
                .execution_options(synchronize_session=False)
            )


async def intake_file(ctx: AppContext, item: Intake) -> int | None:
    """Start an expense from a shared file. Idempotent per Slack file id."""
    if not is_receipt_file(item.file):
        if ctx.kv.first_time(f"refused-file:{item.file['id']}"):
            await ctx.slack.chat_postMessage(channel=item.channel_id, thread_ts=item.thread_ts,
                                             text=not_a_receipt_message(item.file))  # fmt: skip
        return None
    expense_id = await asyncio.to_thread(_create, ctx, item)
    if expense_id is None:
        return None
    if item.thread_ts:
        try:
            await ctx.slack.reactions_add(channel=item.channel_id, timestamp=item.thread_ts, name="eyes")
        except SlackApiError as exc:
            log.info("reaction not added: %s", exc.response.get("error"))
    queue_read(ctx, expense_id)
    return expense_id


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


def _store_receipt(ctx: AppContext, expense_id: int, content: bytes, name: str | None, user: str) -> int:
    from ocr import perceptual_hash, sniff_media_type

    media_type = sniff_media_type(content)
    phash: str | None = None
    if media_type and media_type.startswith("image/"):
        try:
            phash = perceptual_hash(content)
        except Exception:  # a corrupt image has no hash; reading reports the problem
            phash = None
    # Into the receipt store first (idempotent, by SHA-256): a committed row always finds its file.
    stored, location = place(ctx.receipts, content, media_type)
    with transaction(ctx.db) as session:
        expense = session.get(Expense, expense_id)
        assert expense is not None
        if expense.receipt_id is not None:
            return expense.receipt_id
        receipt = ReceiptFile(
            sha256=hashlib.sha256(content).hexdigest(), content=stored, location=location,
            media_type=media_type, filename=name,
            size=len(content), slack_file_id=expense.slack_file_id, phash=phash, uploaded_by=user,
        )  # fmt: skip
        session.add(receipt)
        session.flush()
        expense.receipt_id = receipt.id
        audit.record(session, actor="system", action="receipt.stored", entity="expense", entity_id=expense_id,
                     detail=f"sha256 {receipt.sha256}, {len(content)} bytes, {media_type or 'unknown type'}")  # fmt: skip
        return receipt.id


def _known_merchants(ctx: AppContext) -> list[Any]:
    from ocr import KnownMerchant

    with ctx.db() as session:
        rows = session.execute(
            select(MerchantCorrection.header_text, MerchantCorrection.merchant)
            .order_by(MerchantCorrection.id.desc())
            .limit(2000)
        ).all()
    return [KnownMerchant(header_text=h, merchant=m) for h, m in rows]


def _read(ctx: AppContext, content: bytes) -> tuple[Any | None, str | None]:
    from ocr import OcrConfig, OcrError, ReceiptHint, read_receipt
    from ocr.slots import default_slots, reading_slot

    hint = ReceiptHint(
        currency=ctx.settings.company_currency.upper(), known_merchants=tuple(_known_merchants(ctx))
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


def _duplicate_warning(session: Any, expense: Expense) -> str | None:
    if expense.amount is None:
        return None
    stmt = select(Expense).where(
        Expense.employee_id == expense.employee_id,
        Expense.id != expense.id,
        Expense.status != Status.DISCARDED,
        Expense.amount == expense.amount,
        Expense.spent_on == expense.spent_on,
        Expense.merchant_key == expense.merchant_key,
    )
    other = session.scalars(stmt.order_by(Expense.id).limit(1)).first()
    if other is not None:
        when = (other.submitted_at or other.created_at).strftime("%d %b").lstrip("0")
        verb = "submitted" if other.submitted_at else "started"
        return (f"Looks like the expense you {verb} on {when} ({expense_ref(other.id)}: same merchant, date "
                "and total).")  # fmt: skip
    if expense.receipt is not None and expense.receipt.phash:
        from ocr import hamming

        rows = session.execute(
            select(Expense.id, Expense.created_at, ReceiptFile.phash)
            .join(ReceiptFile, Expense.receipt_id == ReceiptFile.id)
            .where(Expense.employee_id == expense.employee_id, Expense.id != expense.id,
                   Expense.status != Status.DISCARDED, ReceiptFile.phash.is_not(None))
            .order_by(Expense.id.desc()).limit(500)
        ).all()  # fmt: skip
        for other_id, created, phash in rows:
            if hamming(phash, expense.receipt.phash) <= 6:
                return (f"This photo looks like the receipt of {expense_ref(other_id)} "
                        f"(sent on {created:%d %b}).")  # fmt: skip
    return None


def _match_customer(ctx: AppContext, session: Any, texts: list[str], employee_id: str) -> Any:
    from storage.customers import learned_aliases, recent_customers

    index = ctx.customers.index()
    if len(index) == 0:
        return None
    learned = learned_aliases(session)
    prior = recent_customers(session, employee_id)
    return index.match(*[t for t in texts if t], limit=5, extra_aliases=learned or None, prior=prior)


def _apply_reading(
    ctx: AppContext, expense_id: int, facts: Any | None, error: str | None, department: str | None = None
) -> None:
    with transaction(ctx.db) as session:
        expense = session.get(Expense, expense_id)
        if expense is None or expense.status != Status.READING:
            return
        before = audit.expense_snapshot(expense)
        typed = bool((expense.ocr or {}).get("typed"))
        if typed:  # typed into /expense with the receipt attached: what was typed stays
            _apply_typed_reading(ctx, session, expense, facts, error)
            return
        state: dict[str, Any] = {}
        if facts is not None:
            expense.merchant = facts.merchant
            expense.merchant_key = merchant_key(facts.merchant)
            expense.spent_on = facts.date
            expense.amount = facts.total
            expense.currency = facts.currency or ctx.settings.company_currency.upper()
            state["confidence"] = {k: round(float(v), 3) for k, v in facts.confidence.items()}
            state["header_text"] = facts.header_text
            state["read_as"] = {"merchant": facts.merchant,
                                "total": str(facts.total) if facts.total is not None else None}  # fmt: skip
            _apply_tax_reading(expense, facts)
            guess = guess_category(facts.merchant, facts.text, expense.note or "")
        else:
            expense.ocr_error = error
            expense.currency = ctx.settings.company_currency.upper()
            guess = guess_category(None, "", expense.note or "")
        expense.category = guess.category if guess.category in ctx.policy.categories else "other"
        texts = [
            expense.note or "",
            facts.merchant or "" if facts else "",
            facts.text[:2000] if facts else "",
        ]
        match = _match_customer(ctx, session, texts, expense.employee_id)
        if match is not None:
            known = _customer_rows(
                session, [c.id for c in match.candidates] + ([match.customer.id] if match.customer else [])
            )
            if match.customer is not None and match.customer.id in known:
                # The best answer is linked; when the matcher is unsure the card asks to confirm it.
                expense.customer_id = match.customer.id
                expense.customer_score = float(match.score)
                expense.customer_reason = match.reason
            if not match.confident:
                state["customer_candidates"] = [
                    {"id": c.id, "name": c.name, "score": round(float(c.score), 1)}
                    for c in match.candidates if c.id in known
                ]  # fmt: skip
        session.flush()
        warning = _duplicate_warning(session, expense)
        state["warnings"] = [warning] if warning else []
        expense.ocr = state
        _choose_deal(session, expense)
        expense.ocr_attempts += 1
        move = transition(expense.status, Move.READ)
        expense.status = move.after
        audit.record(session, actor="system", action="expense.read", entity="expense", entity_id=expense.id,
                     before=before, after=audit.expense_snapshot(expense), detail=error)  # fmt: skip
        outbox.add(session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:read")


def _apply_typed_reading(ctx: AppContext, session: Any, expense: Expense, facts: Any | None,
                         error: str | None) -> None:  # fmt: skip
    """The receipt attached to a typed expense was read: it fills what was left empty, says when
    it reads another total than the one typed, and is checked for duplicates (totals and photos)."""
    before = audit.expense_snapshot(expense)
    state: dict[str, Any] = {"typed": True}
    notes: list[str] = []
    if facts is not None:
        expense.merchant = expense.merchant or facts.merchant
        expense.merchant_key = merchant_key(expense.merchant)
        expense.spent_on = expense.spent_on or facts.date
        read_currency = (facts.currency or expense.currency or ctx.settings.company_currency).upper()
        if expense.amount is None and facts.total is not None:
            expense.amount, expense.currency = facts.total, read_currency
            _apply_tax_reading(expense, facts)
        elif (
            facts.total is not None
            and expense.amount is not None
            and expense.currency
            and (Money(facts.total, read_currency) != Money(expense.amount, expense.currency))
        ):
            notes.append(f"The attached receipt reads {Money(facts.total, read_currency)}; "
                         f"the total typed is {Money(expense.amount, expense.currency)}.")  # fmt: skip
        state["confidence"] = {k: round(float(v), 3) for k, v in facts.confidence.items()}
        state["header_text"] = facts.header_text
        state["read_as"] = {"merchant": facts.merchant,
                            "total": str(facts.total) if facts.total is not None else None}  # fmt: skip
    elif error:
        notes.append(f"The attached receipt could not be read: {error}")
    session.flush()
    warning = _duplicate_warning(session, expense)
    state["warnings"] = ([warning] if warning else []) + notes
    expense.ocr = state
    expense.ocr_attempts += 1
    expense.status = transition(expense.status, Move.READ).after
    audit.record(session, actor="system", action="expense.read", entity="expense", entity_id=expense.id,
                 before=before, after=audit.expense_snapshot(expense), detail=error)  # fmt: skip
    outbox.add(session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:read")


def _apply_tax_reading(expense: Expense, facts: Any) -> None:
    """Keep the receipt's net, tax and rate as read (workflows.tax.tax_facts), and its item lines,
    when they are in the expense's currency (a typed total in another currency keeps none)."""
    currency = expense.currency
    read_currency = (facts.currency or currency or "").upper()
    if not is_currency(currency) or read_currency != currency:
        return
    found = tax_facts(facts.subtotal, facts.tax, facts.total, currency, getattr(facts, "tax_rate", None))
    expense.net_amount, expense.tax_amount, expense.tax_rate = found.net, found.tax, found.rate
    items = getattr(facts, "items", ())
    expense.line_items = [{"text": text, "amount": str(amount)} for text, amount in items] or None


def _customer_rows(session: Any, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    return set(session.scalars(select(Customer.id).where(Customer.id.in_(ids))))


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

    def load() -> tuple[str, str | None, int | None, str]:
        with ctx.db() as session:
            exp = session.get(Expense, expense_id)
            if exp is None:
                return "gone", None, None, ""
            return exp.status, exp.slack_file_id, exp.receipt_id, exp.employee_id

    status, file_id, receipt_id, employee = await asyncio.to_thread(load)
    if status != Status.READING:
        return
    department = await _department(ctx, employee)
    facts, error = None, None
    if receipt_id is None and file_id:
        try:
            content, name, _mime = await download_slack_file(ctx, file_id)
        except DownloadError as exc:
            error = exc.user_message
        else:
            receipt_id = await asyncio.to_thread(_store_receipt, ctx, expense_id, content, name, employee)
    if receipt_id is not None and error is None:

        def receipt_bytes() -> bytes:
            with ctx.db() as session:
                receipt = session.get(ReceiptFile, receipt_id)
                assert receipt is not None
                return content_of(receipt, ctx.receipts)

        content = await asyncio.to_thread(receipt_bytes)
        facts, error = await asyncio.to_thread(_read, ctx, content)
    await asyncio.to_thread(_apply_reading, ctx, expense_id, facts, error, department)
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
    message = ("I could not read this receipt because of an internal error (it was tried several times). "
               "Click *Edit* to type the merchant, date and total, or send the receipt again.")  # fmt: skip
    log.error("reading expense %s failed for good: %s", expense_id, error)
    ctx.kv.delete(_queued_key(expense_id))
    await asyncio.to_thread(_apply_reading, ctx, expense_id, None, message)
    await deliver_pending(ctx)


# --- edits, picks, discards ---------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    merchant: str | None
    spent_on: dt.date | None
    amount_text: str | None
    currency: str | None
    category: str | None
    customer_id: int | None
    customer_cleared: bool
    note: str | None
    distance_text: str | None = None
    project: str | None = None
    project_pick: str | None = None  # a CRM project picked in the form (storage.projects), or "none"
    # The receipt's tax as typed into the form (workflows.tax.parse_tax); None: the form had no
    # tax fields, so the tax kept on the expense is left as it is.
    tax: TaxInput | None = None


def with_mileage(edit: Edit, policy: Policy) -> Edit:
    """A mileage claim typed with its distance and no total gets the total from the policy's rate."""
    rule = policy.rule_for(edit.category or "")
    if rule is None or rule.rate_per_unit is None or not edit.distance_text or edit.amount_text:
        return edit
    try:
        amount = mileage_amount(parse_amount(edit.distance_text), policy, edit.category or "")
    except MoneyError:
        return edit  # validate_edit explains the distance
    return dataclasses.replace(edit, amount_text=amount.amount_text, currency=amount.currency)


def validate_edit(
    edit: Edit, *, today: dt.date, categories: Iterable[str] = CATEGORIES, mileage: Iterable[str] = ()
) -> dict[str, str]:
    """Field errors for the modal (block_id -> message); empty when the edit can be saved.

    ``mileage`` names the categories paid per distance: they need a distance.
    """
    errors: dict[str, str] = {}
    if edit.distance_text:
        try:
            if parse_amount(edit.distance_text) <= 0:
                errors["distance"] = _("The distance must be more than zero.")
        except MoneyError:
            errors["distance"] = _("“{distance}” is not a distance: type a number such as 42.5.").format(
                distance=edit.distance_text
            )
    elif edit.category in set(mileage):
        errors["distance"] = _("A mileage claim needs the distance driven.")
    currency = (edit.currency or "").strip().upper()
    if not is_currency(currency):
        errors["currency"] = _("“{currency}” is not an ISO 4217 currency code (e.g. USD, EUR, MYR).").format(
            currency=edit.currency or ""
        )
    if edit.amount_text:
        try:
            amount = parse_amount(edit.amount_text)
            if is_currency(currency):
                Money(amount, currency).check_claimable()
        except MoneyError as exc:
            errors["amount"] = str(exc)
    else:
        errors["amount"] = _("Type the total, e.g. 42.50.")
    if edit.spent_on and edit.spent_on > today + dt.timedelta(days=1):
        errors["date"] = _("The date is in the future.")
    if edit.category and edit.category not in set(categories):
        errors["category"] = _("Pick a category from the list.")
    if edit.tax is not None and not edit.tax.empty and "amount" not in errors and "currency" not in errors:
        _facts, tax_errors = parse_tax(
            edit.tax, parse_amount(edit.amount_text or ""), currency, tax_wording()
        )
        errors.update(tax_errors)
    return errors


def _learn(session: Any, expense: Expense, edit: Edit, actor: str, ctx: AppContext) -> None:
    state = dict(expense.ocr or {})
    read_as = state.get("read_as") or {}
    header = state.get("header_text")
    if header and edit.merchant and edit.merchant != read_as.get("merchant"):
        session.add(MerchantCorrection(header_text=header, read_as=read_as.get("merchant"),
                                       merchant=edit.merchant, created_by=actor))  # fmt: skip


def _set_project(session: Any, expense_id: int, project: str | None, user_id: str) -> None:
    """Book the expense to a project (reports group by it); empty removes it."""
    name = " ".join((project or "").split())[:128]
    row = session.get(ExpenseProject, expense_id)
    if not name:
        if row is not None:
            audit.record(session, actor=user_id, action="expense.project", entity="expense", entity_id=expense_id,
                         before={"project": row.project}, after={"project": None})  # fmt: skip
            session.delete(row)
        return
    if row is None:
        session.add(ExpenseProject(expense_id=expense_id, project=name, set_by=user_id))
        audit.record(session, actor=user_id, action="expense.project", entity="expense", entity_id=expense_id,
                     before={"project": None}, after={"project": name})  # fmt: skip
    elif row.project != name:
        audit.record(session, actor=user_id, action="expense.project", entity="expense", entity_id=expense_id,
                     before={"project": row.project}, after={"project": name})  # fmt: skip
        row.project, row.set_by, row.set_at = name, user_id, utcnow()
        row.project_id = None  # another name typed: no longer the CRM project picked


def _owned_move(
    session: Any, expense_id: int, user_id: str, move: Move, verb: str
) -> tuple[Expense, Any] | str:
    """The expense and the move its owner asked for, or why they cannot make it (for people)."""
    expense = session.get(Expense, expense_id)
    if expense is None:
        return "This expense no longer exists."
    if expense.employee_id != user_id:
        return f"Only <@{expense.employee_id}> can {verb} {expense_ref(expense.id)}."
    try:
        return expense, transition(expense.status, move, ref=expense_ref(expense.id))
    except TransitionError as exc:
        return str(exc)


def _save_edit(
    ctx: AppContext, expense_id: int, user_id: str, edit: Edit, department: str | None
) -> str | None:
    with transaction(ctx.db) as session:
        found = _owned_move(session, expense_id, user_id, Move.EDIT, "edit")
        if isinstance(found, str):
            return found
        expense, move = found
        tax = _typed_tax(edit)
        if isinstance(tax, str):
            return tax
        before = audit.expense_snapshot(expense)
        _learn(session, expense, edit, user_id, ctx)
        previous_customer = expense.customer_id
        expense.merchant = (edit.merchant or "").strip() or None
        expense.merchant_key = merchant_key(expense.merchant)
        expense.spent_on = edit.spent_on
        expense.amount = parse_amount(edit.amount_text) if edit.amount_text else None
        expense.currency = (edit.currency or "").strip().upper() or None
        if expense.amount is not None and expense.currency:
            expense.amount = Money(expense.amount, expense.currency).amount
        expense.category = edit.category
        if tax is not None:
            expense.net_amount, expense.tax_amount, expense.tax_rate = tax.net, tax.tax, tax.rate
        _set_project(session, expense.id, edit.project, user_id)
        expense.distance = parse_amount(edit.distance_text) if edit.distance_text else None
        expense.note = (edit.note or "").strip() or None
        expense.ocr_error = None
        if edit.customer_cleared:
            expense.customer_id = None
            expense.customer_confirmed = True
        elif edit.customer_id is not None:
            expense.customer_id = edit.customer_id
            expense.customer_confirmed = True
            if edit.customer_id != previous_customer:
                _remember_customer(ctx, session, expense, edit.customer_id, user_id, department)
        if expense.customer_id != previous_customer or (
            expense.customer_id and expense.deal_id is None and expense.deal_reason != "no deal (picked)"
        ):
            _choose_deal(session, expense)
        project_problem = (
            pick_project(session, expense, edit.project_pick, user_id) if edit.project_pick else None
        )
        expense.status = move.after
        session.flush()
        state = dict(expense.ocr or {})
        warning = _duplicate_warning(session, expense)
        state["warnings"] = [warning] if warning else []
        # the employee saw every field in the form and saved it: nothing is left to check
        state["confidence"] = dict.fromkeys(state.get("confidence") or {}, 1.0)
        expense.ocr = state
        audit.record(session, actor=user_id, action="expense.edited", entity="expense", entity_id=expense.id,
                     before=before, after=audit.expense_snapshot(expense))  # fmt: skip
        outbox.add(
            session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:v{expense.version}"
        )
    return project_problem  # the rest of the edit is saved


def _typed_tax(edit: Edit) -> TaxFacts | str | None:
    """The tax typed into the form (None: the form had none), or why it cannot be kept."""
    if edit.tax is None:
        return None
    currency = (edit.currency or "").strip().upper()
    try:
        total = parse_amount(edit.amount_text) if edit.amount_text else None
        facts, problems = parse_tax(edit.tax, total, currency if is_currency(currency) else None)
    except MoneyError as exc:  # validate_edit explained it already
        return str(exc)
    return " ".join(problems.values()) if problems else facts


def _remember_customer(ctx: AppContext, session: Any, expense: Expense, customer_id: int, user_id: str,
                       department: str | None) -> None:  # fmt: skip
    """A correction becomes an alias for everyone, so the next such note matches whoever writes
    it (an admin sees and removes learned aliases with ``expensebot customers aliases``)."""
    from storage.customers import add_learned_alias

    phrase = alias_from_note(expense.note)
    if phrase and add_learned_alias(session, customer_id, phrase, user_id):
        audit.record(session, actor=user_id, action="customer.alias_learned", entity="customer",
                     entity_id=customer_id, after={"alias": phrase, "shared": True, "team": department})  # fmt: skip


async def save_edit(ctx: AppContext, expense_id: int, user_id: str, edit: Edit) -> str | None:
    email = await identity.email_of(ctx, user_id)
    person = ctx.directory.get(email) if email else None
    error = await asyncio.to_thread(
        retry_on_conflict, _save_edit, ctx, expense_id, user_id, edit, person.department if person else None
    )
    await deliver_pending(ctx)
    return error


def _pick_customer(
    ctx: AppContext, expense_id: int, user_id: str, value: str, department: str | None
) -> str | None:
    with transaction(ctx.db) as session:
        found = _owned_move(session, expense_id, user_id, Move.EDIT, "change")
        if isinstance(found, str):
            return found
        expense, _ = found
        before = audit.expense_snapshot(expense)
        expense.customer_id = None if value == "none" else int(value)
        expense.customer_confirmed = True
        if expense.customer_id is not None:
            _remember_customer(ctx, session, expense, expense.customer_id, user_id, department)
        _choose_deal(session, expense)
        audit.record(session, actor=user_id, action="expense.customer_picked", entity="expense",
                     entity_id=expense.id, before=before, after=audit.expense_snapshot(expense))  # fmt: skip
        session.flush()
        outbox.add(
            session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:v{expense.version}"
        )
    return None


def _choose_deal(session: Any, expense: Expense) -> None:
    """The deal of the expense's customer that the note names, the only open one, or none (the
    card then lists the open deals)."""
    from storage.deals import choose_deal

    choose_deal(session, expense)
    offer_projects(session, expense)  # the customer's open projects for the card's picker


def _pick_deal(ctx: AppContext, expense_id: int, user_id: str, value: str) -> str | None:
    from storage.deals import pick_deal

    with transaction(ctx.db) as session:
        found = _owned_move(session, expense_id, user_id, Move.EDIT, "change")
        if isinstance(found, str):
            return found
        expense, _ = found
        before = {"deal_id": expense.deal_id}
        problem = pick_deal(session, expense, value)
        if problem:
            return problem
        audit.record(session, actor=user_id, action="expense.deal_picked", entity="expense",
                     entity_id=expense.id, before=before, after={"deal_id": expense.deal_id})  # fmt: skip
        session.flush()
        outbox.add(
            session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:v{expense.version}"
        )
    return None


async def pick_deal(ctx: AppContext, expense_id: int, user_id: str, value: str) -> str | None:
    error = await asyncio.to_thread(retry_on_conflict, _pick_deal, ctx, expense_id, user_id, value)
    await deliver_pending(ctx)
    return error


async def pick_customer(ctx: AppContext, expense_id: int, user_id: str, value: str) -> str | None:
    department = await _department(ctx, user_id)
    error = await asyncio.to_thread(
        retry_on_conflict, _pick_customer, ctx, expense_id, user_id, value, department
    )
    await deliver_pending(ctx)
    return error


def _discard(ctx: AppContext, expense_id: int, user_id: str) -> str | None:
    with transaction(ctx.db) as session:
        found = _owned_move(session, expense_id, user_id, Move.DISCARD, "discard")
        if isinstance(found, str):
            return found
        expense, move = found
        before = audit.expense_snapshot(expense)
        expense.status = move.after
        audit.record(session, actor=user_id, action="expense.discarded", entity="expense", entity_id=expense.id,
                     before=before, after=audit.expense_snapshot(expense))  # fmt: skip
        session.flush()
        outbox.add(
            session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:v{expense.version}"
        )
    return None


async def discard(ctx: AppContext, expense_id: int, user_id: str) -> str | None:
    error = await asyncio.to_thread(retry_on_conflict, _discard, ctx, expense_id, user_id)
    await deliver_pending(ctx)
    return error


def _create_typed(ctx: AppContext, user_id: str, edit: Edit, source: str, with_file: bool = False) -> int:
    with transaction(ctx.db) as session:
        expense = Expense(status=Status.READING if with_file else Status.DRAFT, employee_id=user_id, source=source, note=(edit.note or None),
                          merchant=edit.merchant, merchant_key=merchant_key(edit.merchant),
                          spent_on=edit.spent_on,
                          amount=parse_amount(edit.amount_text) if edit.amount_text else None,
                          currency=(edit.currency or "").upper() or None, category=edit.category,
                          distance=parse_amount(edit.distance_text) if edit.distance_text else None,
                          customer_id=edit.customer_id, customer_confirmed=edit.customer_id is not None,
                          ocr={"typed": True} if with_file else {})  # fmt: skip
        tax = _typed_tax(edit)  # the form's tax fields, checked by validate_edit
        if isinstance(tax, TaxFacts):
            expense.net_amount, expense.tax_amount, expense.tax_rate = tax.net, tax.tax, tax.rate
        session.add(expense)
        session.flush()
        _set_project(session, expense.id, edit.project, user_id)
        audit.record(session, actor=user_id, action="expense.created", entity="expense", entity_id=expense.id,
                     after=audit.expense_snapshot(expense), detail=f"typed in ({source})")  # fmt: skip
        outbox.add(session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:created")
        return expense.id


async def create_typed(ctx: AppContext, user_id: str, edit: Edit, source: str = "command",
                       file: dict[str, Any] | None = None) -> int:  # fmt: skip
    """An expense typed into the /expense modal, optionally with a receipt uploaded in it."""
    expense_id = await asyncio.to_thread(_create_typed, ctx, user_id, edit, source, file is not None)
    if file is not None:
        # The receipt is stored, then read like any other (a job): it fills what was left empty,
        # is compared with the total typed, and is checked for duplicates.
        try:
            content, name, _ = await download_slack_file(ctx, str(file["id"]))
            await asyncio.to_thread(_store_receipt, ctx, expense_id, content, name, user_id)
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
    with ctx.db() as session:
        unread = list(
            session.scalars(
                select(Expense.id).where(
                    Expense.status == Status.READING, Expense.created_at < utcnow() - older_than
                )
            )
        )
    unmarked = [expense_id for expense_id in unread if not read_pending(ctx, expense_id)]
    if not unmarked:
        return []
    # A job may have finished between the first query and the look at its marks: it drops its
    # lease only after committing the reading, so a second look at the status settles it.
    with ctx.db() as session:
        return list(
            session.scalars(
                select(Expense.id)
                .where(Expense.id.in_(unmarked), Expense.status == Status.READING)
                .order_by(Expense.id)
            )
        )


def warm_up_reader(threads: int = 0) -> None:
    """Load the receipt reader's engines now, so the first real receipt is not slowed by it."""
    import io

    from PIL import Image, ImageDraw

    from ocr import OcrConfig, OcrError, read_receipt

    image = Image.new("RGB", (400, 120), "white")
    ImageDraw.Draw(image).text((10, 40), "TOTAL 1.00", fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    with contextlib.suppress(OcrError):
        read_receipt(out.getvalue(), config=OcrConfig(threads=threads))
