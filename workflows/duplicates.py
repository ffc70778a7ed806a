"""When a new claim looks like one the employee made before, and what the card says about it.

Pure: ``services.reading`` finds the candidates in the database and asks these rules.
"""

from __future__ import annotations

import datetime as dt

from workflows.expenses import expense_ref

# Perceptual hashes (ocr.phash, 64 bits) of two photos of the same receipt differ in at most this
# many bits; photos of different receipts differ in far more.
PHOTO_DISTANCE = 6


def same_photo(distance: int) -> bool:
    """Two receipt photos whose perceptual hashes differ in ``distance`` bits show the same receipt."""
    return distance <= PHOTO_DISTANCE


def same_total_warning(other_id: int, *, started: dt.datetime, submitted: dt.datetime | None) -> str:
    """The card's warning when another of the employee's claims has the same merchant, date and total."""
    when = (submitted or started).strftime("%d %b").lstrip("0")
    verb = "submitted" if submitted else "started"
    return (
        f"Looks like the expense you {verb} on {when} ({expense_ref(other_id)}: same merchant, date "
        "and total)."
    )


def same_photo_warning(other_id: int, *, sent: dt.datetime) -> str:
    """The card's warning when the receipt photo looks like the one of another claim."""
    return f"This photo looks like the receipt of {expense_ref(other_id)} (sent on {sent:%d %b})."
