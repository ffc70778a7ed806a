"""The company directory: who reports to whom, departments, roles and delegations.

The directory is read from CSV text (the caller reads the file or the upload)::

    email,manager_email,department,role,delegate_email,delegate_until,iban,currency
    ceo@acme.test,,Executive,admin,,,,
    ana@acme.test,ceo@acme.test,Sales,manager,bo@acme.test,2026-12-24,,EUR

``email``, ``manager_email``, ``department`` and ``role`` are required columns; the others
are optional (``currency`` is the person's reimbursement currency, by default the company's).
Emails are case-insensitive. A manager cycle is an error; a manager who is not in the directory
is kept as a warning (routing then asks an admin to fix it).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from workflows.money import is_currency


class Role(StrEnum):
    EMPLOYEE = "employee"
    MANAGER = "manager"
    FINANCE = "finance"
    ADMIN = "admin"


ROLE_NAMES = ", ".join(role.value for role in Role)

_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")

REQUIRED_COLUMNS = ("email", "manager_email", "department", "role")
OPTIONAL_COLUMNS = ("delegate_email", "delegate_until", "iban", "currency", "card_last4")


class DirectoryError(ValueError):
    """A directory that cannot be used. ``str(err)`` names the source and the line."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def is_email(text: str) -> bool:
    return bool(_EMAIL.match(text.strip()))


def normalise_iban(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def iban_problem(text: str) -> str | None:
    """Why ``text`` is not a valid IBAN (ISO 13616, mod-97 check), or None when it is."""
    iban = normalise_iban(text)
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban):
        return f"'{text}' is not an IBAN (two letters, two check digits, then 11 to 30 letters or digits)"
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    if int(digits) % 97 != 1:
        return f"'{text}' is not a valid IBAN: its check digits do not match"
    return None


@dataclass(frozen=True)
class Person:
    email: str
    manager_email: str | None
    department: str | None
    role: Role
    delegate_email: str | None = None
    delegate_until: date | None = None
    iban: str | None = None
    currency: str | None = None  # the reimbursement currency (ISO 4217); None: the company's
    card_last4: tuple[str, ...] = ()
    """The last four digits of this person's company cards (statement lines are theirs)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", normalise_email(self.email))
        if self.manager_email is not None:
            manager = normalise_email(self.manager_email)
            object.__setattr__(self, "manager_email", manager or None)
        if self.delegate_email is not None:
            delegate = normalise_email(self.delegate_email)
            object.__setattr__(self, "delegate_email", delegate or None)
        if self.department is not None:
            object.__setattr__(self, "department", self.department.strip() or None)
        if not isinstance(self.role, Role):
            object.__setattr__(self, "role", Role(self.role))

    def delegate_on(self, today: date) -> str | None:
        """The delegate acting for this person on ``today`` (inclusive of ``delegate_until``)."""
        if self.delegate_email is None:
            return None
        if self.delegate_until is not None and today > self.delegate_until:
            return None
        return self.delegate_email


class Directory:
    """An immutable, validated set of people. Build with :meth:`from_csv_text` or :meth:`from_people`."""

    def __init__(
        self, people: dict[str, Person], source: str, warnings: list[str], lines: dict[str, str] | None = None
    ) -> None:
        self._people = people
        self._lines = lines or {}
        self.source = source
        self.warnings: tuple[str, ...] = tuple(warnings)
        self._reports: dict[str, list[str]] = {}
        self._heads: dict[str, Person | None] = {}
        by_email = sorted(people.values(), key=lambda p: p.email)
        self._finance = [p for p in by_email if p.role is Role.FINANCE]
        self._admins = [p for p in by_email if p.role is Role.ADMIN]
        self._cards: dict[str, list[str]] = {}
        for person in by_email:
            for digits in person.card_last4:
                self._cards.setdefault(digits, []).append(person.email)
        for person in people.values():
            if person.manager_email is not None and person.manager_email in people:
                self._reports.setdefault(person.manager_email, []).append(person.email)

    # construction -----------------------------------------------------------------------

    @classmethod
    def empty(cls) -> Directory:
        return cls({}, "directory", [])

    @classmethod
    def from_people(cls, people: Iterable[Person], source: str = "directory") -> Directory:
        """Build from people already parsed (for example loaded from the database)."""
        rows = [(f"{source} entry {index + 1}", person) for index, person in enumerate(people)]
        return cls._build(rows, source)

    @classmethod
    def from_csv_text(cls, text: str, source: str = "directory") -> Directory:
        text = text.lstrip("\ufeff")
        reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
        header: list[str] | None = None
        rows: list[tuple[str, Person]] = []
        for raw in reader:
            line = reader.line_num
            if not raw or all(not cell.strip() for cell in raw):
                continue
            cells = [cell.strip() for cell in raw]
            if header is None:
                if cells[0].startswith("#"):
                    continue
                header = [cell.lower() for cell in cells]
                missing = [name for name in REQUIRED_COLUMNS if name not in header]
                if missing:
                    raise DirectoryError(
                        f"{source} line {line}: the header must have the columns "
                        f"{', '.join(REQUIRED_COLUMNS)} (missing {', '.join(missing)})"
                    )
                unknown = [name for name in header if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
                if unknown:
                    raise DirectoryError(
                        f"{source} line {line}: unknown column {', '.join(repr(u) for u in unknown)}; "
                        f"known columns are {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
                    )
                continue
            if cells[0].startswith("#"):
                continue
            if len(cells) > len(header):
                raise DirectoryError(
                    f"{source} line {line}: {len(cells)} values but the header has {len(header)} columns"
                )
            values = dict(zip(header, cells, strict=False))
            rows.append((f"{source} line {line}", _person_from_row(values, source, line)))
        if header is None:
            raise DirectoryError(
                f"{source}: the file is empty; expected a header {','.join(REQUIRED_COLUMNS)}"
            )
        return cls._build(rows, source)

    @classmethod
    def _build(cls, rows: list[tuple[str, Person]], source: str) -> Directory:
        people: dict[str, Person] = {}
        lines: dict[str, str] = {}
        warnings: list[str] = []
        for where, person in rows:
            if not is_email(person.email):
                raise DirectoryError(f"{where}: '{person.email}' is not an email address")
            if person.email in people:
                raise DirectoryError(
                    f"{where}: {person.email} is listed twice (first at {lines[person.email]})"
                )
            if person.manager_email == person.email:
                raise DirectoryError(f"{where}: {person.email} cannot be their own manager")
            if person.manager_email is not None and not is_email(person.manager_email):
                raise DirectoryError(f"{where}: manager '{person.manager_email}' is not an email address")
            if person.delegate_email is not None:
                if not is_email(person.delegate_email):
                    raise DirectoryError(
                        f"{where}: delegate '{person.delegate_email}' is not an email address"
                    )
                if person.delegate_email == person.email:
                    raise DirectoryError(f"{where}: {person.email} cannot delegate to themselves")
            elif person.delegate_until is not None:
                raise DirectoryError(f"{where}: delegate_until is set but delegate_email is empty")
            if person.iban is not None:
                problem = iban_problem(person.iban)
                if problem:
                    raise DirectoryError(f"{where}: {problem}")
            people[person.email] = person
            lines[person.email] = where

        for email, person in people.items():
            where = lines[email]
            if person.manager_email is not None and person.manager_email not in people:
                warnings.append(f"{where}: manager {person.manager_email} of {email} is not in the directory")
            if person.delegate_email is not None and person.delegate_email not in people:
                warnings.append(
                    f"{where}: delegate {person.delegate_email} of {email} is not in the directory"
                )

        card_owners: dict[str, list[str]] = {}
        for email, person in people.items():
            for digits in person.card_last4:
                card_owners.setdefault(digits, []).append(email)
        for digits, owners in card_owners.items():
            if len(owners) > 1:
                warnings.append(
                    f"card ending {digits} is listed for {', '.join(owners)}: its statement lines "
                    "go to no one until the directory tells them apart"
                )

        # manager cycles: walk up from each person; a walk that meets itself is a cycle
        settled: set[str] = set()
        for start in people:
            path: list[str] = []
            on_path: set[str] = set()
            current: str | None = start
            while current is not None and current in people and current not in settled:
                if current in on_path:
                    cycle = [*path[path.index(current) :], current]
                    raise DirectoryError(
                        f"{lines[current]}: manager cycle {' → '.join(cycle)}; "
                        "someone in this loop must report outside it"
                    )
                on_path.add(current)
                path.append(current)
                current = people[current].manager_email
            settled.update(path)
        return cls(people, source, warnings, lines)

    def to_csv_text(self) -> str:
        """The directory as CSV, in the format :meth:`from_csv_text` reads."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
        for p in self._people.values():
            writer.writerow(
                [
                    p.email,
                    p.manager_email or "",
                    p.department or "",
                    p.role.value,
                    p.delegate_email or "",
                    p.delegate_until.isoformat() if p.delegate_until else "",
                    p.iban or "",
                    p.currency or "",
                    ",".join(p.card_last4),
                ]
            )
        return out.getvalue()

    def tops(self) -> list[Person]:
        """The top of the organisation: people with no manager who have reports."""
        return [p for p in self._people.values() if p.manager_email is None and self.reports_of(p.email)]

    def route_problems(self) -> list[str]:
        """Everyone who can never get an approval route, or only part of one, with the line to fix:
        no manager yet not the top, a manager missing from the directory, or a manager chain that
        never reaches the top (it ends at someone whose manager is missing). Manager loops are
        refused when the directory is read."""
        problems: list[str] = []
        for email, person in self._people.items():
            where = self._lines.get(email, self.source)
            if person.manager_email is None:
                if not self.reports_of(email) and len(self._people) > 1:
                    problems.append(
                        f"{where}: {email} has no manager and no reports, so is not the top of the "
                        "organisation and cannot submit expenses; give them a manager"
                    )
                continue
            if person.manager_email not in self._people:
                problems.append(f"{where}: manager {person.manager_email} of {email} is not in the directory")
                continue
            chain = self.chain_of(email)
            end = chain[-1]
            if end.manager_email is not None and end.manager_email not in self._people:
                path = " → ".join([email, *(p.email for p in chain), end.manager_email])
                problems.append(
                    f"{where}: the manager chain of {email} ({path}) never reaches the top of the "
                    f"organisation: {end.manager_email} is not in the directory, so levels above "
                    f"{end.email} are left to the finance review"
                )
        return problems

    # queries ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._people)

    def __iter__(self) -> Iterator[Person]:
        return iter(self._people.values())

    def __contains__(self, email: object) -> bool:
        return isinstance(email, str) and normalise_email(email) in self._people

    def get(self, email: str) -> Person | None:
        return self._people.get(normalise_email(email))

    def manager_of(self, email: str) -> Person | None:
        person = self.get(email)
        if person is None or person.manager_email is None:
            return None
        return self._people.get(person.manager_email)

    def chain_of(self, email: str) -> list[Person]:
        """The managers of ``email``, nearest first, up to the top (cycles are refused on load)."""
        chain: list[Person] = []
        seen = {normalise_email(email)}
        manager = self.manager_of(email)
        while manager is not None and manager.email not in seen:
            chain.append(manager)
            seen.add(manager.email)
            manager = self.manager_of(manager.email)
        return chain

    def reports_of(self, email: str) -> list[Person]:
        """Direct reports of ``email``."""
        return [self._people[e] for e in self._reports.get(normalise_email(email), [])]

    def finance(self) -> list[Person]:
        """Everyone with the finance role, by email."""
        return list(self._finance)

    def admins(self) -> list[Person]:
        """Everyone with the admin role, by email."""
        return list(self._admins)

    def card_holder(self, last4: str | None) -> Person | None:
        """Whose company card ends in ``last4``; None when nobody's, or when several people's do."""
        holders = self._cards.get(last4 or "", [])
        return self._people[holders[0]] if len(holders) == 1 else None

    def shared_cards(self) -> dict[str, list[str]]:
        """Card endings listed for more than one person (their lines cannot be told apart)."""
        return {digits: emails for digits, emails in self._cards.items() if len(emails) > 1}

    def is_finance(self, email: str) -> bool:
        person = self.get(email)
        return person is not None and person.role is Role.FINANCE

    def is_admin(self, email: str) -> bool:
        person = self.get(email)
        return person is not None and person.role is Role.ADMIN

    def departments(self) -> list[str]:
        return sorted({p.department for p in self._people.values() if p.department is not None})

    def department_head(self, department: str) -> Person | None:
        """The top of ``department``'s chain: a member whose manager is outside the department.

        When the department has several such tops, the one with the most people of the
        department under them is the head (ties: alphabetical by email).
        """
        wanted = department.strip().casefold()
        if wanted not in self._heads:
            self._heads[wanted] = self._find_head(wanted)
        return self._heads[wanted]

    def _find_head(self, wanted: str) -> Person | None:
        members = {
            p.email
            for p in self._people.values()
            if p.department is not None and p.department.casefold() == wanted
        }
        if not members:
            return None
        tops = [
            email
            for email in members
            if self._people[email].manager_email is None or self._people[email].manager_email not in members
        ]
        under: dict[str, int] = dict.fromkeys(tops, 0)
        for email in members:
            top = email
            for manager in self.chain_of(email):
                if manager.email not in members:
                    break
                top = manager.email
            if top in under:
                under[top] += 1
        best = sorted(tops, key=lambda email: (-under[email], email))[0]
        return self._people[best]


def effective_approvers(email: str, directory: Directory, today: date) -> tuple[str, ...]:
    """Who may act for ``email`` on ``today``: the person, then their active delegate."""
    normal = normalise_email(email)
    person = directory.get(normal)
    if person is None:
        return (normal,)
    delegate = person.delegate_on(today)
    if delegate is None or delegate == person.email:
        return (person.email,)
    return (person.email, delegate)


def _delimiter(text: str) -> str:
    """``,`` normally; ``;`` or tab when the header uses them (spreadsheets in many locales)."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        for candidate in (",", ";", "\t"):
            if candidate in stripped:
                return candidate
        return ","
    return ","


def _person_from_row(values: dict[str, str], source: str, line: int) -> Person:
    email = normalise_email(values.get("email", ""))
    if not email:
        raise DirectoryError(f"{source} line {line}: the email is empty")
    role_text = values.get("role", "").strip().lower() or Role.EMPLOYEE.value
    try:
        role = Role(role_text)
    except ValueError:
        raise DirectoryError(
            f"{source} line {line}: role '{values.get('role', '').strip()}' is not one of {ROLE_NAMES}"
        ) from None
    until_text = values.get("delegate_until", "").strip()
    until: date | None = None
    if until_text:
        try:
            until = date.fromisoformat(until_text)
        except ValueError:
            raise DirectoryError(
                f"{source} line {line}: delegate_until '{until_text}' is not a date (YYYY-MM-DD)"
            ) from None
    iban_text = values.get("iban", "").strip()
    currency = values.get("currency", "").strip().upper() or None
    if currency is not None and not is_currency(currency):
        raise DirectoryError(
            f"{source} line {line}: currency '{values.get('currency', '').strip()}' is not an ISO 4217 code "
            "(the reimbursement currency, e.g. EUR; leave it empty for the company's)"
        )
    cards = tuple(part.strip() for part in re.split(r"[,;\s]+", values.get("card_last4", "")) if part.strip())
    for digits in cards:
        if not re.fullmatch(r"\d{4}", digits):
            raise DirectoryError(
                f"{source} line {line}: card_last4 '{digits}' is not the last four digits of a card "
                "(list several separated by commas)"
            )
    return Person(
        email=email,
        manager_email=normalise_email(values.get("manager_email", "")) or None,
        department=values.get("department", "").strip() or None,
        role=role,
        delegate_email=normalise_email(values.get("delegate_email", "")) or None,
        delegate_until=until,
        iban=normalise_iban(iban_text) if iban_text else None,
        currency=currency,
        card_last4=cards,
    )
