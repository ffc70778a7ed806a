"""When a claim looks like an earlier one, and how the card says so."""

from __future__ import annotations

import datetime as dt

from workflows.duplicates import PHOTO_DISTANCE, same_photo, same_photo_warning, same_total_warning


def test_photos_within_the_distance_are_the_same_receipt() -> None:
    assert same_photo(0) and same_photo(PHOTO_DISTANCE)
    assert not same_photo(PHOTO_DISTANCE + 1)


def test_the_warning_names_the_other_claim_and_when_it_was_made() -> None:
    started = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)
    submitted = dt.datetime(2026, 11, 12, 9, 0, tzinfo=dt.UTC)
    assert same_total_warning(7, started=started, submitted=None) == (
        "Looks like the expense you started on 3 Nov (EXP-7: same merchant, date and total)."
    )
    assert same_total_warning(7, started=started, submitted=submitted) == (
        "Looks like the expense you submitted on 12 Nov (EXP-7: same merchant, date and total)."
    )
    assert (
        same_photo_warning(9, sent=started) == "This photo looks like the receipt of EXP-9 (sent on 03 Nov)."
    )
