"""``expensebot policy``: check a policy file, and try out routing before installing it."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from pathlib import Path

import click
from sqlalchemy import select

from workflows.categories import CATEGORIES
from workflows.directory import Directory, DirectoryError, Role
from workflows.fx import MissingRate, RateFileError, RateLookup, RateTable
from workflows.money import Money, MoneyError, parse_amount
from workflows.policy import (
    ExpenseFacts,
    Policy,
    PolicyError,
    default_policy,
    load_policy,
    policy_to_yaml,
    summary,
)
from workflows.policy_anomalies import OtherClaim
from workflows.routing import RoutingError, route_claim


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise click.ClickException(f"{path}: is not UTF-8 text") from None


def _load_policy(path: str) -> Policy:
    try:
        return load_policy(_read(path), source=path)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None


def _day(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"'{text}' is not a date (YYYY-MM-DD)", param_hint=option) from None


@click.group("policy")
def policy() -> None:
    """The expense policy: limits, receipts, approval levels (see docs/policy.md)."""


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def check(file: str) -> None:
    """Validate a policy file; print a summary, or the mistake with its line (exit status 1)."""
    loaded = _load_policy(file)
    click.echo(f"OK {file}: {summary(loaded)}")
    offered = [
        key for key in CATEGORIES if key not in loaded.categories or loaded.is_prohibited_category(key)
    ]
    if offered:
        click.echo(
            f"warning: the app offers categories this policy does not allow: {', '.join(offered)} "
            "(claims in them will be refused)",
            err=True,
        )


@policy.command("check-directory")
@click.argument("file", type=click.Path(dir_okay=False))
def check_directory(file: str) -> None:
    """Validate a directory CSV; print who is who, or the mistake with its line (exit status 1)."""
    try:
        directory = Directory.from_csv_text(_read(file).lstrip("\ufeff"), source=file)
    except DirectoryError as exc:
        raise click.ClickException(str(exc)) from None
    roles = Counter(person.role.value for person in directory)
    counts = ", ".join(f"{roles[role.value]} {role.value}" for role in Role if roles[role.value])
    click.echo(f"OK {file}: {len(directory)} people ({counts})")
    for department in directory.departments():
        head = directory.department_head(department)
        size = sum(1 for person in directory if person.department == department)
        click.echo(f"  {department}: {size} people, head {head.email if head else '-'}")
    tops = [p.email for p in directory.tops()]
    click.echo(f"  top of the organisation: {', '.join(tops) or '-'}")
    if len(tops) > 1:
        click.echo(f"warning: {len(tops)} people have reports but no manager: {', '.join(tops)}", err=True)
    if not directory.finance():
        click.echo("warning: no one has the finance role; admins will review every claim", err=True)
    if not directory.admins():
        click.echo("warning: no one has the admin role; directory problems will reach no one", err=True)
    problems = directory.route_problems()
    for warning in [*directory.warnings, *(p for p in problems if p not in directory.warnings)]:
        click.echo(f"warning: {warning}", err=True)


@policy.command("show-default")
@click.option("--yaml", "as_yaml", is_flag=True, help="Print it as a policy file to start from.")
@click.option("--currency", default="USD", show_default=True, help="Company currency.")
def show_default(as_yaml: bool, currency: str) -> None:
    """Describe the built-in policy used when no policy file is installed."""
    try:
        built_in = default_policy(currency)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--currency") from None
    click.echo(policy_to_yaml(built_in) if as_yaml else summary(built_in), nl=not as_yaml)


@policy.command("route")
@click.option(
    "--policy", "policy_file", type=click.Path(dir_okay=False), help="Policy file (default: built-in)."
)
@click.option(
    "--directory", "directory_file", required=True, type=click.Path(dir_okay=False), help="Directory CSV."
)
@click.option("--rates", "rates_file", type=click.Path(dir_okay=False), help="Rates CSV: date,from,to,rate.")
@click.option("--submitter", required=True, help="Email of the person claiming.")
@click.option("--amount", required=True, help="Amount, e.g. 120.50.")
@click.option("--currency", default=None, help="Currency of the amount (default: the company currency).")
@click.option("--category", default="other", show_default=True)
@click.option("--merchant", default=None)
@click.option("--date", "spent_on", default=None, help="Day of the expense, YYYY-MM-DD (default: today).")
@click.option("--customer", default=None, help="Customer the expense was for.")
@click.option("--distance", default=None, help="Mileage: distance driven.")
@click.option("--no-receipt", is_flag=True, help="The claim has no receipt attached.")
@click.option("--today", "today_text", default=None, help="Pretend today is this day, YYYY-MM-DD.")
@click.option(
    "--claims",
    "claims_file",
    type=click.Path(dir_okay=False),
    help="Earlier claims (CSV: submitter,date,amount,currency,category,merchant[,status,ref]) "
    "for daily limits, usual amounts and duplicates.",
)
def route(
    policy_file: str | None,
    directory_file: str,
    rates_file: str | None,
    submitter: str,
    amount: str,
    currency: str | None,
    category: str,
    merchant: str | None,
    spent_on: str | None,
    customer: str | None,
    distance: str | None,
    no_receipt: bool,
    today_text: str | None,
    claims_file: str | None,
) -> None:
    """Show who would approve one expense, and why (nothing is stored or sent)."""
    loaded = _load_policy(policy_file) if policy_file else default_policy()
    try:
        directory = Directory.from_csv_text(_read(directory_file), source=directory_file)
        rates: RateLookup | None = (
            RateTable.from_csv_text(_read(rates_file), source=rates_file) if rates_file else None
        )
        today = _day(today_text, "--today") if today_text else dt.date.today()
        day = _day(spent_on, "--date") if spent_on else today
        expense = ExpenseFacts(
            amount=Money(parse_amount(amount), currency or loaded.company_currency),
            category=category,
            merchant=merchant,
            spent_on=day,
            has_receipt=not no_receipt,
            customer_id=customer,
            submitter_email=submitter,
            distance=Decimal(parse_amount(distance)) if distance else None,
        )
        others = _other_claims(_read(claims_file), claims_file, loaded) if claims_file else []
        planned = route_claim(expense, directory, loaded, today=today, rates=rates, others=others)
    except (DirectoryError, RateFileError, MissingRate, MoneyError) as exc:
        raise click.ClickException(str(exc)) from None
    except RoutingError as exc:
        detail = f"\n(admins: {exc.admin_message})" if exc.notify_admins else ""
        raise click.ClickException(exc.user_message + detail) from None
    for warning in directory.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"route: {planned.describe()}")
    for violation in planned.violations:
        click.echo(f"{'blocking' if violation.blocking else 'finding'}: {violation.message}")
    for flag in planned.flags:
        click.echo(f"flag: {flag.message}")
    click.echo("trace:")
    for line in planned.trace:
        click.echo(f"  {line}")


COUNTED = ("pending", "approved", "paid")


def _other_claims(text: str, source: str, policy: Policy) -> list[OtherClaim]:
    """Earlier claims from CSV, as the app finds them in its database (``status`` defaults to
    ``approved``; drafts and rejected claims only count as possible duplicates)."""
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), skipinitialspace=True)
    needed = {"submitter", "date", "amount"}
    if not needed <= set(reader.fieldnames or []):
        raise click.ClickException(
            f"{source}: the header needs the columns submitter, date, amount "
            "(optional: currency, category, merchant, status, ref)"
        )
    claims: list[OtherClaim] = []
    for row in reader:
        line = reader.line_num
        try:
            day = dt.date.fromisoformat((row.get("date") or "").strip())
            amount = Money(
                parse_amount(row.get("amount") or ""),
                (row.get("currency") or "").strip() or policy.company_currency,
            )
        except (ValueError, MoneyError) as exc:
            raise click.ClickException(f"{source} line {line}: {exc}") from None
        status = (row.get("status") or "approved").strip().lower()
        claims.append(
            OtherClaim(
                ref=(row.get("ref") or "").strip() or f"{source} line {line}",
                submitter_email=(row.get("submitter") or "").strip(),
                amount=amount,
                category=(row.get("category") or "other").strip(),
                spent_on=day,
                merchant=(row.get("merchant") or "").strip() or None,
                counts=status in COUNTED,
            )
        )
    return claims


@policy.command("explain")
@click.argument("expense_ref")
def explain(expense_ref: str) -> None:
    """Which rules applied to a submitted expense (EXP-12 or 12), and why it was routed so."""
    from bot.settings import load_settings
    from storage.audit import history
    from storage.db import make_engine, make_sessionmaker, migrate
    from storage.models import ApprovalTask, Expense
    from workflows.expenses import parse_ref
    from workflows.routing import route_from_json

    expense_id = parse_ref(expense_ref)
    if expense_id is None:
        raise click.UsageError(f"“{expense_ref}” is not an expense reference such as EXP-12.")
    url = load_settings().database_url
    migrate(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            expense = session.get(Expense, expense_id)
            if expense is None:
                raise click.ClickException(f"There is no expense EXP-{expense_id}.")
            click.echo(
                f"EXP-{expense.id}: {expense.merchant or 'unknown merchant'}, {expense.amount} {expense.currency}, "
                f"{expense.category}, status {expense.status}"
            )
            if not expense.route:
                click.echo("Not submitted yet: no rules have been applied.")
                return
            route = route_from_json(expense.route)
            click.echo(f"route: {route.describe()}")
            for violation in route.violations:
                click.echo(
                    f"{'blocking' if violation.blocking else 'finding'} {violation.rule}: {violation.message}"
                )
            for flag in route.flags:
                click.echo(f"flag {flag.rule}: {flag.message}")
            for warning in route.budgets:
                click.echo(f"budget warning: {warning}")
            click.echo("trace:")
            for line in route.trace:
                click.echo(f"  {line}")
            tasks = session.scalars(
                select(ApprovalTask)
                .where(ApprovalTask.expense_id == expense.id)
                .order_by(ApprovalTask.round, ApprovalTask.step)
            ).all()
            if tasks:
                click.echo("decisions:")
            for task in tasks:
                who = task.decided_by_email or ", ".join(task.approvers)
                reason = f": {task.decision_reason}" if task.decision_reason else ""
                click.echo(
                    f"  round {task.round} step {task.step} ({task.kind}) {task.status} — {who}{reason}"
                )
            click.echo("audit:")
            for event in history(session, "expense", expense.id):
                click.echo(f"  {event.at:%Y-%m-%d %H:%M} {event.actor} {event.action}")
    finally:
        engine.dispose()
