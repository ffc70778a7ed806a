"""What the devslack tests record: the requests the SlackDriver sends to a stand-in app.

(A module of its own rather than the conftest: ``tests/devslack`` is not a package, so that the name
``devslack`` always means the stand-in itself.)
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

SIGNING_SECRET = "devslack-test-signing-secret"


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
