"""All configuration in one place, read from the environment (see README, "Configuration").

Nothing is built at import time: call :func:`load_settings` where settings are needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from integrations.crm.registry import CrmSettingsModel
from integrations.crm.registry import variables as crm_variables
from storage.db import DEFAULT_DATABASE_URL
from workflows.money import is_currency
from workflows.retention import DEFAULT_RETENTION_DAYS

QUEUE_NAME = "expensebot"  # the RQ queue the app fills and `expensebot worker` serves

DEFAULT_BOT_SCOPES = (
    "channels:history",
    "chat:write",
    "commands",
    "files:read",
    "files:write",
    "groups:history",
    "im:history",
    "im:read",
    "im:write",
    "reactions:write",
    "users:read",
    "users:read.email",
)


class _CrmVariables(PydanticBaseSettingsSource):
    """The CRM connectors' variables (each connector declares its own: integrations.crm.registry),
    from the keyword arguments or the environment, as the value of ``Settings.crm``."""

    def __init__(self, settings_cls: type[BaseSettings], init_kwargs: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.init_kwargs = init_kwargs

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ gives the one field this source fills

    def __call__(self) -> dict[str, Any]:
        names = crm_variables()
        values = {name: value for name, value in os.environ.items() if name in names}
        values.update((name, value) for name, value in self.init_kwargs.items() if name in names)
        return {"crm": values} if values else {}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        init_kwargs = init_settings.init_kwargs if isinstance(init_settings, InitSettingsSource) else {}
        crm = _CrmVariables(settings_cls, init_kwargs)
        return init_settings, env_settings, crm, dotenv_settings, file_secret_settings

    slack_bot_token: str | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    database_url: str = Field(default=DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    org_file: Path | None = Field(default=None, alias="EXPENSEBOT_ORG_FILE")
    policy_file: Path | None = Field(default=None, alias="EXPENSEBOT_POLICY_FILE")
    finance_channel: str | None = Field(default=None, alias="EXPENSEBOT_FINANCE_CHANNEL")
    expenses_channels: str = Field(default="", alias="EXPENSEBOT_EXPENSES_CHANNELS")
    company_currency: str = Field(default="USD", alias="EXPENSEBOT_CURRENCY")
    digest_cron: str = Field(default="0 9 * * MON-FRI", alias="EXPENSEBOT_DIGEST_CRON")
    timezone: str = Field(default="UTC", alias="EXPENSEBOT_TIMEZONE")
    # The language and formats of people whose Slack locale has no catalogue (bot/i18n.py): en, de,
    # zh_Hans or any locale Babel knows (its formats, English text unless a catalogue exists).
    default_locale: str = Field(default="en", alias="EXPENSEBOT_LOCALE")
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, alias="EXPENSEBOT_MAX_UPLOAD_BYTES")
    scheduler_enabled: bool = Field(default=True, alias="EXPENSEBOT_SCHEDULER")
    log_level: str = Field(default="INFO", alias="EXPENSEBOT_LOG_LEVEL")
    job_retry_delays: str = Field(default="2,10,30", alias="EXPENSEBOT_JOB_RETRY_DELAYS")
    stale_reading_seconds: int = Field(default=120, alias="EXPENSEBOT_STALE_READING_SECONDS")
    # Threads the OCR engine uses for one receipt; 0 lets it use every core. With several workers
    # on one machine, set it to cores / workers so the workers do not fight over the cores.
    ocr_threads: int = Field(default=0, ge=0, alias="EXPENSEBOT_OCR_THREADS")
    # Receipts read at once on this machine, across all workers; 0: one per core. More workers than
    # this still download, store and answer in parallel, but wait for a slot to read.
    ocr_slots: int = Field(default=0, ge=0, alias="EXPENSEBOT_OCR_SLOTS")
    # The exchange-rate feed (docs/currency.md): the ECB's daily reference rates unless set; an
    # empty value stops the running app from fetching it. Past days come from the 90-day file in
    # the same folder unless EXPENSEBOT_FX_HISTORY_URL names another.
    fx_feed_url: str = Field(
        default="https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml",
        alias="EXPENSEBOT_FX_FEED_URL",
    )
    fx_history_url: str | None = Field(default=None, alias="EXPENSEBOT_FX_HISTORY_URL")
    # Per diem (workflows/per_diem.py): the shipped rates table used after the company's own
    # (`expensebot perdiem rates import`): de-bmf (German BMF), us-gsa (US GSA M&IE), none, or
    # auto: de-bmf for a EUR company, us-gsa for a USD company, none otherwise.
    per_diem_rates: str = Field(
        default="auto", pattern="^(auto|de-bmf|us-gsa|none)$", alias="EXPENSEBOT_PER_DIEM_RATES"
    )
    # How long one Slack Web API call may take before it counts as a timeout.
    slack_timeout_seconds: float = Field(default=15.0, gt=0, alias="EXPENSEBOT_SLACK_TIMEOUT")
    # Multi-workspace mode (OAuth v2 install flow) when SLACK_CLIENT_ID is set.
    slack_client_id: str | None = Field(default=None, alias="SLACK_CLIENT_ID")
    slack_client_secret: str | None = Field(default=None, alias="SLACK_CLIENT_SECRET")
    slack_oauth_url: str = Field(default="https://slack.com/oauth/v2/authorize", alias="SLACK_OAUTH_URL")
    # Bot scopes asked for at install (comma-separated); the manifest's by default.
    slack_scopes: str = Field(default=",".join(DEFAULT_BOT_SCOPES), alias="EXPENSEBOT_SLACK_SCOPES")
    # Encrypts stored tokens: a Fernet key (or several, comma-separated: the first encrypts).
    secret_key: str | None = Field(default=None, alias="EXPENSEBOT_SECRET_KEY", repr=False)
    receipt_store: str = Field(default="db", alias="EXPENSEBOT_RECEIPT_STORE")
    # The server-side encryption S3 is asked for on each receipt written to an s3:// store.
    s3_sse: str = Field(
        default="AES256", pattern="^(AES256|aws:kms|aws:kms:dsse)$", alias="EXPENSEBOT_S3_SSE"
    )
    # Days a receipt is kept after its retention period starts (a paid claim's: 1 January after its
    # payment; workflows/retention.py); `expensebot receipts gc` deletes it after that. Ten years
    # (German tax law, §147 AO / §257 HGB) unless set; see README, "Receipt retention".
    receipt_retention_days: int = Field(
        default=DEFAULT_RETENTION_DAYS, ge=1, alias="EXPENSEBOT_RECEIPT_RETENTION_DAYS"
    )
    sepa_name: str | None = Field(default=None, alias="EXPENSEBOT_SEPA_NAME")
    sepa_iban: str | None = Field(default=None, alias="EXPENSEBOT_SEPA_IBAN")
    sepa_bic: str | None = Field(default=None, alias="EXPENSEBOT_SEPA_BIC")
    # Days after a card charge is booked before its holder is reminded of the missing receipt.
    missing_receipt_days: int = Field(default=3, ge=0, alias="EXPENSEBOT_MISSING_RECEIPT_DAYS")
    # The running app matches statement lines every this many minutes (0: only `transactions match`).
    match_every_minutes: int = Field(default=60, ge=0, alias="EXPENSEBOT_MATCH_EVERY_MINUTES")
    # "weekly": each card holder gets one DM a week listing the charges missing a receipt; "off".
    missing_receipt_digest: str = Field(
        default="weekly", pattern="^(weekly|off)$", alias="EXPENSEBOT_MISSING_RECEIPT_DIGEST"
    )

    # The CRM connectors' settings, one part per connector of integrations.crm.registry, each read
    # from its own variables (EXPENSEBOT_HUBSPOT_TOKEN, EXPENSEBOT_SALESFORCE_INSTANCE_URL…).
    crm: CrmSettingsModel = Field(default_factory=CrmSettingsModel)
    # Multi-workspace mode: the workspace whose CRM the connectors above are (its customers, deals
    # and owners are that workspace's); unset: the only installed workspace.
    crm_team: str | None = Field(default=None, alias="EXPENSEBOT_CRM_TEAM")

    @field_validator("slack_client_id", "slack_client_secret", "secret_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("default_locale")
    @classmethod
    def _default_locale(cls, value: str) -> str:
        from bot.i18n import parse_locale

        if parse_locale(value) is None:
            raise ValueError(f"{value!r} is not a locale, e.g. en, de, de-AT, zh-CN")
        return value.strip()

    @field_validator("company_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.strip().upper()
        if not is_currency(code):
            raise ValueError("must be an ISO 4217 currency code, such as EUR or USD")
        return code

    @field_validator("digest_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from croniter import croniter

        value = value.strip()
        if not croniter.is_valid(value):
            raise ValueError(
                "must be a cron expression (minute hour day month weekday), such as 0 9 * * MON-FRI"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        value = value.strip()
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone, such as Europe/Berlin or UTC") from None
        return value

    @field_validator("slack_oauth_url")
    @classmethod
    def _oauth_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be the full http(s) URL of Slack's authorize page")
        return value

    @field_validator("receipt_store")
    @classmethod
    def _receipt_store(cls, value: str) -> str:
        value = value.strip()
        if value == "db" or (value.startswith("file:///") and len(value) > 8):
            return value
        if value.startswith("s3://") and value[5:].split("/", 1)[0]:
            return value
        raise ValueError("must be db, file:///absolute/path or s3://bucket/prefix")

    @model_validator(mode="after")
    def _multi_workspace(self) -> Settings:
        if self.slack_client_id is None:
            return self
        missing = [
            name
            for name, value in (
                ("SLACK_CLIENT_SECRET", self.slack_client_secret),
                ("EXPENSEBOT_SECRET_KEY", self.secret_key),
            )
            if not value
        ]
        if missing:
            raise ValueError(
                f"SLACK_CLIENT_ID is set (multi-workspace mode), so {' and '.join(missing)} must be set too"
            )
        from storage.installations import SecretKeyError, make_cipher

        try:
            make_cipher(self.secret_key or "")
        except SecretKeyError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def multi_workspace(self) -> bool:
        """Installed through OAuth in any number of workspaces (SLACK_CLIENT_ID is set)."""
        return self.slack_client_id is not None

    @property
    def bot_scopes(self) -> list[str]:
        return [scope.strip() for scope in self.slack_scopes.split(",") if scope.strip()]

    @property
    def retry_delays(self) -> tuple[float, ...]:
        """Seconds between the attempts of a failing background job."""
        return tuple(float(part) for part in self.job_retry_delays.split(",") if part.strip())

    @property
    def api_base_url(self) -> str:
        url = self.slack_api_url
        return url if url.endswith("/") else url + "/"

    @property
    def expenses_channel_ids(self) -> frozenset[str]:
        return frozenset(c.strip() for c in self.expenses_channels.split(",") if c.strip())


def load_settings() -> Settings:
    return Settings()
