"""``FakeSlack``'s HTTP surface: the Web API endpoint (arguments, tokens, faults, recording, then the
method table), file uploads and ``url_private`` downloads, the sign-in page, and response_urls.

Arguments are read from the query string and from form-encoded, multipart or JSON bodies;
JSON-encoded arguments (``blocks``, ``view``, ``files``...) may be strings or, in JSON bodies, plain
JSON values. The token comes from ``Authorization: Bearer`` or a ``token`` form/query field (as with
Slack, a ``token`` inside a JSON body is not read).
"""

from __future__ import annotations

import asyncio
import copy
import email.parser
import email.policy
import json
import time
import urllib.parse
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from devslack.errors import SlackApiError
from devslack.models import FileDownload, JsonDict, ResponseUrlPost
from devslack.recording import Recording
from devslack.validation import validate_blocks
from devslack.workspace import Method, ResponseUrlBinding, fallback_text, fill_block_ids, truthy

if TYPE_CHECKING:
    from devslack.oauth import FakeOAuth

__all__ = ["HttpSurface", "parse_multipart"]

# Arguments that Slack expects as JSON-encoded strings in form bodies.
JSON_ARGS = ("blocks", "attachments", "view", "files", "metadata")
# Slack: a response_url may be used up to 5 times within 30 minutes.
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL = 30 * 60.0


class HttpSurface(Recording):
    _handlers: dict[str, Method]  # the Web API method table, by Slack method name
    oauth: FakeOAuth  # tokens and the install flow (devslack.oauth)

    async def _handle_api(self, request: Request) -> Response:
        try:
            return await self._serve_api(request)
        finally:
            self._notify()

    async def _serve_api(self, request: Request) -> Response:
        method = request.path_params["method"]
        try:
            args, token = await self._read_args(request)
        except SlackApiError as exc:
            self._record(method, {}, None, 200, exc.error, exc.body())
            return JSONResponse(exc.body())
        with self._lock:
            fault = self._take_fault(method)
            if fault is not None and fault.kind == "lost":
                held, fault = fault.hold_seconds, None
            else:
                held = 0.0
            if fault is not None:
                failure = {"ok": False, "error": fault.error}
                self._record(method, args, token, fault.status, fault.error, failure)
                if fault.kind == "ratelimit":
                    return JSONResponse(
                        failure, status_code=429, headers={"Retry-After": str(fault.retry_after)}
                    )
                return JSONResponse(failure, status_code=fault.status)
            if method == "oauth.v2.access":  # client credentials instead of a token
                try:
                    answer = self.oauth.access(args, request.headers.get("authorization", ""))
                except SlackApiError as exc:
                    self._record(method, args, None, 200, exc.error, exc.body())
                    return JSONResponse(exc.body())
                self._record(method, args, None, 200, None, answer)
                return JSONResponse(answer)
            handler = self._handlers.get(method)
            if handler is None:
                unknown = {"ok": False, "error": "unknown_method", "req_method": method}
                self._record(method, args, token, 200, "unknown_method", unknown)
                return JSONResponse(unknown)
            try:
                if not token:
                    raise SlackApiError("not_authed")
                if not self.oauth.token_valid(token):
                    raise SlackApiError("invalid_auth")
                body = handler(self, args)
            except SlackApiError as exc:
                self._record(method, args, token, 200, exc.error, exc.body())
                return JSONResponse(exc.body())
            self._record(method, args, token, 200, None, body)
        if held:  # carried out; the answer comes too late for the client
            await asyncio.sleep(held)
        return JSONResponse(body)

    async def _read_args(self, request: Request) -> tuple[JsonDict, str | None]:
        args: JsonDict = dict(request.query_params)
        body = await request.body()
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype == "application/json":
            try:
                data = json.loads(body or b"{}")
            except ValueError as exc:
                raise SlackApiError("invalid_json") from exc
            if not isinstance(data, dict):
                raise SlackApiError("invalid_json")
            data.pop("token", None)  # Slack only reads tokens from the header for JSON bodies
            args.update(data)
        elif ctype == "multipart/form-data":
            fields, _files = parse_multipart(request.headers.get("content-type", ""), body)
            args.update(fields)
        elif body:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SlackApiError("invalid_charset") from exc
            for key, values in urllib.parse.parse_qs(text, keep_blank_values=True).items():
                args[key] = values[-1]
        token: str | None = None
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip() or None
        form_token = args.pop("token", None)
        if token is None and isinstance(form_token, str) and form_token:
            token = form_token
        for name in JSON_ARGS:
            value = args.get(name)
            if isinstance(value, str) and value != "":
                try:
                    args[name] = json.loads(value)
                except ValueError as exc:
                    error = "invalid_blocks_format" if name == "blocks" else "invalid_arguments"
                    raise SlackApiError(error, messages=[f"[ERROR] {name} is not valid JSON"]) from exc
        return args, token

    async def _handle_upload(self, request: Request) -> Response:
        key = request.path_params["key"]
        body = await request.body()
        ctype = request.headers.get("content-type", "")
        if ctype.lower().startswith("multipart/form-data"):
            fields, files = parse_multipart(ctype, body)
            if files:
                body = files.get("file") or next(iter(files.values()))
            else:
                body = str(fields.get("file", "")).encode()
        with self._lock:
            file_id = self._uploads.get(key)
            if file_id is None:
                return PlainTextResponse("Not Found", status_code=404)
            rec = self._files[file_id]
            rec.content = body
            rec.meta["size"] = len(body)
        return PlainTextResponse(f"OK - {len(body)}")

    async def _handle_download(self, request: Request) -> Response:
        team_file = request.path_params["team_file"]
        auth = request.headers.get("authorization", "")
        authorized = auth.lower().startswith("bearer ") and self.oauth.token_valid(auth[7:].strip())
        file_id = team_file.split("-", 1)[1] if "-" in team_file else team_file
        with self._lock:
            rec = self._files.get(file_id)
            self._downloads.append(FileDownload(file_id=file_id, authorized=authorized, at=time.time()))
            if not authorized:
                target = urllib.parse.quote(request.url.path)
                return RedirectResponse(f"{self.root_url}/signin?redir={target}", status_code=302)
            if rec is None or rec.content is None:
                return PlainTextResponse("File not found", status_code=404)
            content, mimetype = rec.content, str(rec.meta.get("mimetype") or "application/octet-stream")
        disposition = "attachment" if "/download/" in f"/{request.path_params['rest']}" else "inline"
        name = str(rec.meta.get("name") or file_id)
        ascii_name = name.encode("ascii", "replace").decode().replace('"', "'")
        quoted = urllib.parse.quote(name)
        return Response(
            content,
            media_type=mimetype,
            headers={
                "Content-Disposition": f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
            },
        )

    async def _handle_signin(self, request: Request) -> Response:
        return HTMLResponse(
            "<!DOCTYPE html><html><head><title>Sign in | Slack</title></head>"
            f"<body><h1>Sign in to {self.team_name}</h1></body></html>"
        )

    async def _handle_response_url(self, request: Request) -> Response:
        key = request.path_params["key"]
        raw = await request.body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            parsed = urllib.parse.parse_qs(raw.decode("utf-8", "replace"))
            try:
                body = json.loads(parsed.get("payload", ["{}"])[-1])
            except ValueError:
                return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        with self._lock:
            binding = self._response_urls.get(key)
            if (
                binding is None
                or binding.posts >= RESPONSE_URL_MAX_USES
                or time.monotonic() - binding.issued_at > RESPONSE_URL_TTL
            ):
                return JSONResponse({"ok": False, "error": "expired_url"}, status_code=404)
            self._response_posts.append(
                ResponseUrlPost(
                    url=str(request.url),
                    body=copy.deepcopy(body),
                    at=time.time(),
                    channel=binding.channel,
                    message_ts=binding.message_ts,
                    user=binding.user,
                )
            )
            try:
                self._apply_response(binding, body)
            except SlackApiError as exc:
                return JSONResponse(exc.body(), status_code=400 if exc.error != "no_text" else 200)
            binding.posts += 1
        return JSONResponse({"ok": True})

    def _apply_response(self, binding: ResponseUrlBinding, body: JsonDict) -> None:
        if truthy(body.get("delete_original")):
            if binding.message_ts and binding.channel:
                self._remove_message(binding.channel, binding.message_ts, ephemeral=binding.ephemeral)
            return
        text = str(body["text"]) if isinstance(body.get("text"), str) else ""
        raw_blocks = body.get("blocks")
        blocks: list[JsonDict] = raw_blocks if isinstance(raw_blocks, list) else []
        raw_attachments = body.get("attachments")
        attachments: list[JsonDict] = raw_attachments if isinstance(raw_attachments, list) else []
        if not text and not blocks and not attachments:
            raise SlackApiError("no_text")
        if blocks:
            errors = validate_blocks(blocks, surface="message")
            if errors:
                raise SlackApiError("invalid_blocks", messages=errors)
        blocks = fill_block_ids(blocks)
        if truthy(body.get("replace_original")) and binding.message_ts and binding.channel:
            msg = self._find_message(binding.channel, binding.message_ts, ephemeral=binding.ephemeral)
            if msg is not None:
                msg.text, msg.blocks, msg.attachments = fallback_text(text, blocks), blocks, list(attachments)
                msg.edited_ts = self._next_ts()
            return
        if binding.channel is None:
            return
        thread_ts = body.get("thread_ts") if isinstance(body.get("thread_ts"), str) else None
        if body.get("response_type") == "in_channel":
            self._append_message(
                self._bot_message(
                    binding.channel, fallback_text(text, blocks), blocks, thread_ts, attachments
                )
            )
        elif binding.user:
            msg = self._bot_message(
                binding.channel, fallback_text(text, blocks), blocks, thread_ts, attachments
            )
            msg.ephemeral, msg.recipient = True, binding.user
            self._ephemeral.append(msg)


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """Split a ``multipart/form-data`` body into text fields and file parts."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            files[name] = data
        else:
            fields[name] = data.decode(part.get_content_charset() or "utf-8", "replace")
    return fields, files
