from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.devslack import BackgroundServer, FakeSlack, SlackDriver

SIGNING_SECRET = "devslack-test-signing-secret"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_user("U_ANN", "ann@example.com", real_name="Ann Lee", tz="Europe/Paris")
    fake.add_user("U_BOB", "bob@example.com", real_name="Bob Stone")
    fake.add_channel("C_FIN", "finance", members=["U_ANN"])
    fake.add_channel("C_GEN", "general")
    with fake:
        yield fake


@dataclass(frozen=True)
class Captured:
    body: bytes
    headers: dict[str, str]


class Recorder:
    """A stand-in for the app that records exactly what arrives at /slack/events."""

    def __init__(self) -> None:
        self.requests: list[Captured] = []
        self.reply: dict[str, object] | None = None
        self.statuses: list[int] = []  # answered in order, then 200
        self.delays: list[float] = []  # seconds to stall before answering, in order
        self.no_retry = False
        self._lock = threading.Lock()

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            self.requests.append(Captured(body=body, headers=dict(request.headers)))
            status = self.statuses.pop(0) if self.statuses else 200
            delay = self.delays.pop(0) if self.delays else 0.0
        if delay:
            await asyncio.sleep(delay)
        headers = {"X-Slack-No-Retry": "1"} if self.no_retry else None
        if self.reply is not None:
            return JSONResponse(self.reply, status_code=status, headers=headers)
        return Response(status_code=status, headers=headers)

    @property
    def last(self) -> Captured:
        return self.requests[-1]

    def last_json(self) -> dict[str, object]:
        data = json.loads(self.last.body)
        assert isinstance(data, dict)
        return data


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, str]]:
    rec = Recorder()
    app = Starlette(routes=[Route("/slack/events", rec.handle, methods=["POST"])])
    with BackgroundServer(app, name="recorder") as server:
        yield rec, server.url


@pytest.fixture
def recorded_driver(
    slack: FakeSlack, recorder: tuple[Recorder, str]
) -> Iterator[tuple[SlackDriver, Recorder]]:
    rec, url = recorder
    with SlackDriver(url, SIGNING_SECRET, slack) as driver:
        yield driver, rec
