"""Settings: one `Settings` read from the environment, with the CRM connectors' settings folded in
(`Settings.crm`, one part per connector of `integrations.crm.registry`); a bad value stops a command
with exit 1 and a message naming the variable and the value."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from bot.cli import cli
from bot.settings import Settings
from integrations.crm.base import ConnectorSettings
from integrations.crm.registry import REGISTRY, CrmSettingsModel, how_to_configure, variables
from storage.blobs import S3Store, make_store

ROOT = Path(__file__).resolve().parent.parent

CRM_VARIABLES = (
    "EXPENSEBOT_HUBSPOT_TOKEN",
    "EXPENSEBOT_HUBSPOT_URL",
    "EXPENSEBOT_SALESFORCE_INSTANCE_URL",
    "EXPENSEBOT_SALESFORCE_TOKEN",
    "EXPENSEBOT_SALESFORCE_CLIENT_ID",
    "EXPENSEBOT_SALESFORCE_CLIENT_SECRET",
    "EXPENSEBOT_SALESFORCE_REFRESH_TOKEN",
    "EXPENSEBOT_SALESFORCE_LOGIN_URL",
    "EXPENSEBOT_SALESFORCE_API_VERSION",
    "EXPENSEBOT_HUBSPOT_PROJECTS",
    "EXPENSEBOT_HUBSPOT_PROJECT_CLOSED_STAGES",
    "EXPENSEBOT_SALESFORCE_PROJECT_OBJECT",
    "EXPENSEBOT_SALESFORCE_PROJECT_NAME_FIELD",
    "EXPENSEBOT_SALESFORCE_PROJECT_ACCOUNT_FIELD",
    "EXPENSEBOT_SALESFORCE_PROJECT_OPPORTUNITY_FIELD",
    "EXPENSEBOT_SALESFORCE_PROJECT_STATUS_FIELD",
    "EXPENSEBOT_SALESFORCE_PROJECT_CLOSED_VALUES",
    "EXPENSEBOT_SALESFORCE_PROJECT_DUE_FIELD",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        *CRM_VARIABLES,
        "EXPENSEBOT_CURRENCY",
        "EXPENSEBOT_DIGEST_CRON",
        "EXPENSEBOT_TIMEZONE",
        "EXPENSEBOT_S3_SSE",
        "SLACK_CLIENT_ID",
    ):
        monkeypatch.delenv(name, raising=False)


def _variable_errors(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {str(e["loc"][-1]): str(e["msg"]) for e in exc.value.errors()}


# ------------------------------------------------------------------ currency, cron, time zone


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings()
    assert (settings.company_currency, settings.digest_cron, settings.timezone) == (
        "USD",
        "0 9 * * MON-FRI",
        "UTC",
    )
    assert settings.s3_sse == "AES256"
    assert not settings.crm.configured and settings.crm.configured_names == []


def test_currency_is_an_iso_4217_code() -> None:
    assert Settings(EXPENSEBOT_CURRENCY=" eur ").company_currency == "EUR"
    assert Settings(EXPENSEBOT_CURRENCY="JPY").company_currency == "JPY"
    for bad in ("EURO", "XXX", "€", ""):
        with pytest.raises(ValidationError) as exc:
            Settings(EXPENSEBOT_CURRENCY=bad)
        assert "ISO 4217" in _variable_errors(exc)["EXPENSEBOT_CURRENCY"]


def test_digest_cron_must_parse() -> None:
    assert Settings(EXPENSEBOT_DIGEST_CRON="30 8 * * 1").digest_cron == "30 8 * * 1"
    for bad in ("0 25 * * *", "every monday", "0 9 * *", ""):
        with pytest.raises(ValidationError) as exc:
            Settings(EXPENSEBOT_DIGEST_CRON=bad)
        assert "cron expression" in _variable_errors(exc)["EXPENSEBOT_DIGEST_CRON"]


def test_timezone_is_an_iana_zone() -> None:
    assert Settings(EXPENSEBOT_TIMEZONE="Europe/Berlin").timezone == "Europe/Berlin"
    assert Settings(EXPENSEBOT_TIMEZONE="Asia/Kuala_Lumpur").timezone == "Asia/Kuala_Lumpur"
    for bad in ("Mars/Olympus_Mons", "CEST+2", "../../etc/passwd", ""):
        with pytest.raises(ValidationError) as exc:
            Settings(EXPENSEBOT_TIMEZONE=bad)
        assert "IANA time zone" in _variable_errors(exc)["EXPENSEBOT_TIMEZONE"]


def test_s3_encryption_is_a_setting_passed_to_the_store() -> None:
    settings = Settings(EXPENSEBOT_S3_SSE="aws:kms")
    store = make_store("s3://bucket/receipts", sse=settings.s3_sse)
    assert isinstance(store, S3Store) and store.sse == "aws:kms"
    assert S3Store("s3://bucket/x", client=object()).sse == "AES256"
    with pytest.raises(ValidationError):
        Settings(EXPENSEBOT_S3_SSE="rot13")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("EXPENSEBOT_CURRENCY", "EURO", "EXPENSEBOT_CURRENCY='EURO': must be an ISO 4217 currency code"),
        (
            "EXPENSEBOT_DIGEST_CRON",
            "0 25 * * *",
            "EXPENSEBOT_DIGEST_CRON='0 25 * * *': must be a cron expression",
        ),
        (
            "EXPENSEBOT_TIMEZONE",
            "Mars/Olympus_Mons",
            "EXPENSEBOT_TIMEZONE='Mars/Olympus_Mons': must be an IANA",
        ),
        (
            "EXPENSEBOT_HUBSPOT_URL",
            "api.hubapi.com",
            "EXPENSEBOT_HUBSPOT_URL='api.hubapi.com': must be a full http",
        ),
        (
            "EXPENSEBOT_SALESFORCE_API_VERSION",
            "sixty",
            "EXPENSEBOT_SALESFORCE_API_VERSION='sixty': 'sixty' is not",
        ),
    ],
)
def test_a_bad_value_stops_the_command_naming_variable_and_value(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", variable: value}
    result = CliRunner().invoke(cli, ["db", "upgrade"], env=env)
    assert result.exit_code == 1, result.output
    assert "bad configuration in the environment" in result.output and message in result.output
    assert not (tmp_path / "x.db").exists()  # stopped before touching the database


def test_the_customers_commands_read_database_url_from_the_settings(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/c.db", "EXPENSEBOT_TIMEZONE": "Nowhere/Land"}
    result = CliRunner().invoke(cli, ["customers", "aliases", "list"], env=env)
    assert result.exit_code == 1 and "EXPENSEBOT_TIMEZONE='Nowhere/Land'" in result.output
    ok = CliRunner().invoke(cli, ["customers", "aliases", "list"], env={"DATABASE_URL": env["DATABASE_URL"]})
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "c.db").exists()


# ------------------------------------------------------------------ CRM settings in the one Settings


def test_crm_settings_come_from_the_environment_through_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPENSEBOT_HUBSPOT_TOKEN", "pat-1")
    monkeypatch.setenv("EXPENSEBOT_HUBSPOT_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("EXPENSEBOT_SALESFORCE_INSTANCE_URL", "https://acme.my.salesforce.com")
    monkeypatch.setenv("EXPENSEBOT_SALESFORCE_TOKEN", "   ")  # blank: unset
    crm = Settings().crm
    assert crm.configured_names == ["hubspot"]
    hubspot = crm.of("hubspot")
    assert hubspot.model_dump() == {
        "token": "pat-1",
        "url": "http://127.0.0.1:9/",
        "projects": False,
        "project_closed_stages": frozenset(),
    }
    assert "pat-1" not in repr(Settings())  # tokens stay out of logs
    connectors = crm.connectors()
    try:
        assert [c.source for c in connectors] == ["hubspot"]
    finally:
        for connector in connectors:
            connector.close()
    # Keyword arguments work as for every other setting (tests, the demo).
    assert Settings(EXPENSEBOT_SALESFORCE_TOKEN="t").crm.configured_names == ["hubspot", "salesforce"]


def test_unset_urls_fall_back_to_the_documented_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPENSEBOT_HUBSPOT_URL", "")
    crm = Settings().crm
    assert crm.of("hubspot").model_dump()["url"] == "https://api.hubapi.com"
    salesforce = crm.of("salesforce").model_dump()
    assert salesforce["login_url"] == "https://login.salesforce.com" and salesforce["api_version"] is None


def test_the_registry_is_the_one_list_of_connectors() -> None:
    assert list(REGISTRY) == ["hubspot", "salesforce"]
    # Settings.crm has one part per registered connector, each declared by the connector's module.
    assert list(CrmSettingsModel.model_fields) == list(REGISTRY)
    for name, entry in REGISTRY.items():
        assert issubclass(entry.settings, ConnectorSettings)
        assert entry.settings.__module__ == f"integrations.crm.{name}"
        assert all(
            str(f.alias).startswith(f"EXPENSEBOT_{name.upper()}_")
            for f in entry.settings.model_fields.values()
        )
        assert entry.settings.HOW_TO in how_to_configure()
    assert variables() == frozenset(CRM_VARIABLES)  # every documented variable, no other
    every = Settings(
        EXPENSEBOT_HUBSPOT_TOKEN="t",
        EXPENSEBOT_SALESFORCE_INSTANCE_URL="https://x.my.salesforce.com",
        EXPENSEBOT_SALESFORCE_TOKEN="t",
    ).crm
    connectors = every.connectors()
    try:  # each key is its connector's source, what the sync stores on the rows it writes
        assert [c.source for c in connectors] == list(REGISTRY)
    finally:
        for connector in connectors:
            connector.close()


# ------------------------------------------------------------------ configuration is read in one place

# os.environ / os.getenv in the production packages other than bot/settings.py: each one is a
# documented exception (docs/architecture.md, "Settings").
EXCEPTIONS = {
    ("bot/metrics.py", "PROMETHEUS_MULTIPROC_DIR"),  # prometheus-client's own variable, read as it reads it
    ("bot/cli_customers.py", "USER"),  # the login name, the default actor of `aliases remove`
    ("bot/demo.py", "REDIS_URL"),  # the demo clears it: its jobs run in-process
    ("storage/blobs.py", "AWS_ENDPOINT_URL"),  # the AWS SDK's variable
    ("ocr/engines.py", "ONEDNN_PRIMITIVE_CACHE_CAPACITY"),  # set (not read) for the OCR engines' libraries
    ("ocr/engines.py", "OMP_THREAD_LIMIT"),
    ("ocr/scan.py", "MALLOC_ARENA_MAX"),
}


def _environment_reads() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for package in ("bot", "storage", "ocr", "workflows", "integrations"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative == "bot/settings.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call | ast.Subscript):
                    continue
                target = ast.unparse(node.func if isinstance(node, ast.Call) else node.value)
                if not (target.startswith("os.environ") or target in ("os.getenv", "getenv")):
                    continue
                args = node.args if isinstance(node, ast.Call) else [node.slice]
                name = args[0].value if args and isinstance(args[0], ast.Constant) else ast.unparse(node)
                found.add((relative, str(name)))
    return found


def test_configuration_is_read_in_one_place() -> None:
    reads = _environment_reads()
    assert reads - EXCEPTIONS == set(), "read it through bot/settings.py::Settings instead"
    assert ("bot/metrics.py", "PROMETHEUS_MULTIPROC_DIR") in reads  # the scan sees what it should
