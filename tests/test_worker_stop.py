"""A worker told to stop (SIGTERM from a process manager or a deploy) stops in seconds."""

from __future__ import annotations

import time

import pytest

from bot.jobs import PUBSUB_STOP_SECONDS, QUEUE_NAME, worker_class


def test_a_worker_whose_command_listener_sleeps_still_stops_promptly(redis_url: str) -> None:
    import redis

    connection = redis.Redis.from_url(redis_url)
    worker = worker_class()([QUEUE_NAME], connection=connection)
    worker.subscribe()
    try:
        time.sleep(0.3)
        # the subscription ends first: the listening thread now sleeps up to 60 s waiting for a
        # new one, the state in which a stop used to wait out the whole minute
        worker.pubsub.unsubscribe()
        time.sleep(0.5)
        started = time.monotonic()
        worker.unsubscribe()
        took = time.monotonic() - started
    finally:
        connection.close()
    assert took < PUBSUB_STOP_SECONDS + 1.0, f"stopping the listener took {took:.1f} s"


def test_a_worker_without_a_listener_stops_at_once(redis_url: str) -> None:
    import redis

    connection = redis.Redis.from_url(redis_url)
    worker = worker_class()([QUEUE_NAME], connection=connection)
    started = time.monotonic()
    worker.unsubscribe()  # never subscribed: nothing to wait for
    assert time.monotonic() - started == pytest.approx(0.0, abs=0.5)
    connection.close()
