"""CRM customers in the database: CSV import, loading for the matcher, learned aliases, and a
process-wide cached :class:`~workflows.matching.CustomerIndex`.

Everything that reads many rows does it with plain column selects (no ORM objects, no lazy
loads) so 100,000 customers load and import in seconds.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage.db import transaction
from storage.models import Contact, Customer, CustomerAlias, Expense
from storage.tenancy import current_team
from workflows.matching import CustomerIndex, CustomerRecord

ALIAS_SEPARATOR = ";"
MAX_NAME = 512
MAX_ID = 128
MAX_DOMAIN = 255
_DOMAIN_RE = re.compile(r"^(?!-)[a-z0-9-]+(\.[a-z0-9-]+)+$")
_BATCH = 5000
# Aliases everybody's matching uses: imported and CRM ones, and every correction (corrections
# made before they were shared were kept to one team; they count for everyone now).
_SHARED = (CustomerAlias.scope == "") | (CustomerAlias.origin == "correction")
_T = TypeVar("_T")


@dataclass
class ImportReport:
    """What an import did. ``errors`` are messages for people, each naming its CSV line."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        text = (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.errors)} error{'s' if len(self.errors) != 1 else ''}"
        )
        return text


class CsvFormatError(ValueError):
    """The file cannot be read as a customer list at all (e.g. no ``id``/``name`` header)."""


@dataclass(frozen=True)
class _Row:
    line: int
    external_id: str
    name: str
    domain: str | None
    aliases: tuple[str, ...]


def _decode(path: Path) -> str:
    """UTF-8 (with or without the byte-order mark Excel writes), else Windows-1252."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(f"{path.name} is not UTF-8 or Windows-1252 text (byte {exc.start})") from None


def _read_text(path_or_text: str | Path) -> str:
    if isinstance(path_or_text, Path):
        return _decode(path_or_text)
    if "\n" not in path_or_text and len(path_or_text) < 4096:
        candidate = Path(path_or_text)
        if candidate.is_file():
            return _decode(candidate)
        if "," not in path_or_text:
            raise CsvFormatError(f"no such file: {path_or_text}")
    return path_or_text.lstrip("\ufeff")


def _parse(text: str, report: ImportReport) -> list[_Row]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFormatError("the file is empty; expected a header line 'id,name'") from None
    columns = [h.strip().lower() for h in header]
    if "id" not in columns or "name" not in columns:
        raise CsvFormatError(
            f"line 1: the header must have columns 'id' and 'name' (found: {', '.join(columns)})"
        )
    col_id, col_name = columns.index("id"), columns.index("name")
    col_aliases = columns.index("aliases") if "aliases" in columns else None
    col_domain = columns.index("domain") if "domain" in columns else None
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(columns):
            report.errors.append(
                f"line {line}: {len(values)} fields but the header has {len(columns)} "
                "(a name with a comma must be quoted)"
            )
            continue

        def cell(col: int | None, values: list[str] = values) -> str:
            return values[col].strip() if col is not None and col < len(values) else ""

        external_id, name, domain = cell(col_id), " ".join(cell(col_name).split()), cell(col_domain).lower()
        problem = None
        if not external_id:
            problem = "the id is empty"
        elif len(external_id) > MAX_ID:
            problem = f"the id is longer than {MAX_ID} characters"
        elif not name:
            problem = f"customer {external_id} has no name"
        elif len(name) > MAX_NAME:
            problem = f"the name of customer {external_id} is longer than {MAX_NAME} characters"
        elif domain and (len(domain) > MAX_DOMAIN or not _DOMAIN_RE.match(domain.removeprefix("www."))):
            problem = f"'{domain}' is not a domain name (expected e.g. acme.com)"
        elif external_id in seen:
            problem = f"id {external_id} already appears on line {seen[external_id]}"
        if problem:
            report.errors.append(f"line {line}: {problem}")
            continue
        seen[external_id] = line
        aliases: list[str] = []
        for alias in cell(col_aliases).split(ALIAS_SEPARATOR):
            alias = " ".join(alias.split())
            if alias and alias not in aliases and len(alias) <= MAX_NAME:
                aliases.append(alias)
        rows.append(_Row(line, external_id, name, domain.removeprefix("www.") or None, tuple(aliases)))
    return rows


def import_csv(
    factory: sessionmaker[Session],
    path_or_text: str | Path,
    *,
    source: str = "csv",
    actor: str = "system",
    via: str | None = None,
) -> ImportReport:
    """Create or update customers from a CSV file (or its text).

    Header ``id,name`` with optional ``aliases`` (separated by ``;``) and ``domain``. Rows are
    keyed by ``(source, id)``: importing again updates names, domains and imported aliases and
    never duplicates. Bad rows are reported by line number and skipped; the rest is imported.
    Raises :class:`CsvFormatError` when the file has no usable header.
    """
    report = ImportReport()
    rows = _parse(_read_text(path_or_text), report)
    now = dt.datetime.now(dt.UTC)
    with transaction(factory) as session:
        existing: dict[str, tuple[int, str, str | None, bool]] = {
            ext: (cid, name, domain, archived)
            for cid, ext, name, domain, archived in session.execute(
                select(
                    Customer.id, Customer.external_id, Customer.name, Customer.domain, Customer.archived
                ).where(Customer.source == source)
            )
        }
        imported_aliases: dict[int, set[str]] = {}
        if existing:
            alias_rows = session.execute(
                select(CustomerAlias.customer_id, CustomerAlias.alias)
                .join(Customer, Customer.id == CustomerAlias.customer_id)
                .where(Customer.source == source, CustomerAlias.origin == "import", CustomerAlias.scope == "")
            )
            for cid, alias in alias_rows:
                imported_aliases.setdefault(cid, set()).add(alias)

        new_rows = [r for r in rows if r.external_id not in existing]
        changes: list[dict[str, object]] = []
        alias_adds: list[dict[str, object]] = []
        alias_drops: list[tuple[int, str]] = []
        for r in rows:
            if r.external_id not in existing:
                continue
            cid, name, domain, archived = existing[r.external_id]
            old_aliases = imported_aliases.get(cid, set())
            new_aliases = set(r.aliases)
            if name == r.name and domain == r.domain and not archived and old_aliases == new_aliases:
                report.unchanged += 1
                continue
            report.updated += 1
            changes.append(
                {
                    "id": cid,
                    "name": r.name,
                    "domain": r.domain,
                    "archived": False,
                    "synced_at": now,
                    "updated_at": now,
                }
            )
            alias_adds.extend(_alias_row(cid, a, now) for a in r.aliases if a not in old_aliases)
            alias_drops.extend((cid, a) for a in old_aliases - new_aliases)

        for batch in _chunks(new_rows, _BATCH):
            session.execute(
                insert(Customer),
                [
                    {
                        "source": source,
                        "external_id": r.external_id,
                        "name": r.name,
                        "domain": r.domain,
                        "archived": False,
                        "synced_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for r in batch
                ],
            )
        report.created = len(new_rows)
        for change_batch in _chunks(changes, _BATCH):
            session.execute(update(Customer), change_batch)
        for cid, alias in alias_drops:
            session.execute(
                delete(CustomerAlias).where(
                    CustomerAlias.customer_id == cid,
                    CustomerAlias.alias == alias,
                    CustomerAlias.scope == "",
                    CustomerAlias.origin == "import",
                )
            )
        with_aliases = [r for r in new_rows if r.aliases]
        for row_batch in _chunks(with_aliases, 900):
            ids = dict(
                session.execute(
                    select(Customer.external_id, Customer.id).where(
                        Customer.source == source,
                        Customer.external_id.in_([r.external_id for r in row_batch]),
                    )
                ).all()
            )
            for r in row_batch:
                alias_adds.extend(_alias_row(ids[r.external_id], a, now) for a in r.aliases)
        if alias_adds:
            taken = _existing_aliases(session, {int(str(a["customer_id"])) for a in alias_adds})
            fresh = [a for a in alias_adds if (a["customer_id"], a["alias"]) not in taken]
            for alias_batch in _chunks(fresh, _BATCH):
                session.execute(insert(CustomerAlias), alias_batch)
        name = (
            Path(path_or_text).name
            if isinstance(path_or_text, Path) or "\n" not in str(path_or_text)
            else "text"
        )
        audit.record(
            session,
            actor=actor,
            action="customers.imported",
            entity="customers",
            entity_id=source[:64],
            after={
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "errors": len(report.errors),
            },
            detail=f"from {name}" + (f"; {via}" if via else ""),
        )
    return report


def _alias_row(customer_id: int, alias: str, now: dt.datetime) -> dict[str, object]:
    return {
        "customer_id": customer_id,
        "alias": alias,
        "scope": "",
        "origin": "import",
        "created_by": None,
        "created_at": now,
    }


def _existing_aliases(session: Session, customer_ids: set[int]) -> set[tuple[object, object]]:
    taken: set[tuple[object, object]] = set()
    ids = sorted(customer_ids)
    for id_batch in _chunks(ids, 900):
        for cid, alias in session.execute(
            select(CustomerAlias.customer_id, CustomerAlias.alias).where(
                CustomerAlias.customer_id.in_(id_batch), CustomerAlias.scope == ""
            )
        ):
            taken.add((cid, alias))
    return taken


def _chunks(items: list[_T], size: int) -> Iterable[list[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_records(session: Session) -> list[CustomerRecord]:
    """Every active customer with its shared aliases (learned ones included) and contacts, for :class:`CustomerIndex`."""
    aliases: dict[int, list[str]] = {}
    for cid, alias in session.execute(select(CustomerAlias.customer_id, CustomerAlias.alias).where(_SHARED)):
        if alias not in aliases.setdefault(cid, []):
            aliases[cid].append(alias)
    contacts: dict[int, list[tuple[str | None, str | None]]] = {}
    for owner, name, email in session.execute(
        select(Contact.customer_id, Contact.name, Contact.email).where(Contact.customer_id.is_not(None))
    ):
        if owner is not None:
            contacts.setdefault(owner, []).append((name, email))
    return [
        CustomerRecord(
            id=cid,
            name=name,
            aliases=tuple(aliases.get(cid, ())),
            domain=domain,
            contacts=tuple(contacts.get(cid, ())),
        )
        for cid, name, domain in session.execute(
            select(Customer.id, Customer.name, Customer.domain)
            .where(Customer.archived.is_(False))
            .order_by(Customer.id)
        )
    ]


def word_frequency(word: str) -> float:
    """How common ``word`` is in everyday English (Zipf scale: 0 unknown, 3 rare, 5+ everyday)."""
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))


def build_index(records: Iterable[CustomerRecord]) -> CustomerIndex:
    """The matcher's index, knowing which words of customer names are everyday words."""
    return CustomerIndex.build(records, word_frequency=word_frequency)


def external_ids(session: Session) -> dict[int, tuple[str, str]]:
    """Internal customer id -> (source, external id), for showing ids as the CRM knows them."""
    return {
        cid: (source, ext)
        for cid, source, ext in session.execute(select(Customer.id, Customer.source, Customer.external_id))
    }


def add_learned_alias(session: Session, customer_id: int, alias: str, created_by: str) -> bool:
    """Remember a correction: ``alias`` means this customer for everyone from now on.

    The alias is shared (not kept to the corrector's team) and listed by :func:`list_aliases` so
    an admin can see and remove it. The latest correction wins: the same words learned earlier
    for another customer are moved to this one. Returns whether anything changed; the caller
    writes the audit log.
    """
    alias = " ".join(alias.split())
    if not alias:
        raise ValueError("an alias cannot be empty")
    if len(alias) > MAX_NAME:
        raise ValueError(f"an alias is at most {MAX_NAME} characters")
    same_words = [
        row
        for row in session.scalars(
            select(CustomerAlias).where(
                func.lower(CustomerAlias.alias) == alias.lower(), CustomerAlias.origin == "correction"
            )
        )
    ]
    if any(row.customer_id == customer_id and row.scope == "" for row in same_words):
        return False
    for row in same_words:
        if row.customer_id != customer_id:
            session.delete(row)  # an earlier correction to another customer: the latest one wins
    session.flush()
    session.add(
        CustomerAlias(
            customer_id=customer_id, alias=alias, scope="", origin="correction", created_by=created_by
        )
    )
    session.flush()
    return True


def learned_aliases(session: Session) -> dict[str, int]:
    """Every alias learned from a correction (older team-only ones included), newest last, for
    ``CustomerIndex.match(extra_aliases=...)``: a correction counts at once, before the cached
    index is rebuilt."""
    return {
        alias: cid
        for alias, cid in session.execute(
            select(CustomerAlias.alias, CustomerAlias.customer_id)
            .where(CustomerAlias.origin == "correction")
            .order_by(CustomerAlias.id)
        )
    }


@dataclass(frozen=True)
class AliasRow:
    """One alias as an admin sees it."""

    id: int
    alias: str
    customer_id: int
    customer_name: str
    source: str
    external_id: str
    origin: str  # import | crm | correction
    created_by: str | None
    created_at: dt.datetime | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "alias": self.alias,
            "customer": {"id": self.customer_id, "name": self.customer_name, "external_id": self.external_id},
            "source": self.source,
            "origin": self.origin,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def list_aliases(
    session: Session, *, learned_only: bool = True, customer: str | None = None, alias_id: int | None = None
) -> list[AliasRow]:
    """Aliases with their customer, newest first: those learned from corrections, or all.
    ``customer`` keeps one customer's, given by its CRM id or a part of its name."""
    query = (
        select(
            CustomerAlias.id,
            CustomerAlias.alias,
            Customer.id,
            Customer.name,
            Customer.source,
            Customer.external_id,
            CustomerAlias.origin,
            CustomerAlias.created_by,
            CustomerAlias.created_at,
        )
        .join(Customer, Customer.id == CustomerAlias.customer_id)
        .order_by(CustomerAlias.id.desc())
    )
    if learned_only:
        query = query.where(CustomerAlias.origin == "correction")
    if alias_id is not None:
        query = query.where(CustomerAlias.id == alias_id)
    if customer:
        query = query.where(
            (Customer.external_id == customer) | func.lower(Customer.name).contains(customer.lower())
        )
    return [AliasRow(*row) for row in session.execute(query)]


def remove_alias(session: Session, alias_id: int) -> AliasRow | None:
    """Delete one alias; ``None`` when there is no such alias. The caller writes the audit log."""
    found = list_aliases(session, learned_only=False, alias_id=alias_id)
    if not found:
        return None
    row = found[0]
    session.execute(delete(CustomerAlias).where(CustomerAlias.id == alias_id))
    session.flush()
    return row


def recent_customers(session: Session, employee_id: str, *, days: int = 180, limit: int = 50) -> set[int]:
    """Customers on the employee's expenses of the last ``days`` (a prior for matching)."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    rows = session.execute(
        select(Expense.customer_id)
        .where(
            Expense.employee_id == employee_id,
            Expense.customer_id.is_not(None),
            Expense.created_at >= since,
        )
        .order_by(Expense.id.desc())
        .limit(limit)
    )
    return {cid for (cid,) in rows if cid is not None}


def get_customer(session: Session, customer_id: int) -> Customer | None:
    return session.get(Customer, customer_id)


def fingerprint(session: Session) -> tuple[object, ...]:
    """Changes whenever a customer, shared alias or contact is added, changed or removed."""
    customers = session.execute(select(func.count(Customer.id), func.max(Customer.updated_at))).one()
    aliases = session.execute(
        select(func.count(CustomerAlias.id), func.max(CustomerAlias.id)).where(_SHARED)
    ).one()
    contacts = session.execute(
        select(func.count(Contact.id), func.max(Contact.id), func.max(Contact.synced_at))
    ).one()
    return (*customers, *aliases, *contacts)


class CustomerDirectory:
    """A process-wide, thread-safe cache of the customer index, one per workspace.

    Each workspace (``storage.tenancy.current_team``; one in single-workspace mode) has its own
    index, built from its own customers only, so a note is never matched to another workspace's
    customer. See :class:`_TeamIndex` for when it is rebuilt.
    """

    def __init__(self, factory: sessionmaker[Session], *, check_every: float = 30.0) -> None:
        self._factory = factory
        self._check_every = check_every
        self._lock = threading.Lock()
        self._teams: dict[str | None, _TeamIndex] = {}

    def _current(self) -> _TeamIndex:
        team = current_team.get()
        with self._lock:
            found = self._teams.get(team)
            if found is None:
                found = self._teams[team] = _TeamIndex(self._factory, check_every=self._check_every)
            return found

    def index(self) -> CustomerIndex:
        """The current workspace's index (built in its scope, so it holds only its customers)."""
        return self._current().index()

    def invalidate(self) -> None:
        """Rebuild every workspace's index on next use (after an import, a sync or a correction)."""
        with self._lock:
            teams = list(self._teams.values())
        for one in teams:
            one.invalidate()


class _TeamIndex:
    """The cached customer index of one workspace.

    The index is rebuilt when the customer set changed: a cheap fingerprint (counts and latest
    change) is compared at most every ``check_every`` seconds, or at once after
    :meth:`invalidate`. While one thread rebuilds, others keep using the previous index.
    """

    def __init__(self, factory: sessionmaker[Session], *, check_every: float = 30.0) -> None:
        self._factory = factory
        self._check_every = check_every
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._index: CustomerIndex | None = None
        self._fingerprint: tuple[object, ...] | None = None
        self._checked_at = 0.0
        self._stale = True

    def index(self) -> CustomerIndex:
        with self._lock:
            current = self._index
            due = self._stale or time.monotonic() - self._checked_at >= self._check_every
        if current is not None and not due:
            return current
        if current is not None:
            if not self._build_lock.acquire(blocking=False):
                return current  # another thread is refreshing; the previous index is still good
        else:
            self._build_lock.acquire()
        try:
            return self._refresh()
        finally:
            self._build_lock.release()

    def _refresh(self) -> CustomerIndex:
        with self._lock:
            fresh = time.monotonic() - self._checked_at < self._check_every
            if self._index is not None and not self._stale and fresh:
                return self._index  # refreshed by another thread while this one waited
            forced = self._stale
            self._stale = False
        session = self._factory()
        try:
            mark = fingerprint(session)
            if not forced and self._index is not None and mark == self._fingerprint:
                with self._lock:
                    self._checked_at = time.monotonic()
                return self._index
            records = load_records(session)
        finally:
            session.close()
        built = build_index(records)
        with self._lock:
            self._index = built
            self._fingerprint = mark
            self._checked_at = time.monotonic()
        return built

    def invalidate(self) -> None:
        with self._lock:
            self._stale = True
