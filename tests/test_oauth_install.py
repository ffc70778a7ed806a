"""Multi-workspace mode: the OAuth v2 install flow through HTTP against the Slack stand-in.

/slack/install -> Slack's authorize page (the stand-in) -> /slack/oauth_redirect -> oauth.v2.access;
the installation is stored with its tokens encrypted; the workspace then works with its own token;
app_uninstalled ends it. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from devslack import BackgroundServer, FakeSlack, SlackDriver
from storage.db import make_engine, make_sessionmaker
from storage.models import AuditEvent, SlackBot, SlackInstallation, SlackOAuthState
from tests.support import ORG_CSV, SIGNING_SECRET, workspace

SECRET_KEY = Fernet.generate_key().decode()


@dataclass
class Multi:
    slack: FakeSlack
    driver: SlackDriver
    url: str
    database_url: str

    def rows(
        self, model: type[SlackBot] | type[SlackInstallation]
    ) -> list[SlackBot] | list[SlackInstallation]:
        engine = make_engine(self.database_url)
        try:
            with make_sessionmaker(engine)() as session:
                return list(session.scalars(select(model)))  # type: ignore[arg-type]
        finally:
            engine.dispose()


def multi_env(fake: FakeSlack, database_url: str, org: Path) -> dict[str, str]:
    env = {
        "SLACK_CLIENT_ID": fake.oauth.client_id,
        "SLACK_CLIENT_SECRET": fake.oauth.client_secret,
        "SLACK_OAUTH_URL": fake.oauth.authorize_url,
        "EXPENSEBOT_SECRET_KEY": SECRET_KEY,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
        "DATABASE_URL": database_url,
        "EXPENSEBOT_ORG_FILE": str(org),
        "EXPENSEBOT_SCHEDULER": "false",
    }
    return env


@contextmanager
def multi_app(tmp: Path, database_url: str, fake: FakeSlack | None = None) -> Iterator[Multi]:
    from bot.settings import Settings
    from bot.web import create_app

    org = tmp / "org.csv"
    org.write_text(ORG_CSV)
    with fake or workspace() as slack:
        env = multi_env(slack, database_url, org)
        saved = dict(os.environ)
        for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "REDIS_URL"):
            os.environ.pop(name, None)
        os.environ.update(env)
        try:
            settings = Settings()
            assert settings.multi_workspace and settings.slack_bot_token is None
            with (
                BackgroundServer(create_app(settings), name="expensebot") as server,
                SlackDriver(server.url, SIGNING_SECRET, slack) as driver,
            ):
                slack.oauth.redirect_url = f"{server.url}/slack/oauth_redirect"
                deadline = time.monotonic() + 30
                while httpx.get(f"{server.url}/healthz").status_code != 200:
                    assert time.monotonic() < deadline, "the app did not become healthy"
                    time.sleep(0.1)
                yield Multi(slack, driver, server.url, database_url)
        finally:
            os.environ.clear()
            os.environ.update(saved)


def start_install(browser: httpx.Client, app: Multi) -> tuple[str, dict[str, str]]:
    """GET /slack/install: the redirect to Slack's authorize page and its query."""
    resp = browser.get(f"{app.url}/slack/install")
    assert resp.status_code == 302, resp.text
    # The state cookie is `Secure`: browsers send it to http://localhost, httpx does not; keep it by hand.
    name, _, value = resp.headers["set-cookie"].split(";", 1)[0].partition("=")
    browser.cookies.set(name, value)
    location = resp.headers["location"]
    assert location.startswith(app.slack.oauth.authorize_url + "?")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    return location, query


def install(browser: httpx.Client, app: Multi) -> httpx.Response:
    location, _ = start_install(browser, app)
    allowed = browser.get(location)  # the installer clicks "Allow" on Slack's page
    assert allowed.status_code == 302
    return browser.get(allowed.headers["location"])  # back to /slack/oauth_redirect


def finish(browser: httpx.Client, location: str) -> httpx.Response:
    allowed = browser.get(location)
    assert allowed.status_code == 302
    return browser.get(allowed.headers["location"])


def test_install_stores_an_encrypted_token_serves_the_workspace_and_uninstall_ends_it(
    tmp_path: Path, db_url: str
) -> None:
    database_url = db_url
    with multi_app(tmp_path, database_url) as app, httpx.Client(timeout=15) as browser:
        location, query = start_install(browser, app)
        assert query["client_id"] == app.slack.oauth.client_id
        assert {"chat:write", "files:read", "users:read.email"} <= set(query["scope"].split(","))
        assert query["state"]

        done = finish(browser, location)
        assert done.status_code == 200, done.text
        assert "installed" in done.text and app.slack.team_name in done.text
        exchange = app.slack.calls_to("oauth.v2.access")
        assert len(exchange) == 1 and exchange[0].error is None

        # Stored, and not in plain text: the token decrypts only with EXPENSEBOT_SECRET_KEY.
        token = app.slack.bot_token
        bots = app.rows(SlackBot)
        installations = app.rows(SlackInstallation)
        assert [b.team_id for b in bots] == [app.slack.team_id]
        for row in [*bots, *installations]:
            assert row.bot_token is not None and token not in row.bot_token
            assert Fernet(SECRET_KEY.encode()).decrypt(row.bot_token.encode()).decode() == token

        # The workspace works with its own token (none was configured).
        app.slack.clear_calls()
        assert app.driver.slash_command("U_EMP", "/expense", "policy").status_code == 200
        answer = app.slack.wait_for("chat.postEphemeral", timeout=15)  # Bolt's client for the request
        assert answer.token == token and answer.error is None
        assert app.driver.send_dm("U_EMP", "hello").status_code == 200
        hint = app.slack.wait_for("chat.postMessage", timeout=15)  # the app's own client (ctx.slack)
        assert hint.token == token and hint.error is None

        # The link cannot be used twice: its state was consumed (even with the browser's cookie back).
        browser.cookies.set("slack-app-oauth-state", query["state"])
        again = browser.get(f"{app.url}/slack/oauth_redirect?code=whatever&state={query['state']}")
        assert again.status_code == 400 and "expired or was already used" in again.text

        # Uninstalled in Slack: the installation ends, with an audit event.
        app.slack.oauth.uninstall()
        assert app.driver.event({"type": "app_uninstalled"}).status_code == 200
        deadline = time.monotonic() + 60  # a generous wait for the app, not a speed check
        while app.rows(SlackBot) or app.rows(SlackInstallation):
            assert time.monotonic() < deadline, "the installation was not removed"
            time.sleep(0.1)
        engine = make_engine(database_url)
        with make_sessionmaker(engine)() as session:
            actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "workspace")))
        engine.dispose()
        assert actions == ["workspace.installed", "workspace.uninstalled"]


def test_bad_state_bad_code_and_cancelled_install_get_clear_4xx_pages(
    tmp_path: Path, sqlite_url: str
) -> None:
    with multi_app(tmp_path, sqlite_url) as app, httpx.Client(timeout=15) as browser:
        # A code Slack does not know: oauth.v2.access says invalid_code.
        _, query = start_install(browser, app)
        resp = browser.get(f"{app.url}/slack/oauth_redirect?code=T0DEVSLACK.bogus&state={query['state']}")
        assert resp.status_code == 400 and "did not accept the authorization" in resp.text
        assert app.slack.calls_to("oauth.v2.access")[-1].error == "invalid_code"

        # An expired state.
        location, query = start_install(browser, app)
        engine = make_engine(sqlite_url)
        with make_sessionmaker(engine)() as session, session.begin():
            session.execute(update(SlackOAuthState).values(expire_at=dt.datetime(2020, 1, 1)))
        engine.dispose()
        allowed = browser.get(location)
        resp = browser.get(allowed.headers["location"])
        assert resp.status_code == 400 and "expired" in resp.text

        # A state made up by someone else.
        start_install(browser, app)
        resp = browser.get(f"{app.url}/slack/oauth_redirect?code=x&state=forged")
        assert resp.status_code == 400

        # The installer cancels on Slack's page.
        app.slack.oauth.deny_next = True
        location, _ = start_install(browser, app)
        resp = browser.get(browser.get(location).headers["location"])
        assert resp.status_code == 403 and "cancelled" in resp.text

        # A browser that did not start the install (no state cookie).
        location, _ = start_install(browser, app)
        with httpx.Client(timeout=15) as other:
            resp = other.get(browser.get(location).headers["location"])
        assert resp.status_code == 400 and "browser" in resp.text
        assert app.rows(SlackBot) == []


def test_rotating_tokens_are_refreshed_and_stored_encrypted(tmp_path: Path, sqlite_url: str) -> None:
    fake = workspace()
    fake.oauth.token_rotation = True
    fake.oauth.expires_in = 300  # due for refresh at once
    with multi_app(tmp_path, sqlite_url, fake) as app, httpx.Client(timeout=15) as browser:
        assert install(browser, app).status_code == 200
        first = app.slack.bot_token
        assert first.startswith("xoxe.xoxb-")
        assert app.driver.slash_command("U_EMP", "/expense", "policy").status_code == 200
        answer = app.slack.wait_for("chat.postEphemeral", timeout=15)
        refreshes = [
            c for c in app.slack.calls_to("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"
        ]
        assert refreshes and refreshes[0].error is None
        # answered with a refreshed token, not the expired one; the app's own Slack call in the
        # same request (the person's language) may refresh once more, and a refreshed token stays
        # valid until it expires, as Slack's are
        assert answer.error is None and answer.token.startswith("xoxe.xoxb-") and answer.token != first
        stored = [b.bot_token for b in app.rows(SlackBot)]
        assert stored and all(t and app.slack.bot_token not in t for t in stored)
        latest = Fernet(SECRET_KEY.encode()).decrypt(str(stored[-1]).encode()).decode()
        assert latest == app.slack.bot_token

        # The app's own calls (outbox, jobs: not Bolt's) refresh a token close to expiry too.
        refreshed_by_bolt = app.slack.bot_token
        assert app.driver.send_dm("U_EMP", "hello").status_code == 200
        hint = app.slack.wait_for("chat.postMessage", timeout=15)
        assert hint.error is None and hint.token == app.slack.bot_token != refreshed_by_bolt
        refreshes = [
            c for c in app.slack.calls_to("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"
        ]
        # Bolt for the slash command, the app's client for the person's language (users.info),
        # Bolt for the message event, then the app's client for its reply: each with the refresh
        # token the one before left, wherever it was saved (a spent one fails at Slack).
        assert len(refreshes) == 4 and all(c.error is None for c in refreshes)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_multi_workspace_settings_are_checked_with_clear_messages(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EXPENSEBOT_"))}
    base.update(DATABASE_URL=f"sqlite:///{tmp_path}/x.db", SLACK_SIGNING_SECRET="s", SLACK_CLIENT_ID="1.2")
    missing = _cli(base, "run")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert "SLACK_CLIENT_SECRET and EXPENSEBOT_SECRET_KEY must be set" in missing.stderr

    bad_key = _cli({**base, "SLACK_CLIENT_SECRET": "shh", "EXPENSEBOT_SECRET_KEY": "not-a-key"}, "run")
    assert bad_key.returncode != 0 and "Traceback" not in bad_key.stderr
    assert "EXPENSEBOT_SECRET_KEY is not a Fernet key" in bad_key.stderr
    assert "shh" not in bad_key.stderr and "not-a-key" not in bad_key.stderr  # secrets are not echoed

    bad_url = _cli(
        {
            **base,
            "SLACK_CLIENT_SECRET": "shh",
            "EXPENSEBOT_SECRET_KEY": SECRET_KEY,
            "SLACK_OAUTH_URL": "slack.com/oauth",
        },
        "run",
    )
    assert bad_url.returncode != 0 and "SLACK_OAUTH_URL" in bad_url.stderr

    bad_store = _cli(
        {
            **base,
            "SLACK_CLIENT_ID": "",
            "SLACK_BOT_TOKEN": "xoxb-1",
            "EXPENSEBOT_RECEIPT_STORE": "ftp://files",
        },
        "run",
    )
    assert bad_store.returncode != 0 and "Traceback" not in bad_store.stderr
    assert (
        "EXPENSEBOT_RECEIPT_STORE='ftp://files': must be db, file:///absolute/path or s3://bucket/prefix"
        in (bad_store.stderr)
    )
