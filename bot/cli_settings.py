"""The settings of a CLI command, read from the environment (used by ``bot.cli`` and its
subcommand modules ``bot.cli_*``, which ``bot.cli`` imports: so they never import it back)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from bot.settings import Settings


def settings_from_env() -> Settings:
    """The settings from the environment; a bad value stops the command with a message naming it."""
    from pydantic import ValidationError

    from bot.settings import load_settings  # imported here: `scan` needs no settings or database

    try:
        return load_settings()
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors())
        raise click.ClickException(f"bad configuration in the environment: {problems}") from None


def _problem(error: Any) -> str:
    """One bad setting, named; secrets and whole-environment checks are described, never echoed."""
    # A connector's setting sits inside Settings.crm (loc crm.hubspot.EXPENSEBOT_HUBSPOT_URL): its variable names it.
    variables = [str(part) for part in error["loc"] if str(part).isupper()]
    name = variables[-1] if variables else ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if not name:
        return message
    if any(word in name.upper() for word in ("SECRET", "TOKEN", "KEY", "PASSWORD")):
        return f"{name}: {message}"
    return f"{name}={error.get('input')!r}: {message}"
