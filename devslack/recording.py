"""What ``FakeSlack`` records of the Web API calls it receives, the faults it injects into them, and
the ways a test waits for a call."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections import deque
from collections.abc import Callable

from devslack.models import ApiCall, JsonDict
from devslack.workspace import Fault, Workspace

__all__ = ["Recording"]


class Recording(Workspace):
    # ---------------------------------------------------------- fault injection

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` (``"*"``: any) get HTTP 429 with ``Retry-After``."""
        with self._lock:
            self._faults.setdefault(method, deque()).append(
                Fault("ratelimit", times, error="ratelimited", status=429, retry_after=retry_after)
            )

    def fail(self, method: str, error: str = "internal_error", times: int = 1, status: int = 200) -> None:
        """The next ``times`` calls of ``method`` (``"*"``: any) fail with ``error``;
        ``status`` >= 500 simulates a server error."""
        with self._lock:
            self._faults.setdefault(method, deque()).append(Fault("error", times, error=error, status=status))

    def lose_answer(self, method: str, times: int = 1, hold_seconds: float = 10.0) -> None:
        """The next ``times`` calls of ``method`` are carried out, but their answer is held back
        ``hold_seconds`` (longer than the client waits): the client sees a timeout, as when
        Slack's answer is lost on the way."""
        with self._lock:
            self._faults.setdefault(method, deque()).append(Fault("lost", times, hold_seconds=hold_seconds))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, method: str) -> Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        return None

    # ---------------------------------------------------------------- recording

    @property
    def calls(self) -> list[ApiCall]:
        with self._lock:
            return list(self._calls)

    def clear_calls(self) -> None:
        """Forget the recorded calls (the workspace state is kept)."""
        with self._lock:
            self._calls.clear()

    def calls_to(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def mark(self) -> int:
        """A position in ``calls``; pass it as ``after=`` to only consider later calls."""
        with self._lock:
            return len(self._calls)

    def _record(
        self,
        method: str,
        args: JsonDict,
        token: str | None,
        status: int,
        error: str | None,
        response: JsonDict | None = None,
    ) -> None:
        call = ApiCall(
            method=method,
            args=copy.deepcopy(args),
            token=token,
            at=time.time(),
            http_status=status,
            error=error,
            response=copy.deepcopy(response),
        )
        with self._lock:
            self._calls.append(call)
            self._pending_notifications.append(call)

    def _notify(self) -> None:
        with self._lock:
            pending, self._pending_notifications = self._pending_notifications, []
            listeners = list(self._listeners)
        for call in pending:
            for listener in listeners:
                try:
                    listener(call)
                except Exception:  # a listener must not break the API
                    continue

    def subscribe(self, listener: Callable[[ApiCall], None]) -> Callable[[], None]:
        """Call ``listener(call)`` after every Web API call has been handled, before the
        caller gets its response (so the workspace is already updated). Listeners run on
        the server thread: keep them quick and never call the fake over HTTP from one.
        Returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    # ------------------------------------------------------------------ waiting

    def _find_call(
        self, method: str, predicate: Callable[[ApiCall], bool] | None, after: int
    ) -> ApiCall | None:
        with self._lock:
            candidates = self._calls[after:]
        for c in candidates:
            if c.method == method and (predicate is None or predicate(c)):
                return c
        return None

    def _timeout_error(self, method: str, timeout: float, after: int) -> AssertionError:
        with self._lock:
            recent = self._calls[after:][-15:]
        listing = "\n".join(
            f"  {c.method} {json.dumps(c.args, default=str)[:200]}" + (f" -> {c.error}" if c.error else "")
            for c in recent
        )
        return AssertionError(
            f"no matching {method} call within {timeout}s; recent calls:\n{listing or '  (none)'}"
        )

    def wait_for(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        after: int = 0,
    ) -> ApiCall:
        """Block until a call to ``method`` (matching ``predicate``) has been received.

        Do not call this from the event loop that runs the app (use ``wait_for_async``)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._find_call(method, predicate, after)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise self._timeout_error(method, timeout, after)
            time.sleep(0.02)

    async def wait_for_async(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        after: int = 0,
    ) -> ApiCall:
        """Like ``wait_for`` but yields to the running event loop while polling."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._find_call(method, predicate, after)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise self._timeout_error(method, timeout, after)
            await asyncio.sleep(0.02)

    def wait_until(
        self, condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
    ) -> None:
        """Poll ``condition`` until it holds; AssertionError naming ``what`` on timeout."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not hold within {timeout}s")
            time.sleep(0.02)
