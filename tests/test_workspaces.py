"""Two workspaces on one app: each one's data and Slack calls are its own.

Two Slack stand-ins (two workspaces) sit behind one SLACK_API_URL: a small router sends each Web
API call to the workspace whose token it carries (and oauth.v2.access by the code's workspace),
as Slack's one API does. Both install the app through /slack/install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devslack import BackgroundServer, FakeSlack, SlackDriver, date, text_input
from devslack import select as select_option
from storage.db import make_engine, make_sessionmaker
from storage.models import Customer, Expense
from tests.support import EMPLOYEE, FINANCE, MANAGER, ORG_CSV, SIGNING_SECRET, recent_day, workspace
from tests.test_oauth_install import SECRET_KEY

T = TypeVar("T")
SECOND_ORG = (
    "emp2@second.example,mgr2@second.example,ops,employee\nmgr2@second.example,,ops,manager\n"
    "fin2@second.example,,ops,finance\n"
)
EMP2, MGR2, FIN2 = "W_EMP2", "W_MGR2", "W_FIN2"


def router(fakes: list[FakeSlack]) -> Starlette:
    """Slack's single Web API in front of several workspaces."""

    async def api(request: Request) -> Response:
        method = request.path_params["method"]
        body = await request.body()
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token and body and "x-www-form-urlencoded" in request.headers.get("content-type", ""):
            token = dict(urllib.parse.parse_qsl(body.decode())).get("token", "")
        target: FakeSlack | None = None
        if method == "oauth.v2.access":
            form = dict(urllib.parse.parse_qsl(body.decode())) if body else {}
            code = form.get("code") or request.query_params.get("code") or ""
            refresh = form.get("refresh_token", "")
            target = next((f for f in fakes if code.startswith(f"{f.team_id}.") or refresh), fakes[0])
        else:
            target = next((f for f in fakes if token and f.oauth.token_valid(token)), None)
        if target is None:
            return JSONResponse({"ok": False, "error": "invalid_auth" if token else "not_authed"})
        headers = {k: v for k, v in request.headers.items() if k.lower() in {"authorization", "content-type"}}
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"{target.base_url}{method}", content=body, headers=headers, params=dict(request.query_params)
            )
        return Response(answer.content, status_code=answer.status_code, media_type="application/json")

    return Starlette(routes=[Route("/api/{method}", api, methods=["GET", "POST"])])


def second_workspace() -> FakeSlack:
    fake = FakeSlack(
        bot_token="xoxb-second-0000000002-bottoken",
        team_id="T0SECOND",
        team_name="Second Co",
        team_domain="second-co",
        bot_user_id="U0SECONDBOT",
        bot_id="B0SECONDBOT",
    )
    fake.add_user(EMP2, "emp2@second.example", real_name="Erin Second")
    fake.add_user(MGR2, "mgr2@second.example", real_name="Max Second")
    fake.add_user(FIN2, "fin2@second.example", real_name="Fern Second")
    return fake


def wait_until(check: Callable[[], T], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@contextmanager
def two_workspaces(tmp: Path, database_url: str) -> Iterator[tuple[str, dict[str, str], list[SlackDriver]]]:
    from bot.settings import Settings
    from bot.web import create_app

    org = tmp / "org.csv"
    org.write_text(ORG_CSV + SECOND_ORG)
    with workspace() as first, second_workspace() as second, BackgroundServer(router([first, second])) as api:
        env = {
            "SLACK_CLIENT_ID": first.oauth.client_id,
            "SLACK_CLIENT_SECRET": first.oauth.client_secret,
            "SLACK_OAUTH_URL": "https://slack.example/oauth/v2/authorize",
            "EXPENSEBOT_SECRET_KEY": SECRET_KEY,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"{api.url}/api/",
            "DATABASE_URL": database_url,
            "EXPENSEBOT_ORG_FILE": str(org),
            "EXPENSEBOT_SCHEDULER": "false",
        }
        saved = dict(os.environ)
        for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "REDIS_URL"):
            os.environ.pop(name, None)
        os.environ.update(env)
        try:
            with (
                BackgroundServer(create_app(Settings()), name="expensebot") as server,
                SlackDriver(server.url, SIGNING_SECRET, first) as driver_a,
                SlackDriver(server.url, SIGNING_SECRET, second) as driver_b,
                httpx.Client(timeout=15) as browser,
            ):
                wait_until(lambda: httpx.get(f"{server.url}/healthz").status_code == 200)
                for fake in (first, second):  # an admin of each workspace installs the app
                    fake.oauth.redirect_url = f"{server.url}/slack/oauth_redirect"
                    started = browser.get(f"{server.url}/slack/install")
                    assert started.status_code == 302
                    name, _, value = started.headers["set-cookie"].split(";", 1)[0].partition("=")
                    browser.cookies.set(
                        name, value
                    )  # `Secure`: kept by hand over http (see test_oauth_install)
                    query = urllib.parse.urlsplit(started.headers["location"]).query
                    allowed = browser.get(
                        f"{fake.oauth.authorize_url}?{query}"
                    )  # signed in to this workspace
                    assert browser.get(allowed.headers["location"]).status_code == 200
                yield (
                    server.url,
                    {k: v for k, v in {**os.environ}.items() if v is not None},
                    [driver_a, driver_b],
                )
        finally:
            os.environ.clear()
            os.environ.update(saved)


def new_expense(driver: SlackDriver, user: str, merchant: str, amount: str) -> Any:
    fake = driver.fake
    assert driver.slash_command(user, "/expense").status_code == 200
    modal = wait_until(
        lambda: (v := fake.latest_view(user)) and v.get("callback_id") == "expense_new_view" and v
    )
    driver.submit_view(
        user,
        modal,
        {
            "merchant": {"merchant": text_input(merchant)},
            "date": {"date": date(recent_day(2).isoformat())},
            "amount": {"amount": text_input(amount)},
            "currency": {"currency": text_input("USD")},
            "category": {"category": select_option("travel", "Travel")},
        },
    )
    return wait_until(
        lambda: next((m for m in fake.dm_messages(user) if m.buttons() and merchant in m.text), None)
    )


def expenses(database_url: str) -> list[tuple[int, str | None, str, str | None]]:
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        rows = session.execute(
            select(Expense.id, Expense.team_id, Expense.status, Expense.merchant).order_by(Expense.id)
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_two_workspaces_keep_their_data_and_a_forged_click_is_refused(tmp_path: Path, db_url: str) -> None:
    with two_workspaces(tmp_path, db_url) as (_url, env, (a, b)):
        first, second = a.fake, b.fake
        card_a = new_expense(a, EMPLOYEE, "Alpha Taxi", "23.40")
        card_b = new_expense(b, EMP2, "Beta Cafe", "9.10")
        rows = expenses(db_url)
        assert [(team, merchant) for _, team, _, merchant in rows] == [
            (first.team_id, "Alpha Taxi"),
            (second.team_id, "Beta Cafe"),
        ]
        # Each workspace's calls carried its own token.
        assert {c.token for c in first.calls if c.method != "oauth.v2.access"} == {first.bot_token}
        assert {c.token for c in second.calls if c.method != "oauth.v2.access"} == {second.bot_token}

        # A click signed for the second workspace, carrying the first one's expense and user ids.
        for label in ("Discard", "Submit"):
            button = next(btn for btn in card_a.buttons() if label in btn["text"]["text"])
            before = len(second.response_url_posts)
            forged = b.block_action(
                EMPLOYEE, button["action_id"], button["value"], channel=second.dm_channel(EMP2)
            )
            assert forged.status_code == 200
            refusal = wait_until(lambda before=before: second.response_url_posts[before:])
            assert "no longer exists" in json.dumps(refusal[-1].body), label
        time.sleep(1)  # a wrongly accepted click would have queued an approval request by now
        assert [status for _, _, status, _ in expenses(db_url)] == ["draft", "draft"]
        assert not [m for m in first.dm_messages(MANAGER) if m.buttons()]
        assert "Submit" in str(first.message(card_a.channel, card_a.ts).buttons())

        # The same click in its own workspace works.
        a.click(EMPLOYEE, card_a, "Submit")
        wait_until(lambda: [m for m in first.dm_messages(MANAGER) if m.buttons()])
        assert [status for _, _, status, _ in expenses(db_url)][1] == "draft"

        # App Home: each person sees their own workspace's expenses only.
        assert b.app_home_opened(EMP2).status_code == 200
        home = wait_until(lambda: second.home_view(EMP2))
        assert "Beta Cafe" in json.dumps(home) and "Alpha Taxi" not in json.dumps(home)
        assert card_b is not None

        # The finance commands ask which workspace when there are two.
        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "bot.cli", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                cwd=tmp_path,
            )

        period = ["--from", recent_day(20).isoformat(), "--to", recent_day(0).isoformat()]
        statement = tmp_path / "card.csv"
        statement.write_text(
            f"date,amount,description\n{recent_day(3).isoformat()},-412.30,DELTA AIR LINES\n"
        )
        customer_list = tmp_path / "customers.csv"
        customer_list.write_text("id,name\nC1,Alpha Customer Ltd\n")
        for args in (
            ["digest", "--dry-run"],
            ["report", "--by", "employee", *period],
            ["export", "--batch", "1"],
            ["transactions", "import", str(statement)],
            ["customers", "import", str(customer_list)],
            ["perdiem", "rates", "list"],
        ):
            unsure = cli(*args)
            assert unsure.returncode == 2, unsure.stderr
            assert "2 workspaces have installed expensebot" in unsure.stderr and "--team" in unsure.stderr
        unknown = cli("report", "--by", "employee", *period, "--team", "T0NOBODY")
        assert unknown.returncode == 2 and "T0NOBODY is not known" in unknown.stderr
        assert cli("digest", "--dry-run", "--team", second.team_id).returncode == 0

        # Statements and customers of the first workspace: its finance App Home counts its charge,
        # the second's shows no statements; the second matches no note to the first's customer.
        for args in (["transactions", "import", str(statement)], ["customers", "import", str(customer_list)]):
            done = cli(*args, "--team", first.team_id)
            assert done.returncode == 0, done.stderr
        assert a.app_home_opened(FINANCE).status_code == 200
        assert "1 unmatched" in json.dumps(wait_until(lambda: first.home_view(FINANCE)))
        assert b.app_home_opened(FIN2).status_code == 200
        assert "Statements (finance)" not in json.dumps(wait_until(lambda: second.home_view(FIN2)))
        theirs = cli("customers", "match", "dinner with Alpha Customer", "--json", "--team", second.team_id)
        assert theirs.returncode == 0 and json.loads(theirs.stdout)["customer"] is None

        # The first workspace's expense is approved and goes into its payout batch.
        request = wait_until(lambda: next((m for m in first.dm_messages(MANAGER) if m.buttons()), None))
        a.click(MANAGER, request, "Approve")
        finance_request = wait_until(
            lambda: next((m for m in first.dm_messages(FINANCE) if "Approve" in str(m.buttons())), None)
        )
        a.click(FINANCE, finance_request, "Approve")  # the policy's second step
        wait_until(lambda: expenses(db_url)[0][2] == "approved")
        digest = cli("digest", "--team", first.team_id)
        assert digest.returncode == 0, digest.stderr
        paid_message = wait_until(
            lambda: next((m for m in first.dm_messages(FINANCE) if "paid" in str(m.buttons())), None)
        )
        paid_button = next(btn for btn in paid_message.buttons() if "paid" in btn["text"]["text"])
        # A finance person of the second workspace forges "Mark paid" on the first one's batch.
        before = len(second.response_url_posts)
        forged = b.block_action(
            FIN2, paid_button["action_id"], paid_button["value"], channel=second.dm_channel(FIN2)
        )
        assert forged.status_code == 200
        refusal = wait_until(lambda: second.response_url_posts[before:])
        assert "does not exist" in json.dumps(refusal[-1].body)
        assert expenses(db_url)[0][2] == "approved"
        assert not [m for m in first.dm_messages(EMPLOYEE) if "paid" in (m.text or "").lower()]

        # Exports and reports: each workspace's own.
        batch = paid_button["value"]
        theirs = cli("export", "--batch", batch, "--team", second.team_id)
        assert theirs.returncode == 1 and f"Payout batch #{batch} does not exist" in theirs.stderr
        ours = cli("export", "--batch", batch, "--team", first.team_id)
        assert ours.returncode == 0 and "23.40" in ours.stdout, ours.stderr
        report_a = cli("report", "--by", "employee", *period, "--team", first.team_id)
        report_b = cli("report", "--by", "employee", *period, "--team", second.team_id)
        assert report_a.returncode == 0 and "23.40" in report_a.stdout
        assert report_b.returncode in (0, 1) and "23.40" not in report_b.stdout


def test_rows_from_single_workspace_mode_are_adopted_by_one_workspace(tmp_path: Path, db_url: str) -> None:
    from slack_sdk.oauth.installation_store.models.installation import Installation

    from storage.db import migrate, transaction
    from storage.installations import EncryptedInstallationStore, make_cipher
    from storage.tenancy import team_scope

    migrate(db_url)
    engine = make_engine(db_url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:  # written before multi-workspace mode: no workspace
        session.add(Expense(status="draft", employee_id=EMPLOYEE, source="dm", merchant="Old Diner"))
        session.add(Customer(source="csv", external_id="C1", name="Old Customer"))
    store = EncryptedInstallationStore("1.2", engine, make_cipher(SECRET_KEY))
    for team in ("T0ONE", "T0TWO"):
        store.save(
            Installation(
                app_id="A1",
                team_id=team,
                team_name=team,
                user_id="U1",
                bot_token=f"xoxb-{team}",
                bot_user_id="UB",
            )
        )
    env = {
        **os.environ,
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "s",
        "EXPENSEBOT_SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": db_url,
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "workspaces", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )

    with team_scope("T0ONE"), factory() as session:
        assert session.scalars(select(Expense)).all() == []  # not its row (yet)
    listed = cli("list")
    assert listed.returncode == 0 and listed.stdout.split() == ["T0ONE", "installed", "T0TWO", "installed"]
    wrong = cli("adopt", "--team", "T0NOBODY")
    assert wrong.returncode == 2 and "has not installed expensebot" in wrong.stderr
    adopted = cli("adopt", "--team", "T0ONE")
    assert adopted.returncode == 0 and "1 expenses" in adopted.stdout and "1 customers" in adopted.stdout
    with team_scope("T0ONE"), factory() as session:
        assert [e.merchant for e in session.scalars(select(Expense))] == ["Old Diner"]
        assert [c.name for c in session.scalars(select(Customer))] == ["Old Customer"]
    with team_scope("T0TWO"), factory() as session:
        assert session.scalars(select(Expense)).all() == []
        assert session.scalars(select(Customer)).all() == []
    engine.dispose()


async def test_jobs_run_for_the_workspace_that_queued_them(monkeypatch: Any, redis_url: str) -> None:
    import asyncio
    from types import SimpleNamespace

    from bot import jobs
    from storage.tenancy import current_team, team_scope

    seen: list[str | None] = []

    async def probe(ctx: object) -> None:
        seen.append(current_team.get())

    monkeypatch.setattr(jobs, "registry", lambda: {"probe": (probe, None)})
    ctx: Any = SimpleNamespace(settings=SimpleNamespace(retry_delays=(1.0,), redis_url=redis_url))
    runner = jobs.InProcessRunner(ctx, asyncio.get_running_loop())
    with team_scope("T0ONE"):
        runner.enqueue("probe")  # from the event loop
        await asyncio.to_thread(runner.enqueue, "probe")  # from a worker thread
    runner.enqueue("probe")  # single-workspace mode: no workspace
    await asyncio.sleep(0.2)
    await runner.drain()
    assert sorted(seen, key=str) == [None, "T0ONE", "T0ONE"]

    # Through Redis: the job carries its workspace, and the worker runs it in that scope.
    rq_runner = jobs.RQRunner(ctx, redis_url, runner)
    rq_runner.queue.empty()
    with team_scope("T0TWO"):
        rq_runner.enqueue("probe")
    [job] = rq_runner.queue.get_jobs()
    assert job.kwargs == {"team": "T0TWO"}
    monkeypatch.setattr(jobs, "worker_context", lambda: ctx)
    seen.clear()
    await asyncio.to_thread(jobs.run_rq_job, *job.args, **job.kwargs)
    assert seen == ["T0TWO"]


def test_tokens_under_another_key_are_not_used(sqlite_url: str, caplog: Any) -> None:
    from cryptography.fernet import Fernet
    from slack_sdk.oauth.installation_store.models.installation import Installation

    from storage.db import migrate
    from storage.installations import EncryptedInstallationStore, make_cipher

    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    EncryptedInstallationStore("1.2", engine, make_cipher(old_key)).save(
        Installation(app_id="A1", team_id="T0ONE", user_id="U1", bot_token="xoxb-secret", bot_user_id="UB")
    )
    assert (
        EncryptedInstallationStore("1.2", engine, make_cipher(new_key)).find_bot(
            enterprise_id=None, team_id="T0ONE"
        )
        is None
    )
    assert "cannot be decrypted with EXPENSEBOT_SECRET_KEY" in caplog.text
    rotated = EncryptedInstallationStore("1.2", engine, make_cipher(f"{new_key},{old_key}"))  # key rotation
    bot = rotated.find_bot(enterprise_id=None, team_id="T0ONE")
    assert bot is not None and bot.bot_token == "xoxb-secret"
    engine.dispose()
