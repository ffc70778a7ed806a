"""The expense state machine: which moves exist, who may make them, and what they lead to.

Pure: callers load the expense, ask this module whether a move is allowed and what the new state
is, then persist the answer together with an audit event.

    reading ──read──▶ draft ──submit──▶ pending ──approve (last step)──▶ approved ──pay──▶ paid
                        │                 │  ├──reject──▶ rejected ─┐
                        discard           │  └──send back──▶ changes_requested ─┤ edit + resubmit
                        ▼                 └──approve (more steps)──▶ pending    ▼
                    discarded                                               pending
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from workflows.i18n import N_


class Status(StrEnum):
    READING = "reading"
    DRAFT = "draft"
    PENDING = "pending"
    CHANGES_REQUESTED = "changes_requested"
    REJECTED = "rejected"
    APPROVED = "approved"
    PAID = "paid"
    DISCARDED = "discarded"


class Move(StrEnum):
    READ = "read"  # the receipt was read (or could not be): the card is shown
    EDIT = "edit"
    SUBMIT = "submit"
    DISCARD = "discard"
    APPROVE_STEP = "approve_step"  # one approval step done, more to come
    APPROVE_FINAL = "approve_final"  # the last step approved (or approved by policy)
    REJECT = "reject"
    SEND_BACK = "send_back"
    PAY = "pay"


EDITABLE = frozenset({Status.READING, Status.DRAFT, Status.CHANGES_REQUESTED, Status.REJECTED})

_MOVES: dict[Move, tuple[frozenset[Status], Status | None]] = {
    Move.READ: (frozenset({Status.READING}), Status.DRAFT),
    Move.EDIT: (EDITABLE, None),  # stays where it is (reading becomes draft)
    Move.SUBMIT: (frozenset({Status.DRAFT, Status.CHANGES_REQUESTED, Status.REJECTED}), Status.PENDING),
    Move.DISCARD: (
        frozenset({Status.READING, Status.DRAFT, Status.CHANGES_REQUESTED, Status.REJECTED}),
        Status.DISCARDED,
    ),
    Move.APPROVE_STEP: (frozenset({Status.PENDING}), Status.PENDING),
    Move.APPROVE_FINAL: (frozenset({Status.PENDING}), Status.APPROVED),
    Move.REJECT: (frozenset({Status.PENDING}), Status.REJECTED),
    Move.SEND_BACK: (frozenset({Status.PENDING}), Status.CHANGES_REQUESTED),
    Move.PAY: (frozenset({Status.APPROVED}), Status.PAID),
}

_DESCRIBE: dict[Status, str] = {
    Status.READING: "is still being read",
    Status.DRAFT: "is a draft that has not been submitted",
    Status.PENDING: "is waiting for approval",
    Status.CHANGES_REQUESTED: "was sent back for changes",
    Status.REJECTED: "was rejected",
    Status.APPROVED: "is already approved and waiting for payout",
    Status.PAID: "has already been paid",
    Status.DISCARDED: "was discarded",
}

LABELS: dict[Status, str] = {
    Status.READING: N_("Reading receipt"),
    Status.DRAFT: N_("Draft"),
    Status.PENDING: N_("Waiting for approval"),
    Status.CHANGES_REQUESTED: N_("Changes requested"),
    Status.REJECTED: N_("Rejected"),
    Status.APPROVED: N_("Approved, awaiting payout"),
    Status.PAID: N_("Paid"),
    Status.DISCARDED: N_("Discarded"),
}


class TransitionError(ValueError):
    """A move that the expense's current state does not allow. ``str()`` is for people."""


@dataclass(frozen=True)
class Transition:
    before: Status
    after: Status
    move: Move


def describe(status: Status) -> str:
    return _DESCRIBE[status]


def transition(current: Status | str, move: Move, *, ref: str = "This expense") -> Transition:
    """The state after ``move``, or :class:`TransitionError` saying why it cannot happen now."""
    status = Status(current)
    allowed, target = _MOVES[move]
    if status not in allowed:
        raise TransitionError(f"{ref} {describe(status)}, so it cannot be {_VERB[move]} now.")
    after = target if target is not None else (Status.DRAFT if status is Status.READING else status)
    return Transition(before=status, after=after, move=move)


_VERB: dict[Move, str] = {
    Move.READ: "read again",
    Move.EDIT: "edited",
    Move.SUBMIT: "submitted",
    Move.DISCARD: "discarded",
    Move.APPROVE_STEP: "approved",
    Move.APPROVE_FINAL: "approved",
    Move.REJECT: "rejected",
    Move.SEND_BACK: "sent back",
    Move.PAY: "marked paid",
}


def expense_ref(expense_id: int) -> str:
    """The short reference people see: ``EXP-42``."""
    return f"EXP-{expense_id}"


def parse_ref(text: str) -> int | None:
    raw = text.strip().upper().removeprefix("EXP-").removeprefix("#")
    return int(raw) if raw.isdigit() else None
