"""A local stand-in for the ECB's euro reference-rate files, in their real XML layout.

It serves ``/stats/eurofxref/eurofxref-daily.xml`` (the newest day) and
``/stats/eurofxref/eurofxref-hist-90d.xml`` (the last 90 days, newest first) the way
https://www.ecb.europa.eu does: a ``gesmes:Envelope`` with ``Cube`` > ``Cube time='…'`` >
``Cube currency='…' rate='…'``, single-quoted attributes, tab indentation, and only working days
(nothing on weekends). Anything else answers 404. ``broken = True`` serves a truncated file.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DAILY = "/stats/eurofxref/eurofxref-daily.xml"
HISTORY = "/stats/eurofxref/eurofxref-hist-90d.xml"

# The ECB's rates of Friday 2024-06-28 (its published daily file of that day), in its order.
SAMPLE: dict[str, str] = {
    "USD": "1.0705",
    "JPY": "171.94",
    "BGN": "1.9558",
    "CZK": "25.025",
    "DKK": "7.4575",
    "GBP": "0.84638",
    "HUF": "395.10",
    "PLN": "4.3090",
    "RON": "4.9773",
    "SEK": "11.3595",
    "CHF": "0.9634",
    "ISK": "148.90",
    "NOK": "11.3965",
    "TRY": "35.1868",
    "AUD": "1.6079",
    "BRL": "5.8915",
    "CAD": "1.4670",
    "CNY": "7.7748",
    "HKD": "8.3594",
    "IDR": "17487.21",
    "ILS": "4.0200",
    "INR": "89.2495",
    "KRW": "1474.86",
    "MXN": "19.5654",
    "MYR": "5.0501",
    "NZD": "1.7601",
    "PHP": "62.560",
    "SGD": "1.4513",
    "THB": "39.319",
    "ZAR": "19.4970",
}


def envelope(days: dict[dt.date, dict[str, str]]) -> str:
    """The ECB's XML for ``days`` (newest first, as the ECB writes them)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
        'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">',
        "\t<gesmes:subject>Reference rates</gesmes:subject>",
        "\t<gesmes:Sender>",
        "\t\t<gesmes:name>European Central Bank</gesmes:name>",
        "\t</gesmes:Sender>",
        "\t<Cube>",
    ]
    for day in sorted(days, reverse=True):
        lines.append(f"\t\t<Cube time='{day.isoformat()}'>")
        lines.extend(f"\t\t\t<Cube currency='{code}' rate='{rate}'/>" for code, rate in days[day].items())
        lines.append("\t\t</Cube>")
    lines += ["\t</Cube>", "</gesmes:Envelope>"]
    return "\n".join(lines) + "\n"


def working_days(last: dt.date, count: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = last
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    return days


class FakeEcb:
    """Rates per working day; by default the sample rates on the 64 working days up to ``last``."""

    def __init__(self, last: dt.date | None = None, *, rates: dict[str, str] | None = None) -> None:
        last = last or dt.date.today()
        base = rates or SAMPLE
        self.days: dict[dt.date, dict[str, str]] = {}
        for offset, day in enumerate(working_days(last, 64)):
            # Each day a little different, so a test can tell the days apart.
            factor = Decimal(1) + Decimal(offset) / Decimal(1000)
            self.days[day] = {
                code: str((Decimal(value) * factor).quantize(Decimal(value))) for code, value in base.items()
            }
        self.broken = False
        self.requests: list[str] = []
        self.app = Starlette(routes=[Route(DAILY, self._daily), Route(HISTORY, self._history)])

    def newest(self) -> dt.date:
        return max(self.days)

    def _xml(self, days: dict[dt.date, dict[str, str]]) -> Response:
        body = envelope(days)
        if self.broken:
            body = body[: len(body) // 2]  # cut off mid-file, as an interrupted download would be
        return Response(body, media_type="text/xml")

    async def _daily(self, request: Request) -> Response:
        self.requests.append(request.url.path)
        newest = self.newest()
        return self._xml({newest: self.days[newest]})

    async def _history(self, request: Request) -> Response:
        self.requests.append(request.url.path)
        return self._xml(dict(sorted(self.days.items(), reverse=True)[:90]))
