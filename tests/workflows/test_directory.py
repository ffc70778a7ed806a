from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.directory import (
    Directory,
    DirectoryError,
    Person,
    Role,
    effective_approvers,
    iban_problem,
)

ORG = """\
email,manager_email,department,role,delegate_email,delegate_until,iban
CEO@Acme.test,,Executive,admin,,,
cfo@acme.test,ceo@acme.test,Finance,finance,,,
fin@acme.test,cfo@acme.test,Finance,finance,,,
vp.sales@acme.test,ceo@acme.test,Sales,manager,,,
lead@acme.test,vp.sales@acme.test,Sales,manager,deputy@acme.test,2026-12-24,
deputy@acme.test,lead@acme.test,Sales,employee,,,
ana@acme.test,Lead@acme.test,Sales,employee,,,GB82 WEST 1234 5698 7654 32
"""


@pytest.fixture
def org() -> Directory:
    return Directory.from_csv_text(ORG, source="org.csv")


def test_parses_people_and_lowercases_emails(org: Directory) -> None:
    assert len(org) == 7
    ana = org.get("ANA@acme.test")
    assert ana == Person(
        email="ana@acme.test",
        manager_email="lead@acme.test",
        department="Sales",
        role=Role.EMPLOYEE,
        iban="GB82WEST12345698765432",
    )
    assert org.get("ceo@acme.test") is not None
    assert "Ceo@ACME.test" in org
    assert org.get("nobody@acme.test") is None
    assert org.warnings == ()


def test_chain_manager_and_roles(org: Directory) -> None:
    assert [p.email for p in org.chain_of("ana@acme.test")] == [
        "lead@acme.test",
        "vp.sales@acme.test",
        "ceo@acme.test",
    ]
    assert org.manager_of("ana@acme.test") == org.get("lead@acme.test")
    assert org.manager_of("ceo@acme.test") is None
    assert org.chain_of("ceo@acme.test") == []
    assert [p.email for p in org.finance()] == ["cfo@acme.test", "fin@acme.test"]
    assert [p.email for p in org.admins()] == ["ceo@acme.test"]
    assert org.is_finance("FIN@acme.test") and not org.is_finance("ana@acme.test")
    assert org.is_admin("ceo@acme.test") and not org.is_admin("cfo@acme.test")
    assert [p.email for p in org.reports_of("lead@acme.test")] == ["deputy@acme.test", "ana@acme.test"]


@pytest.mark.parametrize(
    ("department", "head"),
    [
        ("Sales", "vp.sales@acme.test"),
        ("sales", "vp.sales@acme.test"),
        ("Finance", "cfo@acme.test"),
        ("Executive", "ceo@acme.test"),
        ("Legal", None),
    ],
)
def test_department_head(org: Directory, department: str, head: str | None) -> None:
    found = org.department_head(department)
    assert (found.email if found else None) == head


def test_department_head_with_two_tops_picks_the_larger_subtree() -> None:
    text = """email,manager_email,department,role
ceo@x.test,,Exec,admin
a@x.test,ceo@x.test,Ops,manager
b@x.test,ceo@x.test,Ops,manager
b1@x.test,b@x.test,Ops,employee
b2@x.test,b@x.test,Ops,employee
"""
    head = Directory.from_csv_text(text).department_head("Ops")
    assert head is not None and head.email == "b@x.test"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "email,manager_email,department,role\na@x.test,,Ops,employee\nb@x.test,a@x.test,Ops,boss\n",
            "org.csv line 3: role 'boss' is not one of employee, manager, finance, admin",
        ),
        ("email,department,role\n", "org.csv line 1: the header must have the columns"),
        ("", "org.csv: the file is empty"),
        (
            "email,manager_email,department,role\nnot-an-email,,Ops,employee\n",
            "org.csv line 2: 'not-an-email' is not an email address",
        ),
        (
            "email,manager_email,department,role\na@x.test,,Ops,employee\nA@x.test,,Ops,employee\n",
            "org.csv line 3: a@x.test is listed twice (first at org.csv line 2)",
        ),
        (
            "email,manager_email,department,role\na@x.test,a@x.test,Ops,employee\n",
            "org.csv line 2: a@x.test cannot be their own manager",
        ),
        (
            "email,manager_email,department,role\n"
            "a@x.test,c@x.test,Ops,employee\nb@x.test,a@x.test,Ops,employee\nc@x.test,b@x.test,Ops,employee\n",
            "manager cycle",
        ),
        (
            "email,manager_email,department,role,delegate_until\na@x.test,,Ops,employee,2026-01-01\n",
            "org.csv line 2: delegate_until is set but delegate_email is empty",
        ),
        (
            "email,manager_email,department,role,delegate_email,delegate_until\n"
            "a@x.test,,Ops,employee,b@x.test,next week\n",
            "org.csv line 2: delegate_until 'next week' is not a date (YYYY-MM-DD)",
        ),
        (
            "email,manager_email,department,role,iban\na@x.test,,Ops,employee,GB00WEST12345698765432\n",
            "org.csv line 2: 'GB00WEST12345698765432' is not a valid IBAN",
        ),
        (
            "email,manager_email,department,role,phone\n",
            "org.csv line 1: unknown column 'phone'",
        ),
        (
            "email,manager_email,department,role\na@x.test,,Ops,employee,extra\n",
            "org.csv line 2: 5 values but the header has 4 columns",
        ),
    ],
)
def test_errors_name_the_source_and_line(text: str, message: str) -> None:
    with pytest.raises(DirectoryError) as err:
        Directory.from_csv_text(text, source="org.csv")
    assert message in str(err.value)


def test_cycle_message_shows_the_loop() -> None:
    text = "email,manager_email,department,role\na@x.test,b@x.test,Ops,employee\nb@x.test,a@x.test,Ops,employee\n"
    with pytest.raises(DirectoryError, match=r"manager cycle a@x.test → b@x.test → a@x.test"):
        Directory.from_csv_text(text, source="org.csv")


def test_unknown_manager_is_a_warning_not_an_error() -> None:
    text = "email,manager_email,department,role\na@x.test,ghost@x.test,Ops,employee\n"
    directory = Directory.from_csv_text(text, source="org.csv")
    assert directory.warnings == ("org.csv line 2: manager ghost@x.test of a@x.test is not in the directory",)
    assert directory.manager_of("a@x.test") is None
    assert directory.chain_of("a@x.test") == []


def test_blank_role_means_employee_and_comments_are_skipped() -> None:
    text = "# exported from HR\nemail,manager_email,department,role\n\na@x.test,,,\n# b@x.test,,,\n"
    directory = Directory.from_csv_text(text)
    person = directory.get("a@x.test")
    assert person is not None and person.role is Role.EMPLOYEE and person.department is None
    assert len(directory) == 1


def test_empty_directory() -> None:
    empty = Directory.empty()
    assert len(empty) == 0
    assert empty.get("a@x.test") is None
    assert empty.finance() == [] and empty.admins() == []
    assert empty.department_head("Sales") is None


def test_from_people_validates_too() -> None:
    people = [
        Person("a@x.test", "b@x.test", "Ops", Role.EMPLOYEE),
        Person("b@x.test", "a@x.test", "Ops", Role.MANAGER),
    ]
    with pytest.raises(DirectoryError, match="hr entry 1: manager cycle"):
        Directory.from_people(people, source="hr")


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 12, 1), ("lead@acme.test", "deputy@acme.test")),
        (date(2026, 12, 24), ("lead@acme.test", "deputy@acme.test")),
        (date(2026, 12, 25), ("lead@acme.test",)),
    ],
)
def test_delegation_lasts_until_the_end_date_inclusive(
    org: Directory, today: date, expected: tuple[str, ...]
) -> None:
    assert effective_approvers("Lead@acme.test", org, today) == expected


def test_delegation_without_end_date_and_for_unknown_people(org: Directory) -> None:
    directory = Directory.from_people([Person("a@x.test", None, None, Role.ADMIN, delegate_email="b@x.test")])
    assert effective_approvers("a@x.test", directory, date(2030, 1, 1)) == ("a@x.test", "b@x.test")
    assert directory.warnings == ("directory entry 1: delegate b@x.test of a@x.test is not in the directory",)
    assert effective_approvers("ghost@x.test", org, date(2026, 1, 1)) == ("ghost@x.test",)


@pytest.mark.parametrize(
    ("iban", "ok"),
    [
        ("GB82 WEST 1234 5698 7654 32", True),
        ("DE89370400440532013000", True),
        ("de89 3704 0044 0532 0130 00", True),
        ("DE89370400440532013001", False),
        ("1234", False),
    ],
)
def test_iban_check(iban: str, ok: bool) -> None:
    assert (iban_problem(iban) is None) is ok


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_spreadsheet_exports_with_other_delimiters(delimiter: str) -> None:
    text = ORG.replace(",", delimiter)
    directory = Directory.from_csv_text(text, source="org.csv")
    assert len(directory) == 7
    ana = directory.get("ana@acme.test")
    assert ana is not None and ana.manager_email == "lead@acme.test"


@st.composite
def people(draw: st.DrawFn) -> list[Person]:
    size = draw(st.integers(min_value=1, max_value=15))
    result = []
    for index in range(size):
        manager = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=index - 1))) if index else None
        delegate = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=size - 1)))
        if delegate == index:
            delegate = None
        result.append(
            Person(
                email=f"P{index}@Example.test",
                manager_email=f"p{manager}@example.test" if manager is not None else None,
                department=draw(st.sampled_from([None, "Sales", "R&D, Labs", 'Ops "East"'])),
                role=draw(st.sampled_from(list(Role))),
                delegate_email=f"p{delegate}@example.test" if delegate is not None else None,
                delegate_until=draw(st.one_of(st.none(), st.dates())) if delegate is not None else None,
            )
        )
    return result


@given(people())
def test_csv_round_trip(generated: list[Person]) -> None:
    directory = Directory.from_people(generated)
    again = Directory.from_csv_text(directory.to_csv_text())
    assert list(again) == list(directory)
    for person in directory:
        assert [p.email for p in again.chain_of(person.email)] == [
            p.email for p in directory.chain_of(person.email)
        ]


@given(people())
def test_department_head_is_a_member_at_the_top_of_the_department(generated: list[Person]) -> None:
    directory = Directory.from_people(generated)
    for department in directory.departments():
        head = directory.department_head(department)
        assert head is not None and head.department == department
        manager = directory.manager_of(head.email)
        assert manager is None or manager.department != department
        assert directory.department_head(department.upper()) == head
