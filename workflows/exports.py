"""Payout batch export layouts: a generic CSV, QuickBooks Online bills and Xero bills, and the
registry of export formats (:data:`EXPORT_FORMATS`) that every caller reads.

Pure: the caller loads a batch into :class:`BatchExport`; these functions lay it out as text.
The same batch always gives the same bytes (dates come from the batch, never from the clock),
and the amounts of every layout add up to the batch totals to the cent: each expense's amount
is rounded to its currency's minor unit once, here, and the totals are the sums of those
rounded amounts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from workflows.categories import category_label
from workflows.money import Money, minor_units


class ExportError(ValueError):
    """A batch that cannot be exported as asked. ``str(err)`` is a message for people."""


@dataclass(frozen=True)
class ExportLine:
    expense_id: int
    ref: str
    employee_id: str
    employee_email: str | None
    payee: str  # the name to pay: Slack display name, else the email, else the Slack id
    merchant: str | None
    spent_on: dt.date | None
    category: str | None
    customer: str | None
    project: str | None
    amount: Decimal  # rounded to the currency's minor unit
    currency: str
    approved_at: dt.datetime | None
    note: str | None = None
    # A claim converted into the reimbursement currency (docs/currency.md): the receipt's own
    # amount, and the rate kept at submission (1 original = fx_rate of ``currency``).
    original_amount: Decimal | None = None
    original_currency: str | None = None
    fx_rate: Decimal | None = None
    fx_rate_day: dt.date | None = None
    fx_rate_source: str | None = None
    # The CRM deal (HubSpot deal, Salesforce opportunity) the expense is on: its name and id.
    deal: str | None = None
    deal_crm_id: str | None = None
    # The input tax inside ``amount`` (workflows/tax.py): in ``currency``, prorated when less than
    # the receipt is paid or it is converted, so that net + tax is ``amount`` exactly; ``tax_rate``
    # is the receipt's rate in percent. None: the receipt's tax is not known.
    tax: Decimal | None = None
    tax_rate: Decimal | None = None

    @property
    def net(self) -> Decimal | None:
        """The amount less its tax (None when the tax is not known)."""
        return self.amount - self.tax if self.tax is not None else None

    @property
    def taxed(self) -> bool:
        """Whether the line carries input tax to reclaim."""
        return self.tax is not None and self.tax > 0

    @property
    def deal_text(self) -> str:
        """``Renewal 2026 (1234)``: the name with the CRM's id, or empty."""
        if not self.deal:
            return ""
        return f"{self.deal} ({self.deal_crm_id})" if self.deal_crm_id else self.deal

    @property
    def amount_text(self) -> str:
        return f"{self.amount:.{minor_units(self.currency)}f}"

    def _money_text(self, value: Decimal | None) -> str:
        return "" if value is None else f"{value:.{minor_units(self.currency)}f}"

    @property
    def net_text(self) -> str:
        return self._money_text(self.net)

    @property
    def tax_text(self) -> str:
        return self._money_text(self.tax)

    @property
    def tax_rate_text(self) -> str:
        return "" if self.tax_rate is None else f"{self.tax_rate.normalize():f}"


@dataclass(frozen=True)
class BatchExport:
    batch_id: int
    created_at: dt.datetime
    lines: tuple[ExportLine, ...]

    def totals(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            out[line.currency] += line.amount
        return dict(sorted(out.items()))

    def check_totals(self, recorded: dict[str, str]) -> None:
        """Refuse to export when the lines do not add up to the totals recorded on the batch."""
        expected = {
            cur: Money(Decimal(str(value)), cur).amount
            for cur, value in recorded.items()
            if value is not None
        }
        got = self.totals()
        if {c: a for c, a in expected.items() if a} != {c: a for c, a in got.items() if a}:
            raise ExportError(
                f"Batch #{self.batch_id}: its expenses add up to {_fmt(got)} but the batch recorded "
                f"{_fmt(expected)}; nothing was exported."
            )


def _fmt(totals: dict[str, Decimal]) -> str:
    return ", ".join(Money(a, c).format() for c, a in sorted(totals.items())) or "nothing"


def rounded(amount: Decimal, currency: str) -> Decimal:
    return Money(amount, currency).amount


# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets (OWASP
# "CSV injection"); the full-width forms too, which some of them read as the ASCII ones.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)%?")


def spreadsheet_safe(value: str) -> str:
    """``value`` as a spreadsheet shows it as text: a leading apostrophe before a would-be formula.

    A plain number (``-12.50``, ``+5.0%``) is left alone, so amounts and changes stay numbers.
    """
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """RFC 4180 CSV for people to open in a spreadsheet: one physical line per row (line breaks
    inside a value become spaces, since the accounting imports read a line as a row) and no cell
    that a spreadsheet would run as a formula (:func:`spreadsheet_safe`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(_one_line(value)) for value in row] for row in rows)
    return out.getvalue()


def _one_line(value: str) -> str:
    return " ".join(value.split()) if "\n" in value or "\r" in value else value


def _memo(line: ExportLine) -> str:
    parts = [line.ref, line.merchant or "unknown merchant"]
    if line.spent_on:
        parts.append(line.spent_on.isoformat())
    if line.customer:
        parts.append(f"customer {line.customer}")
    if line.project:
        parts.append(f"project {line.project}")
    if line.deal:
        parts.append(f"deal {line.deal_text}")
    return " · ".join(parts)


# --- generic CSV ----------------------------------------------------------------------------

GENERIC_HEADER = (
    "batch_id",
    "expense_ref",
    "expense_id",
    "employee_email",
    "employee_slack_id",
    "payee",
    "merchant",
    "spent_on",
    "category",
    "customer",
    "project",
    "currency",
    "amount",
    "approved_at",
    "original_currency",
    "original_amount",
    "fx_rate",
    "fx_rate_date",
    "fx_rate_source",
    "deal",
    "deal_crm_id",
    "net",
    "tax",
    "tax_rate",
)
# net + tax = amount, in the line's currency; tax_rate in percent; all three empty when the
# receipt's tax is not known.


def _conversion_cells(line: ExportLine) -> tuple[str, str, str, str, str]:
    if line.original_currency is None or line.original_amount is None or line.fx_rate is None:
        return ("", "", "", "", "")
    return (
        line.original_currency,
        f"{line.original_amount:.{minor_units(line.original_currency)}f}",
        f"{line.fx_rate.normalize():f}",
        line.fx_rate_day.isoformat() if line.fx_rate_day else "",
        line.fx_rate_source or "",
    )


def generic_csv(batch: BatchExport) -> str:
    """One row per expense, ordered by payee then expense; RFC 4180 CSV, ISO dates."""
    rows = (
        (
            str(batch.batch_id),
            line.ref,
            str(line.expense_id),
            line.employee_email or "",
            line.employee_id,
            line.payee,
            line.merchant or "",
            line.spent_on.isoformat() if line.spent_on else "",
            category_label(line.category),
            line.customer or "",
            line.project or "",
            line.currency,
            line.amount_text,
            line.approved_at.isoformat() if line.approved_at else "",
            *_conversion_cells(line),
            line.deal or "",
            line.deal_crm_id or "",
            line.net_text,
            line.tax_text,
            line.tax_rate_text,
        )
        for line in _ordered(batch.lines)
    )
    return csv_text(GENERIC_HEADER, rows)


DATE_FORMATS = {"MM/DD/YYYY": "%m/%d/%Y", "DD/MM/YYYY": "%d/%m/%Y"}


def _date(day: dt.date, date_format: str) -> str:
    if date_format not in DATE_FORMATS:
        raise ExportError(f"Unknown date format {date_format!r}; choose {' or '.join(DATE_FORMATS)}.")
    return day.strftime(DATE_FORMATS[date_format])


def _ordered(lines: Iterable[ExportLine]) -> list[ExportLine]:
    return sorted(lines, key=lambda ln: (ln.payee.lower(), ln.employee_id, ln.currency, ln.expense_id))


def _bills(batch: BatchExport) -> list[tuple[str, list[ExportLine]]]:
    """One bill per payee and currency: ``(bill number, lines)`` in a stable order."""
    groups: dict[tuple[str, str], list[ExportLine]] = defaultdict(list)
    for line in _ordered(batch.lines):
        groups[(line.employee_id, line.currency)].append(line)
    bills = []
    for number, (_key, lines) in enumerate(groups.items(), start=1):
        bills.append((f"EB{batch.batch_id}-{number:03d}", lines))
    return bills


# --- QuickBooks Online ----------------------------------------------------------------------
# QuickBooks Online bill import (Settings → Import data → Bills): one row per bill line, rows with
# the same Bill No form one bill (Bill No at most 21 characters); required: Bill No, Vendor, Bill
# Date, Account and Line Amount, a positive amount for a bill. The import maps each column to a
# bill field (these names are the fields' own, so they map themselves) and asks for the date
# format: MM/DD/YYYY here, the US default. Currency is read when multicurrency is on.
# Tax (the editions with sales tax on purchases: UK, CA, AU, IN...): Line Tax Code, the name of
# one of the company's tax codes, and Line Tax Amount, the tax inside Line Amount; the amounts
# are tax inclusive (Line Amount is what the employee is paid), so an edition that does not read
# tax still gets the right bill total. Lines without known tax leave both empty.

QUICKBOOKS_HEADER = (
    "Bill No",
    "Vendor",
    "Bill Date",
    "Due Date",
    "Terms",
    "Location",
    "Memo",
    "Account",
    "Line Description",
    "Line Amount",
    "Currency",
    "Line Tax Code",
    "Line Tax Amount",
)


def quickbooks_csv(
    batch: BatchExport,
    *,
    account: str | None = None,
    date_format: str = "MM/DD/YYYY",
    tax_code: str | None = None,
) -> str:
    """QuickBooks Online bills: the employee is the vendor; one bill per employee and currency.

    ``account`` is the expense account for every line; by default the category's name, which
    matches an expense account of the same name in the chart of accounts. ``date_format`` is
    the one to choose on the import's mapping screen. ``tax_code`` is the company's tax code for
    lines with input tax (e.g. ``20.0% S``); by default the receipt's rate (``VAT 20%``).
    """
    day = _date(batch.created_at.date(), date_format)
    rows = []
    for number, lines in _bills(batch):
        for line in lines:
            rows.append(
                (
                    number,
                    line.payee,
                    day,
                    day,
                    "Due on receipt",
                    "",
                    f"Expense payout batch #{batch.batch_id}",
                    account or category_label(line.category),
                    _memo(line),
                    line.amount_text,
                    line.currency,
                    _tax_code(line, tax_code),
                    line.tax_text if line.taxed else "",
                )
            )
    return csv_text(QUICKBOOKS_HEADER, rows)


def _tax_code(line: ExportLine, chosen: str | None) -> str:
    if not line.taxed:
        return ""
    if chosen:
        return chosen
    return f"VAT {line.tax_rate_text}%" if line.tax_rate is not None else "VAT"


# --- Xero -----------------------------------------------------------------------------------
# Xero bills import template (Business → Bills to pay → Import → download the template): the
# column names are the template's, in its order, required ones with a leading asterisk; rows
# with the same InvoiceNumber and ContactName form one bill. Dates are DD/MM/YYYY; UnitAmount is
# per unit, so Quantity is 1 and UnitAmount the expense amount (positive: a bill, not a credit
# note). Total stays empty: Xero computes it. A line with input tax has the tax rate for it
# (``input_tax_type``) as TaxType and the tax as TaxAmount; UnitAmount stays what is paid, so
# the file is imported as "Tax inclusive". A line without tax has ``tax_type`` and no TaxAmount.

XERO_HEADER = (
    "*ContactName",
    "EmailAddress",
    "POAddressLine1",
    "POAddressLine2",
    "POAddressLine3",
    "POAddressLine4",
    "POCity",
    "PORegion",
    "POPostalCode",
    "POCountry",
    "*InvoiceNumber",
    "*InvoiceDate",
    "*DueDate",
    "Total",
    "InventoryItemCode",
    "Description",
    "*Quantity",
    "*UnitAmount",
    "*AccountCode",
    "*TaxType",
    "TaxAmount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
    "Currency",
)
XERO_TAX_TYPE = "Tax Exempt"  # a tax rate name of Xero's US edition; other regions name theirs differently
# Lines with input tax: the US edition's name; UK "20% (VAT on Expenses)", AU "GST on Expenses".
XERO_INPUT_TAX_TYPE = "Tax on Purchases"
XERO_OPTION_LENGTH = 100  # a tracking option's name is at most 100 characters in Xero


def xero_csv(
    batch: BatchExport,
    *,
    account_code: str = "429",
    tax_type: str = XERO_TAX_TYPE,
    date_format: str = "DD/MM/YYYY",
    input_tax_type: str = XERO_INPUT_TAX_TYPE,
) -> str:
    """Xero bills: the employee is the contact; one bill per employee and currency.

    ``tax_type`` is the display name of a tax rate of the Xero organisation (``Tax Exempt``,
    ``No VAT``, ``BAS Excluded``...); ``date_format`` the organisation's (Xero reads dates the way
    its region writes them: MM/DD/YYYY in the US). Expenses with a customer carry it as the
    tracking option "Customer", expenses on a CRM deal the deal's name as the tracking option
    "Deal" (its CRM id is in the description). Lines with input tax take ``input_tax_type``
    and their TaxAmount (import the file as tax inclusive).
    """
    day = _date(batch.created_at.date(), date_format)
    rows = []
    for number, lines in _bills(batch):
        for line in lines:
            tracking = ("Customer", line.customer) if line.customer else ("", "")
            deal = ("Deal", line.deal[:XERO_OPTION_LENGTH]) if line.deal else ("", "")
            rows.append(
                (
                    line.payee,
                    line.employee_email or "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    number,
                    day,
                    day,
                    "",
                    "",
                    _memo(line),
                    "1",
                    line.amount_text,
                    account_code,
                    input_tax_type if line.taxed else tax_type,
                    line.tax_text if line.taxed else "",
                    *tracking,
                    *deal,
                    line.currency,
                )
            )
    return csv_text(XERO_HEADER, rows)


# --- SEPA -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transfer:
    """One credit transfer: everything one employee is owed in EUR in the batch."""

    employee_id: str
    payee: str
    iban: str
    amount: Decimal
    end_to_end_id: str
    remittance: str
    refs: tuple[str, ...]


@dataclass(frozen=True)
class TransferPlan:
    transfers: tuple[Transfer, ...]
    left_out: tuple[tuple[ExportLine, str], ...]  # (line, why it is not in the file)

    @property
    def total(self) -> Decimal:
        return sum((t.amount for t in self.transfers), Decimal(0))


def sepa_plan(batch: BatchExport, ibans: dict[str, str | None]) -> TransferPlan:
    """Group the batch's EUR expenses into one transfer per employee with an IBAN.

    ``ibans`` maps an employee's email to their IBAN. Lines in another currency, or of an
    employee without an IBAN, are left out with the reason (they are paid some other way).
    """
    per_employee: dict[str, list[ExportLine]] = defaultdict(list)
    left_out: list[tuple[ExportLine, str]] = []
    for line in _ordered(batch.lines):
        iban = ibans.get((line.employee_email or "").lower())
        if line.currency != "EUR":
            left_out.append((line, f"{line.currency}: SEPA transfers are in EUR only"))
        elif not iban:
            left_out.append((line, "no IBAN in the company directory"))
        else:
            per_employee[line.employee_id].append(line)
    transfers = []
    for number, (employee_id, lines) in enumerate(per_employee.items(), start=1):
        first = lines[0]
        refs = tuple(dict.fromkeys(ln.ref for ln in lines))  # a split receipt's parts share one ref
        remittance = f"Expenses batch {batch.batch_id}: " + " ".join(refs)
        if len(remittance) > 140:
            remittance = f"Expenses batch {batch.batch_id}: {len(refs)} expenses"
        transfers.append(
            Transfer(
                employee_id=employee_id,
                payee=first.payee,
                iban=ibans[(first.employee_email or "").lower()] or "",
                amount=sum((ln.amount for ln in lines), Decimal(0)),
                end_to_end_id=f"EB{batch.batch_id}-{number:04d}",
                remittance=remittance,
                refs=refs,
            )
        )
    return TransferPlan(transfers=tuple(transfers), left_out=tuple(left_out))


# --- the registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LayoutOptions:
    """What finance may choose about a file's layout (``None``: the format's default)."""

    account: str | None = None  # QuickBooks: the expense account name; Xero: the account code
    tax_type: str | None = None  # Xero: the tax rate's name
    date_format: str | None = None  # MM/DD/YYYY or DD/MM/YYYY
    input_tax: str | None = None  # lines with input tax: QuickBooks tax code, Xero tax rate name


@dataclass(frozen=True)
class ExportFormat:
    """One export format, as the CLI's choices, the digest's Export menu and the file read it.

    A text format has a ``layout`` here. A payment order (``pays``: SEPA) pays employees from the
    company's account: it needs the paying account and the employees' bank accounts, and its file
    is made in ``storage.exports``.
    """

    name: str
    label: str  # in the digest's Export menu and the upload's comment
    extension: str
    media_type: str
    layout: Callable[[BatchExport, LayoutOptions], str] | None = None
    pays: bool = False

    def __post_init__(self) -> None:
        if (self.layout is None) == (not self.pays):
            raise ValueError(f"export format {self.name!r}: either a text layout or a payment order")


def _generic(batch: BatchExport, options: LayoutOptions) -> str:
    return generic_csv(batch)


def _quickbooks(batch: BatchExport, options: LayoutOptions) -> str:
    return quickbooks_csv(
        batch,
        account=options.account,
        date_format=options.date_format or "MM/DD/YYYY",
        tax_code=options.input_tax,
    )


def _xero(batch: BatchExport, options: LayoutOptions) -> str:
    return xero_csv(
        batch,
        account_code=options.account or "429",
        tax_type=options.tax_type or XERO_TAX_TYPE,
        date_format=options.date_format or "DD/MM/YYYY",
        input_tax_type=options.input_tax or XERO_INPUT_TAX_TYPE,
    )


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("csv", "CSV (all columns)", "csv", "text/csv", layout=_generic),
        ExportFormat("quickbooks", "QuickBooks Online bills", "csv", "text/csv", layout=_quickbooks),
        ExportFormat("xero", "Xero bills", "csv", "text/csv", layout=_xero),
        ExportFormat("sepa", "SEPA transfers (pain.001)", "xml", "application/xml", pays=True),
    )
}
FORMATS = tuple(EXPORT_FORMATS)  # the names, in menu order


def export_format(name: str) -> ExportFormat:
    """The format called ``name``; ExportError naming the choices if there is none."""
    found = EXPORT_FORMATS.get(name)
    if found is None:
        raise ExportError(f"Unknown export format {name!r}; choose one of {', '.join(FORMATS)}.")
    return found
