"""FakeSlack's Web API, exercised through slack_sdk's real clients."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from devslack import FakeSlack

BUTTONS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Lunch* 12.50 EUR"}},
    {
        "type": "actions",
        "block_id": "decide",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": "e1",
                "action_id": "ok",
            },
            {"type": "button", "text": {"type": "plain_text", "text": "Approve all"}, "action_id": "all"},
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Reject"},
                "value": "e1",
                "style": "danger",
            },
        ],
    },
]

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "expense_edit",
    "private_metadata": "exp-1",
    "title": {"type": "plain_text", "text": "Edit expense"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "amount",
            "label": {"type": "plain_text", "text": "Amount"},
            "element": {"type": "plain_text_input", "action_id": "amount_input"},
        }
    ],
}


def client(slack: FakeSlack, **kwargs: Any) -> WebClient:
    return WebClient(token=slack.bot_token, base_url=slack.base_url, **kwargs)


def api_error(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


# ---------------------------------------------------------------- auth, shapes


def test_auth_test_describes_the_bot(slack: FakeSlack) -> None:
    resp = client(slack).auth_test()
    assert resp["ok"] is True
    assert resp["user_id"] == slack.bot_user_id
    assert resp["team_id"] == slack.team_id
    assert resp["bot_id"] == slack.bot_id
    assert slack.base_url.endswith("/api/")


def test_missing_and_wrong_tokens(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=slack.base_url).auth_test()
    assert api_error(missing) == "not_authed"
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-someone-else", base_url=slack.base_url).auth_test()
    assert api_error(wrong) == "invalid_auth"
    assert [c.error for c in slack.calls_to("auth.test")] == ["not_authed", "invalid_auth"]


def test_token_as_form_field_but_not_inside_a_json_body(slack: FakeSlack) -> None:
    form = httpx.post(slack.base_url + "auth.test", data={"token": slack.bot_token})
    assert form.json()["ok"] is True
    as_json = httpx.post(slack.base_url + "auth.test", json={"token": slack.bot_token})
    assert as_json.status_code == 200
    assert as_json.json() == {"ok": False, "error": "not_authed"}


def test_unknown_method(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as exc:
        client(slack).api_call("chat.teleport")
    assert exc.value.response.status_code == 200
    assert exc.value.response.data == {"ok": False, "error": "unknown_method", "req_method": "chat.teleport"}


# -------------------------------------------------------------------- messages


def test_post_to_user_opens_a_stable_dm(slack: FakeSlack) -> None:
    web = client(slack)
    first = web.chat_postMessage(channel="U_ANN", text="Receipt received", blocks=BUTTONS)
    dm = first["channel"]
    assert dm.startswith("D")
    assert web.conversations_open(users="U_ANN")["channel"]["id"] == dm
    assert web.chat_postMessage(channel=dm, text="again")["channel"] == dm
    info = web.conversations_info(channel=dm)["channel"]
    assert info["is_im"] is True and info["user"] == "U_ANN"
    assert first["message"]["bot_id"] == slack.bot_id
    assert first["message"]["user"] == slack.bot_user_id
    msgs = slack.dm_messages("U_ANN")
    assert [m.text for m in msgs] == ["Receipt received", "again"]
    assert float(msgs[0].ts) < float(msgs[1].ts)
    assert slack.messages("U_ANN") == msgs


def test_post_form_encoded_with_blocks_as_json_string(slack: FakeSlack) -> None:
    resp = client(slack).api_call(
        "chat.postMessage", data={"channel": "C_FIN", "text": "fallback", "blocks": json.dumps(BUTTONS)}
    )
    assert resp["ok"] is True
    msg = slack.messages("C_FIN")[0]
    assert msg.blocks[1]["block_id"] == "decide"
    assert msg.blocks[0]["block_id"]  # filled in like Slack does
    call = slack.calls_to("chat.postMessage")[0]
    assert call.args["blocks"][1]["block_id"] == "decide"
    assert call.token == slack.bot_token


def test_buttons_and_button_lookup(slack: FakeSlack) -> None:
    client(slack).chat_postMessage(channel="C_FIN", text="x", blocks=BUTTONS)
    msg = slack.messages("C_FIN")[0]
    assert [b["text"]["text"] for b in msg.buttons()] == ["Approve", "Approve all", "Reject"]
    assert msg.button("approve")["action_id"] == "ok"  # exact match wins over "Approve all"
    assert msg.button("all")["action_id"] == "all"
    assert msg.button("Rej")["action_id"]  # Slack assigns an action_id when the app did not
    with pytest.raises(AssertionError, match="no button matching 'Pay'"):
        msg.button("Pay")
    assert "12.50 EUR" in msg.all_text()


@pytest.mark.filterwarnings("ignore:The top-level `text` argument")
def test_post_errors(slack: FakeSlack) -> None:
    web = client(slack)
    slack.add_channel("C_SECRET", "secret", members=["U_ANN"], bot_is_member=False)
    slack.add_channel("C_OPEN", "open", members=["U_ANN"], bot_is_member=False, is_private=False)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channel": "C_NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": "C_FIN"}, "no_text"),
        ({"channel": "C_OPEN", "text": "x"}, "not_in_channel"),
        ({"channel": "C_SECRET", "text": "x"}, "not_in_channel"),
        ({"channel": "C_FIN", "text": "x" * 40_001}, "msg_too_long"),
    ]
    for args, error in cases:
        with pytest.raises(SlackApiError) as exc:
            web.chat_postMessage(**args)
        assert api_error(exc) == error, args


def test_invalid_blocks_are_rejected_with_reasons(slack: FakeSlack) -> None:
    bad = [
        {
            "type": "actions",
            "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x" * 80}}],
        }
    ]
    with pytest.raises(SlackApiError) as exc:
        client(slack).chat_postMessage(channel="C_FIN", text="x", blocks=bad)
    assert api_error(exc) == "invalid_blocks"
    messages = exc.value.response["response_metadata"]["messages"]
    assert any("/blocks/0/elements/0/text" in m for m in messages)
    with pytest.raises(SlackApiError) as exc2:
        client(slack).api_call("chat.postMessage", data={"channel": "C_FIN", "blocks": "[{not json"})
    assert api_error(exc2) == "invalid_blocks_format"


def test_thread_replies(slack: FakeSlack) -> None:
    web = client(slack)
    parent = web.chat_postMessage(channel="C_FIN", text="parent")["ts"]
    web.chat_postMessage(channel="C_FIN", text="reply", thread_ts=parent)
    thread = slack.thread("C_FIN", parent)
    assert [m.text for m in thread] == ["parent", "reply"]
    assert thread[0].reply_count == 1
    assert [m.text for m in slack.messages("C_FIN", include_replies=False)] == ["parent"]
    replies = web.conversations_replies(channel="C_FIN", ts=parent)["messages"]
    assert [m["text"] for m in replies] == ["parent", "reply"]


def test_update_keeps_blocks_unless_given(slack: FakeSlack) -> None:
    web = client(slack)
    posted = web.chat_postMessage(channel="C_FIN", text="v1", blocks=BUTTONS)
    resp = web.chat_update(channel=posted["channel"], ts=posted["ts"], text="v2")
    assert resp["ts"] == posted["ts"] and resp["text"] == "v2"
    msg = slack.messages("C_FIN")[0]
    assert msg.text == "v2" and len(msg.buttons()) == 3 and msg.edited_ts
    web.chat_update(channel="C_FIN", ts=posted["ts"], text="done", blocks=[])
    assert slack.messages("C_FIN")[0].buttons() == []
    assert len(slack.messages("C_FIN")) == 1


def test_update_errors(slack: FakeSlack) -> None:
    web = client(slack)
    human = slack.post_as_user("U_ANN", "C_FIN", "my message")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channel": "C_FIN", "ts": "1.000001", "text": "x"}, "message_not_found"),
        ({"channel": "C_FIN", "ts": human.ts, "text": "x"}, "cant_update_message"),
        ({"channel": "U_ANN", "ts": human.ts, "text": "x"}, "channel_not_found"),
    ]
    for kwargs, error in cases:
        with pytest.raises(SlackApiError) as exc:
            web.chat_update(**kwargs)
        assert api_error(exc) == error


def test_ephemeral_is_recorded_apart(slack: FakeSlack) -> None:
    web = client(slack)
    resp = web.chat_postEphemeral(channel="C_FIN", user="U_ANN", text="only you", blocks=BUTTONS)
    assert resp["ok"] is True and resp["message_ts"]
    assert slack.messages("C_FIN") == []
    [eph] = slack.ephemeral("U_ANN")
    assert (
        eph.text == "only you" and eph.ephemeral and eph.recipient == "U_ANN" and eph.ts == resp["message_ts"]
    )
    assert slack.ephemeral("U_BOB") == []
    with pytest.raises(SlackApiError) as exc:
        web.chat_postEphemeral(channel="C_FIN", user="U_BOB", text="x")
    assert api_error(exc) == "user_not_in_channel"


def test_delete_permalink_and_reactions(slack: FakeSlack) -> None:
    web = client(slack)
    ts = web.chat_postMessage(channel="C_GEN", text="hello")["ts"]
    link = web.chat_getPermalink(channel="C_GEN", message_ts=ts)["permalink"]
    assert link.endswith(f"/archives/C_GEN/p{ts.replace('.', '')}")
    web.reactions_add(channel="C_GEN", timestamp=ts, name="white_check_mark")
    assert slack.messages("C_GEN")[0].reactions == {"white_check_mark": [slack.bot_user_id]}
    with pytest.raises(SlackApiError) as again:
        web.reactions_add(channel="C_GEN", timestamp=ts, name="white_check_mark")
    assert api_error(again) == "already_reacted"
    web.reactions_remove(channel="C_GEN", timestamp=ts, name="white_check_mark")
    with pytest.raises(SlackApiError) as none:
        web.reactions_remove(channel="C_GEN", timestamp=ts, name="white_check_mark")
    assert api_error(none) == "no_reaction"
    assert web.chat_delete(channel="C_GEN", ts=ts)["ts"] == ts
    assert slack.messages("C_GEN") == []
    with pytest.raises(SlackApiError) as gone:
        web.chat_delete(channel="C_GEN", ts=ts)
    assert api_error(gone) == "message_not_found"


# ----------------------------------------------------------------------- users


def test_users_info_and_lookup(slack: FakeSlack) -> None:
    web = client(slack)
    user = web.users_info(user="U_ANN")["user"]
    assert user["profile"]["email"] == "ann@example.com"
    assert user["real_name"] == "Ann Lee" and user["tz"] == "Europe/Paris"
    assert user["tz_offset"] in (3600, 7200)
    assert web.users_lookupByEmail(email="BOB@example.com")["user"]["id"] == "U_BOB"
    with pytest.raises(SlackApiError) as nobody:
        web.users_lookupByEmail(email="carol@example.com")
    assert api_error(nobody) == "users_not_found"
    with pytest.raises(SlackApiError) as unknown:
        web.users_info(user="U_NOPE")
    assert api_error(unknown) == "user_not_found"
    with pytest.raises(SlackApiError) as bad:
        web.api_call("users.lookupByEmail", params={})
    assert api_error(bad) == "invalid_arguments"
    assert bad.value.response["response_metadata"]["messages"] == ["[ERROR] missing required field: email"]
    assert web.users_info(user=slack.bot_user_id)["user"]["is_bot"] is True


def test_users_locale_only_when_asked(slack: FakeSlack) -> None:
    """Slack returns ``locale`` from users.info and users.list only with ``include_locale``."""
    web = client(slack)
    slack.add_user("U_DE", "de@example.com", real_name="Dora Deutsch", locale="de-DE")
    assert "locale" not in web.users_info(user="U_DE")["user"]
    assert web.users_info(user="U_DE", include_locale=True)["user"]["locale"] == "de-DE"
    assert web.users_info(user="U_ANN", include_locale=True)["user"]["locale"] == "en-US"
    listed = {u["id"]: u for u in web.users_list(include_locale=True)["members"]}
    assert listed["U_DE"]["locale"] == "de-DE"
    assert all("locale" not in u for u in web.users_list()["members"])
    assert "locale" not in web.users_lookupByEmail(email="de@example.com")["user"]


def test_users_list_and_channel_members_paginate(slack: FakeSlack) -> None:
    web = client(slack)
    first = web.users_list(limit=2)
    assert len(first["members"]) == 2
    cursor = first["response_metadata"]["next_cursor"]
    rest = web.users_list(cursor=cursor)
    ids = {m["id"] for m in first["members"]} | {m["id"] for m in rest["members"]}
    assert ids == {slack.bot_user_id, "U_ANN", "U_BOB"}
    assert rest["response_metadata"]["next_cursor"] == ""
    assert set(web.conversations_members(channel="C_FIN")["members"]) == {"U_ANN", slack.bot_user_id}


# ----------------------------------------------------------------------- views


def test_views_open_needs_a_fresh_unused_trigger(slack: FakeSlack) -> None:
    web = client(slack)
    trigger = slack.issue_trigger_id("U_ANN")
    view = web.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "expense_edit"
    assert view["private_metadata"] == "exp-1" and view["state"] == {"values": {}}
    assert view["root_view_id"] == view["id"] and view["hash"]
    assert slack.views_opened[-1]["id"] == view["id"]
    assert slack.latest_view("U_ANN") == view
    assert slack.open_views("U_ANN") == [view]
    for trigger_id, error in [(trigger, "exchanged_trigger_id"), ("123.456.abc", "invalid_trigger_id")]:
        with pytest.raises(SlackApiError) as exc:
            web.views_open(trigger_id=trigger_id, view=MODAL)
        assert api_error(exc) == error


def test_trigger_expiry_is_configurable() -> None:
    with FakeSlack(trigger_ttl=0.05) as slack:
        slack.add_user("U_ANN", "ann@example.com")
        trigger = slack.issue_trigger_id("U_ANN")
        time.sleep(0.1)
        with pytest.raises(SlackApiError) as exc:
            client(slack).views_open(trigger_id=trigger, view=MODAL)
        assert api_error(exc) == "expired_trigger_id"


def test_view_validation(slack: FakeSlack) -> None:
    web = client(slack)
    long_title = {**MODAL, "title": {"type": "plain_text", "text": "An expense title that is too long"}}
    no_submit = {k: v for k, v in MODAL.items() if k != "submit"}
    for view, pointer in [(long_title, "/view/title/text"), (no_submit, "/view/submit")]:
        with pytest.raises(SlackApiError) as exc:
            web.views_open(trigger_id=slack.issue_trigger_id("U_ANN"), view=view)
        assert api_error(exc) == "invalid_arguments"
        assert any(pointer in m for m in exc.value.response["response_metadata"]["messages"])


def test_views_push_update_and_hash(slack: FakeSlack) -> None:
    web = client(slack)
    root = web.views_open(trigger_id=slack.issue_trigger_id("U_ANN"), view=MODAL)["view"]
    pushed = web.views_push(
        trigger_id=slack.issue_trigger_id("U_ANN"), view={**MODAL, "callback_id": "step2"}
    )
    assert pushed["view"]["root_view_id"] == root["id"]
    assert pushed["view"]["previous_view_id"] == root["id"]
    assert [v["callback_id"] for v in slack.open_views("U_ANN")] == ["expense_edit", "step2"]
    updated = web.views_update(
        view_id=root["id"], hash=root["hash"], view={**MODAL, "private_metadata": "v2"}
    )
    assert updated["view"]["id"] == root["id"] and updated["view"]["hash"] != root["hash"]
    assert slack.view(root["id"])["private_metadata"] == "v2"
    with pytest.raises(SlackApiError) as conflict:
        web.views_update(view_id=root["id"], hash=root["hash"], view=MODAL)
    assert api_error(conflict) == "hash_conflict"
    with pytest.raises(SlackApiError) as missing:
        web.views_update(view_id="V_NOPE", view=MODAL)
    assert api_error(missing) == "not_found"
    web.views_push(trigger_id=slack.issue_trigger_id("U_ANN"), view=MODAL)
    with pytest.raises(SlackApiError) as limit:
        web.views_push(trigger_id=slack.issue_trigger_id("U_ANN"), view=MODAL)
    assert api_error(limit) == "push_limit_reached"


def test_views_publish_app_home_per_user(slack: FakeSlack) -> None:
    web = client(slack)
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "3 pending"}}]}
    first = web.views_publish(user_id="U_ANN", view=home)["view"]
    second = web.views_publish(user_id="U_ANN", view={**home, "private_metadata": "x"})["view"]
    assert first["id"] == second["id"] and first["type"] == "home"
    assert slack.home_view("U_ANN") == second
    assert slack.home_view("U_BOB") is None
    with pytest.raises(SlackApiError) as exc:
        web.views_publish(user_id="U_ANN", view=MODAL)
    assert api_error(exc) == "invalid_arguments"


# ----------------------------------------------------------------------- files


def test_files_upload_v2_flow_and_private_urls(slack: FakeSlack) -> None:
    web = client(slack)
    content = b"%PDF-1.4 fake pdf bytes"
    resp = web.files_upload_v2(
        channel="C_FIN", content=content, filename="report.pdf", initial_comment="Report"
    )
    file = resp["file"]
    assert file["id"].startswith("F") and file["name"] == "report.pdf" and file["size"] == len(content)
    assert file["filetype"] == "pdf" and file["mimetype"] == "application/pdf"
    assert "C_FIN" in file["channels"]
    [msg] = slack.messages("C_FIN")
    assert msg.text == "Report" and msg.files[0]["id"] == file["id"]
    assert web.files_info(file=file["id"])["file"]["id"] == file["id"]
    assert [c.method for c in slack.calls][-3:] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
        "files.info",
    ]

    auth = {"Authorization": f"Bearer {slack.bot_token}"}
    for url in (file["url_private"], file["url_private_download"]):
        got = httpx.get(url, headers=auth)
        assert got.status_code == 200 and got.content == content
        assert got.headers["content-type"] == "application/pdf"
    anonymous = httpx.get(file["url_private"])
    assert anonymous.status_code == 302
    followed = httpx.get(file["url_private"], follow_redirects=True)
    assert followed.status_code == 200 and followed.headers["content-type"].startswith("text/html")
    wrong = httpx.get(file["url_private"], headers={"Authorization": "Bearer xoxb-other"})
    assert wrong.status_code == 302
    assert [d.authorized for d in slack.file_downloads] == [True, True, False, False, False]
    with pytest.raises(SlackApiError) as exc:
        web.files_info(file="F_NOPE")
    assert api_error(exc) == "file_not_found"


def test_multipart_upload_to_upload_url(slack: FakeSlack) -> None:
    web = client(slack)
    issued = web.files_getUploadURLExternal(filename="r.jpg", length=4)
    up = httpx.post(issued["upload_url"], files={"file": ("r.jpg", b"\xff\xd8\xff\xe0", "image/jpeg")})
    assert up.status_code == 200
    done = web.files_completeUploadExternal(files=[{"id": issued["file_id"], "title": "Receipt"}])
    assert done["files"][0]["title"] == "Receipt" and done["files"][0]["filetype"] == "jpg"
    assert slack.file_content(issued["file_id"]) == b"\xff\xd8\xff\xe0"
    assert slack.messages("C_FIN") == []  # no channel: the file stays private
    not_uploaded = web.files_getUploadURLExternal(filename="x.png", length=1)
    with pytest.raises(SlackApiError) as exc:
        web.files_completeUploadExternal(files=[{"id": not_uploaded["file_id"]}])
    assert api_error(exc) == "file_not_found"


def test_retired_files_upload(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as exc:
        client(slack).api_call("files.upload", data={"channels": "C_FIN", "content": "x"})
    assert api_error(exc) == "method_deprecated"


def test_add_file_as_a_user(slack: FakeSlack) -> None:
    file = slack.add_file(b"jpegdata", "reçu déjeuner.jpg", "image/jpeg", "U_ANN")
    assert file["user"] == "U_ANN" and file["size"] == 8 and file["filetype"] == "jpg"
    got = httpx.get(file["url_private_download"], headers={"Authorization": f"Bearer {slack.bot_token}"})
    assert got.content == b"jpegdata"
    assert "filename*=UTF-8''re%C3%A7u%20d%C3%A9jeuner.jpg" in got.headers["content-disposition"]
    assert got.headers["content-disposition"].startswith("attachment;")


# ------------------------------------------------------------ faults, recording


def test_rate_limit_honoured_by_slack_sdk_retry_handler(slack: FakeSlack) -> None:
    slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    web = client(slack, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    started = time.monotonic()
    assert web.chat_postMessage(channel="C_FIN", text="after 429")["ok"] is True
    assert time.monotonic() - started >= 0.9
    assert [c.http_status for c in slack.calls_to("chat.postMessage")] == [429, 200]
    assert len(slack.messages("C_FIN")) == 1


def test_rate_limit_shape_without_retry(slack: FakeSlack) -> None:
    slack.rate_limit("users.info", times=2, retry_after=7)
    for _ in range(2):
        raw = httpx.post(
            slack.base_url + "users.info",
            data={"user": "U_ANN"},
            headers={"Authorization": f"Bearer {slack.bot_token}"},
        )
        assert raw.status_code == 429
        assert raw.headers["Retry-After"] == "7"
        assert raw.json() == {"ok": False, "error": "ratelimited"}
    assert client(slack).users_info(user="U_ANN")["ok"] is True


def test_injected_failures(slack: FakeSlack) -> None:
    web = client(slack)
    slack.fail("chat.postMessage", error="fatal_error", status=503)
    slack.fail("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as server_error:
        web.chat_postMessage(channel="C_FIN", text="x")
    assert server_error.value.response.status_code == 503
    with pytest.raises(SlackApiError) as api_err:
        web.chat_postMessage(channel="C_FIN", text="x")
    assert api_err.value.response.status_code == 200 and api_error(api_err) == "channel_not_found"
    assert web.chat_postMessage(channel="C_FIN", text="x")["ok"] is True
    slack.fail("*", error="internal_error", times=1)
    with pytest.raises(SlackApiError):
        web.auth_test()


def test_wait_for_and_its_failure_listing(slack: FakeSlack) -> None:
    web = client(slack)
    mark = slack.mark()
    web.chat_postMessage(channel="C_FIN", text="one")
    web.chat_postMessage(channel="C_FIN", text="two")
    call = slack.wait_for("chat.postMessage", lambda c: c.args.get("text") == "two", after=mark)
    assert call.args["channel"] == "C_FIN" and call.ok
    with pytest.raises(
        AssertionError, match=r"no matching views.open call within 0.1s(.|\n)*chat.postMessage"
    ):
        slack.wait_for("views.open", timeout=0.1)


# --------------------------------------------------------------- response_url


def test_response_url_replace_delete_and_new_messages(slack: FakeSlack) -> None:
    web = client(slack)
    posted = web.chat_postMessage(channel="C_FIN", text="Approve?", blocks=BUTTONS)
    original = slack.message("C_FIN", posted["ts"])
    url = slack.new_response_url(message=original, user="U_ANN")
    assert httpx.post(url, json={"replace_original": True, "text": "Approved by Ann"}).json() == {"ok": True}
    replaced = slack.message("C_FIN", posted["ts"])
    assert replaced.text == "Approved by Ann" and replaced.buttons() == []
    httpx.post(url, json={"text": "psst"})
    assert [m.text for m in slack.ephemeral("U_ANN", "C_FIN")] == ["psst"]
    httpx.post(url, json={"response_type": "in_channel", "text": "Everyone sees this"})
    assert [m.text for m in slack.messages("C_FIN")] == ["Approved by Ann", "Everyone sees this"]
    httpx.post(url, json={"delete_original": True})
    assert [m.text for m in slack.messages("C_FIN")] == ["Everyone sees this"]
    assert [p.body.get("text") for p in slack.response_url_posts] == [
        "Approved by Ann",
        "psst",
        "Everyone sees this",
        None,
    ]
    assert httpx.post(slack.root_url + "/actions/unknown", json={"text": "x"}).status_code == 404
    mark = len(slack.response_url_posts)
    httpx.post(url, json={"text": "fifth use"})
    assert slack.wait_for_response_post(lambda p: "fifth" in p.body["text"], after=mark).user == "U_ANN"
    with pytest.raises(AssertionError, match="no matching response_url post"):
        slack.wait_for_response_post(after=mark + 1, timeout=0.1)
    sixth = httpx.post(url, json={"text": "sixth use"})
    assert sixth.status_code == 404 and sixth.json() == {"ok": False, "error": "expired_url"}


# ----------------------------------------------------------------------- async


async def test_async_web_client(slack: FakeSlack) -> None:
    web = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
    posted = await web.chat_postMessage(channel="U_BOB", text="hello Bob")
    await web.chat_update(channel=posted["channel"], ts=posted["ts"], text="hello again")
    opened = await web.views_open(trigger_id=slack.issue_trigger_id("U_BOB"), view=MODAL)
    assert opened["view"]["callback_id"] == "expense_edit"
    up = await web.files_upload_v2(channel=posted["channel"], content=b"csv,data", filename="export.csv")
    assert up["file"]["filetype"] == "csv"
    call = await slack.wait_for_async("files.completeUploadExternal")
    assert call.args["channel_id"] == posted["channel"]
    assert [m.text for m in slack.dm_messages("U_BOB")] == ["hello again", ""]


def test_history_newest_first_and_clear_calls(slack: FakeSlack) -> None:
    web = client(slack)
    first = web.chat_postMessage(channel="C_GEN", text="first")["ts"]
    web.chat_postMessage(channel="C_GEN", text="reply", thread_ts=first)
    web.chat_postMessage(channel="C_GEN", text="second")
    history = web.conversations_history(channel="C_GEN")
    assert [m["text"] for m in history["messages"]] == ["second", "first"]
    assert history["messages"][1]["reply_count"] == 1
    assert [m["text"] for m in web.conversations_history(channel="C_GEN", limit=1)["messages"]] == ["second"]
    slack.clear_calls()
    assert slack.calls == [] and len(slack.messages("C_GEN")) == 3


@pytest.mark.filterwarnings("ignore:The top-level `text` argument")
def test_block_only_messages_get_slacks_fallback_text(slack: FakeSlack) -> None:
    posted = client(slack).chat_postMessage(channel="C_FIN", blocks=BUTTONS)
    assert posted["message"]["text"] == "This content can't be displayed."
    assert slack.messages("C_FIN")[0].text == "This content can't be displayed."


# -------------------------------------------------------------------- metadata


def test_message_metadata_is_stored_and_listed_only_when_asked(slack: FakeSlack) -> None:
    web = client(slack)
    metadata = {"event_type": "expensebot_outbox", "event_payload": {"key": "card:7"}}
    posted = web.chat_postMessage(channel="C_GEN", text="card", metadata=metadata)
    assert posted["message"]["metadata"] == metadata
    web.chat_postMessage(channel="C_GEN", text="in thread", thread_ts=posted["ts"], metadata=metadata)
    plain = web.conversations_history(channel="C_GEN")["messages"]
    assert "metadata" not in plain[0]  # as Slack: only with include_all_metadata
    listed = web.conversations_history(channel="C_GEN", include_all_metadata=True)["messages"]
    assert listed[0]["metadata"] == metadata
    replies = web.conversations_replies(channel="C_GEN", ts=posted["ts"], include_all_metadata=True)
    assert [m["metadata"]["event_payload"]["key"] for m in replies["messages"]] == ["card:7", "card:7"]
    assert all(
        "metadata" not in m for m in web.conversations_replies(channel="C_GEN", ts=posted["ts"])["messages"]
    )
    # form-encoded, as a JSON string
    raw = httpx.post(
        slack.base_url + "chat.postMessage",
        headers={"Authorization": f"Bearer {slack.bot_token}"},
        data={"channel": "C_GEN", "text": "x", "metadata": json.dumps(metadata)},
    ).json()
    assert raw["ok"] is True and raw["message"]["metadata"] == metadata


@pytest.mark.parametrize(
    "metadata",
    [
        {"event_type": "x"},
        {"event_payload": {}},
        {"event_type": "has space", "event_payload": {}},
        {"event_type": "x", "event_payload": "not an object"},
    ],
)
def test_malformed_metadata_is_refused(slack: FakeSlack, metadata: dict[str, Any]) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client(slack).chat_postMessage(channel="C_GEN", text="x", metadata=metadata)
    assert api_error(excinfo) == "invalid_metadata_format"
    assert slack.messages("C_GEN") == []


def test_a_lost_answer_is_a_timeout_for_the_client_but_the_call_happened(slack: FakeSlack) -> None:
    slack.lose_answer("chat.postMessage", hold_seconds=3)
    web = client(slack, timeout=1)
    with pytest.raises(TimeoutError):
        web.chat_postMessage(channel="C_GEN", text="sent, answer lost")
    assert [m.text for m in slack.messages("C_GEN")] == ["sent, answer lost"]
    assert web.chat_postMessage(channel="C_GEN", text="next")["ok"] is True  # only the next call
