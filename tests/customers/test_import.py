"""CSV import, loading for the matcher, learned aliases and the cached directory."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.customers import (
    CsvFormatError,
    CustomerDirectory,
    add_learned_alias,
    external_ids,
    get_customer,
    import_csv,
    learned_aliases,
    list_aliases,
    load_records,
    remove_alias,
)
from storage.db import transaction
from storage.models import Contact, Customer, CustomerAlias

FIRST = """id,name,aliases,domain
C1,JPMORGAN CHASE & CO,JPM;Chase,jpmorganchase.com
C2,EXXON MOBIL CORP,,exxonmobil.com
C3,"Procter & Gamble Co, The",P&G,
"""


def count(factory: sessionmaker[Session], model: type[Customer] | type[CustomerAlias]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_creates_customers_with_aliases(factory: sessionmaker[Session]) -> None:
    report = import_csv(factory, FIRST)
    assert (report.created, report.updated, report.unchanged, report.errors) == (3, 0, 0, [])
    with factory() as session:
        records = {r.name: r for r in load_records(session)}
        ids = external_ids(session)
    jpm = records["JPMORGAN CHASE & CO"]
    assert set(jpm.aliases) == {"JPM", "Chase"}
    assert jpm.domain == "jpmorganchase.com"
    assert records["Procter & Gamble Co, The"].aliases == ("P&G",)
    assert ids[jpm.id] == ("csv", "C1")


def test_reimport_updates_and_never_duplicates(factory: sessionmaker[Session], tmp_path: Path) -> None:
    import_csv(factory, FIRST)
    second = tmp_path / "customers.csv"
    second.write_text(
        "id,name,aliases,domain\n"
        "C1,JPMorgan Chase & Co.,JPM,jpmorganchase.com\n"  # renamed, alias Chase dropped
        "C2,EXXON MOBIL CORP,,exxonmobil.com\n"  # unchanged
        '"C3","Procter & Gamble Co, The",P&G;PG,\n'  # alias added
        "C4,Coinbase Global Inc,,coinbase.com\n",  # new
        encoding="utf-8",
    )
    report = import_csv(factory, second)
    assert (report.created, report.updated, report.unchanged, report.errors) == (1, 2, 1, [])
    again = import_csv(factory, str(second))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert count(factory, Customer) == 4
    with factory() as session:
        records = {r.id: r for r in load_records(session)}
        by_ext = {ext: cid for cid, (_src, ext) in external_ids(session).items()}
    assert records[by_ext["C1"]].name == "JPMorgan Chase & Co."
    assert records[by_ext["C1"]].aliases == ("JPM",)
    assert set(records[by_ext["C3"]].aliases) == {"P&G", "PG"}


def test_same_ids_from_another_source_are_other_customers(factory: sessionmaker[Session]) -> None:
    import_csv(factory, FIRST)
    report = import_csv(factory, FIRST, source="hubspot")
    assert report.created == 3
    assert count(factory, Customer) == 6


@pytest.mark.parametrize(
    ("csv_text", "message", "created"),
    [
        ("id,name\n,Nameless Corp\nC1,Acme\n", "line 2: the id is empty", 1),
        ("id,name\nC9,\n", "line 2: customer C9 has no name", 0),
        ("id,name\nC9,Acme,Extra\n", "line 2: 3 fields but the header has 2", 0),
        ("id,name,domain\nC9,Acme,not a domain\n", "line 2: 'not a domain' is not a domain name", 0),
        ("id,name\nC9,Acme\n\nC9,Acme Again\n", "line 4: id C9 already appears on line 2", 1),
        (
            "id,name\nC9,Acme\nC10," + "x" * 600 + "\n",
            "line 3: the name of customer C10 is longer than 512",
            1,
        ),
    ],
)
def test_bad_rows_are_reported_by_line(
    factory: sessionmaker[Session], csv_text: str, message: str, created: int
) -> None:
    report = import_csv(factory, csv_text)
    assert len(report.errors) == 1
    assert report.errors[0].startswith(message), report.errors
    assert report.created == created


def test_unusable_files(factory: sessionmaker[Session], tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CsvFormatError, match="the file is empty"):
        import_csv(factory, empty)
    with pytest.raises(CsvFormatError, match="line 1: the header must have columns 'id' and 'name'"):
        import_csv(factory, "name,domain\nAcme,acme.com\n")
    with pytest.raises(CsvFormatError, match="no such file"):
        import_csv(factory, str(tmp_path / "missing.csv"))
    assert count(factory, Customer) == 0


def test_header_is_case_insensitive_and_bom_tolerant(factory: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffID, Name ,Aliases\r\nA1,Nestlé S.A.,Nestle\r\n".encode())
    report = import_csv(factory, path)
    assert report.created == 1 and not report.errors
    with factory() as session:
        (record,) = load_records(session)
    assert (record.name, record.aliases) == ("Nestlé S.A.", ("Nestle",))


def test_windows_1252_files_are_read(factory: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes("id,name\r\nA1,Société Générale SA\r\n".encode("cp1252"))
    assert import_csv(factory, path).created == 1
    with factory() as session:
        (record,) = load_records(session)
    assert record.name == "Société Générale SA"
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"id,name\n1,\x81\x8d\x8f\x90\x9d\n")
    with pytest.raises(CsvFormatError, match="not UTF-8 or Windows-1252"):
        import_csv(factory, binary)


def test_a_learned_alias_is_shared_listed_moved_and_removed(factory: sessionmaker[Session]) -> None:
    import_csv(factory, FIRST)
    with factory() as session:
        by_ext = {ext: cid for cid, (_src, ext) in external_ids(session).items()}
    with transaction(factory) as session:
        assert add_learned_alias(session, by_ext["C2"], "the oil guys", "U123")
        assert not add_learned_alias(session, by_ext["C2"], "The  oil guys", "U456")  # remembered once
    with factory() as session:
        assert learned_aliases(session) == {"the oil guys": by_ext["C2"]}
        # A correction is shared with everybody: it is one of the customer's aliases now.
        records = {r.id: r for r in load_records(session)}
        assert "the oil guys" in records[by_ext["C2"]].aliases
        customer = get_customer(session, by_ext["C2"])
        assert customer is not None and customer.name == "EXXON MOBIL CORP"
        assert get_customer(session, 10_000) is None
        rows = list_aliases(session)
    assert [(r.alias, r.customer_name, r.origin, r.created_by) for r in rows] == [
        ("the oil guys", "EXXON MOBIL CORP", "correction", "U123")
    ]
    # The latest correction wins: the same words taught for another customer move there.
    with transaction(factory) as session:
        assert add_learned_alias(session, by_ext["C1"], "the oil guys", "U789")
    with factory() as session:
        assert learned_aliases(session) == {"the oil guys": by_ext["C1"]}
        assert [r.customer_name for r in list_aliases(session)] == ["JPMORGAN CHASE & CO"]
        assert {r.alias for r in list_aliases(session, learned_only=False, customer="C1")} == {
            "JPM",
            "Chase",
            "the oil guys",
        }
    with transaction(factory) as session:
        moved = list_aliases(session)[0]
        removed = remove_alias(session, moved.id)
        assert removed is not None and removed.alias == "the oil guys"
        assert remove_alias(session, 99_999) is None
    with factory() as session:
        assert learned_aliases(session) == {}
    with transaction(factory) as session, pytest.raises(ValueError, match="empty"):
        add_learned_alias(session, by_ext["C2"], "  ", "U1")


def test_team_corrections_learned_before_sharing_count_for_everyone(factory: sessionmaker[Session]) -> None:
    import_csv(factory, FIRST)
    with transaction(factory) as session:
        cid = session.scalar(select(Customer.id).where(Customer.external_id == "C2"))
        assert cid is not None
        session.add(CustomerAlias(customer_id=cid, alias="the oil guys", scope="sales", origin="correction"))
    with factory() as session:
        records = {r.id: r for r in load_records(session)}
        assert "the oil guys" in records[cid].aliases
        assert learned_aliases(session) == {"the oil guys": cid}


def test_contacts_are_loaded_with_their_customer(factory: sessionmaker[Session]) -> None:
    import_csv(factory, FIRST)
    with transaction(factory) as session:
        cid = session.scalar(select(Customer.id).where(Customer.external_id == "C2"))
        session.add(
            Contact(customer_id=cid, source="hubspot", external_id="7", name="Dana Wu", email="dana@xom.com")
        )
        session.add(Contact(customer_id=None, source="hubspot", external_id="8", name="Nobody", email=None))
    with factory() as session:
        records = {r.id: r for r in load_records(session)}
    assert records[cid].contacts == (("Dana Wu", "dana@xom.com"),)  # type: ignore[index]


def test_archived_customers_are_not_matched(factory: sessionmaker[Session]) -> None:
    import_csv(factory, FIRST)
    with transaction(factory) as session:
        session.execute(update(Customer).where(Customer.external_id == "C2").values(archived=True))
    with factory() as session:
        assert {r.name for r in load_records(session)} == {"JPMORGAN CHASE & CO", "Procter & Gamble Co, The"}
    report = import_csv(factory, FIRST)  # back in the list: active again
    assert report.updated == 1
    with factory() as session:
        assert len(load_records(session)) == 3


def test_directory_rebuilds_when_customers_change(factory: sessionmaker[Session]) -> None:
    import_csv(factory, FIRST)
    directory = CustomerDirectory(factory, check_every=3600)
    first = directory.index()
    assert len(first) == 3
    assert directory.index() is first  # cached
    import_csv(factory, "id,name\nC4,Coinbase Global Inc\n")
    assert directory.index() is first  # not checked again yet
    directory.invalidate()
    second = directory.index()
    assert len(second) == 4
    assert second.match("coinbase").customer is not None
    directory.invalidate()
    assert directory.index() is not second  # invalidate always rebuilds


def test_directory_notices_changes_after_the_check_interval(factory: sessionmaker[Session]) -> None:
    import_csv(factory, FIRST)
    directory = CustomerDirectory(factory, check_every=0)
    first = directory.index()
    assert directory.index() is first  # fingerprint unchanged: no rebuild
    with transaction(factory) as session:
        add_learned_alias(session, first.match("exxon").customer.id, "XOM", "U1")  # type: ignore[union-attr]
    assert directory.index() is not first


def test_directory_is_thread_safe(factory: sessionmaker[Session]) -> None:
    import_csv(factory, FIRST)
    directory = CustomerDirectory(factory, check_every=0)
    sizes: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                sizes.append(len(directory.index()))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert set(sizes) == {3}
