"""The subset of Slack's Block Kit and view validation that catches real mistakes.

Slack rejects malformed blocks with ``invalid_blocks`` (messages) or
``invalid_arguments`` (views) and explains why in
``response_metadata.messages`` as ``[ERROR] ... [json-pointer:/...]`` lines.
The checks below follow the documented limits; they are not exhaustive.
"""

from __future__ import annotations

from typing import Any

BLOCK_TYPES = {
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "rich_text",
    "section",
    "video",
    "markdown",
    "table",
    "context_actions",
}
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100


def _text_of(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return None


def _check_text_object(obj: Any, pointer: str, limit: int, errors: list[str], *, plain_only: bool) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        errors.append(f"[ERROR] must provide an object [json-pointer:{pointer}]")
        return
    if plain_only and obj.get("type") != "plain_text":
        errors.append(f"[ERROR] must be a valid enum value [json-pointer:{pointer}/type]")
    text = _text_of(obj)
    if text is None:
        errors.append(f"[ERROR] missing required field: text [json-pointer:{pointer}]")
    elif len(text) > limit:
        errors.append(f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}/text]")
    elif text == "":
        errors.append(f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]")


def _check_element(element: Any, pointer: str, errors: list[str], action_ids: set[str]) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        errors.append(f"[ERROR] must provide an object with a type [json-pointer:{pointer}]")
        return
    action_id = element.get("action_id")
    if isinstance(action_id, str):
        if len(action_id) > 255:
            errors.append(f"[ERROR] must be less than 256 characters [json-pointer:{pointer}/action_id]")
        if action_id in action_ids:
            errors.append(f"[ERROR] non-unique action_id {action_id!r} [json-pointer:{pointer}/action_id]")
        action_ids.add(action_id)
    if element["type"] == "button":
        _check_text_object(element.get("text"), f"{pointer}/text", 75, errors, plain_only=True)
        value = element.get("value")
        if isinstance(value, str) and len(value) > 2000:
            errors.append(f"[ERROR] must be less than 2001 characters [json-pointer:{pointer}/value]")
        url = element.get("url")
        if isinstance(url, str) and len(url) > 3000:
            errors.append(f"[ERROR] must be less than 3001 characters [json-pointer:{pointer}/url]")
        style = element.get("style")
        if style is not None and style not in ("primary", "danger"):
            errors.append(f"[ERROR] must be a valid enum value [json-pointer:{pointer}/style]")


def validate_blocks(blocks: Any, *, surface: str) -> list[str]:
    """Return Slack-style error lines for ``blocks`` on ``surface`` ("message", "modal" or "home")."""
    errors: list[str] = []
    if not isinstance(blocks, list):
        return ["[ERROR] must provide an array [json-pointer:/blocks]"]
    limit = MESSAGE_BLOCK_LIMIT if surface == "message" else VIEW_BLOCK_LIMIT
    if len(blocks) > limit:
        errors.append(f"[ERROR] no more than {limit} items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for i, block in enumerate(blocks):
        pointer = f"/blocks/{i}"
        if not isinstance(block, dict):
            errors.append(f"[ERROR] must provide an object [json-pointer:{pointer}]")
            continue
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            errors.append(f"[ERROR] must be a valid enum value [json-pointer:{pointer}/type]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if len(block_id) > 255:
                errors.append(f"[ERROR] must be less than 256 characters [json-pointer:{pointer}/block_id]")
            if block_id in block_ids:
                errors.append(f"[ERROR] {block_id} is not unique [json-pointer:{pointer}/block_id]")
            block_ids.add(block_id)
        if kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"[ERROR] must provide text or fields [json-pointer:{pointer}]")
            if "text" in block:
                _check_text_object(block["text"], f"{pointer}/text", 3000, errors, plain_only=False)
            fields = block.get("fields", [])
            if isinstance(fields, list):
                if len(fields) > 10:
                    errors.append(f"[ERROR] no more than 10 items allowed [json-pointer:{pointer}/fields]")
                for j, f in enumerate(fields):
                    _check_text_object(f, f"{pointer}/fields/{j}", 2000, errors, plain_only=False)
            if "accessory" in block:
                _check_element(block["accessory"], f"{pointer}/accessory", errors, action_ids)
        elif kind == "header":
            _check_text_object(block.get("text"), f"{pointer}/text", 150, errors, plain_only=True)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                errors.append(f"[ERROR] must provide at least 1 element [json-pointer:{pointer}/elements]")
                continue
            if len(elements) > 25:
                errors.append(f"[ERROR] no more than 25 items allowed [json-pointer:{pointer}/elements]")
            for j, element in enumerate(elements):
                _check_element(element, f"{pointer}/elements/{j}", errors, action_ids)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > 10:
                errors.append(f"[ERROR] must provide 1 to 10 elements [json-pointer:{pointer}/elements]")
        elif kind == "input":
            if surface == "message":
                # Input blocks are accepted in messages only with dispatch_action;
                # Slack renders them but apps almost always meant a modal.
                pass
            _check_text_object(block.get("label"), f"{pointer}/label", 2000, errors, plain_only=True)
            if "element" not in block:
                errors.append(f"[ERROR] missing required field: element [json-pointer:{pointer}]")
            else:
                _check_element(block["element"], f"{pointer}/element", errors, action_ids)
        elif kind == "image":
            if not (block.get("image_url") or block.get("slack_file")):
                errors.append(f"[ERROR] missing required field: image_url [json-pointer:{pointer}]")
            if not isinstance(block.get("alt_text"), str):
                errors.append(f"[ERROR] missing required field: alt_text [json-pointer:{pointer}]")
    return errors


def validate_view(view: Any, *, expected: tuple[str, ...]) -> list[str]:
    """Return Slack-style error lines for a view payload (``/view/...`` pointers)."""
    if not isinstance(view, dict):
        return ["[ERROR] must provide an object [json-pointer:/view]"]
    errors: list[str] = []
    kind = view.get("type")
    if kind not in expected:
        errors.append("[ERROR] must be a valid enum value [json-pointer:/view/type]")
        return errors
    if kind == "modal":
        _check_text_object(view.get("title"), "/view/title", 24, errors, plain_only=True)
        for key in ("submit", "close"):
            if key in view and view[key] is not None:
                _check_text_object(view[key], f"/view/{key}", 24, errors, plain_only=True)
        blocks = view.get("blocks", [])
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and not view.get("submit"):
            errors.append(
                "[ERROR] submit is required when an input block is within the blocks array "
                "[json-pointer:/view/submit]"
            )
    if "blocks" not in view:
        errors.append("[ERROR] missing required field: blocks [json-pointer:/view]")
    else:
        errors.extend(
            e.replace("[json-pointer:/", "[json-pointer:/view/")
            for e in validate_blocks(view["blocks"], surface=str(kind))
        )
    for key, limit in (("callback_id", 255), ("private_metadata", 3000), ("external_id", 255)):
        value = view.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            errors.append(
                f"[ERROR] must be a string of at most {limit} characters [json-pointer:/view/{key}]"
            )
    return errors
