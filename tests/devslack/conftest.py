from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from devslack import BackgroundServer, FakeSlack, SlackDriver
from tests.devslack.recorder import SIGNING_SECRET, Recorder


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_user("U_ANN", "ann@example.com", real_name="Ann Lee", tz="Europe/Paris")
    fake.add_user("U_BOB", "bob@example.com", real_name="Bob Stone")
    fake.add_channel("C_FIN", "finance", members=["U_ANN"])
    fake.add_channel("C_GEN", "general")
    with fake:
        yield fake


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
