"""Data rights: everything stored about a person, and erasing it.

A person is known by their email and by the Slack user ids linked to it (the ``slack_users``
cache and the expenses they filed). :func:`collect` gathers every row that names them;
:func:`erase` removes the personal data and keeps the money records and the audit trail under a
random pseudonym (``erased-…``) that nothing links back to the person.

A receipt the company must keep by law is not erased with the person (GDPR Art. 17(3)(b)): the
receipt of a claim in the books (awaiting approval or payment, or paid) stays while its retention
period (``workflows.retention``, ``EXPENSEBOT_RECEIPT_RETENTION_DAYS``) runs, under the pseudonym
and without the personal data around it; ``expensebot receipts gc`` deletes it when the period
ends. Drafts, rejected and discarded claims never became accounting records: their receipts go.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, delete, or_, select
from sqlalchemy.orm import Session

from storage import audit
from storage.models import (
    ApprovalTask,
    AuditEvent,
    CustomerAlias,
    Delegation,
    Expense,
    ExpenseProject,
    MerchantCorrection,
    OutboxMessage,
    PayoutBatch,
    PayoutExport,
    ReceiptFile,
    SlackUser,
)
from storage.receipts import content_of
from workflows.directory import normalise_email
from workflows.expenses import Status
from workflows.retention import DEFAULT_RETENTION_DAYS, Claim, kept_until

# Expense columns that are personal (free text, what the receipt said, where it was posted).
_EXPENSE_PERSONAL = (
    "note",
    "ocr",
    "ocr_error",
    "customer_reason",
    "channel_id",
    "thread_ts",
    "card_channel",
    "card_ts",
    "slack_file_id",
)


# Claims in the books: their receipts are accounting vouchers the company must keep (tax law).
BOOKED = frozenset({Status.PENDING, Status.APPROVED, Status.PAID})
LEGAL_BASIS = "GDPR Art. 17(3)(b): receipts of claims in the books are kept for the legal retention period"


@dataclass(frozen=True)
class KeptReceipt:
    """A receipt an erasure kept because the law requires it, and until when."""

    receipt_id: int
    expense_ids: tuple[int, ...]
    kept_until: dt.datetime | None  # None: while a claim is open (the period starts at payment)

    def describe(self) -> str:
        claims = ", ".join(f"EXP-{i}" for i in self.expense_ids)
        until = (
            f"until {self.kept_until:%Y-%m-%d}"
            if self.kept_until is not None
            else "while the claim is open, then for the retention period after payment"
        )
        return f"receipt {self.receipt_id} ({claims}) kept {until}"


def _retained(session: Session, receipt_ids: set[int], days: int, now: dt.datetime) -> list[KeptReceipt]:
    """The receipts among ``receipt_ids`` inside their legal retention period at ``now``."""
    kept = []
    for receipt in session.scalars(select(ReceiptFile).where(ReceiptFile.id.in_(receipt_ids or {0}))):
        rows = session.execute(
            select(Expense.id, Expense.status, Expense.paid_at, Expense.updated_at)
            .where(Expense.receipt_id == receipt.id)
            .order_by(Expense.id)
        ).all()
        booked = [
            (row.id, Claim(row.status, row.paid_at, row.updated_at)) for row in rows if row.status in BOOKED
        ]
        if not booked:
            continue
        until = kept_until([claim for _, claim in booked], receipt.created_at, days)
        if until is None or until > now:
            kept.append(KeptReceipt(receipt.id, tuple(i for i, _ in booked), until))
    return sorted(kept, key=lambda k: k.receipt_id)


class PrivacyError(ValueError):
    """A request that cannot be carried out. ``str(err)`` is a message for people."""


@dataclass
class Identity:
    email: str
    user_ids: list[str] = field(default_factory=list)

    @property
    def needles(self) -> list[str]:
        return [self.email, *self.user_ids]


def identify(session: Session, email: str, extra_ids: list[str] | None = None) -> Identity:
    email = normalise_email(email)
    ids = set(extra_ids or [])
    ids |= set(session.scalars(select(SlackUser.user_id).where(SlackUser.email == email)))
    ids |= set(session.scalars(select(Expense.employee_id).where(Expense.employee_email == email).distinct()))
    return Identity(email, sorted(ids))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _row(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {c.key: _plain(getattr(obj, c.key)) for c in obj.__table__.columns if c.key not in skip}


def _mentions(column: Any, needles: list[str]) -> Any:
    return or_(*[cast(column, Text).like(f"%{n}%") for n in needles])


def _expenses(session: Session, who: Identity) -> list[Expense]:
    clauses = [Expense.employee_email == who.email]
    if who.user_ids:
        clauses.append(Expense.employee_id.in_(who.user_ids))
    return list(session.scalars(select(Expense).where(or_(*clauses)).order_by(Expense.id)))


def _audit_events(session: Session, who: Identity, expense_ids: list[int]) -> list[AuditEvent]:
    clauses = [
        AuditEvent.actor.in_(who.needles),
        AuditEvent.entity_id == who.email,
        _mentions(AuditEvent.before, who.needles),
        _mentions(AuditEvent.after, who.needles),
        _mentions(AuditEvent.detail, who.needles),
    ]
    if expense_ids:
        clauses.append(
            (AuditEvent.entity == "expense") & AuditEvent.entity_id.in_([str(i) for i in expense_ids])
        )
    return list(session.scalars(select(AuditEvent).where(or_(*clauses)).order_by(AuditEvent.id)))


def _tasks(session: Session, who: Identity, expense_ids: list[int]) -> list[ApprovalTask]:
    clauses = [ApprovalTask.decided_by_email == who.email, _mentions(ApprovalTask.approvers, [who.email])]
    if who.user_ids:
        clauses.append(ApprovalTask.decided_by.in_(who.user_ids))
    if expense_ids:
        clauses.append(ApprovalTask.expense_id.in_(expense_ids))
    return list(session.scalars(select(ApprovalTask).where(or_(*clauses)).order_by(ApprovalTask.id)))


def collect(session: Session, who: Identity) -> tuple[dict[str, Any], list[ReceiptFile]]:
    """Everything stored about ``who`` as JSON-ready data, and their receipt files."""
    expenses = _expenses(session, who)
    expense_ids = [e.id for e in expenses]
    receipt_ids = {e.receipt_id for e in expenses if e.receipt_id}
    receipts = list(
        session.scalars(
            select(ReceiptFile)
            .where(or_(ReceiptFile.id.in_(receipt_ids), ReceiptFile.uploaded_by.in_(who.user_ids or [""])))
            .order_by(ReceiptFile.id)
        )
    )
    projects = session.scalars(
        select(ExpenseProject).where(ExpenseProject.expense_id.in_(expense_ids or [0]))
    )
    data: dict[str, Any] = {
        "email": who.email,
        "slack_user_ids": who.user_ids,
        "slack_users": [
            _row(u)
            for u in session.scalars(
                select(SlackUser).where(
                    or_(SlackUser.email == who.email, SlackUser.user_id.in_(who.user_ids or [""]))
                )
            )
        ],
        "expenses": [_row(e) for e in expenses],
        "expense_projects": [_row(p) for p in projects],
        "receipt_files": [{**_row(r, ("content",)), "file": _receipt_name(r)} for r in receipts],
        "approval_tasks": [_row(t) for t in _tasks(session, who, expense_ids)],
        "delegations": [
            _row(d)
            for d in session.scalars(
                select(Delegation).where(
                    or_(Delegation.approver_email == who.email, Delegation.delegate_email == who.email)
                )
            )
        ],
        "merchant_corrections": [
            _row(m)
            for m in session.scalars(
                select(MerchantCorrection).where(MerchantCorrection.created_by.in_(who.needles))
            )
        ],
        "customer_aliases_created": [
            _row(a)
            for a in session.scalars(select(CustomerAlias).where(CustomerAlias.created_by.in_(who.needles)))
        ],
        "payout_batches_acted_on": [
            _row(b)
            for b in session.scalars(
                select(PayoutBatch).where(
                    or_(PayoutBatch.created_by.in_(who.needles), PayoutBatch.paid_by.in_(who.needles))
                )
            )
        ],
        "payout_exports_made": [
            _row(x)
            for x in session.scalars(select(PayoutExport).where(PayoutExport.created_by.in_(who.needles)))
        ],
        "messages_to_them": [
            _row(o)
            for o in session.scalars(
                select(OutboxMessage).where(_mentions(OutboxMessage.payload, who.user_ids or [who.email]))
            )
        ],
        "audit_events": [_row(a) for a in _audit_events(session, who, expense_ids)],
    }
    return data, receipts


def _receipt_name(receipt: ReceiptFile) -> str:
    name = (receipt.filename or "receipt").replace("/", "_").replace("\\", "_")
    return f"receipts/{receipt.id}-{name}"


def export_person(
    session: Session, email: str, out: Path, actor: str, extra_ids: list[str] | None = None
) -> dict[str, int]:
    """Write ``person.json`` and the receipt files into ``out`` (a directory, or a ``.zip``)."""
    who = identify(session, email, extra_ids)
    data, receipts = collect(session, who)
    data["exported_at"] = dt.datetime.now(dt.UTC).isoformat()
    document = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")
    if out.suffix.lower() == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("person.json", document)
            for receipt in receipts:
                archive.writestr(_receipt_name(receipt), content_of(receipt))
    else:
        (out / "receipts").mkdir(parents=True, exist_ok=True)
        (out / "person.json").write_bytes(document)
        for receipt in receipts:
            (out / _receipt_name(receipt)).write_bytes(content_of(receipt))
    counts = {k: len(v) for k, v in data.items() if isinstance(v, list)}
    audit.record(
        session,
        actor=actor,
        action="privacy.exported",
        entity="person",
        entity_id=who.email,
        after={"counts": counts},
    )
    return counts


def _scrub(value: Any, needles: list[str], pseudonym: str) -> Any:
    """Replace every mention of the person in a JSON value (keys and strings, recursively)."""
    if isinstance(value, str):
        for needle in needles:
            if needle and needle in value:
                value = value.replace(needle, pseudonym)
        return value
    if isinstance(value, list):
        return [_scrub(v, needles, pseudonym) for v in value]
    if isinstance(value, dict):
        return {_scrub(k, needles, pseudonym): _scrub(v, needles, pseudonym) for k, v in value.items()}
    return value


def erase_person(
    session: Session,
    email: str,
    actor: str,
    extra_ids: list[str] | None = None,
    *,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Remove ``email``'s personal data; keep amounts, dates, categories and the audit trail.

    Their Slack ids and email become one random pseudonym everywhere; free text they wrote and
    what was read from their receipts is cleared; cached Slack profiles, delegations and
    undelivered messages to them are deleted. Their receipt files are deleted too, except those
    the law makes the company keep (see the module's text): these stay, pseudonymised (uploader,
    Slack file id and file name), each with a ``privacy.retained`` audit event saying until when;
    the result's ``kept`` lists them.
    """
    now = now or dt.datetime.now(dt.UTC)
    who = identify(session, email, extra_ids)
    pseudonym = f"erased-{secrets.token_hex(6)}"
    needles = sorted(who.needles, key=len, reverse=True)
    expenses = _expenses(session, who)
    if not expenses and not who.user_ids and not _audit_events(session, who, []):
        raise PrivacyError(f"Nothing is stored about {who.email}.")
    expense_ids = [e.id for e in expenses]
    receipt_ids = {e.receipt_id for e in expenses if e.receipt_id}
    uploaded = set(
        session.scalars(select(ReceiptFile.id).where(ReceiptFile.uploaded_by.in_(who.user_ids or [""])))
    )
    kept = _retained(session, receipt_ids | uploaded, retention_days, now)
    kept_ids = {k.receipt_id for k in kept}
    counts: dict[str, int] = {"expenses": len(expenses)}
    for exp in expenses:
        exp.employee_id = pseudonym
        exp.employee_email = None
        if exp.receipt_id not in kept_ids:
            exp.receipt_id = None
        for name in _EXPENSE_PERSONAL:
            setattr(exp, name, None)
    session.flush()
    receipts = session.execute(
        delete(ReceiptFile).where(
            or_(ReceiptFile.id.in_(receipt_ids or {0}), ReceiptFile.uploaded_by.in_(who.user_ids or [""])),
            ReceiptFile.id.not_in(kept_ids or {0}),
        )
    )
    counts["receipt_files_deleted"] = int(getattr(receipts, "rowcount", 0) or 0)
    for receipt in session.scalars(select(ReceiptFile).where(ReceiptFile.id.in_(kept_ids or {0}))):
        receipt.uploaded_by = pseudonym  # the file stays (the voucher); who sent it from where does not
        receipt.slack_file_id = None
        suffix = Path(receipt.filename or "").suffix[:16]
        receipt.filename = f"receipt-{receipt.id}{suffix}"
    counts["receipt_files_kept"] = len(kept)
    for task in _tasks(session, who, expense_ids):
        task.approvers = [pseudonym if a == who.email else a for a in task.approvers]
        if task.decided_by in who.user_ids or task.decided_by_email == who.email:
            task.decided_by = pseudonym if task.decided_by else None
            task.decided_by_email = None
    events = _audit_events(session, who, expense_ids)
    audit.allow_redaction(session)  # pseudonymising people is the one rewrite the trail allows
    for event in events:
        event.actor = _scrub(event.actor, needles, pseudonym)
        event.entity_id = _scrub(event.entity_id, needles, pseudonym)
        for name in ("before", "after"):
            value = getattr(event, name)
            if isinstance(value, dict):
                scrubbed = _scrub(value, needles, pseudonym)
                if event.entity == "expense" and event.entity_id in {str(i) for i in expense_ids}:
                    scrubbed = {k: (None if k == "note" else v) for k, v in scrubbed.items()}
                setattr(event, name, scrubbed)
        if event.detail:
            event.detail = _scrub(event.detail, needles, pseudonym)
    counts["audit_events_anonymised"] = len(events)
    for model, column in (
        (MerchantCorrection, MerchantCorrection.created_by),
        (CustomerAlias, CustomerAlias.created_by),
        (PayoutExport, PayoutExport.created_by),
        (PayoutBatch, PayoutBatch.created_by),
        (PayoutBatch, PayoutBatch.paid_by),
    ):
        for row in session.scalars(select(model).where(column.in_(who.needles))):
            setattr(row, column.key, pseudonym)
    deleted_users = session.execute(
        delete(SlackUser).where(
            or_(SlackUser.email == who.email, SlackUser.user_id.in_(who.user_ids or [""]))
        )
    )
    counts["slack_profiles_deleted"] = int(getattr(deleted_users, "rowcount", 0) or 0)
    session.execute(
        delete(Delegation).where(
            or_(Delegation.approver_email == who.email, Delegation.delegate_email == who.email)
        )
    )
    outbox_rows = list(
        session.scalars(
            select(OutboxMessage).where(_mentions(OutboxMessage.payload, who.user_ids or [who.email]))
        )
    )
    for row in outbox_rows:
        if row.payload.get("user_id") in who.user_ids:
            session.delete(row)
        else:
            row.payload = _scrub(row.payload, needles, pseudonym)
    counts["outbox_rows"] = len(outbox_rows)
    session.flush()
    for item in kept:
        audit.record(
            session,
            actor=actor,
            action="privacy.retained",
            entity="receipt_file",
            entity_id=item.receipt_id,
            after={
                "expenses": list(item.expense_ids),
                "retention_days": retention_days,
                "kept_until": item.kept_until.isoformat() if item.kept_until else None,
                "person": pseudonym,
            },
            detail=f"{item.describe()}; {LEGAL_BASIS}; deleted by `expensebot receipts gc` then",
        )
    audit.record(
        session,
        actor=actor,
        action="privacy.erased",
        entity="person",
        entity_id=pseudonym,
        after={
            "counts": counts,
            "kept": {
                str(k.receipt_id): k.kept_until.isoformat() if k.kept_until else "open claim" for k in kept
            },
        },
    )
    return {"pseudonym": pseudonym, **counts, "kept": kept}


def leftover_mentions(session: Session, email: str, user_ids: list[str]) -> int:
    """How many rows still mention the person (0 after a complete erasure)."""
    needles = [normalise_email(email), *user_ids]
    checks = [
        select(Expense.id).where(or_(Expense.employee_email == needles[0], Expense.employee_id.in_(needles))),
        select(SlackUser.user_id).where(or_(SlackUser.email == needles[0], SlackUser.user_id.in_(needles))),
        select(AuditEvent.id).where(
            or_(
                AuditEvent.actor.in_(needles),
                AuditEvent.entity_id.in_(needles),
                _mentions(AuditEvent.before, needles),
                _mentions(AuditEvent.after, needles),
                _mentions(AuditEvent.detail, needles),
            )
        ),
        select(ApprovalTask.id).where(
            or_(
                ApprovalTask.decided_by.in_(needles),
                ApprovalTask.decided_by_email == needles[0],
                _mentions(ApprovalTask.approvers, needles),
            )
        ),
        select(ReceiptFile.id).where(ReceiptFile.uploaded_by.in_(needles)),
        select(OutboxMessage.id).where(_mentions(OutboxMessage.payload, needles)),
        select(PayoutBatch.id).where(
            or_(PayoutBatch.created_by.in_(needles), PayoutBatch.paid_by.in_(needles))
        ),
    ]
    return sum(len(session.execute(stmt).all()) for stmt in checks)
