"""HubSpot: companies and contacts (CRM v3 objects), and notes logged on companies.

* Full sync lists ``/crm/v3/objects/{companies,contacts}`` page by page (``paging.next.after``).
* Incremental sync uses the search API filtered on the last-modified property
  (``hs_lastmodifieddate`` for companies, ``lastmodifieddate`` for contacts), sorted ascending.
  Search results stop at 10,000 per query, so a longer run restarts from the last timestamp seen.
* 429 responses are retried: ``Retry-After`` when present, else the documented interval (the
  ``X-HubSpot-RateLimit-Interval-Milliseconds`` header, one second for the search API's
  per-second limit) with exponential back-off; a DAILY policy stops the run.
* Authentication is a private-app access token (``Authorization: Bearer``).
* Projects (object type ``0-970``; ``crm.objects.projects.read`` scope) are read when
  ``EXPENSEBOT_HUBSPOT_PROJECTS`` is set: listed with their company and deal associations, or
  searched on ``hs_lastmodifieddate`` with associations read in batches (v4). A logged note is
  associated with the expense's project by the v4 default association
  (``PUT /crm/v4/objects/notes/{id}/associations/default/0-970/{project}``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
from pydantic import Field, field_validator

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

DEFAULT_URL = "https://api.hubapi.com"
PAGE_SIZE = 100
SEARCH_WINDOW = 10_000  # the search API returns at most this many results per query
NOTE_TO_COMPANY = 190  # HUBSPOT_DEFINED association type: note -> company
NOTE_TO_DEAL = 214  # HUBSPOT_DEFINED association type: note -> deal

COMPANY_PROPERTIES = ("name", "domain", "hs_lastmodifieddate", "hs_merged_object_ids")
CONTACT_PROPERTIES = ("firstname", "lastname", "email", "associatedcompanyid", "lastmodifieddate")
DEAL_PROPERTIES = (
    "dealname",
    "dealstage",
    "amount",
    "deal_currency_code",
    "closedate",
    "hubspot_owner_id",
    "hs_is_closed",
    "hs_lastmodifieddate",
)
CLOSED_STAGES = frozenset({"closedwon", "closedlost"})
PROJECT_OBJECT = "0-970"  # HubSpot's object type id of projects (also /crm/v3/objects/projects)
PROJECT_PROPERTIES = (
    "hs_name",
    "hs_pipeline",
    "hs_pipeline_stage",
    "hs_target_due_date",
    "hs_lastmodifieddate",
)


def _millis(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


class HubSpotConnector:
    source = "hubspot"

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_URL,
        *,
        client: httpx.Client | None = None,
        sleep: Sleep = time.sleep,
        timeout: float = 30.0,
        projects: bool = False,
        project_closed_stages: frozenset[str] = frozenset(),
    ) -> None:
        if not token:
            raise CrmAuthError("HubSpot needs an access token (EXPENSEBOT_HUBSPOT_TOKEN)")
        self.reads_projects = projects
        self._closed_stages = project_closed_stages
        self._base = base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout)
        self._owns_client = client is None
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._sleep = sleep
        self.search_window = SEARCH_WINDOW

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # ------------------------------------------------------------------ HTTP

    def _rate_limit_wait(self, response: httpx.Response, attempt: int) -> float | None:
        try:
            policy = str(response.json().get("policyName", ""))
        except ValueError:
            policy = ""
        if policy.upper() == "DAILY":
            raise CrmError("HubSpot daily API limit reached; try again tomorrow", status=429)
        interval = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
        base = float(interval) / 1000 if interval and interval.isdigit() else 1.0
        return float(base * 2 ** (attempt - 1))

    def _call(self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any) -> dict[str, Any]:
        response = send(
            self._client,
            method,
            self._base + path,
            headers=self._headers,
            sleep=self._sleep,
            rate_limit_wait=self._rate_limit_wait,
            idempotent=idempotent,
            **kwargs,
        )
        if response.status_code in (401, 403):
            raise CrmAuthError(
                f"HubSpot refused the access token: {_message(response)}", status=response.status_code
            )
        if response.status_code >= 400:
            raise CrmError(f"HubSpot {method} {path}: {_message(response)}", status=response.status_code)
        data = response.json()
        if not isinstance(data, dict):
            raise CrmError(f"HubSpot {method} {path}: unexpected answer")
        return data

    # ------------------------------------------------------------------ reading

    def _list(
        self, obj: str, properties: tuple[str, ...], associations: str | None = None
    ) -> Iterator[dict[str, Any]]:
        after: str | None = None
        while True:
            params: dict[str, Any] = {
                "limit": PAGE_SIZE,
                "properties": ",".join(properties),
                "archived": "false",
            }
            if associations:
                params["associations"] = associations
            if after:
                params["after"] = after
            data = self._call("GET", f"/crm/v3/objects/{obj}", params=params)
            yield from data.get("results", [])
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def _search(
        self, obj: str, modified: str, since: dt.datetime, properties: tuple[str, ...]
    ) -> Iterator[dict[str, Any]]:
        cursor = _millis(since)
        window = self.search_window
        while True:
            after = "0"
            last_seen: dt.datetime | None = None
            while True:
                body = {
                    "filterGroups": [
                        {"filters": [{"propertyName": modified, "operator": "GTE", "value": str(cursor)}]}
                    ],
                    "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
                    "properties": list(properties),
                    "limit": PAGE_SIZE,
                    "after": after,
                }
                data = self._call("POST", f"/crm/v3/objects/{obj}/search", json=body)
                for row in data.get("results", []):
                    last_seen = parse_time((row.get("properties") or {}).get(modified)) or last_seen
                    yield row
                nxt = ((data.get("paging") or {}).get("next") or {}).get("after")
                if not nxt:
                    return
                if int(nxt) >= window:
                    break  # window exhausted: search again from the newest change seen
                after = str(nxt)
            if last_seen is None or _millis(last_seen) <= cursor:
                raise CrmError(f"HubSpot has more than {window} {obj} changed at the same moment")
            cursor = _millis(last_seen)

    def _rows(
        self, obj: str, modified: str, since: dt.datetime | None, properties: tuple[str, ...]
    ) -> Iterator[dict[str, Any]]:
        if since is None:
            return self._list(obj, properties)
        return self._search(obj, modified, since, properties)

    def companies(self, since: dt.datetime | None) -> Iterator[RemoteCompany]:
        for row in self._rows("companies", "hs_lastmodifieddate", since, COMPANY_PROPERTIES):
            props = row.get("properties") or {}
            name = (props.get("name") or "").strip()
            if not name:
                continue  # a company without a name cannot be matched or picked
            own = str(row["id"])
            merged = str(props.get("hs_merged_object_ids") or "")
            yield RemoteCompany(
                external_id=own,
                name=name,
                domain=(props.get("domain") or None),
                modified_at=parse_time(props.get("hs_lastmodifieddate") or row.get("updatedAt")),
                archived=bool(row.get("archived", False)),
                merged_ids=tuple(m for m in (p.strip() for p in merged.split(";")) if m and m != own),
            )

    def resolve_companies(self, ids: list[str]) -> dict[str, str | None]:
        """Where companies that left the list went: HubSpot answers a merged-away id with the
        record it was merged into (its own id), a deleted one with 404. ``id -> survivor id``
        (the same id when it is still there), ``None`` when it is gone."""
        out: dict[str, str | None] = {}
        for company_id in ids:
            response = send(
                self._client,
                "GET",
                f"{self._base}/crm/v3/objects/companies/{company_id}",
                headers=self._headers,
                sleep=self._sleep,
                rate_limit_wait=self._rate_limit_wait,
                params={"properties": "name", "archived": "false"},
            )
            if response.status_code == 404:
                out[company_id] = None
                continue
            if response.status_code in (401, 403):
                raise CrmAuthError(f"HubSpot refused the access token: {_message(response)}")
            if response.status_code >= 400:
                raise CrmError(f"HubSpot GET company {company_id}: {_message(response)}")
            data = response.json()
            out[company_id] = None if data.get("archived") else str(data["id"])
        return out

    def owners(self) -> Iterator[RemoteOwner]:
        """The account's owners (``/crm/v3/owners``, paged): the ids deals carry in
        ``hubspot_owner_id``, with their e-mail."""
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE_SIZE, "archived": "false"}
            if after:
                params["after"] = after
            data = self._call("GET", "/crm/v3/owners", params=params)
            for row in data.get("results", []):
                name = " ".join(p for p in (row.get("firstName"), row.get("lastName")) if p) or None
                yield RemoteOwner(
                    external_id=str(row["id"]),
                    email=row.get("email") or None,
                    name=name,
                    active=not row.get("archived", False),
                )
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def contacts(self, since: dt.datetime | None) -> Iterator[RemoteContact]:
        for row in self._rows("contacts", "lastmodifieddate", since, CONTACT_PROPERTIES):
            props = row.get("properties") or {}
            name = " ".join(p for p in (props.get("firstname"), props.get("lastname")) if p) or None
            company = props.get("associatedcompanyid")
            yield RemoteContact(
                external_id=str(row["id"]),
                name=name,
                email=props.get("email") or None,
                company_external_id=str(company) if company else None,
                modified_at=parse_time(props.get("lastmodifieddate") or row.get("updatedAt")),
                archived=bool(row.get("archived", False)),
            )

    def _deal_companies(self, deal_ids: list[str]) -> dict[str, str]:
        """The company each deal is associated with (v4 associations, batch read)."""
        return self._associated("deals", "companies", deal_ids)

    def _associated(self, from_obj: str, to_obj: str, ids: list[str]) -> dict[str, str]:
        """The first record of ``to_obj`` each record is associated with (v4, batch read)."""
        out: dict[str, str] = {}
        for start in range(0, len(ids), PAGE_SIZE):
            inputs = [{"id": d} for d in ids[start : start + PAGE_SIZE]]
            data = self._call(
                "POST", f"/crm/v4/associations/{from_obj}/{to_obj}/batch/read", json={"inputs": inputs}
            )
            for result in data.get("results", []):
                targets = result.get("to") or []
                if targets:
                    out[str(result["from"]["id"])] = str(targets[0]["toObjectId"])
        return out

    def deals(self, since: dt.datetime | None) -> Iterator[RemoteDeal]:
        """Deals with their company. A full run lists them with their associations; an
        incremental one searches on ``hs_lastmodifieddate`` and reads associations in batches."""
        if since is None:
            rows: Iterator[dict[str, Any]] = self._list("deals", DEAL_PROPERTIES, associations="companies")
        else:
            rows = self._search("deals", "hs_lastmodifieddate", since, DEAL_PROPERTIES)
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == PAGE_SIZE:
                yield from self._deal_rows(batch)
                batch = []
        yield from self._deal_rows(batch)

    def _deal_rows(self, rows: list[dict[str, Any]]) -> Iterator[RemoteDeal]:
        listed = {
            str(row["id"]): str(assoc[0]["id"])
            for row in rows
            if (assoc := ((row.get("associations") or {}).get("companies") or {}).get("results"))
        }
        missing = [str(row["id"]) for row in rows if "associations" not in row]
        companies = {**listed, **(self._deal_companies(missing) if missing else {})}
        for row in rows:
            props = row.get("properties") or {}
            name = (props.get("dealname") or "").strip()
            if not name:
                continue
            stage = props.get("dealstage") or None
            closed_flag = str(props.get("hs_is_closed") or "").lower()
            closed = closed_flag == "true" if closed_flag else (stage or "").lower() in CLOSED_STAGES
            currency = (props.get("deal_currency_code") or "").upper() or None
            yield RemoteDeal(
                external_id=str(row["id"]),
                name=name,
                stage=stage,
                closed=closed,
                amount=parse_amount(props.get("amount")),
                currency=currency if currency and len(currency) == 3 else None,
                close_date=parse_date(props.get("closedate")),
                owner=props.get("hubspot_owner_id") or None,
                company_external_id=companies.get(str(row["id"])),
                modified_at=parse_time(props.get("hs_lastmodifieddate") or row.get("updatedAt")),
                archived=bool(row.get("archived", False)),
            )

    def projects(self, since: dt.datetime | None) -> Iterator[RemoteProject]:
        """Projects with their company and deal. Closed: the stage is one of the configured
        closed stages (``EXPENSEBOT_HUBSPOT_PROJECT_CLOSED_STAGES``); deleted ones are archived."""
        if since is None:
            rows: Iterator[dict[str, Any]] = self._list(
                PROJECT_OBJECT, PROJECT_PROPERTIES, associations="companies,deals"
            )
        else:
            rows = self._search(PROJECT_OBJECT, "hs_lastmodifieddate", since, PROJECT_PROPERTIES)
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == PAGE_SIZE:
                yield from self._project_rows(batch)
                batch = []
        yield from self._project_rows(batch)

    def _project_rows(self, rows: list[dict[str, Any]]) -> Iterator[RemoteProject]:
        def listed(row: dict[str, Any], kind: str) -> str | None:
            results = ((row.get("associations") or {}).get(kind) or {}).get("results")
            return str(results[0]["id"]) if results else None

        missing = [str(row["id"]) for row in rows if "associations" not in row]
        companies = self._associated(PROJECT_OBJECT, "companies", missing) if missing else {}
        deals = self._associated(PROJECT_OBJECT, "deals", missing) if missing else {}
        for row in rows:
            props = row.get("properties") or {}
            name = (props.get("hs_name") or "").strip()
            if not name:
                continue
            own = str(row["id"])
            stage = props.get("hs_pipeline_stage") or None
            yield RemoteProject(
                external_id=own,
                name=name,
                stage=stage,
                closed=bool(stage) and stage in self._closed_stages,
                company_external_id=listed(row, "companies") or companies.get(own),
                deal_external_id=listed(row, "deals") or deals.get(own),
                due_date=parse_date(props.get("hs_target_due_date")),
                modified_at=parse_time(props.get("hs_lastmodifieddate") or row.get("updatedAt")),
                archived=bool(row.get("archived", False)),
            )

    # ------------------------------------------------------------------ write-back

    def associate_project(self, note_id: str, project_id: str) -> None:
        """The logged note on the project too (v4 default association; repeating it is harmless)."""
        self._call(
            "PUT", f"/crm/v4/objects/notes/{note_id}/associations/default/{PROJECT_OBJECT}/{project_id}"
        )

    def find_entry(self, company_id: str, entry: ExpenseEntry) -> str | None:
        body = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "associations.company", "operator": "EQ", "value": company_id},
                        {"propertyName": "hs_note_body", "operator": "CONTAINS_TOKEN", "value": entry.marker},
                    ]
                }
            ],
            "properties": ["hs_note_body"],
            "limit": 1,
        }
        results = self._call("POST", "/crm/v3/objects/notes/search", json=body).get("results", [])
        return str(results[0]["id"]) if results else None

    def log_entry(self, company_id: str, entry: ExpenseEntry) -> str:
        associations: list[dict[str, Any]] = [
            {
                "to": {"id": company_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_COMPANY}],
            }
        ]
        if entry.deal_id:  # the note shows on the deal as well as on the company
            associations.append(
                {
                    "to": {"id": entry.deal_id},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_DEAL}],
                }
            )
        body = {
            "properties": {
                "hs_timestamp": entry.occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                "hs_note_body": f"<p><strong>{_html(entry.subject)}</strong></p><p>{_html(entry.body)}</p>",
            },
            "associations": associations,
        }
        return str(self._call("POST", "/crm/v3/objects/notes", json=body, idempotent=False)["id"])


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if isinstance(data, dict) and data.get("message"):
        return f"HTTP {response.status_code}: {data['message']}"
    return f"HTTP {response.status_code}"


__all__ = ["HubSpotConnector"]


class HubSpotSettings(ConnectorSettings):
    """HubSpot's settings (docs/customers.md); registered in ``integrations.crm.registry``."""

    HOW_TO: ClassVar[str] = "EXPENSEBOT_HUBSPOT_TOKEN (and optionally EXPENSEBOT_HUBSPOT_URL) for HubSpot"

    token: str | None = Field(default=None, alias="EXPENSEBOT_HUBSPOT_TOKEN", repr=False)
    url: str = Field(default=DEFAULT_URL, alias="EXPENSEBOT_HUBSPOT_URL")
    # Projects (object 0-970) are read only when asked for: the token then needs the
    # crm.objects.projects.read scope. Closed stages: the pipeline stage ids that mean "closed".
    projects: bool = Field(default=False, alias="EXPENSEBOT_HUBSPOT_PROJECTS")
    project_closed_stages: frozenset[str] = Field(
        default=frozenset(), alias="EXPENSEBOT_HUBSPOT_PROJECT_CLOSED_STAGES"
    )

    _url = field_validator("url")(http_url)

    @field_validator("project_closed_stages", mode="before")
    @classmethod
    def _stages(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(s.strip() for s in value.split(",") if s.strip())
        return value

    @property
    def configured(self) -> bool:
        return bool(self.token)


def connect(settings: HubSpotSettings) -> HubSpotConnector:
    return HubSpotConnector(
        settings.token or "",
        settings.url,
        projects=settings.projects,
        project_closed_stages=settings.project_closed_stages,
    )
