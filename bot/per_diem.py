"""``/expense perdiem``: a claim for travel days, priced from the per diem rates, no receipt.

The trip is parsed and priced by :mod:`workflows.per_diem` (the company's own table first, then
the shipped table chosen by ``EXPENSEBOT_PER_DIEM_RATES``); the claim is a draft in the policy's
per diem category whose card lists each day's rate and deductions. It is submitted and routed
like any other claim.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import i18n
from bot.blocks.common import format_money
from bot.context import AppContext
from bot.delivery import deliver_pending
from bot.i18n import _, ngettext
from bot.settings import Settings
from storage import audit, outbox
from storage.db import transaction
from storage.models import Expense
from storage.per_diem import company_tables
from workflows.expenses import Status, expense_ref
from workflows.per_diem import (
    PerDiemError,
    Quote,
    RateTable,
    Trip,
    family_for_currency,
    parse_command,
    price,
    shipped_tables,
)
from workflows.policy import Policy


@functools.cache
def _all_shipped() -> tuple[RateTable, ...]:
    return tuple(shipped_tables())


def shipped_family(settings: Settings) -> str | None:
    """The shipped table in use: EXPENSEBOT_PER_DIEM_RATES, or by the company currency (auto)."""
    family = settings.per_diem_rates
    if family == "auto":
        return family_for_currency(settings.company_currency)
    return None if family == "none" else family


def shipped_for(settings: Settings) -> list[RateTable]:
    family = shipped_family(settings)
    return [t for t in _all_shipped() if t.table == family]


def per_diem_category(policy: Policy) -> str | None:
    """The policy's per diem category (the first with ``per_diem: true`` that is not prohibited)."""
    for key, rule in policy.categories.items():
        if rule.per_diem and not policy.is_prohibited_category(key):
            return key
    return None


def quote_trip(ctx: AppContext, trip: Trip) -> Quote:
    """Price a trip with the company's table and the shipped one; :class:`PerDiemError` if it cannot be."""
    with ctx.db() as session:
        admin = company_tables(session)
    shipped = shipped_for(ctx.settings)
    if not admin and not shipped:
        raise PerDiemError(
            _(
                "No per diem rates are set up: ask an admin to import the company's rates "
                "(`expensebot perdiem rates import`) or choose shipped ones (EXPENSEBOT_PER_DIEM_RATES)."
            )
        )
    return price(trip, shipped=shipped, admin=admin, say=_)


@dataclass(frozen=True)
class Created:
    expense_id: int
    quote: Quote


def _overlapping(session: Session, user_id: str, category: str, trip: Trip) -> str | None:
    """A warning when the person already claimed per diem for one of the trip's days."""
    rows = session.execute(
        select(Expense.id, Expense.ocr)
        .where(
            Expense.employee_id == user_id, Expense.category == category, Expense.status != Status.DISCARDED
        )
        .order_by(Expense.id.desc())
        .limit(500)
    ).all()
    for other_id, state in rows:
        priced = (state or {}).get("per_diem") or {}
        try:
            start, end = dt.date.fromisoformat(priced["start"]), dt.date.fromisoformat(priced["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if start <= trip.end and trip.start <= end:
            return _(
                "You already claimed per diem for {start} to {end} in {ref}; a day is paid once."
            ).format(start=i18n.format_date(start), end=i18n.format_date(end), ref=expense_ref(other_id))
    return None


def _create(ctx: AppContext, user_id: str, channel_id: str | None, trip: Trip, category: str) -> Created:
    quote = quote_trip(ctx, trip)
    total = quote.total
    days = len(quote.days)
    with transaction(ctx.db) as session:
        overlap = _overlapping(session, user_id, category, trip)
        merchant = f"Per diem: {quote.place}"
        expense = Expense(
            status=Status.DRAFT,
            employee_id=user_id,
            source="command",
            channel_id=channel_id,
            merchant=merchant,
            merchant_key=" ".join(merchant.upper().replace(":", " ").split()),
            spent_on=trip.end,
            amount=total.amount,
            currency=total.currency,
            category=category,
            customer_confirmed=True,
            ocr={"per_diem": quote.to_json(), "warnings": [overlap] if overlap else []},
        )
        session.add(expense)
        session.flush()
        audit.record(
            session,
            actor=user_id,
            action="expense.created",
            entity="expense",
            entity_id=expense.id,
            after={**audit.expense_snapshot(expense), "per_diem": quote.to_json()},
            detail=f"per diem by /expense perdiem: {trip.destination} ({quote.place}), "
            f"{trip.start.isoformat()} to {trip.end.isoformat()}, {days} day{'s' if days > 1 else ''}, "
            f"{total}",
        )
        outbox.add(session, "card", {"expense_id": expense.id}, dedup_key=f"card:{expense.id}:created")
        return Created(expense.id, quote)


async def handle_command(
    ctx: AppContext, user_id: str, channel_id: str | None, text: str, today: dt.date
) -> str:
    """Create the per diem claim ``text`` describes; the answer for the person (an error or the claim)."""
    try:
        trip = parse_command(text, say=_)
    except PerDiemError as exc:
        return str(exc)
    category = per_diem_category(ctx.policy)
    if category is None:
        return _(
            "The expense policy has no per diem category, so per diem cannot be claimed. "
            "Ask an admin to add one (`per_diem: {{per_diem: true}}` under `categories`)."
        ).format()
    if trip.end > today:
        return _(
            "Per diem is claimed after the trip: its last day, {day}, is still to come. "
            "Claim it when you are back."
        ).format(day=i18n.format_date(trip.end))
    try:
        created = await asyncio.to_thread(_create, ctx, user_id, channel_id, trip, category)
    except PerDiemError as exc:
        return str(exc)
    await deliver_pending(ctx)
    quote = created.quote
    days = len(quote.days)
    return ngettext(
        "{ref}: per diem for {place}, {days} day, {total}. Its card is in our DM: check the days and "
        "submit it (no receipt needed).",
        "{ref}: per diem for {place}, {days} days, {total}. Its card is in our DM: check the days and "
        "submit it (no receipt needed).",
        days,
    ).format(
        ref=expense_ref(created.expense_id),
        place=quote.place,
        days=days,
        total=format_money(quote.total.amount, quote.total.currency),
    )
