"""CRM projects: the open projects of a customer offered on the card, the project an expense is
booked to, and projects imported from a CSV file.

An expense's project is its :class:`~storage.models.ExpenseProject` row: the free text typed in
the edit form (as before), and, when a CRM project is picked, the link to it (``project_id``;
the text then holds the project's name as picked). Reports and exports name a linked project by
its current name; the free text is the fallback.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import audit
from storage.db import transaction
from storage.models import Customer, Deal, Expense, ExpenseProject, Project, utcnow

MAX_OPTIONS = 20  # a Slack static select shows at most 100; a card stays short
NO_PROJECT = "none"
CLOSED_WORDS = frozenset({"closed", "done", "completed", "complete", "cancelled", "canceled", "finished"})
OPEN_WORDS = frozenset({"", "open", "active", "in progress", "planned", "on hold", "not started"})


@dataclass(frozen=True)
class ProjectOption:
    id: int
    name: str


class ProjectRefusalKind(StrEnum):
    UNKNOWN = "unknown"  # not a project id
    GONE = "gone"  # no longer in the CRM (archived, deleted, or without a customer)
    OTHER_CUSTOMER = "other_customer"  # a project of another customer
    CLOSED = "closed"


@dataclass(frozen=True)
class ProjectRefusal:
    """Why a project cannot be picked; the bot words it in the reader's language
    (``bot.projects.refusal_text``), :meth:`__str__` in English (logs, tests, the CLI)."""

    kind: ProjectRefusalKind
    name: str = ""  # the project's name (a closed one)

    def __str__(self) -> str:
        match self.kind:
            case ProjectRefusalKind.UNKNOWN:
                return "That is not a project I know."
            case ProjectRefusalKind.GONE:
                return "That project is not in the CRM any more."
            case ProjectRefusalKind.OTHER_CUSTOMER:
                return "That project is not one of this customer's projects."
            case ProjectRefusalKind.CLOSED:
                return f"The project {self.name} is closed: new expenses cannot go on it."


def project_options(session: Session, customer_id: int) -> list[ProjectOption]:
    """The customer's open projects (not closed, still in the CRM), by name."""
    rows = session.execute(
        select(Project.id, Project.name)
        .where(Project.customer_id == customer_id, Project.is_closed.is_(False), Project.archived.is_(False))
        .order_by(Project.name, Project.id)
        .limit(MAX_OPTIONS)
    )
    return [ProjectOption(pid, name) for pid, name in rows]


def offer_projects(session: Session, expense: Expense) -> None:
    """After the expense's customer was set: keep the customer's open projects for the card's
    picker, and drop a linked project of another customer (the free text stays)."""
    state: dict[str, Any] = dict(expense.ocr or {})
    options = project_options(session, expense.customer_id) if expense.customer_id is not None else []
    state["project_options"] = [{"id": p.id, "name": p.name} for p in options]
    expense.ocr = state
    row = session.get(ExpenseProject, expense.id) if expense.id is not None else None
    if row is None or row.project_id is None:
        return
    project = session.get(Project, row.project_id)
    if project is None or project.customer_id != expense.customer_id:
        row.project_id = None


def pick_project(session: Session, expense: Expense, value: str, actor: str) -> ProjectRefusal | None:
    """Book the expense to one of its customer's open projects ("none": no CRM project, the
    free-text project is kept). Audited as ``expense.project_picked``. Returns why when it cannot be."""
    row = session.get(ExpenseProject, expense.id)
    before = {"project_id": row.project_id if row else None, "project": row.project if row else None}
    if value == NO_PROJECT:
        if row is None or row.project_id is None:
            return None
        row.project_id = None
        audit.record(
            session,
            actor=actor,
            action="expense.project_picked",
            entity="expense",
            entity_id=expense.id,
            before=before,
            after={"project_id": None, "project": row.project},
        )
        return None
    try:
        project_id = int(value)
    except ValueError:
        return ProjectRefusal(ProjectRefusalKind.UNKNOWN)
    project = session.get(Project, project_id)
    if project is None or project.archived or project.customer_id is None:
        return ProjectRefusal(ProjectRefusalKind.GONE)
    if project.customer_id != expense.customer_id:
        return ProjectRefusal(ProjectRefusalKind.OTHER_CUSTOMER)
    if project.is_closed:
        return ProjectRefusal(ProjectRefusalKind.CLOSED, project.name)
    name = " ".join(project.name.split())[:128]
    if row is None:
        row = ExpenseProject(expense_id=expense.id, project=name, set_by=actor, project_id=project.id)
        session.add(row)
    elif row.project_id == project.id and row.project == name:
        return None
    else:
        row.project, row.project_id, row.set_by, row.set_at = name, project.id, actor, utcnow()
    audit.record(
        session,
        actor=actor,
        action="expense.project_picked",
        entity="expense",
        entity_id=expense.id,
        before=before,
        after={"project_id": project.id, "project": name},
    )
    return None


# ---------------------------------------------------------------------------- CSV import


class ProjectCsvError(ValueError):
    """The file cannot be read as a project list at all (e.g. no ``id``/``name`` header)."""


@dataclass
class ProjectImport:
    """What an import did. ``errors`` are messages for people, each naming its CSV line."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.errors)} error{'s' if len(self.errors) != 1 else ''}"
        )


def _text(path_or_text: str | Path) -> str:
    if isinstance(path_or_text, Path) or ("\n" not in path_or_text and Path(path_or_text).is_file()):
        raw = Path(path_or_text).read_bytes()
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ProjectCsvError("the file is not UTF-8 text") from None
    return path_or_text.lstrip("\ufeff")


def import_projects(
    factory: sessionmaker[Session],
    path_or_text: str | Path,
    *,
    source: str = "csv",
    customer_source: str = "csv",
    actor: str = "system",
    via: str | None = None,
) -> ProjectImport:
    """Create or update projects from a CSV file (or its text), in the current workspace.

    Header ``id,name,customer`` with optional ``deal``, ``status`` (open / closed; closed
    projects are kept but no longer offered) and ``due`` (YYYY-MM-DD). ``customer`` is the
    customer's id in the ``customer_source`` list (``csv`` for imported customers, ``hubspot``,
    ``salesforce``), ``deal`` a deal's CRM id. Rows are keyed by ``(source, id)``: importing
    again updates and never duplicates. Bad rows are reported by line and skipped. Audited
    (``projects.imported``). Raises :class:`ProjectCsvError` without a usable header.
    """
    report = ProjectImport()
    reader = csv.reader(io.StringIO(_text(path_or_text)))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ProjectCsvError("the file is empty; expected a header line 'id,name,customer'") from None
    missing = [c for c in ("id", "name", "customer") if c not in header]
    if missing:
        raise ProjectCsvError(
            f"line 1: the header must have columns 'id', 'name' and 'customer' (missing: {', '.join(missing)})"
        )
    col: dict[str, int] = {
        name: header.index(name)
        for name in ("id", "name", "customer", "deal", "status", "due")
        if name in header
    }
    now = dt.datetime.now(dt.UTC)
    with transaction(factory) as session:
        customers = dict(
            session.execute(
                select(Customer.external_id, Customer.id).where(Customer.source == customer_source)
            ).all()
        )
        deals = dict(session.execute(select(Deal.external_id, Deal.id)).all())
        existing = {
            p.external_id: p for p in session.scalars(select(Project).where(Project.source == source))
        }
        seen: set[str] = set()
        for line, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue

            def cell(name: str, cells: list[str] = cells) -> str:
                index = col.get(name)
                return cells[index].strip() if index is not None and index < len(cells) else ""

            ext, name, customer_ext = cell("id"), " ".join(cell("name").split()), cell("customer")
            if not ext or not name:
                report.errors.append(f"line {line}: a project needs an id and a name")
                continue
            if ext in seen:
                report.errors.append(f"line {line}: project id {ext} appears twice; the first row was kept")
                continue
            seen.add(ext)
            customer_id = customers.get(customer_ext)
            if customer_id is None:
                report.errors.append(
                    f"line {line}: no {customer_source} customer with id '{customer_ext}' (import the customers first)"
                )
                continue
            deal_ext = cell("deal")
            if deal_ext and deal_ext not in deals:
                report.errors.append(f"line {line}: no deal with id '{deal_ext}'")
                continue
            status = cell("status").casefold()
            if status not in CLOSED_WORDS and status not in OPEN_WORDS:
                report.errors.append(f"line {line}: status '{cell('status')}' is neither open nor closed")
                continue
            due: dt.date | None = None
            if cell("due"):
                try:
                    due = dt.date.fromisoformat(cell("due"))
                except ValueError:
                    report.errors.append(f"line {line}: due date '{cell('due')}' is not YYYY-MM-DD")
                    continue
            values: dict[str, Any] = {
                "name": name[:512],
                "stage": cell("status")[:128] or None,
                "is_closed": status in CLOSED_WORDS,
                "customer_id": customer_id,
                "deal_id": deals.get(deal_ext) if deal_ext else None,
                "due_date": due,
                "archived": False,
            }
            project = existing.get(ext)
            if project is None:
                session.add(Project(source=source, external_id=ext[:128], synced_at=now, **values))
                report.created += 1
            elif all(getattr(project, k) == v for k, v in values.items()):
                report.unchanged += 1
            else:
                for key, value in values.items():
                    setattr(project, key, value)
                project.synced_at = now
                report.updated += 1
        audit.record(
            session,
            actor=actor,
            action="projects.imported",
            entity="projects",
            entity_id=source,
            after={
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "errors": len(report.errors),
            },
            detail=via,
        )
    return report


def list_projects(session: Session, *, include_closed: bool = False) -> list[tuple[Project, str | None]]:
    """Projects of the current workspace with their customer's name, by customer and name."""
    query = (
        select(Project, Customer.name)
        .outerjoin(Customer, Customer.id == Project.customer_id)
        .where(Project.archived.is_(False))
        .order_by(Customer.name, Project.name, Project.id)
    )
    if not include_closed:
        query = query.where(Project.is_closed.is_(False))
    return [(project, customer) for project, customer in session.execute(query)]
