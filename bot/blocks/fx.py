"""“Use my card's rate” on the receipt card: the form to type the card statement's rate, and what
the employee reads when the rate cannot be set. (The card's button and the form's callback id,
``CARD_RATE`` and ``CARD_RATE_VIEW``, are in :mod:`bot.blocks.card`.)"""

from __future__ import annotations

import json
from typing import Any

from bot.blocks.card import CARD_RATE_VIEW
from bot.blocks.common import context, section, text
from services.card_rate import RateRefusal, RateRefusalKind
from workflows.conversion import Conversion
from workflows.expenses import expense_ref

RATE_BLOCK = "card_rate"


def build_card_rate_modal(
    expense_id: int, ref: str, conv: Conversion, current: str | None, tolerance: str
) -> dict[str, Any]:
    pair = f"1 {conv.original.currency} = ? {conv.converted.currency}"
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": RATE_BLOCK, "max_length": 32}
    if current:
        element["initial_value"] = current
    return {
        "type": "modal",
        "callback_id": CARD_RATE_VIEW,
        "private_metadata": json.dumps({"expense_id": expense_id}),
        "title": text(f"Rate for {ref}"[:24]),
        "submit": text("Save"),
        "close": text("Cancel"),
        "blocks": [
            section(
                f"The {conv.source} rate of {conv.rate_day.isoformat()} is *{conv.rate_text}*: "
                f"{conv.original.format()} = {conv.converted.format()}."
            ),
            {
                "type": "input",
                "block_id": RATE_BLOCK,
                "optional": True,
                "label": text(f"Your card statement's rate ({pair})"),
                "element": element,
                "hint": text(
                    f"At most {tolerance}% from the reference rate. Leave empty to use the reference rate."
                ),
            },
            context(
                "Your card statement shows both amounts: the rate is the amount charged divided by the receipt's total."
            ),
        ],
    }


def rate_refusal_text(refusal: RateRefusal) -> str:
    """Why the rate of a claim cannot be set, in the words the employee reads."""
    ref = expense_ref(refusal.expense_id)
    match refusal.kind:
        case RateRefusalKind.GONE:
            return "This expense no longer exists."
        case RateRefusalKind.NOT_OWNER:
            return f"Only <@{refusal.owner}> can change the rate of {ref}."
        case RateRefusalKind.NOT_NOW:
            return f"{ref} is {refusal.status.replace('_', ' ')}: its rate can no longer change."
        case RateRefusalKind.NO_TOTAL:
            return f"{ref} has no total yet: click *Edit* and type it first."
        case RateRefusalKind.NO_DATE:
            return f"{ref} has no date yet: click *Edit* and pick it first (the rate is the one of that day)."
        case RateRefusalKind.SAME_CURRENCY:
            return f"{ref} is in {refusal.currency}, the currency you are paid in: there is no rate to enter."
        case RateRefusalKind.NO_RATE:
            return refusal.detail
