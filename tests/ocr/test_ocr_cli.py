"""The `scan` and `eval-ocr` commands, driven as a user would."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from ocr_samples import MALAYSIAN_ROWS, US_ROWS, draw_receipt, encode

from bot.cli_ocr import eval_ocr, scan


def test_scan_json_one_line_per_file_in_order(tmp_path: Path) -> None:
    good = tmp_path / "lunch.png"
    good.write_bytes(encode(draw_receipt(MALAYSIAN_ROWS), "PNG"))
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"not really a jpeg")
    missing = tmp_path / "gone.png"
    result = CliRunner().invoke(scan, ["--json", str(good), str(bad), str(missing)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in rows] == [str(good), str(bad), str(missing)]
    assert rows[0]["error"] is None
    assert rows[0]["total"] == "18.00" and rows[0]["currency"] == "MYR" and rows[0]["date"] == "2018-07-23"
    assert set(rows[0]["confidence"]) == {"merchant", "date", "total", "currency"}
    assert all(0 <= v <= 1 for v in rows[0]["confidence"].values())
    assert rows[1]["error"] and rows[1]["total"] is None
    assert rows[2]["error"] and "opened" in rows[2]["error"]


def test_scan_table_without_json(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    result = CliRunner().invoke(scan, [str(bad)])
    assert result.exit_code == 0
    assert "notes.txt" in result.output and "not a receipt" in result.output


def test_eval_ocr_on_labelled_sets_reports_each_set_and_the_whole(tmp_path: Path) -> None:
    malaysian, american = tmp_path / "my", tmp_path / "us"
    for root in (malaysian, american):
        (root / "img").mkdir(parents=True)
        (root / "key").mkdir()
    (malaysian / "img" / "a.jpg").write_bytes(encode(draw_receipt(MALAYSIAN_ROWS), "JPEG", quality=90))
    (malaysian / "key" / "a.json").write_text(
        json.dumps({"company": "KEDAI BUKU SINAR JAYA SDN BHD", "date": "23/07/2018", "total": "18.00"})
    )
    (american / "img" / "b.jpg").write_bytes(encode(draw_receipt(US_ROWS), "JPEG", quality=90))
    # a deliberately wrong key (with a currency, so currency is scored): the report counts the misses
    (american / "key" / "b.json").write_text(
        json.dumps(
            {
                "company": "SOMEWHERE ELSE",
                "date": "2024-03-04",
                "total": "99.99",
                "currency": "EUR",
                "country": "DE",
            }
        )
    )
    result = CliRunner().invoke(eval_ocr, [str(malaysian), str(american), "--json", "--workers", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["receipts"] == 2 and report["runtime"] == "openvino"
    accuracy = report["accuracy"]
    assert (accuracy["total"], accuracy["date"], accuracy["merchant"]) == (0.5, 1.0, 0.5)
    assert accuracy["currency"] == 0.0 and accuracy["currency_wrong"] == 1.0  # USD read, EUR in the key
    assert report["sets"][str(malaysian)]["accuracy"]["total"] == 1.0
    assert report["sets"][str(american)]["accuracy"]["total"] == 0.0
    assert "currency" not in report["sets"][str(malaysian)]["accuracy"]  # SROIE keys carry no currency
    totals = report["confidence"]["total"]
    assert totals["judged"] == 2 and totals["wrong"] == 1
    assert 0 <= totals["confident_right"] <= totals["confident"] <= 2
    assert 0 <= totals["wrong_flagged"] <= totals["wrong"]
    assert report["seconds_per_receipt"]["median"] > 0
    assert report["wall_seconds_per_receipt"] > 0 and report["peak_memory_mb"] > 0
    missed = {(m["file"], m["field"]) for m in report["worst_misses"]}
    assert missed == {("b.jpg", "total"), ("b.jpg", "merchant"), ("b.jpg", "currency")}
    text = CliRunner().invoke(eval_ocr, [str(malaysian), str(american), "--workers", "1"])
    assert (
        text.exit_code == 0 and "all sets: 2 receipts" in text.output and "wrong: flagged/all" in text.output
    )


def test_eval_ocr_refuses_a_directory_without_labels(tmp_path: Path) -> None:
    result = CliRunner().invoke(eval_ocr, [str(tmp_path)])
    assert result.exit_code != 0
    assert "no labelled receipts" in result.output


def test_help_lists_every_command_and_runs_a_lazily_loaded_one() -> None:
    from bot.cli import cli

    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert {
        "scan",
        "eval-ocr",
        "customers",
        "policy",
        "report",
        "export",
        "privacy",
        "run",
        "worker",
        "db",
        "backup",
        "restore",
        "demo",
        "digest",
        "fx",
    } <= listed
    scan_help = CliRunner().invoke(cli, ["scan", "--help"])
    assert scan_help.exit_code == 0 and "--runtime" in scan_help.output
