"""CAMT.053 / CAMT.054 files are checked against the official ISO 20022 XSD of their version before
anything is imported; a file that breaks it is refused naming the line and the element."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.camt_schema import shipped_versions, validate_camt
from storage.models import AuditEvent, StatementLine
from tests.transactions.test_transactions_cli import FIXTURES, env, run  # noqa: F401  (env is a fixture)
from workflows.statements import StatementError, parse_camt


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_the_official_schemas_of_two_versions_of_each_message_ship_in_the_package() -> None:
    versions = shipped_versions()
    for wanted in ("camt.053.001.02", "camt.053.001.08", "camt.054.001.02", "camt.054.001.08"):
        assert wanted in versions
    schema_dir = Path(__file__).parents[2] / "storage" / "schemas" / "iso20022"
    head = (schema_dir / "camt.053.001.08.xsd").read_text(encoding="utf-8")[:400]
    assert 'targetNamespace="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"' in head


def test_valid_files_of_both_versions_pass() -> None:
    assert validate_camt(read("company.camt053.xml")) == "camt.053.001.02"
    assert validate_camt(read("card.camt054.xml")) == "camt.054.001.08"


def test_an_unknown_version_is_read_by_element_name_without_a_schema() -> None:
    data = read("company.camt053.xml").replace(b"camt.053.001.02", b"camt.053.001.13")
    assert validate_camt(data) is None


def test_a_broken_file_names_the_line_and_the_element() -> None:
    # entry 2 loses its mandatory bank transaction code; entry 1's amount is written with a comma
    data = read("company.camt053.xml")
    text = data.decode()
    second = text.index("<AcctSvcrRef>2026110500002</AcctSvcrRef>")
    code_start = text.index("<BkTxCd>", second)
    code_end = text.index("</BkTxCd>", second) + len("</BkTxCd>")
    text = text[:code_start] + text[code_end:]
    text = text.replace(
        '<Amt Ccy="EUR">150.00</Amt>\n        <CdtDbtInd>', '<Amt Ccy="EUR">150,00</Amt>\n        <CdtDbtInd>'
    )
    lines = text.splitlines()
    amount_line = next(n for n, line in enumerate(lines, 1) if "150,00" in line)
    info_line = next(n for n, line in enumerate(lines, 1) if "<AddtlNtryInf>Customer payment" in line)
    with pytest.raises(StatementError) as err:
        validate_camt(text.encode(), "bank.xml")
    problems = err.value.problems
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"line {amount_line}, /Document/BkToCstmrStmt/Stmt/Ntry[1]/Amt: ")
    assert "'150,00'" in problems[0]
    assert problems[1].startswith(f"line {info_line}, /Document/BkToCstmrStmt/Stmt/Ntry[2]/AddtlNtryInf: ")
    assert "<BkTxCd> expected" in problems[1]
    assert "ISO 20022 schema camt.053.001.02" in str(err.value) and "nothing was stored" in str(err.value)


def test_a_truncated_file_names_the_line_and_column() -> None:
    with pytest.raises(StatementError, match=r"line \d+, column \d+: the XML is malformed or cut short"):
        validate_camt(read("card.camt054.xml")[:700])


def test_a_doctype_is_refused() -> None:
    data = read("company.camt053.xml").replace(
        b"<Document", b'<!DOCTYPE Document [<!ENTITY x "xx">]>\n<Document', 1
    )
    with pytest.raises(StatementError, match="DOCTYPE is not allowed"):
        validate_camt(data)


def test_the_cli_imports_a_valid_file_and_refuses_a_broken_one_storing_nothing(
    env: sessionmaker[Session],  # noqa: F811
    tmp_path: Path,
) -> None:
    broken = tmp_path / "card-broken.xml"
    broken.write_bytes(
        read("card.camt054.xml").replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>DEBIT</CdtDbtInd>")
    )
    result = run("transactions", "import", str(broken))
    assert result.exit_code == 2
    assert "ISO 20022 schema camt.054.001.08" in result.stderr
    assert "line 11, /Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry/CdtDbtInd:" in result.stderr
    assert "'DEBIT'" in result.stderr
    with env() as s:
        assert s.scalar(select(func.count()).select_from(StatementLine)) == 0
        assert (
            s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "statement.imported")
            )
            == 0
        )
    valid = run("transactions", "import", str(FIXTURES / "card.camt054.xml"), "--json")
    assert valid.exit_code == 0, valid.output
    with env() as s:
        assert s.scalar(select(func.count()).select_from(StatementLine)) == 1


def test_a_problem_past_line_65535_names_its_own_line() -> None:
    # libxml2 keeps a node's line in 16 bits; the element's own line is read instead
    data = read("card.camt054.xml").replace(b"<Ntry>", b"<Ntry>" + b"\n" * 70_000)
    data = data.replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>DEBIT</CdtDbtInd>")
    line = data[: data.index(b"DEBIT")].count(b"\n") + 1
    assert line > 70_000
    with pytest.raises(StatementError) as err:
        validate_camt(data)
    assert err.value.problems == [
        f"line {line}, /Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry/CdtDbtInd: "
        "the value 'DEBIT' is not an element of the set {'CRDT', 'DBIT'}"
    ]


def test_an_unexpected_element_says_what_was_expected() -> None:
    data = read("card.camt054.xml").replace(b"<Cd>BOOK</Cd></Sts>", b"<Cd>BOOK</Cd></Sts>\n<Foo>1</Foo>")
    with pytest.raises(StatementError) as err:
        validate_camt(data)
    [problem] = err.value.problems
    assert problem.startswith(
        "line 13, /Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry/Foo: unexpected element <Foo>;"
    )
    assert "<BookgDt>" in problem and "<BkTxCd> expected" in problem


def test_a_doctype_behind_a_long_comment_or_an_external_entity_is_refused_and_never_read(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = read("card.camt054.xml").split(b"\n", 1)[1].replace(b"CAFE DE FLORE PARIS", b"&x;")
    entity = f'<!DOCTYPE Document [<!ENTITY x SYSTEM "file://{secret}">]>\n'.encode()
    hidden = b'<?xml version="1.0"?>\n<!--' + b"x" * 70_000 + b"-->\n" + entity + body
    for data in (b'<?xml version="1.0"?>\n' + entity + body, hidden):
        for check in (validate_camt, parse_camt):
            with pytest.raises(StatementError, match="DOCTYPE is not allowed") as err:
                check(data)
            assert "TOP-SECRET" not in str(err.value)


def test_the_reader_refuses_a_truncated_file_by_line_and_column() -> None:
    with pytest.raises(StatementError, match=r"line \d+, column \d+: the XML is malformed or cut short"):
        parse_camt(read("card.camt054.xml")[:700])


def test_many_problems_are_listed_up_to_twenty_then_counted() -> None:
    data = read("card.camt054.xml").replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>DEBIT</CdtDbtInd>")
    start, end = data.index(b"<Ntry>"), data.index(b"</Ntry>") + len(b"</Ntry>")
    data = data[:start] + data[start:end] * 25 + data[end:]
    with pytest.raises(StatementError) as err:
        validate_camt(data)
    problems = err.value.problems
    assert len(problems) == 21 and problems[-1] == "... and 5 more schema errors"
    assert problems[0].startswith("line 11, /Document/BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry[1]/CdtDbtInd: ")
    assert "/Ntry[20]/CdtDbtInd: the value 'DEBIT'" in problems[19]
