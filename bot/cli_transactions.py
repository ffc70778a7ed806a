"""``expensebot transactions``: card and bank statements in, card charges matched to receipts and
outgoing transfers to payout items (see docs/transactions.md).

Exit codes: 0 done; 2 the file (or an option) was refused and nothing was stored.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy.orm import Session, sessionmaker

from bot.cli_actor import FINANCE_ROLES, as_option, resolve
from bot.cli_settings import settings_from_env as _settings
from bot.cli_teams import choose_team, in_team, team_option
from workflows.statements import FORMATS

if TYPE_CHECKING:
    from bot.settings import Settings
    from workflows.policy import Policy


def _factory() -> sessionmaker[Session]:
    from storage.db import make_engine, make_sessionmaker, migrate

    url = _settings().database_url
    migrate(url)
    return make_sessionmaker(make_engine(url))


def _policy(settings: Settings) -> Policy:
    from workflows.policy import PolicyError, default_policy, load_policy

    if settings.policy_file is None:
        return default_policy(settings.company_currency)
    try:
        return load_policy(settings.policy_file.read_text(encoding="utf-8"), settings.policy_file.name)
    except (OSError, PolicyError) as exc:
        raise click.ClickException(f"Cannot read the policy: {exc}") from None


@click.group(name="transactions")
def transactions() -> None:
    """Card and bank statements: import them, match them to receipts and payouts."""


@transactions.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--account", help="The account the lines belong to when the file does not say (CSV).")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), help="The file's format (default: from its content)."
)
@click.option(
    "--map",
    "mapping",
    metavar="SPEC",
    help='CSV columns, e.g. "date=Posted Date,amount=Amount,description=Payee,card=Card".',
)
@click.option("--json", "as_json", is_flag=True, help='Print {"new", "known", "refused"} as JSON.')
@in_team
def import_command(
    file: Path, account: str | None, fmt: str | None, mapping: str | None, as_json: bool
) -> None:
    """Load card or bank statement lines from FILE (OFX/QFX, CAMT.053/054, MT940, CSV).

    Re-importing an overlapping statement adds nothing twice. A file with any line that cannot
    be read is refused whole (exit 2, nothing stored), naming the line and why.
    """
    from storage.db import DatabaseUnavailable
    from storage.statements import import_statement
    from workflows.statements import StatementError

    def refuse(problems: list[str], message: str) -> None:
        if as_json:
            click.echo(
                json.dumps({"new": 0, "known": 0, "refused": max(len(problems), 1), "errors": problems})
            )
        click.echo(message, err=True)
        sys.exit(2)

    try:
        data = file.read_bytes()
    except OSError as exc:
        refuse([f"cannot read {file}: {exc.strerror or exc}"], f"Cannot read {file}: {exc.strerror or exc}")
        return
    settings = _settings()
    if mapping and not fmt:
        fmt = "csv"
    try:
        result = import_statement(
            _factory(),
            data,
            source=file.name,
            fmt=fmt,
            account=account,
            mapping=mapping,
            default_currency=settings.company_currency,
            actor="cli",
        )
    except StatementError as exc:
        refuse(exc.problems, str(exc))
        return
    except DatabaseUnavailable as exc:
        raise click.ClickException(
            f"The database did not answer ({exc}); nothing was stored. Try again."
        ) from None
    if as_json:
        click.echo(
            json.dumps(
                {
                    "new": result.new,
                    "known": result.known,
                    "refused": result.refused,
                    "account": ", ".join(result.accounts),
                    "format": result.format,
                }
            )
        )
        return
    click.echo(
        f"{file.name} ({result.format}, account {', '.join(result.accounts)}): {result.new} new, "
        f"{result.known} already known, {result.refused} refused."
    )


@transactions.command(name="match")
@click.option("--dry-run", is_flag=True, help="Explain each decision; store nothing.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per statement line.")
@team_option
def match_command(dry_run: bool, as_json: bool, team: str | None) -> None:
    """Match card charges to receipts and outgoing transfers to payout items.

    Each stored statement line gets one status: matched, suggested, missing_receipt (only where
    the policy requires a receipt for that amount), reconciled (a payout transfer) or unmatched.
    """
    from storage.reconcile import run_match
    from storage.tenancy import team_scope
    from workflows.directory import Directory, DirectoryError

    settings = _settings()
    directory = Directory.empty()
    if settings.org_file is not None:
        try:
            directory = Directory.from_csv_text(
                settings.org_file.read_text(encoding="utf-8-sig"), settings.org_file.name
            )
        except (OSError, DirectoryError) as exc:
            raise click.ClickException(f"Cannot read the company directory: {exc}") from None
    policy = _policy(settings)
    # Multi-workspace mode: that workspace's lines against its expenses, its reminders sent with its token.
    with team_scope(choose_team(settings, team)):
        results = run_match(
            _factory(),
            directory,
            policy,
            dry_run=dry_run,
            actor="cli",
            remind_after_days=settings.missing_receipt_days,
            weekly_digest=settings.missing_receipt_digest == "weekly",
        )
    if as_json:
        for row in results:
            click.echo(json.dumps(row.as_json()))
        return
    counts: dict[str, int] = {}
    for row in results:
        counts[row.status] = counts.get(row.status, 0) + 1
        target = row.expense or (f"batch #{row.batch}" if row.batch is not None else "-")
        click.echo(
            f"{row.date} {row.amount:>12} {row.currency} {row.description[:40]:<40} {row.status:<16} "
            f"{target:<10} {row.score:.2f} {row.reason}"
        )
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no statement lines"
    click.echo(("Dry run, nothing stored: " if dry_run else "") + summary + ".", err=True)


@transactions.command(name="no-receipt")
@click.argument("transaction_id")
@click.option("--reason", required=True, help="Why there is no receipt (finance reads it).")
@click.option("--account", help="The statement account, when the id is not unique across accounts.")
@as_option()
@in_team
def no_receipt_command(transaction_id: str, reason: str, account: str | None, as_email: str | None) -> None:
    """Mark a card charge as having no receipt, with a reason (as the missing-receipt reminder's button).

    TRANSACTION_ID is the line's ``transaction_id`` in ``transactions match --json``. With
    ``--as EMAIL`` of the card holder, the policy's ``no_receipt_allowed_up_to`` (default: its
    receipt threshold) decides whether it is allowed; finance, admins and the operator without
    ``--as`` may for any amount. Exit 2 when refused (nothing changed).
    """
    from storage.reconcile import declare_no_receipt, find_line
    from workflows.directory import Directory

    settings = _settings()
    actor = resolve(as_email)
    privileged = as_email is None
    if as_email is not None and settings.org_file is not None:
        directory = Directory.from_csv_text(
            settings.org_file.read_text(encoding="utf-8-sig"), settings.org_file.name
        )
        person = directory.get(actor.name)
        privileged = person is not None and person.role.value in FINANCE_ROLES
    factory = _factory()
    with factory() as session:
        ids = find_line(session, transaction_id, account)
    if not ids:
        click.echo(
            f"No statement line has the transaction id {transaction_id!r}"
            + (f" in account {account!r}" if account else "")
            + "; nothing was changed.",
            err=True,
        )
        sys.exit(2)
    if len(ids) > 1:
        click.echo(f"{len(ids)} accounts have a line {transaction_id!r}: name one with --account.", err=True)
        sys.exit(2)
    outcome = declare_no_receipt(
        factory,
        ids[0],
        reason,
        actor=actor.name,
        email=actor.name if as_email else None,
        privileged=privileged,
        policy=_policy(settings),
        via=actor.via,
    )
    if not outcome.done:
        click.echo(outcome.message, err=True)
        sys.exit(2)
    click.echo(outcome.message.removeprefix(":memo: "))
