"""Export files of a payout batch: generic CSV, QuickBooks Online, Xero and SEPA pain.001.001.03.

A batch's expenses are fixed when the batch is created (an expense belongs to at most one
batch: ``expenses.payout_batch_id``, claimed with a conditional UPDATE), so exporting the same
batch again gives the same file byte for byte. Every export is recorded (``payout_exports``) and
audited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import audit
from storage.models import (
    Customer,
    Deal,
    Expense,
    ExpenseProject,
    ExpenseSplit,
    PayoutBatch,
    PayoutExport,
    Project,
    SlackUser,
)
from workflows.directory import Person, iban_problem, normalise_iban
from workflows.expenses import expense_ref
from workflows.exports import (
    BatchExport,
    ExportError,
    ExportLine,
    LayoutOptions,
    TransferPlan,
    export_format,
    rounded,
    sepa_plan,
)
from workflows.money import Money
from workflows.splits import share_out
from workflows.tax import paid_tax, split_tax


@dataclass(frozen=True)
class Debtor:
    """The company account SEPA transfers are paid from."""

    name: str
    iban: str
    bic: str | None = None


@dataclass(frozen=True)
class ExportFile:
    batch_id: int
    format: str
    content: bytes
    filename: str
    media_type: str
    expense_count: int
    totals: dict[str, Decimal]  # what the file carries, per currency
    batch_totals: dict[str, Decimal]  # the whole batch, per currency
    notes: tuple[str, ...] = ()  # e.g. expenses a SEPA file leaves out, and why
    left_out: dict[str, Decimal] = field(default_factory=dict)  # per currency, not in the file

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def load_batch(session: Session, batch_id: int) -> tuple[PayoutBatch, BatchExport]:
    batch = session.get(PayoutBatch, batch_id)
    if batch is None:
        raise ExportError(f"Payout batch #{batch_id} does not exist.")
    rows = session.execute(
        select(
            Expense.id,
            Expense.employee_id,
            Expense.employee_email,
            Expense.merchant,
            Expense.spent_on,
            Expense.category,
            Customer.name,
            func.coalesce(Project.name, ExpenseProject.project),
            Expense.approved_amount,
            Expense.amount,
            Expense.currency,
            Expense.approved_at,
            SlackUser.name,
            Expense.reimburse_currency,
            Expense.reimburse_amount,
            Expense.fx_rate,
            Expense.fx_rate_day,
            Expense.fx_rate_source,
            Deal.name,
            Deal.external_id,
            Expense.tax_amount,
            Expense.tax_rate,
        )
        .outerjoin(Customer, Customer.id == Expense.customer_id)
        .outerjoin(Deal, Deal.id == Expense.deal_id)
        .outerjoin(ExpenseProject, ExpenseProject.expense_id == Expense.id)
        .outerjoin(Project, Project.id == ExpenseProject.project_id)
        .outerjoin(SlackUser, SlackUser.user_id == Expense.employee_id)
        .where(Expense.payout_batch_id == batch_id)
        .order_by(Expense.id)
    ).all()
    parts = _split_parts(session, batch_id)
    lines: list[ExportLine] = []
    for (
        exp_id,
        emp_id,
        email,
        merchant,
        spent_on,
        category,
        customer,
        project,
        approved,
        amount,
        currency,
        approved_at,
        slack_name,
        pay_currency,
        pay_amount,
        fx_rate,
        fx_day,
        fx_source,
        deal,
        deal_id,
        tax,
        tax_rate,
    ) in rows:
        value = approved if approved is not None else amount
        if value is None or not currency:
            raise ExportError(f"{expense_ref(exp_id)} in batch #{batch_id} has no amount or currency.")
        converted = fx_rate is not None and pay_currency and pay_amount is not None
        line = ExportLine(
            expense_id=exp_id,
            ref=expense_ref(exp_id),
            employee_id=emp_id,
            employee_email=email,
            payee=slack_name or email or emp_id,
            merchant=merchant,
            spent_on=spent_on,
            category=category,
            customer=customer,
            project=project,
            approved_at=approved_at,
            # paid in the reimbursement currency, at the rate kept at submission (docs/currency.md)
            amount=rounded(pay_amount, pay_currency) if converted else rounded(value, currency),
            currency=pay_currency if converted else currency,
            original_amount=rounded(value, currency) if converted else None,
            original_currency=currency if converted else None,
            fx_rate=fx_rate if converted else None,
            fx_rate_day=fx_day,
            fx_rate_source=fx_source,
            deal=deal,
            deal_crm_id=deal_id,
        )
        line = with_tax(line, tax, tax_rate, amount if amount is not None else value, currency)
        lines.extend(split_lines(line, parts.get(exp_id, [])) if exp_id in parts else [line])
    return batch, BatchExport(batch_id=batch.id, created_at=batch.created_at, lines=tuple(lines))


def with_tax(
    line: ExportLine, tax: Decimal | None, rate: Decimal | None, receipt_total: Decimal, currency: str
) -> ExportLine:
    """The line with the receipt's tax in what it pays: prorated from the receipt's total to the
    amount paid (approved, converted), so that the line's net + tax is its amount to the cent."""
    if tax is None:
        return line
    paid = paid_tax(tax, Money(receipt_total, currency), Money(line.amount, line.currency))
    return dataclasses.replace(line, tax=paid.amount if paid is not None else None, tax_rate=rate)


def _split_parts(
    session: Session, batch_id: int
) -> dict[int, list[tuple[Decimal, str | None, str | None, str | None]]]:
    """The parts of the batch's split receipts: (amount, category, customer name, project)."""
    found: dict[int, list[tuple[Decimal, str | None, str | None, str | None]]] = {}
    for exp_id, amount, category, customer, project in session.execute(
        select(
            ExpenseSplit.expense_id,
            ExpenseSplit.amount,
            ExpenseSplit.category,
            Customer.name,
            ExpenseSplit.project,
        )
        .join(Expense, Expense.id == ExpenseSplit.expense_id)
        .outerjoin(Customer, Customer.id == ExpenseSplit.customer_id)
        .where(Expense.payout_batch_id == batch_id)
        .order_by(ExpenseSplit.expense_id, ExpenseSplit.position)
    ):
        found.setdefault(exp_id, []).append((amount, category, customer, project))
    return found


def split_lines(
    line: ExportLine, parts: list[tuple[Decimal, str | None, str | None, str | None]]
) -> list[ExportLine]:
    """A split receipt as one line per part; the parts' amounts add up to the line's exactly.

    The amount paid (approved, converted) is shared in proportion to the parts, so a lower
    approved amount or a conversion still adds up to the cent (workflows.splits.share_out), and
    the line's tax in proportion to the parts' shares (workflows.tax.split_tax), so the parts' tax
    adds up to the receipt's and no part's tax is more than the part. The
    expense's deal stays on the parts of its own customer (or of no customer), not on a part
    charged to another customer.
    """
    if len(parts) < 2:
        return [line]
    weights = [amount for amount, *_ in parts]
    shares = share_out(Money(line.amount, line.currency), weights)
    originals = (
        share_out(Money(line.original_amount, line.original_currency), weights)
        if line.original_amount is not None and line.original_currency
        else [None] * len(parts)
    )
    taxes = split_tax(Money(line.tax, line.currency), shares) if line.tax is not None else [None] * len(parts)
    return [
        dataclasses.replace(
            line,
            amount=share.amount,
            tax=tax.amount if tax is not None else None,
            category=category or line.category,
            customer=customer or line.customer,
            project=project or line.project,
            original_amount=original.amount if original is not None else None,
            note=f"part {index} of {len(parts)}",
            deal=line.deal if customer in (None, line.customer) else None,
            deal_crm_id=line.deal_crm_id if customer in (None, line.customer) else None,
        )
        for index, (share, original, tax, (_, category, customer, project)) in enumerate(
            zip(shares, originals, taxes, parts, strict=True), start=1
        )
    ]


def build_export(
    session: Session,
    batch_id: int,
    fmt: str,
    *,
    ibans: dict[str, str | None] | None = None,
    debtor: Debtor | None = None,
    execution_date: dt.date | None = None,
    account: str | None = None,
    tax_type: str | None = None,
    date_format: str | None = None,
    input_tax: str | None = None,
) -> ExportFile:
    """Lay out batch ``batch_id`` as ``fmt`` (see :data:`workflows.exports.EXPORT_FORMATS`).

    ``account``: the QuickBooks expense account name or the Xero account code for every line
    (default: the category's name, resp. 429); ``tax_type``: the Xero tax rate name;
    ``date_format``: ``MM/DD/YYYY`` or ``DD/MM/YYYY`` (default: QuickBooks the first, Xero the second);
    ``input_tax``: for lines with input tax, the QuickBooks tax code or the Xero tax rate name.
    """
    spec = export_format(fmt)
    batch, data = load_batch(session, batch_id)
    if not data.lines:
        raise ExportError(f"Payout batch #{batch_id} has no expenses.")
    data.check_totals(batch.totals or {})
    batch_totals = data.totals()
    stem = f"expensebot-batch-{batch_id}-{fmt}"
    notes: tuple[str, ...] = ()
    left_out: dict[str, Decimal] = {}
    if spec.pays:  # SEPA, the one payment order so far
        if debtor is None:
            raise ExportError("A SEPA file needs the paying account: the company name and IBAN.")
        plan = sepa_plan(data, {k.lower(): v for k, v in (ibans or {}).items()})
        if not plan.transfers:
            raise ExportError(
                f"Batch #{batch_id} has nothing to pay by SEPA (EUR to employees with an IBAN)."
            )
        content = sepa_xml(
            plan,
            debtor,
            batch_id=batch_id,
            created_at=data.created_at,
            execution_date=execution_date or data.created_at.date(),
        )
        totals = {"EUR": plan.total}
        count = sum(len(t.refs) for t in plan.transfers)
        notes = tuple(
            f"{line.ref} ({line.payee}, {line.amount_text} {line.currency}) is not in the file: {why}"
            for line, why in plan.left_out
        )
        for line, _why in plan.left_out:
            left_out[line.currency] = left_out.get(line.currency, Decimal(0)) + line.amount
    else:
        assert spec.layout is not None, f"{fmt}: a text format needs its layout"
        text = spec.layout(
            data,
            LayoutOptions(account=account, tax_type=tax_type, date_format=date_format, input_tax=input_tax),
        )
        content = text.encode("utf-8")
        totals = batch_totals
        count = len({line.expense_id for line in data.lines})  # a split receipt has a line per part
    return ExportFile(
        batch_id=batch_id,
        format=fmt,
        content=content,
        filename=f"{stem}.{spec.extension}",
        media_type=spec.media_type,
        expense_count=count,
        totals=totals,
        batch_totals=batch_totals,
        notes=notes,
        left_out=left_out,
    )


def record_export(session: Session, export: ExportFile, actor: str) -> PayoutExport:
    """Remember that ``actor`` exported this file (a row and an audit event)."""
    row = PayoutExport(
        batch_id=export.batch_id,
        format=export.format,
        sha256=export.sha256,
        size=len(export.content),
        expense_count=export.expense_count,
        totals={c: str(a) for c, a in export.totals.items()},
        created_by=actor,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="payout.exported",
        entity="payout_batch",
        entity_id=export.batch_id,
        after={
            "format": export.format,
            "sha256": export.sha256,
            "expenses": export.expense_count,
            "totals": row.totals,
        },
        detail=export.filename,
    )
    return row


def sepa_xml(
    plan: TransferPlan, debtor: Debtor, *, batch_id: int, created_at: dt.datetime, execution_date: dt.date
) -> bytes:
    """A pain.001.001.03 credit-transfer file, validated against the schema shipped with sepaxml.

    The message, payment-information and end-to-end ids derive from the batch, and the creation
    time is the batch's, so the file is the same each time it is made.
    """
    from sepaxml import SepaTransfer

    problem = iban_problem(debtor.iban)
    if problem:
        raise ExportError(f"The paying account: {problem}.")
    config: dict[str, object] = {
        "name": debtor.name,
        "IBAN": normalise_iban(debtor.iban),
        "batch": True,
        "currency": "EUR",
    }
    if debtor.bic:
        config["BIC"] = debtor.bic.strip().upper()
    transfer = SepaTransfer(config, schema="pain.001.001.03", clean=True)
    for item in plan.transfers:
        problem = iban_problem(item.iban)
        if problem:
            raise ExportError(f"{item.payee}: {problem}; fix it in the company directory.")
        cents = int((item.amount * 100).to_integral_value())
        if Decimal(cents) / 100 != item.amount:
            raise ExportError(f"{item.payee}: {item.amount} EUR has more than two decimals.")
        transfer.add_payment(
            {
                "name": item.payee,
                "IBAN": normalise_iban(item.iban),
                "amount": cents,
                "execution_date": execution_date,
                "description": item.remittance,
                "endtoend_id": item.end_to_end_id,
            }
        )
    raw: bytes = transfer.export(validate=False)
    msg_id = f"EXPENSEBOT-BATCH-{batch_id}"
    raw = re.sub(rb"<MsgId>[^<]*</MsgId>", f"<MsgId>{msg_id}</MsgId>".encode(), raw)
    raw = re.sub(
        rb"<CreDtTm>[^<]*</CreDtTm>",
        f"<CreDtTm>{created_at.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S}</CreDtTm>".encode(),
        raw,
    )
    raw = re.sub(rb"<PmtInfId>[^<]*</PmtInfId>", f"<PmtInfId>{msg_id}-1</PmtInfId>".encode(), raw)
    import xmlschema

    try:
        pain_001_schema().validate(raw.decode("utf-8"))
    except xmlschema.XMLSchemaValidationError as exc:
        raise ExportError(f"The SEPA file did not pass the pain.001.001.03 schema: {exc}") from exc
    return raw


@functools.cache
def pain_001_schema() -> Any:
    """The pain.001.001.03 XML schema shipped with sepaxml, parsed once per process."""
    import sepaxml
    import xmlschema

    return xmlschema.XMLSchema(str(Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"))


def ibans_from_directory(people: Iterable[Person]) -> dict[str, str | None]:
    """``email -> IBAN`` for everyone in a directory."""
    return {p.email: p.iban for p in people}
