"""Card statements in Slack: the form asking why a card charge has no receipt. (The buttons of the
match question and the missing-receipt reminder are in :mod:`storage.reconcile`, which queues those
messages.)"""

from __future__ import annotations

import json
from typing import Any

NO_RECEIPT_VIEW = "txn_no_receipt_reason"


def no_receipt_modal(line_id: int, channel: str | None, ts: str | None) -> dict[str, Any]:
    """The form asking why a card charge has no receipt."""
    return {
        "type": "modal",
        "callback_id": NO_RECEIPT_VIEW,
        "private_metadata": json.dumps({"line_id": line_id, "channel": channel, "ts": ts}),
        "title": {"type": "plain_text", "text": "No receipt"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Why is there no receipt?"},
                "hint": {"type": "plain_text", "text": 'Finance reads this, e.g. "parking meter, no slip".'},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "reason",
                    "multiline": True,
                    "min_length": 1,
                    "max_length": 500,
                },
            },
        ],
    }
