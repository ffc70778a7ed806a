"""CAMT.053 / CAMT.054 files checked against the official ISO 20022 XML Schema before import.

The schemas shipped in ``storage/schemas/iso20022/`` (camt.053.001.02/.04/.08 and
camt.054.001.02/.04/.08) are picked by the file's namespace
(``urn:iso:std:iso:20022:tech:xsd:camt.053.001.02`` → ``camt.053.001.02.xsd``) and applied with
libxml2's XML Schema validator through `lxml <https://pypi.org/project/lxml/>`_ (a 30,000-entry
statement is checked in well under a second). A file that breaks its schema is refused whole
(:class:`~workflows.statements.StatementError`, nothing stored), each problem naming the line, the
element's path and what is wrong, e.g.
``line 37, /Document/BkToCstmrStmt/Stmt/Ntry[2]/AddtlNtryInf: unexpected element <AddtlNtryInf>;
<BkTxCd> expected``. The messages are libxml2's, read from its error log (line and node of each
problem) and written without namespaces.

A CAMT version whose schema is not shipped (or a document without a namespace) is not
schema-checked: it is read by element name as before (:func:`workflows.statements.parse_camt`),
whose own checks still refuse a line it cannot read. Statements come from outside, so the parser
is hardened: a document with a DOCTYPE is refused, entities are never expanded, no DTD is loaded
and nothing is fetched from the network (the schemas themselves are read the same way).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, cast

from lxml import etree

from workflows.statements import StatementError

SCHEMA_DIR = Path(__file__).parent / "schemas" / "iso20022"
_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(camt\.05[34]\.001\.\d\d)$")
MAX_SCHEMA_PROBLEMS = 20
_DOCTYPE = "line 1: a DOCTYPE is not allowed in a CAMT file"


def _parser() -> etree.XMLParser:
    """A parser for files from outside: no entity expansion, no DTD, no network, no huge nodes."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


class _LogEntry(Protocol):
    """What is read of an entry of libxml2's error log (lxml's ``_LogEntry``)."""

    line: int
    path: str | None
    message: str | None
    level: int


def shipped_versions() -> list[str]:
    """The message versions with a schema in the package, e.g. ``camt.053.001.02``."""
    return sorted(p.name.removesuffix(".xsd") for p in SCHEMA_DIR.glob("camt.*.xsd"))


class _Schema:
    """A compiled schema and the lock its validations take (one libxml2 context per schema)."""

    def __init__(self, path: Path) -> None:
        self.schema = etree.XMLSchema(etree.parse(str(path), _parser()))
        self.lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def schema_for(version: str) -> _Schema | None:
    """The compiled schema of ``version`` (``camt.053.001.08``), or None when it is not shipped."""
    path = SCHEMA_DIR / f"{version}.xsd"
    if not path.is_file():
        return None
    return _Schema(path)


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _plain(text: str) -> str:
    """A libxml2 message without namespaces: ``'{urn:...}BkTxCd'`` or ``{urn:...}BkTxCd`` → ``<BkTxCd>``."""
    text = re.sub(r"'\{[^}]*\}([\w.-]+)'", r"<\1>", text)
    text = re.sub(r"\{[^}']*\}([A-Za-z_][\w.-]*)", r"<\1>", text)
    return text.strip().rstrip(".")


def _expected(names: str) -> str:
    """``( <A>, <B> )`` → ``<A> or <B>``."""
    parts = [p.strip() for p in names.strip().strip("()").split(",") if p.strip()]
    return " or ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else "".join(parts)


def _reason(message: str) -> str:
    """libxml2's schema message, said plainly (the element is named by the path beside it)."""
    text = re.sub(
        r"^Element '[^']*'(, attribute '([^']*)')?: ",
        lambda m: f"attribute '{m.group(2)}': " if m.group(2) else "",
        message,
    )
    text = _plain(text)
    unexpected = re.match(r"(.*?)This element is not expected\.(?: Expected is(?: one of)? (\(.*\)))?$", text)
    if unexpected:
        element = re.match(r"^Element '([^']*)'", message)
        name = f"<{_local(element.group(1))}>" if element else "this element"
        wanted = f"; {_expected(unexpected.group(2))} expected" if unexpected.group(2) else ""
        return f"{unexpected.group(1)}unexpected element {name}{wanted}"
    missing = re.match(r"Missing child element\(s\)\. Expected is(?: one of)? (\(.*\))$", text)
    if missing:
        return f"a child element is missing; {_expected(missing.group(1))} expected"
    text = re.sub(r"^\[facet '\w+'\] ", "", text)  # "the value 'X' is not accepted by the pattern ..."
    return text[:1].lower() + text[1:] if text else "does not follow the schema"


def _path(elem: etree._Element) -> str:
    """``/Document/BkToCstmrStmt/Stmt/Ntry[2]/Amt``: an index where siblings share the name."""
    parts = []
    node: etree._Element | None = elem
    while node is not None:
        parent = node.getparent()
        name = _local(node.tag)
        if parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def _describe(doc: etree._Element, entry: _LogEntry) -> tuple[str, str]:
    """(where, what) of one schema error: its line and element path, and the reason."""
    line: int | None = entry.line or None
    path = ""
    value = ""
    found = doc.getroottree().xpath(entry.path) if entry.path else []
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        elem = found[0]
        sourceline: int | None = getattr(elem, "sourceline", None)  # not capped at 65535 like the log
        line = sourceline or line
        path = _path(elem)
        if len(elem) == 0:
            value = (elem.text or "").strip()
    reason = _reason(entry.message or "")
    if value and f"'{value}'" not in reason and len(value) <= 60:
        reason += f" (the value is '{value}')"
    where = f"line {line}" if line is not None else "line ?"
    return (f"{where}, {path}" if path else where), reason


def _syntax(message: str) -> str:
    """libxml2's syntax message without the position it repeats: ``..., line 17, column 15``."""
    return re.sub(r"(, line \d+)?, line \d+, column \d+$", "", message).strip()


def parse_camt_tree(data: bytes, source: str = "statement") -> etree._Element:
    """Parse ``data`` with the hardened parser; refuse a DOCTYPE and malformed XML by line and column."""
    if re.search(rb"<!DOCTYPE", data[:65536], re.I):
        raise StatementError([_DOCTYPE], source)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, 0)
        raise StatementError(
            [f"line {line}, column {column}: the XML is malformed or cut short ({_syntax(exc.msg)})"], source
        ) from None
    if root is None:
        raise StatementError(["line 1: the file holds no XML element"], source)
    if getattr(root.getroottree().docinfo, "doctype", ""):
        raise StatementError([_DOCTYPE], source)
    return root


def validate_camt(data: bytes, source: str = "statement") -> str | None:
    """Check a CAMT file against the ISO 20022 schema of its namespace.

    Returns the message version checked (``camt.053.001.02``), or None when no shipped schema
    applies. Raises :class:`StatementError` naming each problem's line and element (at most
    :data:`MAX_SCHEMA_PROBLEMS`, and how many more) when the file breaks the schema or is not XML.
    """
    root = parse_camt_tree(data, source)
    tag = str(root.tag)
    namespace = tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
    match = _NAMESPACE.match(namespace)
    if match is None:
        return None
    version = match.group(1)
    compiled = schema_for(version)
    if compiled is None:
        return None
    with compiled.lock:
        if compiled.schema.validate(root):
            return version
        log = cast(Iterable[_LogEntry], compiled.schema.error_log)
        errors = [e for e in log if e.level >= etree.ErrorLevels.ERROR]
    problems: list[str] = []
    seen: set[str] = set()
    more = 0
    for entry in errors:
        key = entry.path or f"line {entry.line}"
        if key in seen:  # libxml2 reports a facet and then the type for one value: keep the first
            continue
        seen.add(key)
        if len(problems) < MAX_SCHEMA_PROBLEMS:
            where, reason = _describe(root, entry)
            problems.append(f"{where}: {reason}")
        else:
            more += 1
    if not problems:
        problems.append("line ?: the file does not follow the schema")
    if more:
        problems.append(f"... and {more} more schema errors")
    raise StatementError(problems, f"{source} (checked against the ISO 20022 schema {version})")
