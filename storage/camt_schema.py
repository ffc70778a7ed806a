"""CAMT.053 / CAMT.054 files checked against the official ISO 20022 XML Schema before import.

The schemas shipped in ``storage/schemas/iso20022/`` (camt.053.001.02/.04/.08 and
camt.054.001.02/.04/.08) are picked by the file's namespace
(``urn:iso:std:iso:20022:tech:xsd:camt.053.001.02`` → ``camt.053.001.02.xsd``) and applied with
`xmlschema <https://pypi.org/project/xmlschema/>`_. A file that breaks its schema is refused whole
(:class:`~workflows.statements.StatementError`, nothing stored), each problem naming the line, the
element's path and what is wrong, e.g.
``line 37, /Document/BkToCstmrStmt/Stmt/Ntry[2]: unexpected child <AddtlNtryInf>; <BkTxCd> expected``.

A CAMT version whose schema is not shipped (or a document without a namespace) is not
schema-checked: it is read by element name as before (:func:`workflows.statements.parse_camt`),
whose own checks still refuse a line it cannot read. Documents with a DOCTYPE are refused
(no entity expansion, no external resources: statements come from outside).
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from pyexpat import ExpatError, ParserCreate
from typing import Any

import xmlschema

from workflows.statements import StatementError

SCHEMA_DIR = Path(__file__).parent / "schemas" / "iso20022"
_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(camt\.05[34]\.001\.\d\d)$")
MAX_SCHEMA_PROBLEMS = 20


class _Element(ET.Element):
    """An element that knows the line it starts on (xmlschema reports ``sourceline``)."""

    sourceline: int


def shipped_versions() -> list[str]:
    """The message versions with a schema in the package, e.g. ``camt.053.001.02``."""
    return sorted(p.name.removesuffix(".xsd") for p in SCHEMA_DIR.glob("camt.*.xsd"))


@functools.lru_cache(maxsize=8)
def schema_for(version: str) -> xmlschema.XMLSchema | None:
    """The compiled schema of ``version`` (``camt.053.001.08``), or None when it is not shipped."""
    path = SCHEMA_DIR / f"{version}.xsd"
    if not path.is_file():
        return None
    return xmlschema.XMLSchema(str(path))


def _refuse_doctype(*_: Any) -> None:
    raise StatementError(["line 1: a DOCTYPE is not allowed in a CAMT file"])


def read_tree(data: bytes, source: str = "statement") -> _Element:
    """Parse ``data`` into elements that carry their line numbers. Refuses malformed XML by line."""
    stack: list[_Element] = []
    texts: list[list[str]] = []
    root: list[_Element] = []
    parser = ParserCreate(namespace_separator="}")
    parser.buffer_text = True

    def qualified(name: str) -> str:
        return "{" + name if "}" in name else name

    def start(name: str, attrs: dict[str, str]) -> None:
        elem = _Element(qualified(name), {qualified(k): v for k, v in attrs.items()})
        elem.sourceline = parser.CurrentLineNumber
        if stack:
            parent = stack[-1]
            _flush(parent, texts[-1])
            parent.append(elem)
        else:
            root.append(elem)
        stack.append(elem)
        texts.append([])

    def end(_: str) -> None:
        elem = stack.pop()
        _flush(elem, texts.pop())

    def chars(text: str) -> None:
        if texts:
            texts[-1].append(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    try:
        parser.Parse(data, True)
    except ExpatError as exc:
        raise StatementError(
            [f"line {exc.lineno}, column {exc.offset}: the XML is malformed or cut short ({exc})"], source
        ) from None
    except StatementError as exc:
        raise StatementError(exc.problems, source) from None
    if not root:
        raise StatementError(["line 1: the file holds no XML element"], source)
    return root[0]


def _flush(elem: _Element, parts: list[str]) -> None:
    """Text read since the last child (or the start tag) goes to that child's tail (or the text)."""
    if not parts:
        return
    text = "".join(parts)
    parts.clear()
    if len(elem):
        last = elem[-1]
        last.tail = (last.tail or "") + text
    else:
        elem.text = (elem.text or "") + text


def _plain(text: str) -> str:
    """A schema message without namespaces: ``'{urn:...}BkTxCd'`` → ``<BkTxCd>``."""
    text = re.sub(r"'\{[^}]*\}([\w.-]+)'", r"<\1>", text)
    return re.sub(r"\{[^}]*\}", "", text).strip().rstrip(".")


def _describe(error: xmlschema.XMLSchemaValidationError) -> str:
    line = error.sourceline
    elem = error.elem
    path = error.path or ""
    position = re.search(r"at position (\d+)", error.reason or "")
    if elem is not None and position is not None and 0 < int(position.group(1)) <= len(elem):
        child = elem[int(position.group(1)) - 1]  # name the unexpected element itself, on its own line
        line = getattr(child, "sourceline", line)
        path = f"{path}/{child.tag.rsplit('}', 1)[-1]}"
    if line is None and elem is not None:
        line = getattr(elem, "sourceline", None)
    where = f"line {line}" if line is not None else "line ?"
    path = _plain(path)
    reason = _plain(error.reason or error.message or "does not follow the schema")
    if reason:
        reason = reason[0].lower() + reason[1:]
    value = (elem.text or "").strip() if elem is not None and len(elem) == 0 else ""
    if value and f"'{value}'" not in reason and len(value) <= 60:
        reason += f" (the value is '{value}')"
    return f"{where}, {path}: {reason}" if path else f"{where}: {reason}"


def validate_camt(data: bytes, source: str = "statement") -> str | None:
    """Check a CAMT file against the ISO 20022 schema of its namespace.

    Returns the message version checked (``camt.053.001.02``), or None when no shipped schema
    applies. Raises :class:`StatementError` naming each problem's line and element (at most
    :data:`MAX_SCHEMA_PROBLEMS`, and how many more) when the file breaks the schema or is not XML.
    """
    if re.search(rb"<!DOCTYPE", data[:65536], re.I):
        raise StatementError(["line 1: a DOCTYPE is not allowed in a CAMT file"], source)
    try:  # the C parser first: most files are valid, and it is ten times faster than read_tree
        root: ET.Element = ET.fromstring(data)
    except ET.ParseError:
        root = read_tree(data, source)  # raises, naming the line and column
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    match = _NAMESPACE.match(namespace)
    if match is None:
        return None
    version = match.group(1)
    schema = schema_for(version)
    if schema is None or schema.is_valid(root):
        return version if schema is not None else None
    problems: list[str] = []
    more = 0
    for error in schema.iter_errors(read_tree(data, source)):  # again, with line numbers this time
        if len(problems) < MAX_SCHEMA_PROBLEMS:
            problems.append(_describe(error))
        else:
            more += 1
            if more >= 1000:
                break
    if not problems:
        problems.append("line ?: the file does not follow the schema")
    if more:
        problems.append(f"... and {more}{'+' if more >= 1000 else ''} more schema errors")
    raise StatementError(problems, f"{source} (checked against the ISO 20022 schema {version})")
