"""Who runs a CLI command that changes data: recorded in the audit trail.

By default the operating-system user (``cli:alice``). ``--as EMAIL`` names a person of the
company directory instead; for finance and admin commands that person must have one of the
roles the command needs, or the command refuses to run. The OS user is kept in the event's
detail either way.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

FINANCE_ROLES = ("finance", "admin")
ADMIN_ROLES = ("admin",)


@dataclass(frozen=True)
class Actor:
    name: str  # what the audit trail's ``actor`` says: an email, or cli:<os user>
    os_user: str

    @property
    def via(self) -> str:
        return f"command line, OS user {self.os_user}"


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def as_option(roles: tuple[str, ...] | None = None) -> Callable[[F], F]:
    """The ``--as EMAIL`` option of a command that changes data."""
    needs = f" (needs the {' or '.join(roles)} role in EXPENSEBOT_ORG_FILE)" if roles else ""
    return click.option(
        "--as",
        "as_email",
        metavar="EMAIL",
        default=None,
        help=f"Record this person of the company directory as the one who ran it{needs}; default: the OS user.",
    )


def resolve(as_email: str | None, roles: tuple[str, ...] | None = None) -> Actor:
    """The actor for the audit trail; refuses (a click error) an ``--as`` the directory does not back."""
    user = os_user()
    if as_email is None:
        return Actor(f"cli:{user}", user)
    from bot.settings import load_settings
    from workflows.directory import Directory, DirectoryError, normalise_email

    email = normalise_email(as_email)
    path = load_settings().org_file
    if path is None:
        raise click.UsageError("--as needs the company directory (EXPENSEBOT_ORG_FILE) to check who that is.")
    try:
        directory = Directory.from_csv_text(Path(path).read_text(encoding="utf-8-sig"), Path(path).name)
    except (OSError, DirectoryError) as exc:
        raise click.ClickException(f"Cannot read the company directory: {exc}") from exc
    person = directory.get(email)
    if person is None:
        raise click.UsageError(f"--as {as_email}: not in the company directory.")
    if roles and person.role.value not in roles:
        raise click.UsageError(
            f"--as {as_email}: this command needs the {' or '.join(roles)} role; the directory says "
            f"{person.role.value}."
        )
    return Actor(email, user)
