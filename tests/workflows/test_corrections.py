from __future__ import annotations

import pytest

from workflows.corrections import alias_from_note


@pytest.mark.parametrize(
    ("note", "alias"),
    [
        ("lunch w/ the Initrode folks re renewal", "Initrode"),
        ("Client dinner with Big Kahuna Burger", "Big Kahuna Burger"),
        ("taxi to the Vandelay office", "Vandelay"),
        ("team lunch", None),
        ("", None),
        (None, None),
    ],
)
def test_alias_from_note(note: str | None, alias: str | None) -> None:
    assert alias_from_note(note) == alias
