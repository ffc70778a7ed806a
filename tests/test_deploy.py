"""deploy/systemd: the units an operator installs. Each is well-formed (``systemd-analyze verify``
where systemd is installed), hardened, and every command it runs is a command of the CLI as it is
today, with options it accepts, so a unit cannot drift from the CLI."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest

from bot.cli import cli

UNITS = Path(__file__).resolve().parent.parent / "deploy" / "systemd"
BINARY = "/opt/expensebot/.venv/bin/expensebot"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ReadWritePaths": "/var/lib/expensebot",
    "EnvironmentFile": "/etc/expensebot/env",
    "User": "expensebot",
}
COMMANDS = ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost")


def read_unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=True, empty_lines_in_values=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd's keys are case-sensitive
    unit.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return unit


def services() -> list[Path]:
    return sorted(UNITS.glob("*.service"))


def resolve(argv: list[str]) -> list[str]:
    """The command path ``argv`` names in the CLI (``["receipts", "gc"]``), parsed as click parses it
    when the unit runs it: an unknown command or option, or a bad value, raises ``click.UsageError``."""
    ctx = cli.make_context("expensebot", list(argv))
    command: click.Command = cli
    path: list[str] = []
    while isinstance(command, click.Group):
        name, sub, rest = command.resolve_command(ctx, [*ctx.protected_args, *ctx.args])
        assert name is not None and sub is not None
        path.append(name)
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
    return path


def test_the_expected_units_are_there() -> None:
    names = {p.name for p in UNITS.iterdir()}
    assert {
        "expensebot-web.service",
        "expensebot-worker@.service",
        "expensebot-backup.service",
        "expensebot-backup.timer",
        "expensebot-receipts-gc.service",
        "expensebot-receipts-gc.timer",
        "expensebot-workers.target",
    } <= names
    for timer in UNITS.glob("*.timer"):
        assert (UNITS / f"{timer.stem}.service").exists(), f"{timer.name} starts no service of deploy/"
        assert read_unit(timer)["Timer"].get("OnCalendar")


@pytest.mark.parametrize("path", services(), ids=lambda p: p.name)
def test_every_command_of_a_unit_is_a_command_of_the_cli(path: Path) -> None:
    service = read_unit(path)["Service"]
    commands = [service[key] for key in COMMANDS if key in service]
    assert commands, f"{path.name} runs nothing"
    for line in commands:
        argv = shlex.split(line.lstrip("-@:+!"))
        assert argv[0] == BINARY, f"{path.name}: {line} does not run {BINARY}"
        assert not any("%" in arg or "$" in arg for arg in argv), "specifiers would escape this check"
        try:
            assert resolve(argv[1:]), line
        except click.UsageError as exc:
            pytest.fail(f"{path.name}: `{line}` is not a command the CLI accepts: {exc.format_message()}")


def test_a_unit_naming_a_command_the_cli_lacks_is_caught() -> None:
    assert resolve(["receipts", "gc", "--dry-run"]) == ["receipts", "gc"]
    assert resolve(["run", "--workers", "2"]) == ["run"]
    for wrong in (
        ["reciepts", "gc"],
        ["receipts", "sweep"],
        ["worker", "--queues", "x"],
        ["run", "--workers", "two"],
    ):
        with pytest.raises(click.UsageError):
            resolve(wrong)


@pytest.mark.parametrize("path", services(), ids=lambda p: p.name)
def test_every_service_is_hardened_and_reads_the_environment_file(path: Path) -> None:
    service = read_unit(path)["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"{path.name}: {key}={service.get(key)!r}, expected {value}"
    assert service.get("CapabilityBoundingSet") == ""  # no capabilities at all
    if service.get("Type") != "oneshot":  # the long-running processes come back after a crash
        assert service.get("Restart") == "on-failure"


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian/Ubuntu: apt-get install systemd)")
    # verify checks that each command exists and is executable: a stand-in for the installed CLI.
    stub = tmp_path / "expensebot"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    copies = []
    for path in sorted(UNITS.iterdir()):
        name = path.name.replace("@.", "@1.")  # the template unit as one of its instances
        copy = tmp_path / name
        copy.write_text(path.read_text(encoding="utf-8").replace(BINARY, str(stub)), encoding="utf-8")
        copies.append(str(copy))
    done = subprocess.run(
        [analyze, "verify", "--man=no", *copies], capture_output=True, text=True, timeout=120
    )
    # verify exits 0 on many mistakes (an unknown Restart= value only warns): any message is one.
    problems = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 0 and problems == [], problems
