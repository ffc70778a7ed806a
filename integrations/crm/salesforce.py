"""Salesforce: Accounts and Contacts through the REST query API, Tasks logged on Accounts.

* Reading uses ``/services/data/vXX.X/queryAll?q=SOQL`` (so deletions arrive as
  ``IsDeleted = true``) and follows ``nextRecordsUrl`` until ``done``.
* Incremental sync filters on ``SystemModstamp`` and orders by it.
* An expired session (401 ``INVALID_SESSION_ID``) is renewed once with the refresh token or
  client credentials when they are configured; without them the run stops with a clear error.
* ``REQUEST_LIMIT_EXCEEDED`` (the org's API quota) stops the run; 5xx and 429 are retried.
* Projects: Salesforce has no standard project object. When one custom object is configured
  (``EXPENSEBOT_SALESFORCE_PROJECT_OBJECT``, e.g. ``Project__c``, with the names of its account,
  and optionally opportunity, status and due-date fields), its records are read like the others.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import Field, field_validator, model_validator

from integrations.crm.base import (
    ConnectorSettings,
    CrmAuthError,
    CrmError,
    ExpenseEntry,
    RemoteCompany,
    RemoteContact,
    RemoteDeal,
    RemoteOwner,
    RemoteProject,
    Sleep,
    http_url,
    parse_amount,
    parse_date,
    parse_time,
    send,
)

DEFAULT_API_VERSION = "v60.0"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
_ID = re.compile(r"^[A-Za-z0-9]{15,18}$")
_CUSTOM_OBJECT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*__c$")
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DEFAULT_CLOSED_VALUES = "Closed,Completed,Cancelled,Canceled"


@dataclass(frozen=True)
class ProjectObject:
    """The custom object that holds projects, and the API names of its fields."""

    sobject: str  # e.g. Project__c
    account_field: str  # lookup to the Account, e.g. Account__c
    name_field: str = "Name"
    opportunity_field: str | None = None  # lookup to the Opportunity, e.g. Opportunity__c
    status_field: str | None = None  # e.g. Status__c; closed when its value is a closed value
    closed_values: frozenset[str] = frozenset(v.casefold() for v in DEFAULT_CLOSED_VALUES.split(","))
    due_field: str | None = None  # a date field, e.g. Due_Date__c


def api_version(value: str | None) -> str:
    """``60.0``, ``v60.0`` or ``v60`` -> ``v60.0``."""
    text = (value or DEFAULT_API_VERSION).strip().lower().removeprefix("v")
    if not re.fullmatch(r"\d+(\.\d+)?", text):
        raise ValueError(f"'{value}' is not a Salesforce API version (expected e.g. 60.0)")
    return "v" + (text if "." in text else text + ".0")


def website_domain(website: str | None) -> str | None:
    """``https://www.Acme.com/about`` -> ``acme.com``."""
    if not website or not website.strip():
        return None
    text = website.strip()
    host = urlsplit(text if "//" in text else "//" + text).hostname or ""
    host = host.lower().removeprefix("www.")
    return host or None


def soql_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SalesforceConnector:
    source = "salesforce"

    def __init__(
        self,
        instance_url: str,
        *,
        token: str | None = None,
        version: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        login_url: str = DEFAULT_LOGIN_URL,
        client: httpx.Client | None = None,
        sleep: Sleep = time.sleep,
        timeout: float = 30.0,
        project_object: ProjectObject | None = None,
    ) -> None:
        self._project = project_object
        self.reads_projects = project_object is not None
        self._instance = instance_url.rstrip("/")
        self._token = token or None
        self._version = api_version(version)
        self._client_id = client_id or None
        self._client_secret = client_secret or None
        self._refresh_token = refresh_token or None
        self._login_url = login_url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout)
        self._owns_client = client is None
        self._sleep = sleep
        if not self._token and not self.can_authenticate:
            raise CrmAuthError(
                "Salesforce needs an access token (EXPENSEBOT_SALESFORCE_TOKEN) or OAuth client "
                "credentials / a refresh token"
            )

    @property
    def can_authenticate(self) -> bool:
        return bool(self._client_id and (self._refresh_token or self._client_secret))

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # ------------------------------------------------------------------ auth and HTTP

    def authenticate(self) -> None:
        """Get a new access token: refresh-token flow if configured, else client credentials."""
        if not self.can_authenticate:
            raise CrmAuthError("the Salesforce session expired and no refresh credentials are configured")
        if self._refresh_token:
            url = self._login_url + "/services/oauth2/token"
            form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        else:
            url = self._instance + "/services/oauth2/token"  # client credentials use the My Domain URL
            form = {"grant_type": "client_credentials"}
        form["client_id"] = self._client_id or ""
        if self._client_secret:
            form["client_secret"] = self._client_secret
        response = send(self._client, "POST", url, data=form, sleep=self._sleep)
        if response.status_code >= 400:
            raise CrmAuthError(f"Salesforce refused the OAuth credentials: {_message(response)}")
        data = response.json()
        self._token = str(data["access_token"])
        if data.get("instance_url"):
            self._instance = str(data["instance_url"]).rstrip("/")

    def _call(self, method: str, path_or_url: str, *, idempotent: bool = True, **kwargs: Any) -> Any:
        if not self._token:
            self.authenticate()
        renewed = False
        while True:
            url = path_or_url if path_or_url.startswith("http") else self._instance + path_or_url
            headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
            response = send(
                self._client, method, url, headers=headers, sleep=self._sleep, idempotent=idempotent, **kwargs
            )
            if response.status_code == 401 and not renewed and self.can_authenticate:
                renewed = True
                self.authenticate()
                continue
            if response.status_code == 401:
                raise CrmAuthError(f"Salesforce: {_message(response)}", status=401)
            if response.status_code >= 400:
                code = _error_code(response)
                raise CrmError(
                    f"Salesforce {method} {path_or_url.split('?')[0]}: {_message(response)}",
                    status=response.status_code,
                    retryable=code in {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"},
                )
            return response.json() if response.content else None

    def query(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every record of a SOQL query, deleted ones included, following ``nextRecordsUrl``."""
        data = self._call("GET", f"/services/data/{self._version}/queryAll", params={"q": soql})
        while True:
            yield from data.get("records", [])
            next_url = data.get("nextRecordsUrl")
            if data.get("done", True) or not next_url:
                return
            data = self._call("GET", next_url)

    # ------------------------------------------------------------------ reading

    def _soql(self, fields: str, sobject: str, since: dt.datetime | None) -> str:
        where = f" WHERE SystemModstamp >= {soql_time(since)}" if since else " WHERE IsDeleted = false"
        return f"SELECT {fields} FROM {sobject}{where} ORDER BY SystemModstamp ASC"

    def companies(self, since: dt.datetime | None) -> Iterator[RemoteCompany]:
        """Accounts; deleted ones too, even on a full run (``queryAll`` keeps them while they are
        in the recycle bin): an account deleted by a merge names the survivor in ``MasterRecordId``."""
        fields = "Id, Name, Website, SystemModstamp, IsDeleted, MasterRecordId"
        soql = (
            self._soql(fields, "Account", since)
            if since
            else f"SELECT {fields} FROM Account ORDER BY SystemModstamp ASC"
        )
        for row in self.query(soql):
            name = (row.get("Name") or "").strip()
            if not name:
                continue
            deleted = bool(row.get("IsDeleted", False))
            yield RemoteCompany(
                external_id=str(row["Id"]),
                name=name,
                domain=website_domain(row.get("Website")),
                modified_at=parse_time(row.get("SystemModstamp")),
                archived=deleted,
                merged_into=(row.get("MasterRecordId") or None) if deleted else None,
            )

    def owners(self) -> Iterator[RemoteOwner]:
        """Users (the ``OwnerId`` of opportunities) with their ``Email``."""
        for row in self.query("SELECT Id, Name, Email, IsActive FROM User"):
            yield RemoteOwner(
                external_id=str(row["Id"]),
                email=row.get("Email") or None,
                name=row.get("Name") or None,
                active=bool(row.get("IsActive", True)),
            )

    def contacts(self, since: dt.datetime | None) -> Iterator[RemoteContact]:
        fields = "Id, Name, Email, AccountId, SystemModstamp, IsDeleted"
        for row in self.query(self._soql(fields, "Contact", since)):
            yield RemoteContact(
                external_id=str(row["Id"]),
                name=row.get("Name") or None,
                email=row.get("Email") or None,
                company_external_id=row.get("AccountId") or None,
                modified_at=parse_time(row.get("SystemModstamp")),
                archived=bool(row.get("IsDeleted", False)),
            )

    def deals(self, since: dt.datetime | None) -> Iterator[RemoteDeal]:
        """Opportunities (``IsClosed`` as the CRM says; deleted ones arrive with ``IsDeleted``)."""
        fields = (
            "Id, Name, StageName, IsClosed, Amount, CloseDate, OwnerId, AccountId, SystemModstamp, IsDeleted"
        )
        for row in self.query(self._soql(fields, "Opportunity", since)):
            name = (row.get("Name") or "").strip()
            if not name:
                continue
            yield RemoteDeal(
                external_id=str(row["Id"]),
                name=name,
                stage=row.get("StageName") or None,
                closed=bool(row.get("IsClosed", False)),
                amount=parse_amount(row.get("Amount")),
                currency=None,  # CurrencyIsoCode exists only in multi-currency orgs
                close_date=parse_date(row.get("CloseDate")),
                owner=row.get("OwnerId") or None,
                company_external_id=row.get("AccountId") or None,
                modified_at=parse_time(row.get("SystemModstamp")),
                archived=bool(row.get("IsDeleted", False)),
            )

    def projects(self, since: dt.datetime | None) -> Iterator[RemoteProject]:
        """Records of the configured project object (none when it is not configured)."""
        config = self._project
        if config is None:
            return
        optional = [f for f in (config.opportunity_field, config.status_field, config.due_field) if f]
        names = ["Id", config.name_field, config.account_field, *optional, "SystemModstamp", "IsDeleted"]
        fields = ", ".join(dict.fromkeys(names))
        for row in self.query(self._soql(fields, config.sobject, since)):
            name = str(row.get(config.name_field) or "").strip()
            if not name:
                continue
            status = str(row.get(config.status_field) or "").strip() if config.status_field else ""
            yield RemoteProject(
                external_id=str(row["Id"]),
                name=name,
                stage=status or None,
                closed=status.casefold() in config.closed_values if status else False,
                company_external_id=row.get(config.account_field) or None,
                deal_external_id=(row.get(config.opportunity_field) or None)
                if config.opportunity_field
                else None,
                due_date=parse_date(row.get(config.due_field)) if config.due_field else None,
                modified_at=parse_time(row.get("SystemModstamp")),
                archived=bool(row.get("IsDeleted", False)),
            )

    # ------------------------------------------------------------------ write-back

    def find_entry(self, company_id: str, entry: ExpenseEntry) -> str | None:
        if not _ID.match(company_id):
            raise CrmError(f"'{company_id}' is not a Salesforce record id")
        marker = entry.marker.replace("\\", "").replace("'", "")
        what = entry.deal_id if entry.deal_id and _ID.match(entry.deal_id) else company_id
        soql = f"SELECT Id FROM Task WHERE WhatId = '{what}' AND Subject LIKE '%{marker}%' LIMIT 1"
        for row in self.query(soql):
            if not row.get("IsDeleted"):
                return str(row["Id"])
        return None

    def log_entry(self, company_id: str, entry: ExpenseEntry) -> str:
        body = {
            "Subject": entry.subject[:255],
            "Description": entry.body[:32000],
            # On the opportunity when there is one: Salesforce shows it on the account too.
            "WhatId": entry.deal_id if entry.deal_id and _ID.match(entry.deal_id) else company_id,
            "Status": "Completed",
            "Priority": "Normal",
            "ActivityDate": (entry.spent_on or entry.occurred_at.date()).isoformat(),
        }
        data = self._call(
            "POST", f"/services/data/{self._version}/sobjects/Task", json=body, idempotent=False
        )
        if not data or not data.get("success", True) or not data.get("id"):
            raise CrmError(f"Salesforce did not create the task: {data}")
        return str(data["id"])


def _error_code(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return str(data[0].get("errorCode", ""))
    if isinstance(data, dict):
        return str(data.get("error", ""))
    return ""


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return f"HTTP {response.status_code} {data[0].get('errorCode', '')}: {data[0].get('message', '')}"
    if isinstance(data, dict):
        detail = data.get("error_description") or data.get("message") or data.get("error") or ""
        return f"HTTP {response.status_code}: {detail}"
    return f"HTTP {response.status_code}"


class SalesforceSettings(ConnectorSettings):
    """Salesforce's settings (docs/customers.md); registered in ``integrations.crm.registry``."""

    HOW_TO: ClassVar[str] = (
        "EXPENSEBOT_SALESFORCE_INSTANCE_URL with EXPENSEBOT_SALESFORCE_TOKEN (or EXPENSEBOT_SALESFORCE_CLIENT_ID "
        "with EXPENSEBOT_SALESFORCE_CLIENT_SECRET or EXPENSEBOT_SALESFORCE_REFRESH_TOKEN) for Salesforce"
    )

    instance_url: str | None = Field(default=None, alias="EXPENSEBOT_SALESFORCE_INSTANCE_URL")
    token: str | None = Field(default=None, alias="EXPENSEBOT_SALESFORCE_TOKEN", repr=False)
    client_id: str | None = Field(default=None, alias="EXPENSEBOT_SALESFORCE_CLIENT_ID")
    client_secret: str | None = Field(default=None, alias="EXPENSEBOT_SALESFORCE_CLIENT_SECRET", repr=False)
    refresh_token: str | None = Field(default=None, alias="EXPENSEBOT_SALESFORCE_REFRESH_TOKEN", repr=False)
    login_url: str = Field(default=DEFAULT_LOGIN_URL, alias="EXPENSEBOT_SALESFORCE_LOGIN_URL")
    api_version: str | None = Field(default=None, alias="EXPENSEBOT_SALESFORCE_API_VERSION")

    # Projects: a custom object (off unless configured). Field settings are API names.
    project_object: str | None = Field(default=None, alias="EXPENSEBOT_SALESFORCE_PROJECT_OBJECT")
    project_name_field: str = Field(default="Name", alias="EXPENSEBOT_SALESFORCE_PROJECT_NAME_FIELD")
    project_account_field: str | None = Field(
        default=None, alias="EXPENSEBOT_SALESFORCE_PROJECT_ACCOUNT_FIELD"
    )
    project_opportunity_field: str | None = Field(
        default=None, alias="EXPENSEBOT_SALESFORCE_PROJECT_OPPORTUNITY_FIELD"
    )
    project_status_field: str | None = Field(default=None, alias="EXPENSEBOT_SALESFORCE_PROJECT_STATUS_FIELD")
    project_closed_values: str = Field(
        default=DEFAULT_CLOSED_VALUES, alias="EXPENSEBOT_SALESFORCE_PROJECT_CLOSED_VALUES"
    )
    project_due_field: str | None = Field(default=None, alias="EXPENSEBOT_SALESFORCE_PROJECT_DUE_FIELD")

    _urls = field_validator("instance_url", "login_url")(http_url)

    @field_validator("project_object")
    @classmethod
    def _project_object(cls, value: str | None) -> str | None:
        if value is not None and not _CUSTOM_OBJECT.match(value):
            raise ValueError(f"'{value}' is not the API name of a custom object (such as Project__c)")
        return value

    @field_validator(
        "project_name_field",
        "project_account_field",
        "project_opportunity_field",
        "project_status_field",
        "project_due_field",
    )
    @classmethod
    def _field_name(cls, value: str | None) -> str | None:
        if value is not None and not _FIELD.match(value):
            raise ValueError(f"'{value}' is not the API name of a field (such as Account__c)")
        return value

    @model_validator(mode="after")
    def _project_fields(self) -> SalesforceSettings:
        given = [
            name
            for name in (
                "project_account_field",
                "project_opportunity_field",
                "project_status_field",
                "project_due_field",
            )
            if getattr(self, name) is not None
        ]
        if self.project_object and not self.project_account_field:
            raise ValueError(
                "EXPENSEBOT_SALESFORCE_PROJECT_OBJECT needs EXPENSEBOT_SALESFORCE_PROJECT_ACCOUNT_FIELD "
                "(the field that links a project to its account, such as Account__c)"
            )
        if given and not self.project_object:
            raise ValueError(
                "the EXPENSEBOT_SALESFORCE_PROJECT_* fields need EXPENSEBOT_SALESFORCE_PROJECT_OBJECT "
                "(the custom object that holds projects, such as Project__c)"
            )
        return self

    @property
    def project(self) -> ProjectObject | None:
        """The configured project object, or None (projects are not read)."""
        if not self.project_object or not self.project_account_field:
            return None
        closed = frozenset(v.strip().casefold() for v in self.project_closed_values.split(",") if v.strip())
        return ProjectObject(
            sobject=self.project_object,
            account_field=self.project_account_field,
            name_field=self.project_name_field,
            opportunity_field=self.project_opportunity_field,
            status_field=self.project_status_field,
            closed_values=closed,
            due_field=self.project_due_field,
        )

    @field_validator("api_version")
    @classmethod
    def _api_version(cls, value: str | None) -> str | None:
        if value is not None:
            api_version(value)  # refuses what is not a version, with the value in its message
        return value

    @property
    def configured(self) -> bool:
        oauth = bool(self.client_id and (self.refresh_token or self.client_secret))
        return bool(self.instance_url and (self.token or oauth))


def connect(settings: SalesforceSettings) -> SalesforceConnector:
    return SalesforceConnector(
        settings.instance_url or "",
        token=settings.token,
        version=settings.api_version,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        refresh_token=settings.refresh_token,
        login_url=settings.login_url,
        project_object=settings.project,
    )
