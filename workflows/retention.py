"""How long a receipt is kept: the retention period of tax law, counted the way tax law counts it.

German law keeps accounting vouchers (a paid expense claim's receipt is one) for a number of years
counted from the end of the calendar year in which they arose (§147(3)-(4) AO, §257(4)-(5) HGB);
other EU countries count alike with 5 to 10 years. So the period of a paid claim's receipt starts
on 1 January after its payment, and the receipt is kept for ``days`` from then. A claim that was
rejected or discarded keeps its receipt as long, counted from its last change; an open claim
(being read, a draft, awaiting approval or payment) keeps it whatever its age. A receipt no claim
points to counts from its upload.

Pure: the caller reads the claims and asks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from workflows.expenses import Status

DEFAULT_RETENTION_DAYS = 3653  # ten years whatever the leap days: §147 AO / §257 HGB (README)
# A claim in one of these states is over; its receipt's period runs from its last change.
_CLOSED_UNPAID = frozenset({Status.REJECTED, Status.DISCARDED})


@dataclass(frozen=True)
class Claim:
    """What retention needs to know of one expense claim."""

    status: str
    paid_at: dt.datetime | None
    updated_at: dt.datetime


def period_start(claim: Claim) -> dt.datetime | None:
    """When the claim's retention period starts; ``None`` while the claim is open."""
    if claim.status == Status.PAID:
        paid = claim.paid_at or claim.updated_at
        return dt.datetime(paid.astimezone(dt.UTC).year + 1, 1, 1, tzinfo=dt.UTC)  # the next 1 January
    if claim.status in _CLOSED_UNPAID:
        return claim.updated_at
    return None


def kept_until(claims: Iterable[Claim], uploaded_at: dt.datetime, days: int) -> dt.datetime | None:
    """Until when a receipt must be kept, for the claims that point to it (``None``: for as long as
    one of them is open). Every claim's period must be over before its receipt may go."""
    if days < 1:
        raise ValueError("a retention period is at least one day")
    starts = [period_start(claim) for claim in claims] or [uploaded_at]
    if any(start is None for start in starts):
        return None
    return max(start for start in starts if start is not None) + dt.timedelta(days=days)


def past_retention(claims: Iterable[Claim], uploaded_at: dt.datetime, days: int, now: dt.datetime) -> bool:
    until = kept_until(claims, uploaded_at, days)
    return until is not None and until <= now
