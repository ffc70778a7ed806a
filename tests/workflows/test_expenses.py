"""The expense state machine, one row per situation."""

from __future__ import annotations

import pytest

from workflows.expenses import Move, Status, TransitionError, expense_ref, parse_ref, transition

ALLOWED = [
    (Status.READING, Move.READ, Status.DRAFT),
    (Status.READING, Move.EDIT, Status.DRAFT),
    (Status.DRAFT, Move.EDIT, Status.DRAFT),
    (Status.DRAFT, Move.SUBMIT, Status.PENDING),
    (Status.DRAFT, Move.DISCARD, Status.DISCARDED),
    (Status.READING, Move.DISCARD, Status.DISCARDED),
    (Status.CHANGES_REQUESTED, Move.DISCARD, Status.DISCARDED),
    (Status.REJECTED, Move.DISCARD, Status.DISCARDED),
    (Status.PENDING, Move.APPROVE_STEP, Status.PENDING),
    (Status.PENDING, Move.APPROVE_FINAL, Status.APPROVED),
    (Status.PENDING, Move.REJECT, Status.REJECTED),
    (Status.PENDING, Move.SEND_BACK, Status.CHANGES_REQUESTED),
    (Status.CHANGES_REQUESTED, Move.EDIT, Status.CHANGES_REQUESTED),
    (Status.CHANGES_REQUESTED, Move.SUBMIT, Status.PENDING),
    (Status.REJECTED, Move.EDIT, Status.REJECTED),
    (Status.REJECTED, Move.SUBMIT, Status.PENDING),
    (Status.APPROVED, Move.PAY, Status.PAID),
]

REFUSED = [
    (Status.PENDING, Move.EDIT, "is waiting for approval, so it cannot be edited now"),
    (Status.PENDING, Move.SUBMIT, "is waiting for approval"),
    (Status.APPROVED, Move.REJECT, "is already approved"),
    (Status.PAID, Move.PAY, "has already been paid"),
    (Status.DISCARDED, Move.SUBMIT, "was discarded"),
    (Status.DRAFT, Move.APPROVE_FINAL, "has not been submitted"),
    (Status.APPROVED, Move.DISCARD, "is already approved"),
]


@pytest.mark.parametrize(("before", "move", "after"), ALLOWED)
def test_allowed_moves(before: Status, move: Move, after: Status) -> None:
    result = transition(before, move)
    assert (result.before, result.after, result.move) == (before, after, move)


@pytest.mark.parametrize(("before", "move", "message"), REFUSED)
def test_refused_moves_say_why(before: Status, move: Move, message: str) -> None:
    with pytest.raises(TransitionError) as err:
        transition(before, move, ref="EXP-7")
    assert str(err.value).startswith("EXP-7 ")
    assert message in str(err.value)


def test_every_state_and_move_is_decided() -> None:
    """Each pair either moves as the table says or refuses with a sentence naming the expense."""
    allowed = {(b, m): a for b, m, a in ALLOWED}
    for status in Status:
        for move in Move:
            try:
                result = transition(status, move, ref="EXP-1")
            except TransitionError as err:
                assert (status, move) not in allowed
                assert str(err).startswith("EXP-1 ") and str(err).endswith("now.")
            else:
                assert allowed[(status, move)] == result.after


def test_refs_round_trip() -> None:
    assert expense_ref(42) == "EXP-42"
    assert parse_ref("exp-42") == 42
    assert parse_ref("#42") == 42
    assert parse_ref("lunch") is None
