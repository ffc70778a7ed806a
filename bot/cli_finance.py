"""Finance commands: ``export`` (payout batch files), ``report`` (spend reports), ``privacy``.

The database comes from ``DATABASE_URL`` (default ``sqlite:///expensebot.db``); every command
brings the schema up to date first. The company directory (IBANs, departments, roles) comes
from ``EXPENSEBOT_ORG_FILE``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from sqlalchemy.orm import Session, sessionmaker

from bot.cli_actor import ADMIN_ROLES, FINANCE_ROLES, as_option
from bot.cli_actor import resolve as resolve_actor
from bot.cli_teams import choose_team, team_option
from bot.settings import load_settings
from storage.db import make_engine, make_sessionmaker, migrate, transaction
from storage.tenancy import team_scope
from workflows.directory import Directory, DirectoryError
from workflows.exports import FORMATS, ExportError, export_format
from workflows.money import Money


def _factory() -> sessionmaker[Session]:
    url = load_settings().database_url
    migrate(url)
    return make_sessionmaker(make_engine(url))


def _directory() -> Directory:
    path = load_settings().org_file
    if path is None:
        return Directory.empty()
    try:
        return Directory.from_csv_text(Path(path).read_text(encoding="utf-8-sig"), Path(path).name)
    except (OSError, DirectoryError) as exc:
        raise click.ClickException(f"Cannot read the company directory: {exc}") from exc


def _totals(totals: dict[str, object]) -> str:
    from decimal import Decimal

    return ", ".join(Money(Decimal(str(a)), c).format() for c, a in sorted(totals.items())) or "nothing"


@click.command(name="export")
@click.option(
    "--batch", "batch_id", type=int, required=True, help="The payout batch number (#N in the digest)."
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write here (default: stdout).")
@click.option("--debtor-name", envvar="EXPENSEBOT_SEPA_NAME", help="SEPA: the paying company's name.")
@click.option("--debtor-iban", envvar="EXPENSEBOT_SEPA_IBAN", help="SEPA: the account paid from.")
@click.option("--debtor-bic", envvar="EXPENSEBOT_SEPA_BIC", help="SEPA: its BIC (optional).")
@click.option("--execution-date", type=click.DateTime(["%Y-%m-%d"]), help="SEPA: requested payment day.")
@click.option("--account", help="QuickBooks: expense account name; Xero: account code (default 429).")
@click.option("--tax-type", help="Xero: the tax rate's name in your organisation (default “Tax Exempt”).")
@click.option(
    "--input-tax",
    help="Lines with tax to reclaim: the QuickBooks tax code or the Xero tax rate's name "
    "(default: QuickBooks “VAT <rate>%”, Xero “Tax on Purchases”).",
)
@click.option(
    "--date-format",
    type=click.Choice(("MM/DD/YYYY", "DD/MM/YYYY")),
    help="QuickBooks and Xero dates (default: QuickBooks MM/DD/YYYY, Xero DD/MM/YYYY).",
)
@as_option(FINANCE_ROLES)
@team_option
def export(
    batch_id: int,
    fmt: str,
    out: str | None,
    debtor_name: str | None,
    debtor_iban: str | None,
    debtor_bic: str | None,
    execution_date: dt.datetime | None,
    account: str | None,
    tax_type: str | None,
    input_tax: str | None,
    date_format: str | None,
    as_email: str | None,
    team: str | None,
) -> None:
    """Export payout batch N as a generic CSV, QuickBooks Online or Xero bills, or SEPA pain.001.

    The same batch gives the same file every time. SEPA pays the batch's EUR expenses to
    employees with an IBAN in the company directory; the others are listed on stderr.
    """
    from storage.exports import Debtor, build_export, ibans_from_directory, record_export

    actor = resolve_actor(as_email, FINANCE_ROLES)
    debtor = None
    pays = export_format(fmt).pays
    if pays:
        if not debtor_name or not debtor_iban:
            raise click.UsageError(
                "SEPA needs --debtor-name and --debtor-iban (or EXPENSEBOT_SEPA_NAME / EXPENSEBOT_SEPA_IBAN)."
            )
        debtor = Debtor(debtor_name, debtor_iban, debtor_bic)
    ibans = ibans_from_directory(_directory()) if pays else None
    try:
        with team_scope(choose_team(load_settings(), team)), transaction(_factory()) as session:
            result = build_export(
                session,
                batch_id,
                fmt,
                ibans=ibans,
                debtor=debtor,
                account=account,
                tax_type=tax_type,
                date_format=date_format,
                input_tax=input_tax,
                execution_date=execution_date.date() if execution_date else None,
            )
            record_export(session, result, actor=actor.name)
    except ExportError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    if out:
        Path(out).write_bytes(result.content)
    else:
        sys.stdout.buffer.write(result.content)
        sys.stdout.flush()
    for note in result.notes:
        click.echo(note, err=True)
    click.echo(
        f"Batch #{batch_id} ({fmt}): {result.expense_count} expenses, {_totals(dict(result.totals))}"
        f" (batch total {_totals(dict(result.batch_totals))}); sha256 {result.sha256[:16]}"
        + (f"; written to {out}" if out else ""),
        err=True,
    )


@click.command(name="report")
@click.option(
    "--by",
    "by",
    type=click.Choice(("customer", "deal", "project", "department", "category", "employee")),
    required=True,
    help="What to group the spend by.",
)
@click.option(
    "--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day (YYYY-MM-DD)."
)
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day, included.")
@click.option("--currency", help="Report currency (default EXPENSEBOT_CURRENCY).")
@click.option(
    "--csv", "csv_out", type=click.Path(dir_okay=False, writable=True), help="Also write the rows as CSV."
)
@click.option(
    "--png", "png_out", type=click.Path(dir_okay=False, writable=True), help="Also draw a bar chart."
)
@team_option
def report(
    by: str,
    start: dt.datetime,
    end: dt.datetime,
    currency: str | None,
    csv_out: str | None,
    png_out: str | None,
    team: str | None,
) -> None:
    """Spend of approved and paid expenses over a period, in the company currency.

    Shows counts, totals, averages, month-over-month change and the amounts per original
    currency; by customer also the top merchants. Foreign amounts are converted with the
    month's average rate from the fx_rates table; a missing rate stops the report.
    """
    from storage.reports import ReportError, report_csv, report_png, report_text, spend_report

    settings = load_settings()
    directory = _directory() if by == "department" else Directory.empty()

    def department_of(email: str) -> str | None:
        person = directory.get(email)
        return person.department if person else None

    try:
        with team_scope(choose_team(settings, team)), _factory()() as session:
            result = spend_report(
                session,
                by,
                start.date(),
                end.date(),
                currency or settings.company_currency,
                department_of=department_of,
            )
    except ReportError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(report_text(result))
    if csv_out:
        Path(csv_out).write_text(report_csv(result), encoding="utf-8")
        click.echo(f"CSV written to {csv_out}", err=True)
    if png_out:
        Path(png_out).write_bytes(report_png(result))
        click.echo(f"Chart written to {png_out}", err=True)


@click.group(name="privacy")
def privacy() -> None:
    """Data rights: export or erase everything stored about a person."""


@privacy.command(name="export")
@click.argument("email")
@click.option(
    "--out", type=click.Path(), help="A directory, or a file ending in .zip (default: ./privacy-EMAIL.zip)."
)
@click.option("--slack-id", "slack_ids", multiple=True, help="Another Slack user id of this person.")
@as_option(ADMIN_ROLES)
def privacy_export(email: str, out: str | None, slack_ids: tuple[str, ...], as_email: str | None) -> None:
    """Write everything stored about EMAIL (person.json) and their receipt files."""
    from storage.privacy import export_person

    actor = resolve_actor(as_email, ADMIN_ROLES)
    target = Path(out or f"privacy-{email.strip().lower()}.zip")
    with transaction(_factory()) as session:
        counts = export_person(session, email, target, actor=actor.name, extra_ids=list(slack_ids))
    summary = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n)
    click.echo(f"Wrote {target}: {summary or 'nothing is stored about this person'}.")


@privacy.command(name="erase")
@click.argument("email")
@click.option("--slack-id", "slack_ids", multiple=True, help="Another Slack user id of this person.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@as_option(ADMIN_ROLES)
def privacy_erase(email: str, slack_ids: tuple[str, ...], yes: bool, as_email: str | None) -> None:
    """Erase EMAIL's personal data; amounts, dates and the audit trail stay, under a pseudonym.

    Receipts of claims in the books (awaiting approval or payment, or paid) inside their legal
    retention period (EXPENSEBOT_RECEIPT_RETENTION_DAYS) are kept, pseudonymised, until it ends
    (GDPR Art. 17(3)(b)); `expensebot receipts gc` deletes them then. Each kept one is audited.
    """
    from storage.privacy import LEGAL_BASIS, PrivacyError, erase_person, identify, leftover_mentions

    actor = resolve_actor(as_email, ADMIN_ROLES)
    if not yes:
        click.confirm(f"Erase the personal data of {email}? This cannot be undone", abort=True)
    factory = _factory()
    try:
        with transaction(factory) as session:
            ids = identify(session, email, list(slack_ids)).user_ids
            result = erase_person(
                session,
                email,
                actor=actor.name,
                extra_ids=list(slack_ids),
                retention_days=load_settings().receipt_retention_days,
            )
    except PrivacyError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    with factory() as session:
        left = leftover_mentions(session, email, ids)
    details = ", ".join(
        f"{k.replace('_', ' ')}: {v}" for k, v in result.items() if k not in ("pseudonym", "kept")
    )
    click.echo(f"Erased {email} (now {result['pseudonym']}); {details}.")
    for kept in result["kept"]:
        click.echo(f"Kept {kept.describe()}: {LEGAL_BASIS}; `expensebot receipts gc` deletes it then.")
    if left:
        click.echo(f"{left} rows still mention them; run the command again or report it.", err=True)
        sys.exit(1)
    click.echo(
        "Also remove them from the company directory file (EXPENSEBOT_ORG_FILE) and the CRM if listed."
    )
