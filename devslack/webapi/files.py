"""``files.*``: file metadata and the two-step upload (``getUploadURLExternal`` then
``completeUploadExternal``, what slack_sdk's ``files_upload_v2`` does). ``files.upload`` is retired,
as on Slack. The bytes themselves travel over ``devslack.http`` (upload URL, ``url_private``)."""

from __future__ import annotations

import copy
import secrets
import time
import urllib.parse

from devslack.errors import SlackApiError, missing
from devslack.models import FakeChannel, JsonDict
from devslack.workspace import Method, StoredFile, Workspace

_FILETYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/heic": "heic",
    "image/heif": "heic",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "text",
    "text/csv": "csv",
}
_PRETTY = {
    "jpg": "JPEG",
    "png": "PNG",
    "gif": "GIF",
    "heic": "HEIC",
    "pdf": "PDF",
    "text": "Plain Text",
    "csv": "CSV",
}


def _mimetype_for(ext: str) -> str:
    for mime, ft in _FILETYPES.items():
        if ft == ext or (ext == "jpeg" and ft == "jpg"):
            return mime
    return "application/octet-stream"


def new_file(ws: Workspace, *, name: str, title: str, user: str, mimetype: str | None) -> StoredFile:
    """A file record with Slack's metadata (no content yet)."""
    file_id = ws._new_id("F")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    mimetype = mimetype or _mimetype_for(ext)
    filetype = _FILETYPES.get(mimetype) or ({"jpeg": "jpg"}.get(ext, ext) or "binary")
    quoted = urllib.parse.quote(name)
    created = int(time.time())
    meta: JsonDict = {
        "id": file_id,
        "created": created,
        "timestamp": created,
        "name": name,
        "title": title,
        "mimetype": mimetype,
        "filetype": filetype,
        "pretty_type": _PRETTY.get(filetype, filetype.upper()),
        "user": user,
        "user_team": ws.team_id,
        "editable": False,
        "size": 0,
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": False,
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": f"{ws.root_url}/files-pri/{ws.team_id}-{file_id}/{quoted}",
        "url_private_download": f"{ws.root_url}/files-pri/{ws.team_id}-{file_id}/download/{quoted}",
        "permalink": f"https://{ws.team_domain}.slack.com/files/{user}/{file_id}/{quoted}",
        "channels": [],
        "groups": [],
        "ims": [],
        "shares": {},
        "comments_count": 0,
        "has_rich_preview": False,
        "file_access": "visible",
    }
    rec = StoredFile(meta=meta, content=None)
    ws._files[file_id] = rec
    return rec


def share_file(rec: StoredFile, ch: FakeChannel, ts: str) -> None:
    """Record that the file was shared in ``ch`` by the message at ``ts``."""
    kind = "ims" if ch.is_im else "groups" if ch.is_private or ch.is_mpim else "channels"
    if ch.id not in rec.meta[kind]:
        rec.meta[kind].append(ch.id)
    scope = "public" if kind == "channels" else "private"
    share = {"ts": ts, "reply_users_count": 0, "reply_count": 0, "share_user_id": rec.meta["user"]}
    rec.meta["shares"].setdefault(scope, {}).setdefault(ch.id, []).append(share)


def info(ws: Workspace, args: JsonDict) -> JsonDict:
    rec = ws._files.get(str(args.get("file") or ""))
    if rec is None or rec.content is None:
        raise SlackApiError("file_not_found")
    return {
        "ok": True,
        "file": copy.deepcopy(rec.meta),
        "comments": [],
        "response_metadata": {"next_cursor": ""},
    }


def get_upload_url_external(ws: Workspace, args: JsonDict) -> JsonDict:
    filename = args.get("filename")
    if not filename:
        raise missing("filename")
    length = args.get("length")
    if length is None or str(length) == "":
        raise missing("length")
    try:
        if int(length) < 0:
            raise ValueError
    except ValueError as exc:
        raise SlackApiError("invalid_arguments", messages=["[ERROR] length must be an integer"]) from exc
    rec = new_file(ws, name=str(filename), title=str(filename), user=ws.bot_user_id, mimetype=None)
    key = secrets.token_urlsafe(18)
    rec.upload_key = key
    ws._uploads[key] = rec.meta["id"]
    return {"ok": True, "upload_url": f"{ws.root_url}/upload/v1/{key}", "file_id": rec.meta["id"]}


def complete_upload_external(ws: Workspace, args: JsonDict) -> JsonDict:
    files = args.get("files")
    if not isinstance(files, list) or not files:
        raise missing("files")
    recs: list[StoredFile] = []
    for entry in files:
        if not isinstance(entry, dict) or not entry.get("id"):
            raise SlackApiError("invalid_arguments", messages=["[ERROR] files must contain ids"])
        rec = ws._files.get(str(entry["id"]))
        if rec is None or rec.upload_key is None or rec.content is None:
            raise SlackApiError("file_not_found")
        if entry.get("title"):
            rec.meta["title"] = str(entry["title"])
        recs.append(rec)
    targets: list[str] = []
    if args.get("channel_id"):
        targets.append(str(args["channel_id"]))
    if args.get("channels"):
        targets.extend(c.strip() for c in str(args["channels"]).split(",") if c.strip())
    channels = [ws._resolve_channel(t, allow_user=True) for t in targets]
    for ch in channels:
        ws._require_bot_member(ch)
    for ch in channels:
        text = str(args.get("initial_comment") or "")
        msg = ws._bot_message(ch.id, text, [], args.get("thread_ts") or None)
        msg.files = [copy.deepcopy(r.meta) for r in recs]
        for r in recs:
            share_file(r, ch, msg.ts)
        msg.files = [copy.deepcopy(r.meta) for r in recs]
        ws._append_message(msg)
    for r in recs:
        ws._uploads.pop(r.upload_key or "", None)
    return {"ok": True, "files": [copy.deepcopy(r.meta) for r in recs]}


def retired(ws: Workspace, args: JsonDict) -> JsonDict:
    # files.upload was retired in favour of files.getUploadURLExternal +
    # files.completeUploadExternal (slack_sdk's files_upload_v2).
    raise SlackApiError("method_deprecated")


METHODS: dict[str, Method] = {
    "files.info": info,
    "files.getUploadURLExternal": get_upload_url_external,
    "files.completeUploadExternal": complete_upload_external,
    "files.upload": retired,
}
