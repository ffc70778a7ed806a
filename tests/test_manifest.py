"""manifest.yml declares what the code uses: events, commands, shortcuts, scopes, URLs."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())

# Web API method -> the bot scope it needs (Slack's method reference).
SCOPES = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "reactions_add": "reactions:write",
    "users_info": "users:read",
    "users_lookupByEmail": "users:read.email",
    "conversations_open": "im:write",
    "files_info": "files:read",
    "files_upload_v2": "files:write",
    "views_open": None,
    "views_publish": None,
    "views_update": None,
    "auth_test": None,
    "bots_info": "users:read",
    "chat_getPermalink": None,
    "files_upload": "files:write",
    # the outbox looks for a message it may have posted: in DMs, channels and private channels
    "conversations_history": "im:history",
    "conversations_replies": "im:history",
}


def _calls_and_registrations() -> tuple[set[str], set[str], set[str], set[str]]:
    methods: set[str] = set()
    events: set[str] = set()
    commands: set[str] = set()
    shortcuts: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        if path.name == "demo.py":  # the offline tour drives the stand-in (devslack)
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr in {"slack", "client"}
                and "_" in node.attr
                and node.attr[0].islower()
            ) or (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "client"
                and "_" in node.attr
            ):
                methods.add(node.attr)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                arg = node.args[0]
                name = node.func.attr
                owner = node.func.value
                if not (isinstance(owner, ast.Name) and owner.id == "app"):
                    continue
                if name == "event":
                    if isinstance(arg, ast.Constant):
                        events.add(str(arg.value))
                    elif isinstance(arg, ast.Dict):
                        events.update(
                            str(v.value)
                            for k, v in zip(arg.keys, arg.values, strict=True)
                            if isinstance(k, ast.Constant)
                            and k.value == "type"
                            and isinstance(v, ast.Constant)
                        )
                elif name == "command" and isinstance(arg, ast.Constant):
                    commands.add(str(arg.value))
                elif name == "shortcut":
                    shortcuts.add("create_expense")
    return methods, events, commands, shortcuts


def test_every_web_api_method_has_its_scope() -> None:
    methods, _, _, _ = _calls_and_registrations()
    assert methods, "no Web API calls found"
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    for method in methods:
        assert method in SCOPES, f"{method} is called but missing from the scope table of this test"
        needed = SCOPES[method]
        assert needed is None or needed in scopes, f"{method} needs {needed}"
    assert "users:read.email" in scopes  # directory emails come from profiles


def test_events_commands_and_shortcuts_are_declared() -> None:
    _, events, commands, shortcuts = _calls_and_registrations()
    declared = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    for event in events:
        if event == "message":
            assert {"message.im", "message.channels"} <= declared
        else:
            assert event in declared, event
    assert commands == {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert shortcuts <= {s["callback_id"] for s in MANIFEST["features"]["shortcuts"]}


def test_one_url_for_everything_and_app_home() -> None:
    urls = {
        MANIFEST["settings"]["event_subscriptions"]["request_url"],
        MANIFEST["settings"]["interactivity"]["request_url"],
        MANIFEST["settings"]["interactivity"]["message_menu_options_url"],
        *(c["url"] for c in MANIFEST["features"]["slash_commands"]),
    }
    assert len(urls) == 1 and next(iter(urls)).endswith("/slack/events")
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert "socket_mode_enabled" in MANIFEST["settings"]
