"""``api.*``, ``auth.*`` and ``team.*``: who the token is, in which workspace."""

from __future__ import annotations

from devslack.models import JsonDict
from devslack.workspace import Method, Workspace


def api_test(ws: Workspace, args: JsonDict) -> JsonDict:
    return {"ok": True, "args": args}


def auth_test(ws: Workspace, args: JsonDict) -> JsonDict:
    return {
        "ok": True,
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_name,
        "user": ws.bot_name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def team_info(ws: Workspace, args: JsonDict) -> JsonDict:
    return {
        "ok": True,
        "team": {
            "id": ws.team_id,
            "name": ws.team_name,
            "domain": ws.team_domain,
            "email_domain": "",
            "icon": {"image_default": True},
        },
    }


METHODS: dict[str, Method] = {
    "api.test": api_test,
    "auth.test": auth_test,
    "team.info": team_info,
}
