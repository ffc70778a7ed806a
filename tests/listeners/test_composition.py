"""The Slack listeners as a package: one composition root wires every surface to the AppContext,
and handlers are top-level functions a test can import."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.context import AppContext, build_context
from bot.listeners import SURFACES, register
from bot.listeners.card import parse_edit
from bot.listeners.commands import HELP
from bot.listeners.common import app_context
from bot.listeners.split import parse_rows
from bot.settings import Settings
from devslack import FakeSlack
from workflows.splits import PartSpec


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user("U_ANN", "ann@example.com", real_name="Ann Lee")
        yield fake


@pytest.fixture
async def wired(
    slack: FakeSlack, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[tuple[AsyncApp, AppContext]]:
    settings = Settings(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET="composition-secret",
        SLACK_API_URL=slack.base_url,
        DATABASE_URL=sqlite_url,
        REDIS_URL=None,
        EXPENSEBOT_SCHEDULER=False,
    )
    ctx = build_context(settings)
    # process_before_response: a dispatch returns once the listener has run (no background task).
    app = AsyncApp(client=ctx.slack, request_verification_enabled=False, process_before_response=True)
    register(app, ctx)
    yield app, ctx
    ctx.engine.dispose()


async def dispatch(app: AsyncApp, body: dict[str, Any] | str) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body)
    return await app.async_dispatch(AsyncBoltRequest(body=raw, mode="socket_mode"))


def home_opened(event_id: str, user: str = "U_ANN") -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T0DEVSLACK",
        "api_app_id": "A0EXPENSEBOT",
        "event_id": event_id,
        "event_time": 1_700_000_000,
        "event": {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"},
    }


async def test_root_hands_the_context_to_every_surface(
    wired: tuple[AsyncApp, AppContext], slack: FakeSlack
) -> None:
    app, _ = wired
    assert {s.__name__.rsplit(".", 1)[-1] for s in SURFACES} == {
        "files",
        "home",
        "card",
        "commands",
        "approvals",
        "finance",
        "fx",
        "split",
        "transactions",
    }
    channel = slack.dm_channel("U_ANN")
    command = urlencode(
        {
            "command": "/expense",
            "text": "help",
            "user_id": "U_ANN",
            "channel_id": channel,
            "team_id": "T0DEVSLACK",
            "trigger_id": "1.2.3",
            "response_url": "http://unused.example",
        }
    )
    response = await dispatch(app, command)
    assert response.status == 200
    assert response.body == ""  # acknowledged first; the help follows as an ephemeral message
    assert [(c.args["user"], c.args["text"]) for c in slack.calls_to("chat.postEphemeral")] == [
        ("U_ANN", HELP)
    ]


async def test_a_redelivered_event_is_handled_once(
    wired: tuple[AsyncApp, AppContext], slack: FakeSlack
) -> None:
    app, _ = wired
    for _ in range(2):
        response = await dispatch(app, home_opened("Ev0SAME"))
        assert response.status == 200
    assert [c.args["user_id"] for c in slack.calls_to("views.publish")] == ["U_ANN"]
    await dispatch(app, home_opened("Ev0OTHER"))
    assert len(slack.calls_to("views.publish")) == 2


def test_a_handler_without_the_root_is_told_so() -> None:
    with pytest.raises(RuntimeError, match=r"bot\.listeners\.register"):
        app_context(AsyncBoltContext())


def test_the_expense_form_is_read_without_slack() -> None:
    view = {
        "state": {
            "values": {
                "merchant": {"merchant": {"value": "Harbour View Bistro"}},
                "date": {"date": {"selected_date": "2026-12-04"}},
                "amount": {"amount": {"value": "62.10"}},
                "currency": {"currency": {"value": "USD"}},
                "category": {"category": {"selected_option": {"value": "meals"}}},
                "customer": {"customer_search": {"selected_option": {"value": "7"}}},
                "note": {"note": {"value": "client lunch"}},
            }
        }
    }
    edit = parse_edit(view)
    assert edit.merchant == "Harbour View Bistro"
    assert edit.spent_on == dt.date(2026, 12, 4)
    assert (edit.amount_text, edit.currency, edit.category) == ("62.10", "USD", "meals")
    assert edit.customer_id == 7 and not edit.customer_cleared
    assert edit.note == "client lunch"


def test_the_split_form_is_read_without_slack() -> None:
    values = {
        "share_1": {"share_1": {"value": "40%"}},
        "category_1": {"category_1": {"selected_option": {"value": "meals"}}},
        "share_3": {"share_3": {"value": ""}},
        "customer_3": {"split_customer_3": {"selected_option": {"value": "12"}}},
        "project_3": {"project_3": {"value": " Atlas "}},
        "share_4": {"share_4": {"value": "ten"}},
    }
    rows, errors = parse_rows(values)
    assert rows == [
        (1, PartSpec(amount=None, percent=Decimal("40"), category="meals", customer=None, project=None)),
        (3, PartSpec(amount=None, percent=None, category=None, customer="12", project="Atlas")),
    ]
    assert list(errors) == ["share_4"]  # row 2 is empty and skipped; row 4's share is not a number
