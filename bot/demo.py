"""``expensebot demo``: the whole flow, offline, against the local stand-in for Slack.

It starts the stand-in (``devslack``) and the real app on loopback ports, then plays a small
company: Emma uploads a receipt, submits it, her manager and finance approve, finance posts the
payout digest and marks it paid. Every message Slack would show is printed as it happens.

This is the one module of ``bot`` allowed to import ``devslack`` (an import-linter contract says
so); ``bot.cli`` loads it only inside the ``demo`` command, so ``serve``, the workers and every
other command never load the stand-in.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import click

from devslack import BackgroundServer, FakeMessage, FakeSlack, SlackDriver
from devslack.render import render_message, render_view

SECRET = "demo-signing-secret"
PEOPLE = {
    "U_EMMA": ("emma@demo.example", "Emma Employee"),
    "U_MIA": ("mia@demo.example", "Mia Manager"),
    "U_FAY": ("fay@demo.example", "Fay Finance"),
    "U_BO": ("bo@demo.example", "Bo Boss"),
}
ORG = """email,manager_email,department,role
emma@demo.example,mia@demo.example,sales,employee
mia@demo.example,bo@demo.example,sales,manager
bo@demo.example,,sales,admin
fay@demo.example,bo@demo.example,finance,finance
"""
CUSTOMERS = """id,name,aliases,domain
ACME-1,Acme Corporation,ACME;Acme Corp,acme.example
GLOBEX-2,Globex Industries Inc,Globex,globex.example
INITECH-3,Initech LLC,,initech.example
"""


def last_working_day(today: dt.date) -> dt.date:
    """The working day before ``today``: a fresh expense that no policy rule on age or weekends flags."""
    day = today - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def sample_receipt() -> bytes:
    """A receipt photo drawn on the spot (a white slip with black print), dated yesterday's working day."""
    from PIL import Image, ImageDraw, ImageFont

    spent = last_working_day(dt.date.today()).strftime("%m/%d/%Y")  # a US receipt: month first
    lines = [
        "HARBOUR VIEW BISTRO",
        "88 Quay Road, Springfield",
        f"Date: {spent}   Time: 12:41",
        "Grilled salmon                    31.00",
        "Caesar salad                      18.50",
        "Sparkling water x2                 8.00",
        "Subtotal                          57.50",
        "Tax 8%                             4.60",
        "TOTAL                         USD 62.10",
        "Thank you!",
    ]
    font = ImageFont.load_default(size=34)
    image = Image.new("RGB", (900, 80 + len(lines) * 54), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((50, 40 + i * 54), line, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


class Tour:
    def __init__(self, slack: FakeSlack, driver: SlackDriver) -> None:
        self.slack = slack
        self.driver = driver
        self.t0 = time.monotonic()
        self.step_no = 0

    def names(self, user_id: str) -> str:
        return PEOPLE.get(user_id, ("", user_id))[1] or user_id

    def step(self, text: str) -> None:
        self.step_no += 1
        click.secho(f"\n[{time.monotonic() - self.t0:5.1f}s] {self.step_no}. {text}", fg="cyan", bold=True)

    def show(self, message: FakeMessage, where: str) -> None:
        click.secho(f"  ── {where} ──", fg="bright_black")
        for line in render_message(message, names=self.names).splitlines():
            click.echo(f"  │ {line}")

    def wait(self, what: str, check: Callable[[], FakeMessage | None], timeout: float = 60.0) -> FakeMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = check()
            if found is not None:
                return found
            time.sleep(0.05)
        raise click.ClickException(f"the demo waited {timeout:.0f}s for {what}; see the log above")

    def dm_with_button(self, user: str, label: str) -> Callable[[], FakeMessage | None]:
        def check() -> FakeMessage | None:
            for message in reversed(self.slack.dm_messages(user)):
                if any(label.lower() in b["text"]["text"].lower() for b in message.buttons()):
                    return message
            return None

        return check

    def dm_saying(self, user: str, words: str, after: int = 0) -> Callable[[], FakeMessage | None]:
        def check() -> FakeMessage | None:
            for message in self.slack.dm_messages(user)[after:]:
                if words.lower() in (message.text or "").lower() and not message.buttons():
                    return message
            return None

        return check


def run_demo(*, keep: bool = False) -> int:
    from bot.context import build_context
    from bot.jobs import InProcessRunner
    from bot.payouts import post_digest
    from bot.settings import Settings
    from bot.web import create_app
    from storage.customers import import_csv

    workdir = Path(tempfile.mkdtemp(prefix="expensebot-demo-"))
    db_file = Path("expensebot-demo.db").resolve() if keep else workdir / "demo.db"
    (workdir / "org.csv").write_text(ORG)
    click.secho("expensebot demo: the whole flow, offline. Nothing leaves this machine.", bold=True)
    with FakeSlack() as slack:
        for user_id, (email, name) in PEOPLE.items():
            slack.add_user(user_id, email, real_name=name)
        settings = Settings(
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.base_url,
            DATABASE_URL=f"sqlite:///{db_file}",
            EXPENSEBOT_ORG_FILE=workdir / "org.csv",
            EXPENSEBOT_SCHEDULER=False,
        )
        os.environ.pop("REDIS_URL", None)
        tour_ctx = build_context(settings)
        report = import_csv(tour_ctx.db, CUSTOMERS)
        click.echo(f"Slack stand-in:  {slack.base_url}")
        click.echo(f"Database:        {db_file} (SQLite); jobs run in-process (no REDIS_URL)")
        click.echo(f"CRM customers:   {report.summary()}")
        with (
            BackgroundServer(create_app(settings), name="expensebot") as server,
            SlackDriver(server.url, SECRET, slack) as driver,
        ):
            click.echo(f"expensebot:      {server.url}/slack/events")
            tour = Tour(slack, driver)

            tour.step("Emma drops a receipt photo into her DM with the bot: “client lunch with Acme”")
            upload = driver.upload_in_dm(
                "U_EMMA", sample_receipt(), "bistro.jpg", "image/jpeg", text="client lunch with Acme"
            )
            for event in upload.events:  # Slack sends both events for one upload
                driver.event(event)
            card = tour.wait("the receipt card", tour.dm_with_button("U_EMMA", "Submit"))
            tour.show(card, "Emma's DM: the receipt card (read by OCR, customer matched)")

            tour.step("Slack redelivers the upload event (a retry): no second card")
            driver.event(upload.message_event, retry_num=1, retry_reason="http_timeout")
            time.sleep(0.5)
            cards = [m for m in slack.dm_messages("U_EMMA") if m.buttons()]
            click.echo(f"  cards in Emma's DM: {len(cards)}")

            tour.step("Emma clicks Submit; her manager Mia gets the approval request")
            driver.click("U_EMMA", card, "Submit")
            request = tour.wait("Mia's approval request", tour.dm_with_button("U_MIA", "Approve"))
            tour.show(request, "Mia's DM")

            tour.step("Emma tries to approve her own expense: refused, only she sees why")
            before = len(slack.response_url_posts)
            driver.click("U_EMMA", request, "Approve")
            deadline = time.monotonic() + 10
            while len(slack.response_url_posts) == before and time.monotonic() < deadline:
                time.sleep(0.05)
            if len(slack.response_url_posts) > before:
                click.echo(f"  (ephemeral to Emma) {slack.response_url_posts[-1].body.get('text')}")

            tour.step("Mia approves; her message is updated in place and Emma is told")
            seen = len(slack.dm_messages("U_EMMA"))
            driver.click("U_MIA", request, "Approve")
            told = tour.wait("Emma's notice", tour.dm_saying("U_EMMA", "approved", seen))
            tour.show(slack.message(request.channel, request.ts), "Mia's DM, after")
            tour.show(told, "Emma's DM")

            tour.step("Finance (Fay) approves as the last step")
            fin = tour.wait("finance's approval request", tour.dm_with_button("U_FAY", "Approve"))
            seen = len(slack.dm_messages("U_EMMA"))
            driver.click("U_FAY", fin, "Approve")
            told = tour.wait("Emma's notice", tour.dm_saying("U_EMMA", "payout", seen))
            tour.show(told, "Emma's DM")

            tour.step("The payout digest is posted to finance (what `expensebot digest` does)")
            tour_ctx.jobs = InProcessRunner(tour_ctx)
            result = asyncio.run(post_digest(tour_ctx, "demo"))
            click.echo("  " + result.text.replace("\n", "\n  "))
            digest = tour.wait("the digest", tour.dm_with_button("U_FAY", "paid"))
            tour.show(digest, "Fay's DM")

            tour.step("Fay clicks Mark batch paid; Emma is told she was paid")
            seen = len(slack.dm_messages("U_EMMA"))
            driver.click("U_FAY", digest, "paid")
            told = tour.wait("Emma's paid notice", tour.dm_saying("U_EMMA", "paid", seen))
            tour.show(told, "Emma's DM")

            tour.step("Emma opens the App Home tab")
            driver.app_home_opened("U_EMMA")
            home = None
            deadline = time.monotonic() + 10
            while home is None and time.monotonic() < deadline:
                home = slack.home_view("U_EMMA")
                time.sleep(0.05)
            if home is not None:
                for line in render_view(home, names=tour.names).splitlines():
                    click.echo(f"  │ {line}")
            click.secho(
                f"\nDone in {time.monotonic() - tour.t0:.1f}s: upload → card → approvals → paid. "
                "Connect a real workspace with manifest.yml (see README).",
                fg="green",
                bold=True,
            )
    tour_ctx.engine.dispose()
    return 0
