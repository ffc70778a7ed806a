"""A small HubSpot CRM v3 API for tests: companies, contacts, deals, notes, owners, merges.

It behaves the way HubSpot documents: list endpoints page with ``paging.next.after`` (at most
100 per page), the search API filters and sorts on properties, stops at 10,000 results per
query and caps ``limit`` at 200, private-app tokens go in ``Authorization: Bearer``, and rate
limits answer 429 with ``policyName`` in the body. Failures can be queued with
:meth:`FakeHubSpot.fail_next`.

Merges follow HubSpot's documented behaviour for companies (developer changelog "Updated merge
functionality for contacts and companies"): the two records are merged into a new record with
a new id, whose ``hs_merged_object_ids`` lists the ids merged into it; both old ids leave the
lists and the search, and reading one of them (``GET /crm/v3/objects/companies/{id}``) answers
the new record, with its new id. Deals and contacts of both follow the new record. A deleted
(archived) id answers 404 ``OBJECT_NOT_FOUND``. Owners (``/crm/v3/owners``) page like the lists.

Projects are object type ``0-970``, reached as ``/crm/v3/objects/0-970`` or
``/crm/v3/objects/projects`` (properties ``hs_name``, ``hs_pipeline``, ``hs_pipeline_stage``,
``hs_target_due_date``), associated with companies and deals (``associations=companies,deals``
on the list, v4 batch read), and a note is associated with one by the v4 default association
(``PUT /crm/v4/objects/notes/{id}/associations/default/0-970/{project}``; 404 when either record
does not exist).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import threading
import time
from collections import deque
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(value: str) -> dt.datetime:
    if value.isdigit():
        return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC)
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


class FakeHubSpot:
    MODIFIED: ClassVar[dict[str, str]] = {
        "companies": "hs_lastmodifieddate",
        "contacts": "lastmodifieddate",
        "notes": "hs_lastmodifieddate",
        "deals": "hs_lastmodifieddate",
        "0-970": "hs_lastmodifieddate",
    }
    ALIASES: ClassVar[dict[str, str]] = {"projects": "0-970"}

    def __init__(self, token: str = "pat-test-token", *, search_window: int = 10_000) -> None:
        self.token = token
        self.search_window = search_window
        self.objects: dict[str, dict[str, dict[str, Any]]] = {
            "companies": {},
            "contacts": {},
            "notes": {},
            "deals": {},
            "0-970": {},
        }
        self.project_companies: dict[str, list[str]] = {}
        self.project_deals: dict[str, list[str]] = {}
        self.note_projects: dict[str, list[str]] = {}
        self.note_companies: dict[str, list[str]] = {}
        self.deal_companies: dict[str, list[str]] = {}
        self.note_deals: dict[str, list[str]] = {}
        self.owners: dict[str, dict[str, Any]] = {}
        self.merged: dict[str, str] = {}  # merged-away id -> the record it went into
        self.requests: list[tuple[str, str, Any]] = []
        self._failures: deque[tuple[int, dict[str, str], dict[str, Any]]] = deque()
        self._limit: tuple[int, int] | None = None
        self._recent: deque[float] = deque()
        self.rate_limited = 0  # 429 answers sent by the rate limiter
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()
        self.clock = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        self.create_then_fail = 0  # notes created, then answered with a 502 (lost response)
        self.app = Starlette(
            routes=[
                Route("/crm/v3/objects/{obj}", self._list, methods=["GET"]),
                Route("/crm/v3/objects/{obj}", self._create, methods=["POST"]),
                Route("/crm/v3/objects/{obj}/search", self._search, methods=["POST"]),
                Route("/crm/v3/objects/{obj}/merge", self._merge, methods=["POST"]),
                Route("/crm/v3/objects/{obj}/{object_id}", self._read, methods=["GET"]),
                Route("/crm/v3/owners", self._owners, methods=["GET"]),
                Route(
                    "/crm/v4/objects/{from_obj}/{from_id}/associations/default/{to_obj}/{to_id}",
                    self._associate_default,
                    methods=["PUT"],
                ),
                Route(
                    "/crm/v4/associations/{from_obj}/{to_obj}/batch/read",
                    self._associations,
                    methods=["POST"],
                ),
            ]
        )

    # ------------------------------------------------------------------ test controls

    def tick(self, seconds: int = 1) -> dt.datetime:
        self.clock += dt.timedelta(seconds=seconds)
        return self.clock

    def add_company(self, name: str, domain: str | None = None, *, at: dt.datetime | None = None) -> str:
        return self._put("companies", {"name": name, "domain": domain}, at)

    def update_company(self, company_id: str, **props: Any) -> None:
        record = self.objects["companies"][company_id]
        record["properties"].update(props)
        record["properties"]["hs_lastmodifieddate"] = iso(self.tick())
        record["updatedAt"] = record["properties"]["hs_lastmodifieddate"]

    def archive_company(self, company_id: str) -> None:
        record = self.objects["companies"][company_id]
        record["archived"] = True
        record["archivedAt"] = iso(self.tick())

    def merge_companies(self, primary_id: str, to_merge_id: str) -> str:
        """Merge ``to_merge_id`` into ``primary_id`` as HubSpot does: a new record (new id) with
        the primary's values (the other's where the primary has none); returns the new id."""
        companies = self.objects["companies"]
        primary, other = companies.pop(primary_id), companies.pop(to_merge_id)
        earlier = [
            m
            for record in (primary, other)
            for m in str(record["properties"].get("hs_merged_object_ids") or "").split(";")
            if m
        ]
        props = {k: v for k, v in other["properties"].items() if v not in (None, "")}
        props.update({k: v for k, v in primary["properties"].items() if v not in (None, "")})
        for key in ("hs_object_id", "createdate", "hs_lastmodifieddate", "hs_merged_object_ids"):
            props.pop(key, None)
        new_id = self._put("companies", props, None)
        companies[new_id]["properties"]["hs_merged_object_ids"] = ";".join(
            [*earlier, primary_id, to_merge_id]
        )
        for old in (primary_id, to_merge_id, *earlier):
            self.merged[old] = new_id
        for linked in self.deal_companies.values():
            linked[:] = list(dict.fromkeys(new_id if c in (primary_id, to_merge_id) else c for c in linked))
        for contact in self.objects["contacts"].values():
            if contact["properties"].get("associatedcompanyid") in (primary_id, to_merge_id):
                contact["properties"]["associatedcompanyid"] = new_id
        return new_id

    def add_owner(self, email: str, first: str = "", last: str = "", *, user_id: int | None = None) -> str:
        owner_id = str(next(self._ids))
        stamp = iso(self.tick())
        self.owners[owner_id] = {
            "id": owner_id,
            "email": email,
            "firstName": first,
            "lastName": last,
            "userId": user_id or int(owner_id) * 7,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
            "teams": [],
        }
        return owner_id

    def add_contact(self, first: str, last: str, email: str | None, company_id: str | None) -> str:
        props = {"firstname": first, "lastname": last, "email": email, "associatedcompanyid": company_id}
        return self._put("contacts", props, None)

    def add_deal(
        self,
        name: str,
        company_id: str | None,
        *,
        stage: str = "appointmentscheduled",
        amount: str | None = None,
        currency: str | None = "USD",
        closedate: str | None = None,
        owner: str | None = None,
    ) -> str:
        """A deal (closed when its stage is closedwon/closedlost, as HubSpot's default pipeline)."""
        closed = "true" if stage in {"closedwon", "closedlost"} else "false"
        props = {
            "dealname": name,
            "dealstage": stage,
            "amount": amount,
            "deal_currency_code": currency,
            "closedate": closedate,
            "hubspot_owner_id": owner,
            "hs_is_closed": closed,
        }
        deal_id = self._put("deals", props, None)
        self.deal_companies[deal_id] = [company_id] if company_id else []
        return deal_id

    def update_deal(self, deal_id: str, **props: Any) -> None:
        record = self.objects["deals"][deal_id]
        record["properties"].update(props)
        if "dealstage" in props:
            closed = props["dealstage"] in {"closedwon", "closedlost"}
            record["properties"]["hs_is_closed"] = "true" if closed else "false"
        record["properties"]["hs_lastmodifieddate"] = iso(self.tick())
        record["updatedAt"] = record["properties"]["hs_lastmodifieddate"]

    def add_project(
        self,
        name: str,
        company_id: str | None,
        deal_id: str | None = None,
        *,
        stage: str = "in_progress",
        due: str | None = None,
    ) -> str:
        """A project (object 0-970) of a company, optionally of a deal too."""
        props = {
            "hs_name": name,
            "hs_pipeline": "project_pipeline",
            "hs_pipeline_stage": stage,
            "hs_target_due_date": due,
        }
        project_id = self._put("0-970", props, None)
        self.project_companies[project_id] = [company_id] if company_id else []
        self.project_deals[project_id] = [deal_id] if deal_id else []
        return project_id

    def update_project(self, project_id: str, **props: Any) -> None:
        record = self.objects["0-970"][project_id]
        record["properties"].update(props)
        record["properties"]["hs_lastmodifieddate"] = iso(self.tick())
        record["updatedAt"] = record["properties"]["hs_lastmodifieddate"]

    def delete_project(self, project_id: str) -> None:
        record = self.objects["0-970"][project_id]
        record["archived"] = True
        record["archivedAt"] = iso(self.tick())

    def fail_next(
        self, status: int, *, headers: dict[str, str] | None = None, policy: str = "SECONDLY"
    ) -> None:
        body: dict[str, Any]
        if status == 429:
            body = {
                "status": "error",
                "message": f"You have reached your {policy.lower()} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": "c0ffee",
                "policyName": policy,
            }
        else:
            body = {"status": "error", "message": "internal error", "correlationId": "c0ffee"}
        self._failures.append((status, headers or {}, body))

    def _put(self, obj: str, props: dict[str, Any], at: dt.datetime | None) -> str:
        object_id = str(next(self._ids))
        stamp = iso(at or self.tick())
        props = {**props, self.MODIFIED[obj]: stamp, "hs_object_id": object_id, "createdate": stamp}
        self.objects[obj][object_id] = {
            "id": object_id,
            "properties": props,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }
        return object_id

    # ------------------------------------------------------------------ HTTP

    async def _gate(self, request: Request) -> Response | None:
        body: Any = None
        if request.method == "POST":
            raw = await request.body()
            body = json.loads(raw) if raw else None
        self.requests.append(
            (request.method, request.url.path, body if body is not None else dict(request.query_params))
        )
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse(
                {
                    "status": "error",
                    "message": "Authentication credentials not found.",
                    "category": "INVALID_AUTHENTICATION",
                },
                status_code=401,
            )
        if self._failures:
            status, headers, payload = self._failures.popleft()
            return JSONResponse(payload, status_code=status, headers=headers)
        return self._rate_limited()

    def limit_rate(self, max_requests: int, interval_ms: int) -> None:
        """Answer 429 once more than ``max_requests`` arrive within ``interval_ms`` (rolling),
        with the rate-limit headers HubSpot sends on its interval limits."""
        self._limit = (max_requests, interval_ms)

    def _rate_limited(self) -> Response | None:
        if self._limit is None:
            return None
        max_requests, interval_ms = self._limit
        now = time.monotonic()
        window = interval_ms / 1000
        while self._recent and now - self._recent[0] >= window:
            self._recent.popleft()
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(interval_ms),
            "X-HubSpot-RateLimit-Max": str(max_requests),
            "X-HubSpot-RateLimit-Remaining": str(max(0, max_requests - len(self._recent) - 1)),
        }
        if len(self._recent) >= max_requests:
            self.rate_limited += 1
            body = {
                "status": "error",
                "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": "c0ffee",
                "policyName": "SECONDLY",
            }
            return JSONResponse(
                body, status_code=429, headers={**headers, "X-HubSpot-RateLimit-Remaining": "0"}
            )
        self._recent.append(now)
        return None

    @staticmethod
    def _view(record: dict[str, Any], properties: list[str]) -> dict[str, Any]:
        props = record["properties"]
        wanted = properties or list(props)
        shown = {k: props.get(k) for k in wanted}
        shown["hs_object_id"] = record["id"]
        return {**record, "properties": shown}

    async def _list(self, request: Request) -> Response:
        denied = await self._gate(request)
        if denied:
            return denied
        obj = self.ALIASES.get(request.path_params["obj"], request.path_params["obj"])
        if obj not in self.objects:
            return JSONResponse({"status": "error", "message": f"Unknown object {obj}"}, status_code=404)
        limit = int(request.query_params.get("limit", "10"))
        if limit > 100:
            return JSONResponse({"status": "error", "message": "limit must be at most 100"}, status_code=400)
        archived = request.query_params.get("archived", "false") == "true"
        props = [p for p in request.query_params.get("properties", "").split(",") if p]
        records = sorted(
            (r for r in self.objects[obj].values() if r["archived"] == archived), key=lambda r: int(r["id"])
        )
        after = request.query_params.get("after")
        if after:
            records = [r for r in records if int(r["id"]) > int(after)]
        page = records[:limit]
        out: dict[str, Any] = {"results": [self._view(r, props) for r in page]}
        wanted = request.query_params.get("associations", "").split(",")
        if obj == "deals" and "companies" in wanted:
            for shown in out["results"]:
                linked = self.deal_companies.get(shown["id"], [])
                if linked:  # HubSpot leaves the key out when there is nothing associated
                    shown["associations"] = {
                        "companies": {"results": [{"id": c, "type": "deal_to_company"} for c in linked]}
                    }
        if obj == "0-970":
            for shown in out["results"]:
                found: dict[str, Any] = {}
                for kind, table in (("companies", self.project_companies), ("deals", self.project_deals)):
                    linked = table.get(shown["id"], [])
                    if kind in wanted and linked:
                        found[kind] = {
                            "results": [{"id": x, "type": f"project_to_{kind[:-1]}"} for x in linked]
                        }
                if found:
                    shown["associations"] = found
        if len(records) > limit:
            nxt = page[-1]["id"]
            out["paging"] = {"next": {"after": nxt, "link": f"{request.url.path}?after={nxt}"}}
        return JSONResponse(out)

    async def _read(self, request: Request) -> Response:
        """``GET /crm/v3/objects/{obj}/{id}``: a merged-away id answers the record it went into."""
        denied = await self._gate(request)
        if denied:
            return denied
        obj, object_id = request.path_params["obj"], request.path_params["object_id"]
        obj = self.ALIASES.get(obj, obj)
        if obj not in self.objects:
            return JSONResponse({"status": "error", "message": f"Unknown object {obj}"}, status_code=404)
        while obj == "companies" and object_id in self.merged:
            object_id = self.merged[object_id]
        record = self.objects[obj].get(object_id)
        archived = request.query_params.get("archived", "false") == "true"
        if record is None or record["archived"] != archived:
            return JSONResponse(
                {
                    "status": "error",
                    "message": "resource not found",
                    "category": "OBJECT_NOT_FOUND",
                    "correlationId": "c0ffee",
                },
                status_code=404,
            )
        props = [p for p in request.query_params.get("properties", "").split(",") if p]
        return JSONResponse(self._view(record, props))

    async def _merge(self, request: Request) -> Response:
        """``POST /crm/v3/objects/companies/merge`` ``{primaryObjectId, objectIdToMerge}``."""
        denied = await self._gate(request)
        if denied:
            return denied
        body = self.requests[-1][2] or {}
        primary, other = str(body.get("primaryObjectId", "")), str(body.get("objectIdToMerge", ""))
        companies = self.objects["companies"]
        if request.path_params["obj"] != "companies" or primary not in companies or other not in companies:
            return JSONResponse({"status": "error", "message": "object not found"}, status_code=400)
        new_id = self.merge_companies(primary, other)
        return JSONResponse(self._view(companies[new_id], []))

    async def _owners(self, request: Request) -> Response:
        """``GET /crm/v3/owners``: paged (``limit`` at most 500, ``after``), active or archived."""
        denied = await self._gate(request)
        if denied:
            return denied
        limit = int(request.query_params.get("limit", "100"))
        if limit > 500:
            return JSONResponse({"status": "error", "message": "limit must be at most 500"}, status_code=400)
        archived = request.query_params.get("archived", "false") == "true"
        email = request.query_params.get("email")
        rows = sorted(
            (
                o
                for o in self.owners.values()
                if o["archived"] == archived and (not email or o["email"] == email)
            ),
            key=lambda o: int(o["id"]),
        )
        after = request.query_params.get("after")
        if after:
            rows = [o for o in rows if int(o["id"]) > int(after)]
        out: dict[str, Any] = {"results": rows[:limit]}
        if len(rows) > limit:
            out["paging"] = {"next": {"after": rows[limit - 1]["id"]}}
        return JSONResponse(out)

    def _matches(self, obj: str, record: dict[str, Any], flt: dict[str, Any]) -> bool:
        name, op, value = flt["propertyName"], flt["operator"], str(flt.get("value", ""))
        if name == "associations.company":
            return value in self.note_companies.get(record["id"], []) if obj == "notes" else False
        actual = record["properties"].get(name)
        if actual is None:
            return False
        if op in {"GTE", "GT", "LTE", "LT"}:
            left, right = _parse(str(actual)), _parse(value)
            return {"GTE": left >= right, "GT": left > right, "LTE": left <= right, "LT": left < right}[op]
        if op == "EQ":
            return str(actual) == value
        if op == "CONTAINS_TOKEN":
            return value.lower() in re.split(r"[^\w]+", str(actual).lower())
        raise ValueError(op)

    async def _search(self, request: Request) -> Response:
        denied = await self._gate(request)
        if denied:
            return denied
        obj = self.ALIASES.get(request.path_params["obj"], request.path_params["obj"])
        if obj not in self.objects:
            return JSONResponse({"status": "error", "message": f"Unknown object {obj}"}, status_code=404)
        body = self.requests[-1][2] or {}
        limit = int(body.get("limit", 10))
        after = int(body.get("after") or 0)
        if limit > 200:
            return JSONResponse({"status": "error", "message": "limit must be at most 200"}, status_code=400)
        if after >= self.search_window:
            return JSONResponse(
                {"status": "error", "message": f"after cannot be {self.search_window} or more"},
                status_code=400,
            )
        records = [
            r
            for r in self.objects[obj].values()
            if not r["archived"]
            and any(
                all(self._matches(obj, r, f) for f in g.get("filters", []))
                for g in body.get("filterGroups") or [{}]
            )
        ]
        records.sort(key=lambda r: int(r["id"]))
        for sort in reversed(body.get("sorts") or []):
            prop = str(sort["propertyName"])

            def sort_key(record: dict[str, Any], prop: str = prop) -> str:
                return str(record["properties"].get(prop) or "")

            records.sort(key=sort_key, reverse=sort["direction"] != "ASCENDING")
        page = records[after : after + limit]
        out: dict[str, Any] = {
            "total": len(records),
            "results": [self._view(r, body.get("properties") or []) for r in page],
        }
        if after + limit < len(records):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return JSONResponse(out)

    async def _associations(self, request: Request) -> Response:
        """``POST /crm/v4/associations/deals/companies/batch/read``: each deal's companies."""
        denied = await self._gate(request)
        if denied:
            return denied
        pair = (
            self.ALIASES.get(request.path_params["from_obj"], request.path_params["from_obj"]),
            request.path_params["to_obj"],
        )
        tables = {
            ("deals", "companies"): self.deal_companies,
            ("0-970", "companies"): self.project_companies,
            ("0-970", "deals"): self.project_deals,
        }
        if pair not in tables:
            return JSONResponse({"status": "error", "message": "unsupported association"}, status_code=400)
        table = tables[pair]
        body = self.requests[-1][2] or {}
        inputs = body.get("inputs") or []
        if len(inputs) > 1000:
            return JSONResponse({"status": "error", "message": "at most 1000 inputs"}, status_code=400)
        results = []
        for item in inputs:
            deal_id = str(item["id"])
            linked = table.get(deal_id, [])
            if linked:
                results.append(
                    {
                        "from": {"id": deal_id},
                        "to": [
                            {
                                "toObjectId": int(c),
                                "associationTypes": [
                                    {"category": "HUBSPOT_DEFINED", "typeId": 5, "label": None}
                                ],
                            }
                            for c in linked
                        ],
                    }
                )
        return JSONResponse({"status": "COMPLETE", "results": results})

    async def _associate_default(self, request: Request) -> Response:
        """``PUT /crm/v4/objects/notes/{id}/associations/default/0-970/{project}``."""
        denied = await self._gate(request)
        if denied:
            return denied
        params = request.path_params
        from_obj, to_obj = params["from_obj"], self.ALIASES.get(params["to_obj"], params["to_obj"])
        if (from_obj, to_obj) != ("notes", "0-970"):
            return JSONResponse({"status": "error", "message": "unsupported association"}, status_code=400)
        note, project = str(params["from_id"]), str(params["to_id"])
        if (
            note not in self.objects["notes"]
            or project not in self.objects["0-970"]
            or (self.objects["0-970"][project]["archived"])
        ):
            return JSONResponse(
                {"status": "error", "message": "resource not found", "category": "OBJECT_NOT_FOUND"},
                status_code=404,
            )
        linked = self.note_projects.setdefault(note, [])
        if project not in linked:
            linked.append(project)
        now = iso(self.clock)
        return JSONResponse(
            {
                "status": "COMPLETE",
                "startedAt": now,
                "completedAt": now,
                "results": [{"from": {"id": note}, "to": {"id": project}}],
            }
        )

    async def _create(self, request: Request) -> Response:
        denied = await self._gate(request)
        if denied:
            return denied
        obj = request.path_params["obj"]
        body = self.requests[-1][2] or {}
        props = body.get("properties") or {}
        if obj == "notes" and "hs_timestamp" not in props:
            return JSONResponse({"status": "error", "message": "hs_timestamp is required"}, status_code=400)
        companies: list[str] = []
        deals: list[str] = []
        for assoc in body.get("associations") or []:
            types = assoc.get("types") or []
            kind = {190: "companies", 214: "deals"}.get(types[0].get("associationTypeId")) if types else None
            if kind is None:
                return JSONResponse(
                    {"status": "error", "message": "invalid association type"}, status_code=400
                )
            target = str(assoc["to"]["id"])
            if target not in self.objects[kind]:
                return JSONResponse(
                    {"status": "error", "message": f"{kind[:-1]} {target} not found"}, status_code=400
                )
            (companies if kind == "companies" else deals).append(target)
        with self._lock:
            object_id = self._put(obj, props, None)
            self.note_companies[object_id] = companies
            self.note_deals[object_id] = deals
            if self.create_then_fail:
                self.create_then_fail -= 1
                return JSONResponse({"status": "error", "message": "Bad gateway"}, status_code=502)
        return JSONResponse(self.objects[obj][object_id], status_code=201)
