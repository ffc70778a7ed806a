"""The trained reader: the shipped model is what the training command makes, and confidences keep
their promise on the receipts they were calibrated on."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ocr import ranker, training
from ocr.candidates import TOTAL_FEATURES
from ocr.extract import extract, field_candidates
from ocr.layout import text_lines
from ocr.ranker import CONFIDENT, Calibration


@pytest.mark.timeout(900)
def test_the_shipped_model_is_what_training_on_the_corpus_makes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.cli_ocr import train_reader

    out = tmp_path / "reader.json"
    result = CliRunner().invoke(train_reader, ["--out", str(out)])
    assert result.exit_code == 0, result.output
    shipped = training.default_model_path().read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == shipped, "retrain with `expensebot train-reader` and commit"
    assert (
        "cross-validated" in result.output and "sroie-dev" in result.output and "world-dev" in result.output
    )


def test_the_corpus_holds_both_development_sets_and_nothing_else() -> None:
    samples = training.read_corpus(training.default_corpus_path())
    sets = {s.set_name for s in samples}
    assert sets == {"sroie-dev", "world-dev"}  # sroie-val is for reporting only, never for training
    assert len(samples) == 216
    assert all(s.lines for s in samples)


def test_folds_are_stable_and_balanced() -> None:
    samples = training.read_corpus(training.default_corpus_path())
    folds = training.folds_of(samples)
    assert folds == training.folds_of(list(samples))
    sizes = [folds.count(k) for k in range(training.FOLDS)]
    assert min(sizes) >= len(samples) / training.FOLDS * 0.6


def test_calibration_is_monotone_and_confident_only_where_readings_were_right() -> None:
    # 300 readings: right whenever the score is above 0.6, half right below
    outcomes = [
        training.OutOfFold("x", score, score > 0.6 or i % 2 == 0, True)
        for i, score in enumerate(i / 300 for i in range(300))
    ]
    calibration = training.calibrate(outcomes)
    confidences = [calibration(s / 100) for s in range(101)]
    assert confidences == sorted(confidences)
    assert calibration(0.3) < CONFIDENT <= calibration(0.95)
    confident = [o for o in outcomes if calibration(o.score) >= CONFIDENT]
    assert confident and sum(o.right for o in confident) / len(confident) >= 0.99


def test_no_confidence_without_enough_evidence() -> None:
    few = [training.OutOfFold("x", 0.99, True, True) for _ in range(20)]
    assert max(training.calibrate(few)(s / 10) for s in range(11)) < CONFIDENT
    noisy = [training.OutOfFold("x", i / 200, i % 10 != 0, True) for i in range(200)]  # 90% right
    assert max(training.calibrate(noisy)(s / 10) for s in range(11)) < CONFIDENT


def test_calibration_table_interpolates() -> None:
    table = Calibration((0.0, 0.5, 1.0), (0.0, 0.4, 1.0))
    assert table(0.25) == pytest.approx(0.2) and table(-1) == 0.0 and table(2) == 1.0
    assert Calibration((), ())(0.5) == 0.0


def test_candidates_carry_every_feature_the_model_was_trained_with() -> None:
    found = field_candidates(
        text_lines(["SHOP SDN BHD", "COFFEE 4.50", "TOTAL 4.50", "CASH 10.00", "CHANGE 5.50"])
    )
    assert all(len(c.features) == len(TOTAL_FEATURES) for c in found["total"])
    model = ranker.shipped_model()
    assert model is not None
    for name in ranker.RANKED_FIELDS:
        assert model.fields[name].features == training.FEATURES[name]


def test_the_model_reads_a_plain_receipt_and_says_how_sure_it_is() -> None:
    facts = extract(
        [
            "KEDAI BUKU SINAR JAYA SDN BHD",
            "NO 12 JALAN PERMAS 4",
            "23/07/2018 10:05",
            "BOOK 18.00",
            "TOTAL RM 18.00",
            "CASH 20.00",
            "CHANGE 2.00",
        ]
    )
    assert str(facts.total) == "18.00" and facts.currency == "MYR"
    assert facts.date is not None and facts.date.isoformat() == "2018-07-23"
    assert set(facts.confidence) >= {"total", "date", "merchant", "currency"}
    assert all(0.0 <= v <= 1.0 for v in facts.confidence.values())


def test_model_file_is_small_and_versioned() -> None:
    document = json.loads(training.default_model_path().read_text(encoding="utf-8"))
    assert document["version"] == training.MODEL_VERSION
    assert set(document["fields"]) == set(ranker.RANKED_FIELDS)
    assert training.default_model_path().stat().st_size < 3_000_000
