"""Pull customers (companies / accounts), contacts, deals (opportunities) and projects from the CRMs.

Each object type keeps its own cursor in ``crm_sync_state`` (the newest modification time
seen): the first run lists everything, later runs only ask for what changed since. A full run
also archives customers the CRM no longer has. Rows are keyed by (source, external id), so a
repeated or overlapping run updates and never duplicates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from integrations.crm.base import (
    CrmConnector,
    CrmError,
    RemoteCompany,
    RemoteContact,
    RemoteDeal,
    RemoteOwner,
    RemoteProject,
)
from integrations.crm.registry import CrmSettings
from storage import audit
from storage.db import transaction
from storage.models import (
    Contact,
    CrmOwner,
    CrmSyncState,
    Customer,
    CustomerAlias,
    Deal,
    Expense,
    ExpenseSplit,
    Project,
)

_BATCH = 2000
Resolve = Callable[[list[str]], Mapping[str, str | None]]


@dataclass
class ObjectSync:
    source: str
    object_type: str  # companies | contacts
    full: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    merged: int = 0  # customers merged into another in the CRM (their expenses moved)
    error: str | None = None

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "archived": self.archived,
            "merged": self.merged,
        }

    def line(self) -> str:
        how = "full" if self.full else "changes only"
        if self.error:
            return f"{self.source} {self.object_type}: FAILED ({how}): {self.error}"
        merged = f", {self.merged} merged" if self.merged else ""
        return (
            f"{self.source} {self.object_type} ({how}): {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.archived} archived{merged}"
        )


@dataclass
class SyncReport:
    parts: list[ObjectSync] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(p.error is None for p in self.parts)

    def lines(self) -> list[str]:
        return [p.line() for p in self.parts]


def _state(session: Session, source: str, object_type: str) -> CrmSyncState | None:
    """The sync state of that object type in the current workspace (the ORM filter scopes it)."""
    return session.scalar(
        select(CrmSyncState).where(CrmSyncState.source == source, CrmSyncState.object_type == object_type)
    )


def _cursor(session: Session, source: str, object_type: str) -> dt.datetime | None:
    state = _state(session, source, object_type)
    if state is None or not state.cursor:
        return None
    return dt.datetime.fromisoformat(state.cursor)


def _save_state(
    factory: sessionmaker[Session],
    source: str,
    object_type: str,
    cursor: dt.datetime | None,
    error: str | None,
    counts: dict[str, int] | None = None,
) -> None:
    """The cursor, and what the run did for the App Home's status line (when, counts, error)."""
    with transaction(factory) as session:
        state = _state(session, source, object_type)
        if state is None:
            state = CrmSyncState(source=source, object_type=object_type)
            session.add(state)
        if cursor is not None:
            state.cursor = cursor.astimezone(dt.UTC).isoformat()
        state.last_run_at = dt.datetime.now(dt.UTC)
        state.last_error = error
        if error is None:
            state.last_ok_at = state.last_run_at
            state.last_counts = counts


def _newest(current: dt.datetime | None, seen: dt.datetime | None) -> dt.datetime | None:
    if seen is None:
        return current
    return seen if current is None or seen > current else current


def upsert_companies(
    factory: sessionmaker[Session],
    source: str,
    companies: Iterable[RemoteCompany],
    *,
    full: bool,
    part: ObjectSync,
    resolve: Resolve | None = None,
    actor: str = "system",
) -> dt.datetime | None:
    """Write companies as customers; returns the newest modification time seen.

    Merges in the CRM move the merged-away customer's expenses to the survivor (see
    :func:`apply_merges`). On a full run, a customer that left the CRM's list while expenses
    point at it is looked up one by one with ``resolve`` when the connector has it (HubSpot
    answers a merged-away id with the survivor); one that is simply gone is archived: kept for
    the history of its expenses, no longer offered.
    """
    now = dt.datetime.now(dt.UTC)
    newest: dt.datetime | None = None
    seen: set[str] = set()
    latest: dict[str, RemoteCompany] = {}
    merges: dict[str, str] = {}  # merged-away external id -> survivor's
    for company in companies:
        latest[company.external_id] = company  # a record may come twice across search windows
        newest = _newest(newest, company.modified_at)
        for old in company.merged_ids:
            merges[old] = company.external_id
        if company.merged_into and company.merged_into != company.external_id:
            merges[company.external_id] = company.merged_into
    with transaction(factory) as session:
        existing = {
            ext: (cid, name, domain, archived)
            for cid, ext, name, domain, archived in session.execute(
                select(
                    Customer.id, Customer.external_id, Customer.name, Customer.domain, Customer.archived
                ).where(Customer.source == source)
            )
        }
        new_rows: list[dict[str, object]] = []
        changes: list[dict[str, object]] = []
        for ext, company in latest.items():
            seen.add(ext)
            row = {
                "name": company.name[:512],
                "domain": (company.domain or None) and company.domain[:255],
                "archived": company.archived,
                "remote_modified_at": company.modified_at,
                "synced_at": now,
            }
            if ext not in existing:
                if company.archived:
                    continue
                new_rows.append(
                    {"source": source, "external_id": ext, "created_at": now, "updated_at": now, **row}
                )
                continue
            cid, name, domain, archived = existing[ext]
            if (name, domain, archived) == (row["name"], row["domain"], company.archived):
                part.unchanged += 1
                continue
            if company.archived and not archived:
                part.archived += 1
            else:
                part.updated += 1
            changes.append({"id": cid, "updated_at": now, **row})
        if full:
            vanished = {
                ext: cid
                for ext, (cid, _name, _domain, archived) in existing.items()
                if ext not in seen and not archived
            }
            for cid in vanished.values():
                changes.append({"id": cid, "archived": True, "synced_at": now, "updated_at": now})
                part.archived += 1
            if resolve is not None and vanished:
                used = _customers_with_expenses(session, list(vanished.values()))
                with_expenses = sorted(
                    ext for ext, cid in vanished.items() if ext not in merges and cid in used
                )
                with_expenses = with_expenses[:MAX_RESOLVE]
                for ext, survivor in resolve(with_expenses).items():
                    if survivor and survivor != ext:
                        merges[ext] = survivor
        for start in range(0, len(new_rows), _BATCH):
            session.execute(insert(Customer), new_rows[start : start + _BATCH])
        for start in range(0, len(changes), _BATCH):
            session.execute(update(Customer), changes[start : start + _BATCH])
        part.created += len(new_rows)
        if merges:
            part.merged += apply_merges(session, source, merges, actor=actor)
    return newest


MAX_RESOLVE = 200  # customers looked up one by one in a run (each is one API call)


def _customers_with_expenses(session: Session, customer_ids: list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(customer_ids), _BATCH):
        chunk = customer_ids[start : start + _BATCH]
        found.update(
            session.scalars(select(Expense.customer_id).where(Expense.customer_id.in_(chunk)).distinct())
        )
    return found


def apply_merges(session: Session, source: str, merges: Mapping[str, str], *, actor: str = "system") -> int:
    """The CRM merged customers: each merged-away one (external id -> the survivor's) is archived
    and points at the survivor; its expenses (and split parts), deals, contacts and aliases move to
    the survivor, its name becomes one of the survivor's aliases (a former name). Every expense
    moved is audited (``expense.customer_merged``), and the merge itself (``customer.merged``).
    Returns how many customers were merged now (a merge seen again changes nothing)."""
    local = {
        ext: (cid, name, merged_into)
        for cid, ext, name, merged_into in session.execute(
            select(Customer.id, Customer.external_id, Customer.name, Customer.merged_into_id).where(
                Customer.source == source, Customer.external_id.in_(set(merges) | set(merges.values()))
            )
        )
    }
    count = 0
    for old_ext, new_ext in sorted(merges.items()):
        # A survivor may itself have been merged since: follow the chain (at most a few steps).
        for _ in range(10):
            if new_ext not in merges or merges[new_ext] == old_ext:
                break
            new_ext = merges[new_ext]
        if old_ext not in local or new_ext not in local or old_ext == new_ext:
            continue
        old_id, old_name, merged_into = local[old_ext]
        new_id, new_name, _ = local[new_ext]
        moved = list(
            session.scalars(select(Expense.id).where(Expense.customer_id == old_id).order_by(Expense.id))
        )
        if merged_into == new_id and not moved:
            continue
        if moved:
            session.execute(update(Expense).where(Expense.id.in_(moved)).values(customer_id=new_id))
        session.execute(
            update(ExpenseSplit).where(ExpenseSplit.customer_id == old_id).values(customer_id=new_id)
        )
        session.execute(update(Deal).where(Deal.customer_id == old_id).values(customer_id=new_id))
        session.execute(update(Project).where(Project.customer_id == old_id).values(customer_id=new_id))
        session.execute(update(Contact).where(Contact.customer_id == old_id).values(customer_id=new_id))
        _move_aliases(session, old_id, new_id, old_name, new_name)
        session.execute(
            update(Customer)
            .where(Customer.id == old_id)
            .values(archived=True, merged_into_id=new_id, updated_at=dt.datetime.now(dt.UTC))
        )
        for expense_id in moved:
            audit.record(
                session,
                actor=actor,
                action="expense.customer_merged",
                entity="expense",
                entity_id=expense_id,
                before={"customer_id": old_id, "customer": old_name},
                after={"customer_id": new_id, "customer": new_name},
                detail=f"{source} merged {old_name} ({old_ext}) into {new_name} ({new_ext})",
            )
        if merged_into != new_id:
            count += 1
            audit.record(
                session,
                actor=actor,
                action="customer.merged",
                entity="customer",
                entity_id=old_id,
                before={"archived": False, "merged_into_id": merged_into},
                after={"archived": True, "merged_into_id": new_id, "expenses_moved": len(moved)},
                detail=f"{source} merged {old_name} ({old_ext}) into {new_name} ({new_ext})",
            )
    return count


def _move_aliases(session: Session, old_id: int, new_id: int, old_name: str, new_name: str) -> None:
    taken = {
        (alias.casefold(), scope)
        for alias, scope in session.execute(
            select(CustomerAlias.alias, CustomerAlias.scope).where(CustomerAlias.customer_id == new_id)
        )
    }
    for alias in session.scalars(select(CustomerAlias).where(CustomerAlias.customer_id == old_id)):
        if (alias.alias.casefold(), alias.scope) in taken:
            session.delete(alias)
        else:
            alias.customer_id = new_id
            taken.add((alias.alias.casefold(), alias.scope))
    if old_name.casefold() != new_name.casefold() and (old_name.casefold(), "") not in taken:
        session.add(
            CustomerAlias(
                customer_id=new_id, alias=old_name[:512], scope="", origin="crm", created_by="crm merge"
            )
        )


def upsert_contacts(
    factory: sessionmaker[Session], source: str, contacts: Iterable[RemoteContact], *, part: ObjectSync
) -> dt.datetime | None:
    """Write contacts, linked to their customer when the company is known."""
    now = dt.datetime.now(dt.UTC)
    newest: dt.datetime | None = None
    latest: dict[str, RemoteContact] = {}
    for contact in contacts:
        latest[contact.external_id] = contact
        newest = _newest(newest, contact.modified_at)
    with transaction(factory) as session:
        customer_ids = dict(
            session.execute(select(Customer.external_id, Customer.id).where(Customer.source == source)).all()
        )
        existing = {
            ext: (cid, customer_id, name, email)
            for cid, ext, customer_id, name, email in session.execute(
                select(
                    Contact.id, Contact.external_id, Contact.customer_id, Contact.name, Contact.email
                ).where(Contact.source == source)
            )
        }
        new_rows: list[dict[str, object]] = []
        changes: list[dict[str, object]] = []
        for ext, contact in latest.items():
            customer_id = (
                customer_ids.get(contact.company_external_id or "") if not contact.archived else None
            )
            row = {
                "customer_id": customer_id,
                "name": contact.name and contact.name[:512],
                "email": contact.email and contact.email[:320].lower(),
                "synced_at": now,
            }
            if ext not in existing:
                if contact.archived:
                    continue
                new_rows.append({"source": source, "external_id": ext, **row})
                continue
            cid, old_customer, old_name, old_email = existing[ext]
            if (old_customer, old_name, old_email) == (row["customer_id"], row["name"], row["email"]):
                part.unchanged += 1
                continue
            if contact.archived:
                part.archived += 1
            else:
                part.updated += 1
            changes.append({"id": cid, **row})
        for start in range(0, len(new_rows), _BATCH):
            session.execute(insert(Contact), new_rows[start : start + _BATCH])
        for start in range(0, len(changes), _BATCH):
            session.execute(update(Contact), changes[start : start + _BATCH])
        part.created += len(new_rows)
    return newest


def upsert_deals(
    factory: sessionmaker[Session], source: str, deals: Iterable[RemoteDeal], *, part: ObjectSync
) -> dt.datetime | None:
    """Write deals, linked to their customer when the company is known. A deleted deal is kept
    archived (its expenses keep their history); a closed one stays, marked closed."""
    now = dt.datetime.now(dt.UTC)
    newest: dt.datetime | None = None
    latest: dict[str, RemoteDeal] = {}
    for deal in deals:
        latest[deal.external_id] = deal
        newest = _newest(newest, deal.modified_at)
    fields = (
        "customer_id",
        "name",
        "stage",
        "is_closed",
        "amount",
        "currency",
        "close_date",
        "owner",
        "archived",
    )
    with transaction(factory) as session:
        customer_ids = dict(
            session.execute(select(Customer.external_id, Customer.id).where(Customer.source == source)).all()
        )
        existing = {
            row.external_id: row
            for row in session.execute(
                select(Deal.id, Deal.external_id, *(getattr(Deal, f) for f in fields)).where(
                    Deal.source == source
                )
            )
        }
        new_rows: list[dict[str, object]] = []
        changes: list[dict[str, object]] = []
        for ext, deal in latest.items():
            row: dict[str, object] = {
                "customer_id": customer_ids.get(deal.company_external_id or ""),
                "name": deal.name[:512],
                "stage": deal.stage and deal.stage[:128],
                "is_closed": deal.closed,
                "amount": deal.amount,
                "currency": deal.currency,
                "close_date": deal.close_date,
                "owner": deal.owner and deal.owner[:255],
                "archived": deal.archived,
            }
            old = existing.get(ext)
            if old is None:
                if deal.archived:
                    continue
                new_rows.append(
                    {
                        "source": source,
                        "external_id": ext,
                        "remote_modified_at": deal.modified_at,
                        "synced_at": now,
                        **row,
                    }
                )
                continue
            if all(getattr(old, f) == row[f] for f in fields):
                part.unchanged += 1
                continue
            if deal.archived and not old.archived:
                part.archived += 1
            else:
                part.updated += 1
            changes.append({"id": old.id, "remote_modified_at": deal.modified_at, "synced_at": now, **row})
        for start in range(0, len(new_rows), _BATCH):
            session.execute(insert(Deal), new_rows[start : start + _BATCH])
        for start in range(0, len(changes), _BATCH):
            session.execute(update(Deal), changes[start : start + _BATCH])
        part.created += len(new_rows)
    return newest


PROJECT_FIELDS = ("customer_id", "deal_id", "name", "stage", "is_closed", "due_date", "archived")


def upsert_projects(
    factory: sessionmaker[Session],
    source: str,
    projects: Iterable[RemoteProject],
    *,
    part: ObjectSync,
    full: bool = False,
) -> dt.datetime | None:
    """Write projects, linked to their customer and deal when those are known. A project deleted
    in the CRM (marked deleted, or missing from a full run's list) is kept archived: its expenses
    keep their history. A closed one stays, marked closed, and is no longer offered. Merged
    customers' projects follow them (:func:`apply_merges`)."""
    now = dt.datetime.now(dt.UTC)
    newest: dt.datetime | None = None
    latest: dict[str, RemoteProject] = {}
    for project in projects:
        latest[project.external_id] = project
        newest = _newest(newest, project.modified_at)
    with transaction(factory) as session:
        customers = {
            ext: (cid, merged_into)
            for ext, cid, merged_into in session.execute(
                select(Customer.external_id, Customer.id, Customer.merged_into_id).where(
                    Customer.source == source
                )
            )
        }
        deal_ids = dict(session.execute(select(Deal.external_id, Deal.id).where(Deal.source == source)).all())
        existing = {
            row.external_id: row
            for row in session.execute(
                select(Project.id, Project.external_id, *(getattr(Project, f) for f in PROJECT_FIELDS)).where(
                    Project.source == source
                )
            )
        }
        new_rows: list[dict[str, object]] = []
        changes: list[dict[str, object]] = []
        for ext, project in latest.items():
            customer_id, merged_into = customers.get(project.company_external_id or "", (None, None))
            row: dict[str, object] = {
                # A company merged away in the CRM: its projects belong to the survivor.
                "customer_id": merged_into or customer_id,
                "deal_id": deal_ids.get(project.deal_external_id or ""),
                "name": project.name[:512],
                "stage": project.stage and project.stage[:128],
                "is_closed": project.closed,
                "due_date": project.due_date,
                "archived": project.archived,
            }
            old = existing.get(ext)
            if old is None:
                if project.archived:
                    continue
                new_rows.append(
                    {
                        "source": source,
                        "external_id": ext,
                        "remote_modified_at": project.modified_at,
                        "synced_at": now,
                        **row,
                    }
                )
                continue
            if all(getattr(old, f) == row[f] for f in PROJECT_FIELDS):
                part.unchanged += 1
                continue
            if project.archived and not old.archived:
                part.archived += 1
            else:
                part.updated += 1
            changes.append({"id": old.id, "remote_modified_at": project.modified_at, "synced_at": now, **row})
        if full:
            for ext, old in existing.items():
                if ext not in latest and not old.archived:
                    changes.append({"id": old.id, "archived": True, "synced_at": now})
                    part.archived += 1
        for start in range(0, len(new_rows), _BATCH):
            session.execute(insert(Project), new_rows[start : start + _BATCH])
        for start in range(0, len(changes), _BATCH):
            session.execute(update(Project), changes[start : start + _BATCH])
        part.created += len(new_rows)
    return newest


def upsert_owners(
    factory: sessionmaker[Session], source: str, owners: Iterable[RemoteOwner], *, part: ObjectSync
) -> None:
    """The CRM's owners with their e-mail (deal owner id -> the Slack user of that e-mail).
    Owners no longer listed are kept, marked inactive."""
    now = dt.datetime.now(dt.UTC)
    latest = {owner.external_id: owner for owner in owners}
    with transaction(factory) as session:
        existing = {
            o.external_id: o for o in session.scalars(select(CrmOwner).where(CrmOwner.source == source))
        }
        for ext, owner in latest.items():
            email = owner.email and owner.email.strip().lower()[:320]
            row = existing.get(ext)
            if row is None:
                session.add(
                    CrmOwner(
                        source=source,
                        external_id=ext,
                        email=email or None,
                        name=owner.name and owner.name[:512],
                        active=owner.active,
                        synced_at=now,
                    )
                )
                part.created += 1
                continue
            if (row.email, row.name, row.active) == (email or None, owner.name, owner.active):
                part.unchanged += 1
            else:
                row.email, row.name, row.active = email or None, owner.name, owner.active
                part.updated += 1
            row.synced_at = now
        for ext, row in existing.items():
            if ext not in latest and row.active:
                row.active = False
                part.archived += 1


def sync_connector(
    factory: sessionmaker[Session], connector: CrmConnector, *, full: bool = False, actor: str = "system"
) -> list[ObjectSync]:
    """Companies first (contacts, deals and projects link to them), deals before projects (a
    project names its deal), each with its own cursor; then the owners (a full list each time:
    there are few)."""
    parts: list[ObjectSync] = []
    read_deals: Callable[[dt.datetime | None], Iterator[RemoteDeal]] | None = getattr(
        connector, "deals", None
    )
    read_owners: Callable[[], Iterator[RemoteOwner]] | None = getattr(connector, "owners", None)
    resolve: Resolve | None = getattr(connector, "resolve_companies", None)
    read_projects: Callable[[dt.datetime | None], Iterator[RemoteProject]] | None = (
        getattr(connector, "projects", None) if getattr(connector, "reads_projects", False) else None
    )
    for object_type in ("companies", "contacts", "deals", "projects", "owners"):
        if (
            (object_type == "deals" and read_deals is None)
            or (object_type == "owners" and read_owners is None)
            or (object_type == "projects" and read_projects is None)
        ):
            continue
        with factory() as session:
            since = (
                None if full or object_type == "owners" else _cursor(session, connector.source, object_type)
            )
        part = ObjectSync(connector.source, object_type, full=since is None)
        parts.append(part)
        newest: dt.datetime | None = None
        try:
            if object_type == "companies":
                newest = upsert_companies(
                    factory,
                    connector.source,
                    connector.companies(since),
                    full=since is None,
                    part=part,
                    resolve=resolve,
                    actor=actor,
                )
            elif object_type == "contacts":
                newest = upsert_contacts(factory, connector.source, connector.contacts(since), part=part)
            elif object_type == "deals":
                assert read_deals is not None
                newest = upsert_deals(factory, connector.source, read_deals(since), part=part)
            elif object_type == "projects":
                assert read_projects is not None
                newest = upsert_projects(
                    factory, connector.source, read_projects(since), part=part, full=since is None
                )
            else:
                assert read_owners is not None
                upsert_owners(factory, connector.source, read_owners(), part=part)
        except CrmError as exc:
            part.error = str(exc)
            _save_state(factory, connector.source, object_type, None, part.error)
            if object_type == "companies":
                break  # contacts would point at stale companies
            continue
        _save_state(factory, connector.source, object_type, _newest(since, newest), None, part.counts())
    return parts


def sync_all(
    factory: sessionmaker[Session],
    settings: CrmSettings | None = None,
    *,
    connectors: Iterable[CrmConnector] | None = None,
    full: bool = False,
    actor: str = "system",
    via: str | None = None,
) -> SyncReport:
    """Sync every configured CRM; one failing CRM does not stop the others. Audited
    (``customers.synced``: what each CRM object gave, or why it failed)."""
    report = SyncReport()
    owned = list(connectors) if connectors is not None else (settings.connectors() if settings else [])
    try:
        for connector in owned:
            report.parts.extend(sync_connector(factory, connector, full=full, actor=actor))
    finally:
        if connectors is None:
            for connector in owned:
                connector.close()
    if report.parts:
        with transaction(factory) as session:
            audit.record(
                session,
                actor=actor,
                action="customers.synced",
                entity="customers",
                entity_id="crm",
                after={"full": full, "ok": report.ok},
                detail="; ".join(report.lines())[:4000] + (f"; {via}" if via else ""),
            )
    return report


@dataclass(frozen=True)
class SyncStatus:
    """What the last syncs of one CRM did, for the admins' status line in the App Home."""

    source: str
    last_run_at: dt.datetime | None  # the latest run of any of its object types
    last_ok_at: dt.datetime | None  # the latest run without an error
    counts: dict[str, dict[str, int]]  # object type -> what its last good run did
    errors: dict[str, str]  # object type -> the error of its latest run, if that one failed
    customers: int  # customers offered (not archived)
    open_deals: int


def sync_status(session: Session) -> list[SyncStatus]:
    """Every CRM that has been synced at least once, by name."""
    states: dict[str, list[CrmSyncState]] = {}
    for state in session.scalars(
        select(CrmSyncState).order_by(CrmSyncState.source, CrmSyncState.object_type)
    ):
        states.setdefault(state.source, []).append(state)
    out = []
    for source, rows in states.items():
        runs = [r.last_run_at for r in rows if r.last_run_at]
        oks = [r.last_ok_at for r in rows if r.last_ok_at]
        customers = session.scalar(
            select(func.count())
            .select_from(Customer)
            .where(Customer.source == source, Customer.archived.is_(False))
        )
        deals = session.scalar(
            select(func.count())
            .select_from(Deal)
            .where(Deal.source == source, Deal.archived.is_(False), Deal.is_closed.is_(False))
        )
        out.append(
            SyncStatus(
                source=source,
                last_run_at=max(runs) if runs else None,
                last_ok_at=max(oks) if oks else None,
                counts={r.object_type: dict(r.last_counts) for r in rows if r.last_counts},
                errors={r.object_type: r.last_error for r in rows if r.last_error},
                customers=int(customers or 0),
                open_deals=int(deals or 0),
            )
        )
    return out
