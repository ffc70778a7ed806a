"""The export format registry: one record per format, read by the file, the CLI and the digest."""

from __future__ import annotations

import click
import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.digest import export_menu
from bot.cli_finance import export
from bot.listeners.finance import parse_export_choice
from services.payouts import claim_batch
from storage.db import transaction
from storage.exports import build_export
from workflows import exports
from workflows.exports import (
    EXPORT_FORMATS,
    FORMATS,
    BatchExport,
    ExportError,
    ExportFormat,
    LayoutOptions,
    export_format,
)


def test_the_registry_lists_every_format_once_in_menu_order() -> None:
    assert FORMATS == ("csv", "quickbooks", "xero", "sepa")
    assert all(name == spec.name for name, spec in EXPORT_FORMATS.items())
    assert [f.name for f in EXPORT_FORMATS.values() if f.pays] == ["sepa"]
    assert {f.name: (f.extension, f.media_type) for f in EXPORT_FORMATS.values()} == {
        "csv": ("csv", "text/csv"),
        "quickbooks": ("csv", "text/csv"),
        "xero": ("csv", "text/csv"),
        "sepa": ("xml", "application/xml"),
    }
    assert len({f.label for f in EXPORT_FORMATS.values()}) == len(EXPORT_FORMATS)


def test_a_format_is_either_a_text_layout_or_a_payment_order() -> None:
    with pytest.raises(ValueError, match="either a text layout or a payment order"):
        ExportFormat("odd", "Odd", "txt", "text/plain")
    with pytest.raises(ValueError, match="either a text layout or a payment order"):
        ExportFormat("odd", "Odd", "txt", "text/plain", layout=lambda b, o: "", pays=True)


def test_an_unknown_format_is_refused_with_the_choices() -> None:
    with pytest.raises(
        ExportError, match="Unknown export format 'pdf'; choose one of csv, quickbooks, xero, sepa"
    ):
        export_format("pdf")


def test_the_cli_and_the_digest_offer_the_registry() -> None:
    option = next(p for p in export.params if p.name == "fmt")
    assert isinstance(option.type, click.Choice)
    assert tuple(option.type.choices) == FORMATS
    menu = export_menu(7)
    assert [(o["text"]["text"], o["value"]) for o in menu["options"]] == [
        (f.label, f"7:{f.name}") for f in EXPORT_FORMATS.values()
    ]


def test_a_new_text_format_is_one_record(
    seeded: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    def tab_separated(batch: BatchExport, options: LayoutOptions) -> str:
        return "".join(f"{line.ref}\t{line.amount_text}\t{line.currency}\n" for line in batch.lines)

    tsv = ExportFormat("tsv", "Tab-separated", "tsv", "text/tab-separated-values", layout=tab_separated)
    monkeypatch.setitem(exports.EXPORT_FORMATS, "tsv", tsv)
    with transaction(seeded) as s:
        batch = claim_batch(s, "test")
        assert batch is not None
        batch_id = batch.id
    with seeded() as s:
        made = build_export(s, batch_id, "tsv")
    assert made.filename == f"expensebot-batch-{batch_id}-tsv.tsv"
    assert made.media_type == "text/tab-separated-values"
    assert made.expense_count == 6 and len(made.content.decode().splitlines()) == 6
    assert parse_export_choice(f"{batch_id}:tsv") == (batch_id, "tsv")
    assert export_menu(batch_id)["options"][-1]["value"] == f"{batch_id}:tsv"
