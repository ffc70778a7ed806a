"""Typed SQLAlchemy models: the whole schema in one place.

Money columns are :class:`storage.db.Amount` (exact NUMERIC) next to a 3-letter ISO 4217 code.
Timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from storage.db import Amount, Base
from storage.tenancy import install_team_filter, team_default


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use UTC-aware datetimes")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


JsonDict = dict[str, Any]


class TeamOwned:
    """A row that belongs to one Slack workspace (multi-workspace mode; None with one workspace).

    Written with the workspace in scope (``storage.tenancy``), and only visible in its scope.
    """

    team_id: Mapped[str | None] = mapped_column(String(32), index=True, default=team_default)


def team_unique(table: str, *columns: str) -> tuple[UniqueConstraint, Index]:
    """A natural key unique within one workspace: ``(team_id, *columns)`` for the rows of a
    workspace, and ``columns`` alone among the rows of single-workspace mode (``team_id`` NULL, which
    a unique constraint does not compare), by a partial index on both databases."""
    return (
        UniqueConstraint("team_id", *columns, name=f"uq_{table}_team_id_{'_'.join(columns)}"),
        Index(
            f"ux_{table}_{'_'.join(columns)}_no_team",
            *columns,
            unique=True,
            sqlite_where=text("team_id IS NULL"),
            postgresql_where=text("team_id IS NULL"),
        ),
    )


class ReceiptFile(TeamOwned, Base):
    """The receipt exactly as uploaded, stored before any reading so nothing is lost."""

    __tablename__ = "receipt_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # The bytes, or NULL when they live in the receipt store named by ``location`` (storage.blobs).
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    location: Mapped[str | None] = mapped_column(String(512))
    media_type: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    slack_file_id: Mapped[str | None] = mapped_column(String(32), index=True)
    phash: Mapped[str | None] = mapped_column(String(32), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Customer(TeamOwned, Base):
    __tablename__ = "customers"
    __table_args__ = team_unique("customers", "source", "external_id")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), default="csv")  # csv | hubspot | salesforce
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(512))
    domain: Mapped[str | None] = mapped_column(String(255))
    owner: Mapped[str | None] = mapped_column(String(255))
    archived: Mapped[bool] = mapped_column(default=False)
    # Merged away in the CRM: the surviving customer (this one is archived, kept for history).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    remote_modified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    aliases: Mapped[list[CustomerAlias]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", lazy="selectin"
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", lazy="selectin"
    )


class CustomerAlias(TeamOwned, Base):
    """Another name for a customer: imported, or learned from a correction (scoped to a department).

    Unique per customer, which belongs to one workspace: the alias is written in its workspace."""

    __tablename__ = "customer_aliases"
    __table_args__ = (UniqueConstraint("customer_id", "alias", "scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(512))
    scope: Mapped[str] = mapped_column(String(128), default="")  # "" = everyone; else a department
    origin: Mapped[str] = mapped_column(String(32), default="import")  # import | crm | correction
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="aliases")


class Contact(TeamOwned, Base):
    __tablename__ = "contacts"
    __table_args__ = team_unique("contacts", "source", "external_id")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(512))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer | None] = relationship(back_populates="contacts")


class Deal(TeamOwned, Base):
    """A sales opportunity in the CRM (HubSpot deal, Salesforce opportunity) of one customer."""

    __tablename__ = "deals"
    __table_args__ = team_unique("deals", "source", "external_id")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # hubspot | salesforce
    external_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(512))
    stage: Mapped[str | None] = mapped_column(String(128))
    is_closed: Mapped[bool] = mapped_column(default=False)
    amount: Mapped[Decimal | None] = mapped_column(Amount)
    currency: Mapped[str | None] = mapped_column(String(3))
    close_date: Mapped[dt.date | None] = mapped_column(Date)
    owner: Mapped[str | None] = mapped_column(String(255))
    archived: Mapped[bool] = mapped_column(default=False)
    remote_modified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Project(TeamOwned, Base):
    """A project of a customer: a HubSpot project (object ``0-970``), a record of the Salesforce
    custom object configured as projects, or a row of an imported CSV. Closed projects are not
    offered for new expenses; archived ones (deleted in the CRM) keep their expenses' history."""

    __tablename__ = "projects"
    __table_args__ = team_unique("projects", "source", "external_id")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # hubspot | salesforce | csv
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(512))
    stage: Mapped[str | None] = mapped_column(String(128))  # the CRM's stage or status, as it says
    is_closed: Mapped[bool] = mapped_column(default=False)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"), index=True)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    archived: Mapped[bool] = mapped_column(default=False)
    remote_modified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CrmSyncState(TeamOwned, Base):
    """Where the last incremental sync of one CRM object type stopped (for one workspace)."""

    __tablename__ = "crm_sync_state"
    __table_args__ = team_unique("crm_sync_state", "source", "object_type")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(32))
    cursor: Mapped[str | None] = mapped_column(String(255))  # e.g. last modified timestamp seen
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # What the last run did: {"created": n, "updated": n, "unchanged": n, "archived": n, "merged": n}
    last_counts: Mapped[JsonDict | None] = mapped_column(JSON)
    last_ok_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the last run without an error


class CrmOwner(TeamOwned, Base):
    """A CRM user who owns records (HubSpot owner, Salesforce user), with the e-mail that ties
    them to a Slack user."""

    __tablename__ = "crm_owners"
    __table_args__ = team_unique("crm_owners", "source", "external_id")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    name: Mapped[str | None] = mapped_column(String(512))
    active: Mapped[bool] = mapped_column(default=True)
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Rate(Amount):
    """An exchange rate (``NUMERIC(24, 12)``), a Decimal on every backend: four decimals, as for
    amounts, would store 0.00668 (yen to dollars) as 0.0067, 0.3% off (migration 0005)."""

    impl = Numeric(24, 12, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        # SQLite keeps numbers as doubles, and SQLAlchemy's Decimal conversion of them pads to 12
        # decimals: 17487.21 came back as 17487.209999999999. The shortest repr of the double is
        # the rate as written (up to 15 significant digits, far more than any published rate has).
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(24, 12, asdecimal=False))
        return dialect.type_descriptor(self.impl)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if isinstance(value, float):
            return Decimal(repr(value))
        return super().process_result_value(value, dialect)


class Expense(TeamOwned, Base):
    __tablename__ = "expenses"
    __table_args__ = (
        # One Slack file gives one expense, whatever Slack redelivers.
        UniqueConstraint("slack_file_id"),
        Index("ix_expenses_status_employee", "status", "employee_id"),
        Index("ix_expenses_fingerprint", "merchant_key", "spent_on", "amount"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    employee_id: Mapped[str] = mapped_column(String(32), index=True)  # Slack user id
    employee_email: Mapped[str | None] = mapped_column(String(320), index=True)
    source: Mapped[str] = mapped_column(String(32))  # dm | channel | command | shortcut
    note: Mapped[str | None] = mapped_column(Text)

    merchant: Mapped[str | None] = mapped_column(String(255))
    merchant_key: Mapped[str | None] = mapped_column(String(255))  # normalised, for duplicate checks
    spent_on: Mapped[dt.date | None] = mapped_column(Date)
    amount: Mapped[Decimal | None] = mapped_column(Amount)
    currency: Mapped[str | None] = mapped_column(String(3))
    approved_amount: Mapped[Decimal | None] = mapped_column(Amount)
    distance: Mapped[Decimal | None] = mapped_column(Amount)  # mileage claims: distance driven
    # Claims in another currency than the employee's reimbursement currency (docs/currency.md):
    # converted at submission and kept, so a later change of the day's rate never changes them.
    reimburse_currency: Mapped[str | None] = mapped_column(String(3))
    reimburse_amount: Mapped[Decimal | None] = mapped_column(Amount)
    fx_rate: Mapped[Decimal | None] = mapped_column(Rate)  # 1 currency = rate
    fx_rate_day: Mapped[dt.date | None] = mapped_column(Date)  # the rate's own date
    fx_rate_source: Mapped[str | None] = mapped_column(String(64))  # reference | card statement
    # The receipt's tax (workflows/tax.py), in ``currency``: the net (subtotal before tax), the
    # tax/VAT/GST amount and its rate in percent; read from the receipt, corrected on the card.
    net_amount: Mapped[Decimal | None] = mapped_column(Amount)
    tax_amount: Mapped[Decimal | None] = mapped_column(Amount)
    tax_rate: Mapped[Decimal | None] = mapped_column(Amount)
    # The receipt's item lines as read: [{"text": str, "amount": "decimal string"}].
    line_items: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    customer_score: Mapped[float | None] = mapped_column(Float)
    customer_reason: Mapped[str | None] = mapped_column(Text)
    customer_confirmed: Mapped[bool] = mapped_column(default=False)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"), index=True)
    deal_reason: Mapped[str | None] = mapped_column(Text)  # why this deal, or why none was chosen

    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipt_files.id"), index=True)
    slack_file_id: Mapped[str | None] = mapped_column(String(32))
    ocr: Mapped[JsonDict | None] = mapped_column(JSON)  # what the reader found, with confidences
    ocr_error: Mapped[str | None] = mapped_column(Text)
    ocr_attempts: Mapped[int] = mapped_column(Integer, default=0)

    channel_id: Mapped[str | None] = mapped_column(String(32))  # where the employee posted
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    card_channel: Mapped[str | None] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32))

    round: Mapped[int] = mapped_column(Integer, default=0)  # submission count
    current_step: Mapped[int | None] = mapped_column(Integer)
    route: Mapped[JsonDict | None] = mapped_column(JSON)
    payout_batch_id: Mapped[int | None] = mapped_column(ForeignKey("payout_batches.id"), index=True)

    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    customer: Mapped[Customer | None] = relationship(lazy="joined")
    deal: Mapped[Deal | None] = relationship(lazy="selectin")
    receipt: Mapped[ReceiptFile | None] = relationship(lazy="select")
    project_link: Mapped[ExpenseProject | None] = relationship(lazy="selectin", viewonly=True)
    splits: Mapped[list[ExpenseSplit]] = relationship(
        lazy="selectin", viewonly=True, order_by="ExpenseSplit.position"
    )


class ApprovalTask(Base):
    """One step of one submission round: who may decide, and what was decided."""

    __tablename__ = "approval_tasks"
    __table_args__ = (UniqueConstraint("expense_id", "round", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expense_id: Mapped[int] = mapped_column(ForeignKey("expenses.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    approvers: Mapped[list[str]] = mapped_column(JSON)  # emails
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default="pending", index=True)
    decided_by: Mapped[str | None] = mapped_column(String(32))  # Slack user id
    decided_by_email: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    messages: Mapped[list[ApprovalMessage]] = relationship(
        back_populates="task", cascade="all, delete-orphan", lazy="selectin"
    )


class ApprovalMessage(Base):
    """A Slack message that carries decision buttons for a task (updated in place afterwards)."""

    __tablename__ = "approval_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("approval_tasks.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))

    task: Mapped[ApprovalTask] = relationship(back_populates="messages")


class PayoutBatch(TeamOwned, Base):
    __tablename__ = "payout_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | paid
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    paid_by: Mapped[str | None] = mapped_column(String(32))
    totals: Mapped[JsonDict] = mapped_column(JSON, default=dict)  # currency -> decimal string
    messages: Mapped[list[list[str]]] = mapped_column(JSON, default=list)  # [[channel, ts], ...]


class AuditEvent(Base):
    """Every state change: who, what, when, before and after. Append-only."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))  # Slack user id, email, "system" or "policy:<rule>"
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    before: Mapped[JsonDict | None] = mapped_column(JSON)
    after: Mapped[JsonDict | None] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """A Slack call that follows a state change, written in the same transaction as the change.

    A sender delivers rows after commit, retrying until Slack accepts; ``dedup_key`` makes a
    message for one change unique, so it is never sent twice.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[JsonDict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[JsonDict | None] = mapped_column(JSON)


class SlackUser(TeamOwned, Base):
    """Cache of Slack user id <-> directory email (from users.info / users.lookupByEmail)."""

    __tablename__ = "slack_users"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    # Slack's locale of the person ("de-DE"), for the language of their messages; "" when Slack
    # gave none, NULL when not asked yet.
    locale: Mapped[str | None] = mapped_column(String(35))
    refreshed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MerchantCorrection(TeamOwned, Base):
    """An employee's correction of the merchant read from a receipt header, reused next time."""

    __tablename__ = "merchant_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    header_text: Mapped[str] = mapped_column(Text)
    read_as: Mapped[str | None] = mapped_column(String(255))
    merchant: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FxRate(Base):
    """One exchange rate of one day. ``team_id`` None: a shared reference rate (the feed's, or any
    rate in single-workspace mode); else a rate a workspace imported, seen by that workspace only
    and preferred there to the shared one (``storage.fx``). Not a ``TeamOwned`` row: a workspace
    sees the shared rates too, so its queries choose explicitly (``storage.fx.visible_to``)."""

    __tablename__ = "fx_rates"
    __table_args__ = team_unique("fx_rates", "base", "quote", "day")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(32), index=True)
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    day: Mapped[dt.date] = mapped_column(Date)
    rate: Mapped[Decimal] = mapped_column(Rate)
    source: Mapped[str | None] = mapped_column(String(128))  # "ECB" or the imported file's name
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PerDiemRate(TeamOwned, Base):
    """One place of the company's own per diem rates (``expensebot perdiem rates import``); priced
    before the shipped tables (workflows/per_diem.py). An import replaces the workspace's table."""

    __tablename__ = "per_diem_rates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    destination: Mapped[str] = mapped_column(String(255))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    currency: Mapped[str] = mapped_column(String(3))
    full_day: Mapped[Decimal] = mapped_column(Amount)
    partial_day: Mapped[Decimal] = mapped_column(Amount)
    breakfast: Mapped[Decimal] = mapped_column(Amount)
    lunch: Mapped[Decimal] = mapped_column(Amount)
    dinner: Mapped[Decimal] = mapped_column(Amount)
    incidentals: Mapped[Decimal] = mapped_column(Amount)
    source: Mapped[str | None] = mapped_column(String(255))  # the imported file's name
    imported_by: Mapped[str] = mapped_column(String(320))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delegation(TeamOwned, Base):
    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    approver_email: Mapped[str] = mapped_column(String(320), index=True)
    delegate_email: Mapped[str] = mapped_column(String(320))
    until: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduledRun(Base):
    """A scheduled job's slot (e.g. the digest for one day): unique, so it runs once cluster-wide."""

    __tablename__ = "scheduled_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CrmWriteback(Base):
    """An approved expense logged on its customer in the CRM, exactly once."""

    __tablename__ = "crm_writebacks"
    __table_args__ = (UniqueConstraint("expense_id", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expense_id: Mapped[int] = mapped_column(ForeignKey("expenses.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed
    remote_id: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExpenseProject(Base):
    """The project an expense is booked to (optional; reports group by it)."""

    __tablename__ = "expense_projects"

    expense_id: Mapped[int] = mapped_column(ForeignKey("expenses.id", ondelete="CASCADE"), primary_key=True)
    project: Mapped[str] = mapped_column(String(128), index=True)
    set_by: Mapped[str | None] = mapped_column(String(64))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The CRM project picked (storage.projects); ``project`` then holds its name as picked, and
    # reports use the project's current name. NULL: the free-text project alone.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)

    crm_project: Mapped[Project | None] = relationship(lazy="selectin")


class ExpenseSplit(Base):
    """One part of a receipt split across categories, customers or projects (workflows.splits).

    The parts of an expense add up to its total exactly; each is its own line in exports.
    """

    __tablename__ = "expense_splits"
    __table_args__ = (UniqueConstraint("expense_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expense_id: Mapped[int] = mapped_column(ForeignKey("expenses.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Amount)  # in the expense's own currency
    category: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    project: Mapped[str | None] = mapped_column(String(128))

    customer: Mapped[Customer | None] = relationship(lazy="joined")


class PayoutExport(Base):
    """One export file made from a payout batch: which layout, its digest and totals.

    The same batch and layout always give the same bytes, so ``sha256`` repeats on re-export.
    """

    __tablename__ = "payout_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id"), index=True)
    format: Mapped[str] = mapped_column(String(16))  # csv | quickbooks | xero | sepa
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    expense_count: Mapped[int] = mapped_column(Integer)
    totals: Mapped[JsonDict] = mapped_column(JSON, default=dict)  # currency -> decimal string
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


install_team_filter(Session, TeamOwned)

# Finance queries: the payout queue, date-range reports and per-batch exports.
Index("ix_expenses_status_batch", Expense.status, Expense.payout_batch_id)
Index("ix_expenses_spent_on_status", Expense.spent_on, Expense.status)
Index("ix_expenses_batch_employee", Expense.payout_batch_id, Expense.employee_id)


class StatementAccount(TeamOwned, Base):
    """A card or bank account statements are imported for: its name and what the files call it.

    The name is unique within a workspace (two workspaces may both have a "visa")."""

    __tablename__ = "statement_accounts"
    __table_args__ = team_unique("statement_accounts", "name")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    external_id: Mapped[str | None] = mapped_column(String(64))  # IBAN, card or account number in the files
    kind: Mapped[str | None] = mapped_column(String(8))  # card | bank | None (not said)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatementLine(TeamOwned, Base):
    """One booked line of a card or bank statement, and what it was matched to.

    ``transaction_id`` is the bank's id or the documented fingerprint (``workflows.statements``);
    with ``account`` it is unique in a workspace, so an overlapping re-import adds nothing twice.
    """

    __tablename__ = "statement_lines"
    __table_args__ = team_unique("statement_lines", "account", "transaction_id")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(128), index=True)
    transaction_id: Mapped[str] = mapped_column(String(128))
    format: Mapped[str] = mapped_column(String(16))
    booked_on: Mapped[dt.date] = mapped_column(Date, index=True)
    value_on: Mapped[dt.date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Amount)  # signed: negative is money out
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text)
    card_last4: Mapped[str | None] = mapped_column(String(4), index=True)
    counterparty: Mapped[str | None] = mapped_column(String(255))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    end_to_end_id: Mapped[str | None] = mapped_column(String(64))
    original_amount: Mapped[Decimal | None] = mapped_column(Amount)
    original_currency: Mapped[str | None] = mapped_column(String(3))
    raw: Mapped[JsonDict] = mapped_column(JSON, default=dict)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(64), default="cli")

    status: Mapped[str] = mapped_column(String(24), default="unmatched", index=True)
    employee_email: Mapped[str | None] = mapped_column(String(320), index=True)
    expense_id: Mapped[int | None] = mapped_column(ForeignKey("expenses.id", ondelete="SET NULL"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("payout_batches.id"), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))  # "matcher" or who confirmed
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    not_these: Mapped[list[int]] = mapped_column(JSON, default=list)  # expenses refused ("Not this one")


# --- Slack installations (multi-workspace mode, OAuth v2) --------------------------------------
# The columns of slack_sdk's SQLAlchemy installation and state stores (storage.installations uses
# these tables through them), with room for Fernet-encrypted tokens: tokens are never stored in
# plain text. Datetimes are naive UTC, as slack_sdk writes and compares them.


class SlackInstallation(Base):
    __tablename__ = "slack_installations"
    __table_args__ = (
        Index(
            "ix_slack_installations_lookup",
            "client_id",
            "enterprise_id",
            "team_id",
            "user_id",
            "installed_at",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(32))
    app_id: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    enterprise_url: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[str | None] = mapped_column(String(32))
    team_name: Mapped[str | None] = mapped_column(String(200))
    bot_token: Mapped[str | None] = mapped_column(Text)
    bot_id: Mapped[str | None] = mapped_column(String(32))
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_scopes: Mapped[str | None] = mapped_column(String(1000))
    bot_refresh_token: Mapped[str | None] = mapped_column(Text)
    bot_token_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    user_id: Mapped[str] = mapped_column(String(32))
    user_token: Mapped[str | None] = mapped_column(Text)
    user_scopes: Mapped[str | None] = mapped_column(String(1000))
    user_refresh_token: Mapped[str | None] = mapped_column(Text)
    user_token_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    incoming_webhook_url: Mapped[str | None] = mapped_column(Text)
    incoming_webhook_channel: Mapped[str | None] = mapped_column(String(200))
    incoming_webhook_channel_id: Mapped[str | None] = mapped_column(String(200))
    incoming_webhook_configuration_url: Mapped[str | None] = mapped_column(String(200))
    is_enterprise_install: Mapped[bool] = mapped_column(default=False)
    token_type: Mapped[str | None] = mapped_column(String(32))
    installed_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SlackBot(Base):
    __tablename__ = "slack_bots"
    __table_args__ = (Index("ix_slack_bots_lookup", "client_id", "enterprise_id", "team_id", "installed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(32))
    app_id: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[str | None] = mapped_column(String(32))
    team_name: Mapped[str | None] = mapped_column(String(200))
    bot_token: Mapped[str | None] = mapped_column(Text)
    bot_id: Mapped[str | None] = mapped_column(String(32))
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_scopes: Mapped[str | None] = mapped_column(String(1000))
    bot_refresh_token: Mapped[str | None] = mapped_column(Text)
    bot_token_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    is_enterprise_install: Mapped[bool] = mapped_column(default=False)
    installed_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SlackOAuthState(Base):
    """A state value handed out by /slack/install: used once, before it expires."""

    __tablename__ = "slack_oauth_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(200), index=True)
    expire_at: Mapped[dt.datetime] = mapped_column(DateTime)
