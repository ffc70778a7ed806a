"""A small Salesforce REST API for tests: OAuth token endpoint, SOQL query with paging, Tasks.

Behaves as documented: ``/services/data/vXX.X/query`` and ``/queryAll`` answer
``{totalSize, done, records, nextRecordsUrl}`` in batches; an expired or unknown session gets
401 ``[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]``;
``/services/oauth2/token`` accepts the refresh-token and client-credentials grants; creating a
Task answers 201 ``{"id", "success", "errors"}``. It understands the SOQL the connector sends
(SELECT fields FROM object [WHERE a AND b] [ORDER BY field ASC|DESC] [LIMIT n]).

Merges behave as the API documents for ``merge()``: the master record survives (updated), the
others are deleted with ``MasterRecordId`` set to the master, visible through ``queryAll`` only,
and their contacts and opportunities are reparented to the master. Users (``User``: ``Id``,
``Name``, ``Email``, ``IsActive``) are the ``OwnerId`` of opportunities.

Custom objects (``Project__c``) exist once defined with their fields
(:meth:`FakeSalesforce.define_object`); a query of an undefined object answers 400
``INVALID_TYPE``, of a field the object lacks 400 ``INVALID_FIELD``, as Salesforce does.
Failures (with headers, e.g. a 429 with ``Retry-After``) can be queued with ``fail_next``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import secrets
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SESSION_EXPIRED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
_SOQL = re.compile(
    r"^SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<obj>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<dir>ASC|DESC))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_COND = re.compile(r"^(?P<field>\w+)\s*(?P<op>>=|<=|!=|=|>|<|LIKE)\s*(?P<value>.+)$", re.IGNORECASE)


def stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _value(text: str) -> Any:
    text = text.strip()
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("\\'", "'")
    if text.lower() in {"true", "false"}:
        return text.lower() == "true"
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _field(record: dict[str, Any], name: str) -> Any:
    value = record.get(name)
    if name == "SystemModstamp" and isinstance(value, str):
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    return value


def _holds(record: dict[str, Any], condition: str) -> bool:
    match = _COND.match(condition.strip())
    if not match:
        raise ValueError(f"unsupported condition {condition!r}")
    actual, op, wanted = _field(record, match["field"]), match["op"].upper(), _value(match["value"])
    if op == "LIKE":
        pattern = "^" + re.escape(str(wanted)).replace("%", ".*").replace("_", ".") + "$"
        return actual is not None and re.match(pattern, str(actual), re.IGNORECASE) is not None
    if actual is None:
        return op == "!=" and wanted is not None
    comparisons = {
        "=": actual == wanted,
        "!=": actual != wanted,
        ">": actual > wanted,
        ">=": actual >= wanted,
        "<": actual < wanted,
        "<=": actual <= wanted,
    }
    return bool(comparisons[op])


class FakeSalesforce:
    def __init__(
        self,
        *,
        version: str = "v60.0",
        batch_size: int = 2000,
        client_id: str = "client-id",
        client_secret: str = "client-secret",
        refresh_token: str = "refresh-token",
    ) -> None:
        self.version = version
        self.batch_size = batch_size
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.sessions: set[str] = set()
        self.records: dict[str, dict[str, dict[str, Any]]] = {
            "Account": {},
            "Contact": {},
            "Task": {},
            "Opportunity": {},
            "User": {},
        }
        self.requests: list[tuple[str, str, Any]] = []
        self.token_grants: list[str] = []
        self._cursors: dict[str, deque[dict[str, Any]]] = {}
        self._failures: deque[tuple[int, Any, dict[str, str]]] = deque()
        self.schema: dict[str, set[str]] = {}  # custom object -> its fields
        self._ids = itertools.count(1)
        self.clock = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        self.instance_url = ""  # set once served, for the OAuth answer
        self.create_then_fail = 0
        self._expire_in: int | None = None
        self.app = Starlette(
            routes=[
                Route("/services/oauth2/token", self._token, methods=["POST"]),
                Route("/services/data/{version}/query", self._query, methods=["GET"]),
                Route("/services/data/{version}/queryAll", self._query, methods=["GET"]),
                Route("/services/data/{version}/query/{cursor}", self._more, methods=["GET"]),
                Route("/services/data/{version}/sobjects/{sobject}", self._create, methods=["POST"]),
            ]
        )

    # ------------------------------------------------------------------ test controls

    def new_session(self) -> str:
        token = "00D" + secrets.token_hex(8)
        self.sessions.add(token)
        return token

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def expire_sessions_after(self, requests: int) -> None:
        """Sessions time out after this many more API calls (as after the org's session timeout)."""
        self._expire_in = requests

    def tick(self, seconds: int = 1) -> dt.datetime:
        self.clock += dt.timedelta(seconds=seconds)
        return self.clock

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):015d}"[:18]

    def add_account(self, name: str, website: str | None = None) -> str:
        account_id = self._new_id("001")
        self.records["Account"][account_id] = {
            "attributes": {
                "type": "Account",
                "url": f"/services/data/{self.version}/sobjects/Account/{account_id}",
            },
            "Id": account_id,
            "Name": name,
            "Website": website,
            "SystemModstamp": stamp(self.tick()),
            "IsDeleted": False,
            "MasterRecordId": None,
        }
        return account_id

    def merge_accounts(self, master_id: str, *victim_ids: str) -> None:
        """Merge up to two accounts into ``master_id`` (Salesforce merges at most three records)."""
        if not 1 <= len(victim_ids) <= 2:
            raise ValueError("a merge takes one or two records besides the master")
        for victim in victim_ids:
            self.update_account(victim, IsDeleted=True, MasterRecordId=master_id)
            for sobject in ("Contact", "Opportunity"):
                for record in self.records[sobject].values():
                    if record.get("AccountId") == victim:
                        record.update(AccountId=master_id, SystemModstamp=stamp(self.tick()))
        self.update_account(master_id)

    def add_user(self, name: str, email: str, *, active: bool = True) -> str:
        user_id = self._new_id("005")
        self.records["User"][user_id] = {
            "attributes": {"type": "User"},
            "Id": user_id,
            "Name": name,
            "Email": email,
            "IsActive": active,
            "SystemModstamp": stamp(self.tick()),
        }
        return user_id

    def update_account(self, account_id: str, **fields: Any) -> None:
        self.records["Account"][account_id].update(fields, SystemModstamp=stamp(self.tick()))

    def delete_account(self, account_id: str) -> None:
        self.update_account(account_id, IsDeleted=True)

    def add_contact(self, name: str, email: str | None, account_id: str | None) -> str:
        contact_id = self._new_id("003")
        self.records["Contact"][contact_id] = {
            "attributes": {"type": "Contact"},
            "Id": contact_id,
            "Name": name,
            "Email": email,
            "AccountId": account_id,
            "SystemModstamp": stamp(self.tick()),
            "IsDeleted": False,
        }
        return contact_id

    def add_opportunity(
        self,
        name: str,
        account_id: str | None,
        *,
        stage: str = "Prospecting",
        amount: float | None = None,
        close_date: str | None = None,
        owner: str | None = None,
    ) -> str:
        """An opportunity; closed when its stage is Closed Won / Closed Lost (the default ones)."""
        opportunity_id = self._new_id("006")
        self.records["Opportunity"][opportunity_id] = {
            "attributes": {"type": "Opportunity"},
            "Id": opportunity_id,
            "Name": name,
            "StageName": stage,
            "IsClosed": stage in {"Closed Won", "Closed Lost"},
            "Amount": amount,
            "CloseDate": close_date,
            "OwnerId": owner,
            "AccountId": account_id,
            "SystemModstamp": stamp(self.tick()),
            "IsDeleted": False,
        }
        return opportunity_id

    def update_opportunity(self, opportunity_id: str, **fields: Any) -> None:
        record = self.records["Opportunity"][opportunity_id]
        record.update(fields, SystemModstamp=stamp(self.tick()))
        if "StageName" in fields:
            record["IsClosed"] = fields["StageName"] in {"Closed Won", "Closed Lost"}

    def define_object(self, sobject: str, fields: set[str]) -> None:
        """A custom object (``Project__c``) with its custom fields (``Account__c``...); the
        standard fields (Id, Name, SystemModstamp, IsDeleted...) come with it."""
        self.records.setdefault(sobject, {})
        self.schema[sobject] = {
            "Id",
            "Name",
            "SystemModstamp",
            "IsDeleted",
            "CreatedDate",
            "OwnerId",
            *fields,
        }

    def add_record(self, sobject: str, **fields: Any) -> str:
        """A record of a defined custom object."""
        unknown = set(fields) - self.schema[sobject]
        if unknown:
            raise ValueError(f"{sobject} has no fields {sorted(unknown)}")
        record_id = self._new_id("a0B")
        self.records[sobject][record_id] = {
            "attributes": {"type": sobject},
            "Id": record_id,
            **fields,
            "SystemModstamp": stamp(self.tick()),
            "IsDeleted": False,
        }
        return record_id

    def update_record(self, sobject: str, record_id: str, **fields: Any) -> None:
        self.records[sobject][record_id].update(fields, SystemModstamp=stamp(self.tick()))

    def fail_next(
        self,
        status: int,
        error_code: str = "SERVER_UNAVAILABLE",
        message: str = "try later",
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._failures.append((status, [{"message": message, "errorCode": error_code}], headers or {}))

    # ------------------------------------------------------------------ HTTP

    async def _gate(self, request: Request) -> Response | None:
        raw = await request.body()
        body = json.loads(raw) if raw else dict(request.query_params)
        self.requests.append((request.method, request.url.path, body))
        if request.path_params.get("version") != self.version:
            return JSONResponse(
                [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
                status_code=404,
            )
        if self._expire_in is not None:
            self._expire_in -= 1
            if self._expire_in < 0:
                self._expire_in = None
                self.expire_sessions()
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.sessions:
            return JSONResponse(SESSION_EXPIRED, status_code=401)
        if self._failures:
            status, payload, headers = self._failures.popleft()
            return JSONResponse(payload, status_code=status, headers=headers)
        return None

    async def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = form.get("grant_type", "")
        self.requests.append((request.method, request.url.path, form))
        self.token_grants.append(grant)
        ok = str(form.get("client_id")) == self.client_id and (
            (grant == "refresh_token" and str(form.get("refresh_token")) == self.refresh_token)
            or (grant == "client_credentials" and str(form.get("client_secret")) == self.client_secret)
        )
        if not ok:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "expired access/refresh token"},
                status_code=400,
            )
        return JSONResponse(
            {
                "access_token": self.new_session(),
                "instance_url": self.instance_url or str(request.base_url).rstrip("/"),
                "id": "https://login.salesforce.com/id/00Dxx/005xx",
                "token_type": "Bearer",
                "issued_at": str(int(self.clock.timestamp() * 1000)),
                "signature": "c2lnbmF0dXJl",
            }
        )

    def _page(self, request: Request, rows: deque[dict[str, Any]], total: int) -> Response:
        batch = [rows.popleft() for _ in range(min(self.batch_size, len(rows)))]
        out: dict[str, Any] = {"totalSize": total, "done": not rows, "records": batch}
        if rows:
            cursor = f"01g{secrets.token_hex(6)}-{self.batch_size}"
            self._cursors[cursor] = rows
            out["nextRecordsUrl"] = f"/services/data/{self.version}/query/{cursor}"
        return JSONResponse(out)

    async def _query(self, request: Request) -> Response:
        denied = await self._gate(request)
        if denied:
            return denied
        match = _SOQL.match(request.query_params.get("q", ""))
        if not match:
            return JSONResponse(
                [{"errorCode": "MALFORMED_QUERY", "message": "unexpected token"}], status_code=400
            )
        if match["obj"] not in self.records:
            return JSONResponse(
                [
                    {
                        "errorCode": "INVALID_TYPE",
                        "message": f"sObject type '{match['obj']}' is not supported.",
                    }
                ],
                status_code=400,
            )
        include_deleted = request.url.path.endswith("/queryAll")
        fields = [f.strip() for f in match["fields"].split(",")]
        known = self.schema.get(match["obj"])
        for name in fields if known is not None else []:
            if name not in known:
                return JSONResponse(
                    [
                        {
                            "errorCode": "INVALID_FIELD",
                            "message": f"No such column '{name}' on entity '{match['obj']}'.",
                        }
                    ],
                    status_code=400,
                )
        conditions = re.split(r"\s+AND\s+", match["where"], flags=re.IGNORECASE) if match["where"] else []
        rows = [
            r
            for r in self.records[match["obj"]].values()
            if (include_deleted or not r.get("IsDeleted")) and all(_holds(r, c) for c in conditions)
        ]
        if match["order"]:
            order = match["order"]
            rows.sort(
                key=lambda r: (str(r.get(order) or ""), r["Id"]),
                reverse=(match["dir"] or "").upper() == "DESC",
            )
        if match["limit"]:
            rows = rows[: int(match["limit"])]
        selected = [{"attributes": r["attributes"], **{f: r.get(f) for f in fields}} for r in rows]
        return self._page(request, deque(selected), len(selected))

    async def _more(self, request: Request) -> Response:
        denied = await self._gate(request)
        if denied:
            return denied
        rows = self._cursors.pop(request.path_params["cursor"], None)
        if rows is None:
            return JSONResponse(
                [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}], 400
            )
        return self._page(request, rows, -1)

    async def _create(self, request: Request) -> Response:
        denied = await self._gate(request)
        if denied:
            return denied
        sobject = request.path_params["sobject"]
        body = self.requests[-1][2]
        if sobject != "Task":
            return JSONResponse(
                [{"errorCode": "NOT_FOUND", "message": "not supported here"}], status_code=404
            )
        what = body.get("WhatId")
        if what not in self.records["Account"] and what not in self.records["Opportunity"]:
            return JSONResponse(
                [
                    {
                        "message": "invalid cross reference id",
                        "errorCode": "INVALID_CROSS_REFERENCE_KEY",
                        "fields": ["WhatId"],
                    }
                ],
                status_code=400,
            )
        task_id = self._new_id("00T")
        self.records["Task"][task_id] = {
            "attributes": {"type": "Task"},
            "Id": task_id,
            **body,
            "SystemModstamp": stamp(self.tick()),
            "IsDeleted": False,
        }
        if self.create_then_fail:
            self.create_then_fail -= 1
            return JSONResponse([{"errorCode": "SERVER_UNAVAILABLE", "message": "gateway"}], status_code=503)
        return JSONResponse({"id": task_id, "success": True, "errors": []}, status_code=201)
