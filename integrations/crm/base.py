"""What every CRM connector exchanges with the rest of the app, and its HTTP plumbing.

Requests retry what the CRMs document as temporary: rate limiting (429, honouring
``Retry-After`` or the documented back-off), server errors (5xx) and dropped connections, with
exponential back-off. Anything else is raised as :class:`CrmError` with the CRM's own message.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticUseDefault

Sleep = Callable[[float], None]

MAX_ATTEMPTS = 6
MAX_WAIT = 60.0


class CrmError(RuntimeError):
    """The CRM refused a request or kept failing. ``str(err)`` is a message for people."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class CrmAuthError(CrmError):
    """Credentials are missing, wrong or expired and cannot be renewed."""


@dataclass(frozen=True)
class RemoteCompany:
    external_id: str
    name: str
    domain: str | None
    modified_at: dt.datetime | None
    archived: bool = False
    # Merges: the records merged into this one (HubSpot ``hs_merged_object_ids``), or, on a record
    # deleted by a merge, the one it was merged into (Salesforce ``MasterRecordId``).
    merged_ids: tuple[str, ...] = ()
    merged_into: str | None = None


@dataclass(frozen=True)
class RemoteOwner:
    """A CRM user who can own records (HubSpot owner, Salesforce user)."""

    external_id: str
    email: str | None
    name: str | None
    active: bool = True


@dataclass(frozen=True)
class RemoteContact:
    external_id: str
    name: str | None
    email: str | None
    company_external_id: str | None
    modified_at: dt.datetime | None
    archived: bool = False


@dataclass(frozen=True)
class RemoteDeal:
    """A HubSpot deal or Salesforce opportunity."""

    external_id: str
    name: str
    stage: str | None
    closed: bool
    amount: Decimal | None
    currency: str | None
    close_date: dt.date | None
    owner: str | None
    company_external_id: str | None
    modified_at: dt.datetime | None
    archived: bool = False


@dataclass(frozen=True)
class RemoteProject:
    """A HubSpot project (object ``0-970``) or a record of the Salesforce custom object that holds
    projects, with the company and deal it is associated with."""

    external_id: str
    name: str
    stage: str | None
    closed: bool
    company_external_id: str | None
    deal_external_id: str | None
    due_date: dt.date | None
    modified_at: dt.datetime | None
    archived: bool = False


def parse_amount(value: Any) -> Decimal | None:
    """A CRM amount ("1500", 1500.5, "") as an exact Decimal, or None."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def parse_date(value: Any) -> dt.date | None:
    """A CRM date: ``2026-03-31``, or a timestamp (HubSpot's closedate)."""
    if value is None or value == "":
        return None
    text = str(value)
    if len(text) == 10 and text[4] == "-":
        return dt.date.fromisoformat(text)
    when = parse_time(value)
    return when.date() if when else None


@dataclass(frozen=True)
class ExpenseEntry:
    """An approved expense as logged on the customer's CRM record."""

    expense_id: int
    marker: str  # unique text that identifies this expense's entry in the CRM
    subject: str
    body: str
    amount: Decimal | None
    currency: str | None
    spent_on: dt.date | None
    receipt_ref: str | None
    occurred_at: dt.datetime
    deal_id: str | None = None  # the deal / opportunity (same CRM) the expense also goes on
    project_id: str | None = None  # the project (same CRM) the expense also goes on, where supported


class CrmConnector(Protocol):
    """One CRM as the sync and the write-back see it (``integrations.crm.registry`` builds them).

    Optional, looked up with ``getattr`` by ``integrations.crm.sync``: ``deals(since)``,
    ``owners()`` and ``resolve_companies(ids)`` (merged-away id -> survivor's); ``projects(since)``
    when ``reads_projects`` is true (configured); by the write-back ``associate_project(entry_id,
    project_id)`` (the logged entry on the project as well).
    """

    source: str

    def companies(self, since: dt.datetime | None) -> Iterator[RemoteCompany]: ...

    def contacts(self, since: dt.datetime | None) -> Iterator[RemoteContact]: ...

    def find_entry(self, company_id: str, entry: ExpenseEntry) -> str | None: ...

    def log_entry(self, company_id: str, entry: ExpenseEntry) -> str: ...

    def close(self) -> None: ...


def parse_time(value: Any) -> dt.datetime | None:
    """CRM timestamps: ISO 8601 (``Z``, ``+0000`` or ``+00:00``) or epoch milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC)
    text = str(value).replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]  # Salesforce: 2024-01-02T03:04:05.000+0000
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get("Retry-After")
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        try:
            from email.utils import parsedate_to_datetime

            when = parsedate_to_datetime(header)
            return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    sleep: Sleep = time.sleep,
    rate_limit_wait: Callable[[httpx.Response, int], float | None] | None = None,
    idempotent: bool = True,
    **kwargs: Any,
) -> httpx.Response:
    """One request, retried on 429, 5xx and network errors; returns any other response.

    ``rate_limit_wait(response, attempt)`` may give the wait for a 429 the CRM explains in its
    own way, or raise to stop (e.g. a daily quota). A request that creates something
    (``idempotent=False``) is only repeated when it certainly did not run: a 429 or a
    connection that was never made; after a 5xx or a lost answer it raises instead, and the
    caller checks whether the record exists before trying again.
    """
    last_error = ""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            if not idempotent and not isinstance(exc, httpx.ConnectError):
                raise CrmError(f"{method} {url}: no answer ({last_error})", retryable=True) from exc
            if attempt == MAX_ATTEMPTS:
                break
            sleep(min(MAX_WAIT, 0.5 * 2 ** (attempt - 1)))
            continue
        if response.status_code == 429 or response.status_code >= 500:
            last_error = f"HTTP {response.status_code}: {response.text[:300]}"
            if response.status_code >= 500 and not idempotent:
                raise CrmError(f"{method} {url}: {last_error}", status=response.status_code, retryable=True)
            if attempt == MAX_ATTEMPTS:
                break
            wait = retry_after(response)
            if wait is None and response.status_code == 429 and rate_limit_wait is not None:
                wait = rate_limit_wait(response, attempt)
            if wait is None:
                wait = 0.5 * 2 ** (attempt - 1)
            sleep(min(MAX_WAIT, wait))
            continue
        return response
    raise CrmError(f"{method} {url} failed after {MAX_ATTEMPTS} attempts: {last_error}", retryable=True)


class ConnectorSettings(BaseModel):
    """A connector's settings, declared in its module: each field's alias is its environment
    variable (``EXPENSEBOT_<CRM>_…``). ``bot.settings.Settings`` reads them with every other
    setting (``Settings.crm``); a blank variable counts as unset."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    # How to configure it, for the message of `customers sync` when no CRM is.
    HOW_TO: ClassVar[str] = ""

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise PydanticUseDefault()
        return value

    @property
    def configured(self) -> bool:
        """Enough is set to connect."""
        raise NotImplementedError


def http_url(value: str | None) -> str | None:
    """A base URL setting: the full http(s) URL (the tests' stand-ins listen on http://127.0.0.1)."""
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError("must be a full http(s) URL, such as https://api.example.com")
    return value
