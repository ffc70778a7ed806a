"""Fetching the reference-rate feed (the ECB's by default) and storing the day's rates.

``EXPENSEBOT_FX_FEED_URL`` is the daily file; a past day comes from the 90-day file beside it
(``eurofxref-hist-90d.xml`` in the same folder, or ``EXPENSEBOT_FX_HISTORY_URL``). Any base URL
works, plain http on loopback included, so tests use a local stand-in serving the same XML.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.fx import StoreResult, store_rates
from storage.models import FxRate
from workflows.fx_feed import BASE, FeedError, Pick, parse_ecb_xml, pick_day

DEFAULT_FEED_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
DAILY_FILE = "eurofxref-daily.xml"
HISTORY_FILE = "eurofxref-hist-90d.xml"
SOURCE = "ECB"
TIMEOUT = httpx.Timeout(20.0, connect=10.0)


def history_url_for(feed_url: str, configured: str | None = None) -> str:
    """The 90-day file: ``configured`` if set, else the daily file's neighbour."""
    if configured:
        return configured
    base, _, query = feed_url.partition("?")
    if base.endswith(DAILY_FILE):
        return base[: -len(DAILY_FILE)] + HISTORY_FILE + (f"?{query}" if query else "")
    raise FeedError(
        f"I cannot tell where the 90-day file of {feed_url} is: set EXPENSEBOT_FX_HISTORY_URL to fetch past days."
    )


class Stopped(FeedError):
    """The process is stopping: the fetch was given up."""


STOPPING = "Fetching the rate feed was given up: the app is stopping."


def _read(response: httpx.Response, stop: threading.Event | None) -> str:
    """The body, read in pieces and given up as soon as ``stop`` is set: a feed that trickles its
    file (each piece inside the read timeout) would otherwise hold a stopping process for ever."""
    body = bytearray()
    for chunk in response.iter_bytes():
        if stop is not None and stop.is_set():
            raise Stopped(STOPPING)
        body.extend(chunk)
    return bytes(body).decode(response.encoding or "utf-8", errors="replace")


def fetch_text(url: str, client: httpx.Client | None = None, stop: threading.Event | None = None) -> str:
    """The feed's body; :class:`FeedError` with a human message on any failure, :class:`Stopped`
    when ``stop`` is set before or while it is read."""
    if stop is not None and stop.is_set():
        raise Stopped(STOPPING)
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
    try:
        with http.stream("GET", url, headers={"Accept": "application/xml, text/xml"}) as response:
            status, reason = response.status_code, response.reason_phrase
            text = _read(response, stop) if status < 400 else ""
    except httpx.HTTPError as exc:
        raise FeedError(
            f"The rate feed at {url} could not be reached ({exc.__class__.__name__}: {exc})."
        ) from None
    finally:
        if own:
            http.close()
    if status == 404:
        raise FeedError(f"The rate feed at {url} answered 404 Not Found: check EXPENSEBOT_FX_FEED_URL.")
    if status >= 400:
        raise FeedError(f"The rate feed at {url} answered {status} {reason}; try again later.")
    return text


@dataclass(frozen=True)
class UpdateOutcome:
    day: dt.date  # the day whose rates were stored
    count: int
    stored: StoreResult
    note: str | None  # e.g. the requested day was a weekend
    url: str

    def message(self) -> str:
        lines = []
        if self.note:
            lines.append(self.note)
        lines.append(
            f"Stored {self.count} {BASE} reference rates of {self.day.isoformat()} from {self.url} "
            f"({self.stored.summary()})."
        )
        lines.extend(f"  changed: {change}" for change in self.stored.changes)
        return "\n".join(lines)


def _pick(
    feed_url: str,
    history_url: str | None,
    wanted: dt.date | None,
    client: httpx.Client,
    stop: threading.Event | None = None,
) -> tuple[Pick, str]:
    daily = parse_ecb_xml(fetch_text(feed_url, client, stop), f"The rate feed at {feed_url}")
    newest = max((d.day for d in daily), default=None)
    if wanted is None or newest is None or wanted >= newest:
        return pick_day(daily, wanted), feed_url
    url = history_url_for(feed_url, history_url)
    history = parse_ecb_xml(fetch_text(url, client, stop), f"The 90-day rate file at {url}")
    return pick_day(history, wanted), url


def update_rates(
    factory: sessionmaker[Session],
    *,
    feed_url: str,
    history_url: str | None = None,
    day: dt.date | None = None,
    today: dt.date | None = None,
    actor: str = "cli",
    client: httpx.Client | None = None,
    stop: threading.Event | None = None,
) -> UpdateOutcome:
    """Fetch the reference rates of ``day`` (None: the newest published) and store them.

    Raises :class:`FeedError` with a message for people: the feed unreachable, a 404, XML that is
    not the ECB's layout, a day in the future or older than the feed reaches. A weekend or holiday
    stores the rates in force that day (the last working day's) and says so. ``stop`` (the
    running app's) set while the feed is read gives up with :class:`Stopped`, storing nothing.
    """
    today = today or dt.date.today()
    if day is not None and day > today:
        raise FeedError(f"{day.isoformat()} is in the future: no rates are published for it yet.")
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
    try:
        pick, url = _pick(feed_url, history_url, day, http, stop)
    finally:
        if own:
            http.close()
    stored = store_rates(factory, pick.rates.rows(), source=SOURCE, actor=actor)
    return UpdateOutcome(
        day=pick.rates.day, count=len(pick.rates.rates), stored=stored, note=pick.note, url=url
    )


def latest_feed_day(session: Session) -> dt.date | None:
    """The newest day with rates from the feed."""
    return session.scalar(
        select(func.max(FxRate.day)).where(FxRate.source == SOURCE, FxRate.team_id.is_(None))
    )
