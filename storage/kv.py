"""Short-lived shared state: Slack-retry de-duplication and locks.

With ``REDIS_URL`` these live in Redis and are shared by every process; without it, an
in-process store gives the same behaviour inside one process (the embedded mode). Either way
the database's unique constraints remain the final guard against doing something twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Protocol

import redis
import redis.asyncio


class KeyValue(Protocol):
    def first_time(self, key: str, ttl_seconds: int = 3600) -> bool:
        """True for the first caller with ``key`` within ``ttl_seconds``; False for repeats."""

    async def first_time_async(self, key: str, ttl_seconds: int = 3600) -> bool:
        """:meth:`first_time` for the event loop: never blocks it while the store answers."""

    def put(self, key: str, ttl_seconds: int) -> None:
        """Set ``key`` (as :meth:`first_time` does) for ``ttl_seconds``, whether it was set or not."""

    def delete(self, key: str) -> None:
        """Forget ``key``: the next :meth:`first_time` with it is True again."""

    def exists(self, key: str) -> bool:
        """Whether ``key`` is set and has not expired."""

    def lock(
        self, key: str, timeout: float = 30.0, wait: float = 10.0
    ) -> contextlib.AbstractContextManager[bool]:
        """Hold a named lock; yields False when it could not be taken within ``wait`` seconds."""

    def ping(self) -> bool: ...


class MemoryKeyValue:
    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def first_time(self, key: str, ttl_seconds: int = 3600) -> bool:
        now = time.monotonic()
        with self._guard:
            if len(self._seen) > 50_000:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            self._seen[key] = now + ttl_seconds
            return True

    async def first_time_async(self, key: str, ttl_seconds: int = 3600) -> bool:
        return self.first_time(key, ttl_seconds)

    def put(self, key: str, ttl_seconds: int) -> None:
        with self._guard:
            self._seen[key] = time.monotonic() + ttl_seconds

    def delete(self, key: str) -> None:
        with self._guard:
            self._seen.pop(key, None)

    def exists(self, key: str) -> bool:
        with self._guard:
            expires = self._seen.get(key)
            return expires is not None and expires > time.monotonic()

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float = 30.0, wait: float = 10.0) -> Iterator[bool]:
        with self._guard:
            lk = self._locks.setdefault(key, threading.Lock())
        got = lk.acquire(timeout=wait)
        try:
            yield got
        finally:
            if got:
                lk.release()

    def ping(self) -> bool:
        return True


class RedisKeyValue:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client: redis.Redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        # One asyncio client per event loop (its connections belong to the loop that made them).
        self._async: tuple[asyncio.AbstractEventLoop, redis.asyncio.Redis] | None = None

    def _async_client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            client = redis.asyncio.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=5)
            self._async = (loop, client)
        return self._async[1]

    def first_time(self, key: str, ttl_seconds: int = 3600) -> bool:
        try:
            return bool(self.client.set(f"expensebot:seen:{key}", b"1", nx=True, ex=ttl_seconds))
        except redis.RedisError:
            # Redis away: fall through to the database's unique constraints.
            return True

    async def first_time_async(self, key: str, ttl_seconds: int = 3600) -> bool:
        try:
            client = self._async_client()
            return bool(await client.set(f"expensebot:seen:{key}", b"1", nx=True, ex=ttl_seconds))
        except (redis.RedisError, OSError):
            return True  # as first_time: the database's unique constraints remain

    def put(self, key: str, ttl_seconds: int) -> None:
        with contextlib.suppress(redis.RedisError):
            self.client.set(f"expensebot:seen:{key}", b"1", ex=max(1, ttl_seconds))

    def delete(self, key: str) -> None:
        with contextlib.suppress(redis.RedisError):
            self.client.delete(f"expensebot:seen:{key}")

    def exists(self, key: str) -> bool:
        try:
            return bool(self.client.exists(f"expensebot:seen:{key}"))
        except redis.RedisError:
            return False

    @contextlib.contextmanager
    def lock(self, key: str, timeout: float = 30.0, wait: float = 10.0) -> Iterator[bool]:
        token = uuid.uuid4().hex
        name = f"expensebot:lock:{key}"
        deadline = time.monotonic() + wait
        got = False
        try:
            while True:
                if self.client.set(name, token, nx=True, px=int(timeout * 1000)):
                    got = True
                    break
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
        except redis.RedisError:
            got = False
        try:
            yield got
        finally:
            if got:
                with contextlib.suppress(redis.RedisError):
                    # release only our own lock
                    self.client.eval(
                        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
                        "else return 0 end",
                        1,
                        name,
                        token,
                    )

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


def make_kv(redis_url: str | None) -> KeyValue:
    return RedisKeyValue(redis_url) if redis_url else MemoryKeyValue()
