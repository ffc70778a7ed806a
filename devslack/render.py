"""Plain-text rendering of Block Kit messages and views, for terminals and test output.

print(render_message(msg, names=slack.display_name))

Ann Lee  12:41
  *Lunch* 12.50 EUR
  [Approve] [Reject]
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from devslack.models import FakeMessage, JsonDict

__all__ = ["render_blocks", "render_message", "render_mrkdwn", "render_view"]

Names = Callable[[str], str]

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def render_mrkdwn(text: str, names: Names | None = None) -> str:
    """Resolve Slack's ``<...>`` escapes: mentions, channels, links, dates, specials."""

    def replace(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            user = target[1:]
            return "@" + (label or (names(user) if names else user))
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!subteam^"):
            return label or "@group"
        if target.startswith("!date^"):
            return label or target
        if target.startswith("!"):
            return "@" + target[1:]
        return f"{label} ({target})" if label and label != target else target

    return html.unescape(_LINK.sub(replace, text))


def _text(obj: Any, names: Names | None) -> str:
    if isinstance(obj, dict):
        value = str(obj.get("text", ""))
        return render_mrkdwn(value, names) if obj.get("type") == "mrkdwn" else html.unescape(value)
    return str(obj or "")


def _element(element: JsonDict, names: Names | None) -> str:
    kind = str(element.get("type", ""))
    if kind == "button":
        return f"[{_text(element.get('text'), names)}]"
    if kind in (
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
    ):
        chosen = element.get("initial_option")
        label = (
            _text(chosen.get("text"), names)
            if isinstance(chosen, dict)
            else _text(element.get("placeholder"), names)
        )
        return f"[{label or 'choose'} ▾]"
    if kind.startswith("multi_"):
        return f"[{_text(element.get('placeholder'), names) or 'choose'} ▾▾]"
    if kind == "overflow":
        return "[…]"
    if kind == "datepicker":
        return f"[📅 {element.get('initial_date') or _text(element.get('placeholder'), names) or 'date'}]"
    if kind == "timepicker":
        return f"[🕒 {element.get('initial_time') or 'time'}]"
    if kind in ("checkboxes", "radio_buttons"):
        initial = element.get("initial_options") or (
            [element["initial_option"]] if element.get("initial_option") else []
        )
        chosen_values = {o.get("value") for o in initial if isinstance(o, dict)}
        mark = ("☑", "☐") if kind == "checkboxes" else ("◉", "○")
        return "  ".join(
            f"{mark[0] if o.get('value') in chosen_values else mark[1]} {_text(o.get('text'), names)}"
            for o in element.get("options", [])
        )
    if kind.endswith("_input"):
        value = element.get("initial_value") or _text(element.get("placeholder"), names)
        return f"[{value or '________'}]"
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if kind in ("mrkdwn", "plain_text"):
        return _text(element, names)
    return f"[{kind}]"


def _rich_text(node: Any, names: Names | None) -> str:
    if isinstance(node, list):
        return "".join(_rich_text(n, names) for n in node)
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "link":
        return str(node.get("text") or node.get("url", ""))
    if kind == "user":
        user = str(node.get("user_id", ""))
        return "@" + (names(user) if names else user)
    if kind == "channel":
        return "#" + str(node.get("channel_id", ""))
    if kind == "emoji":
        return f":{node.get('name', '')}:"
    inner = _rich_text(node.get("elements", []), names)
    if kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
        return inner + "\n"
    if kind == "rich_text_list":
        return "".join(f"• {_rich_text(e, names)}" for e in node.get("elements", []))
    return inner


def render_blocks(blocks: list[JsonDict], names: Names | None = None) -> str:
    """Block Kit blocks as readable lines (buttons as ``[Label]``)."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"# {_text(block.get('text'), names)}")
        elif kind == "section":
            text = _text(block.get("text"), names) if "text" in block else ""
            accessory = block.get("accessory")
            if isinstance(accessory, dict) and accessory.get("type") != "image":
                text = f"{text}  {_element(accessory, names)}".strip()
            if text:
                lines.append(text)
            fields = [" ".join(_text(f, names).split("\n")) for f in block.get("fields", [])]
            for i in range(0, len(fields), 2):
                lines.append("   ".join(fields[i : i + 2]))
        elif kind == "divider":
            lines.append("─" * 32)
        elif kind == "context":
            parts = [_element(e, names) for e in block.get("elements", []) if e.get("type") != "image"]
            lines.append("  " + " · ".join(p for p in parts if p))
        elif kind == "actions":
            lines.append(" ".join(_element(e, names) for e in block.get("elements", [])))
        elif kind == "input":
            label = _text(block.get("label"), names)
            optional = " (optional)" if block.get("optional") else ""
            element = block.get("element")
            shown = _element(element, names) if isinstance(element, dict) else ""
            lines.append(f"{label}{optional}: {shown}")
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind == "rich_text":
            lines.append(_rich_text(block.get("elements", []), names).rstrip("\n"))
        elif kind == "markdown":
            lines.append(str(block.get("text", "")))
        else:
            lines.append(f"[{kind}]")
    return "\n".join(lines)


def render_message(message: FakeMessage, names: Names | None = None) -> str:
    """A message with its author, time, body, files and reactions."""
    author = names(message.user) if names else message.user
    when = datetime.fromtimestamp(float(message.ts)).strftime("%H:%M")
    flags = []
    if message.ephemeral:
        flags.append(
            f"only visible to {names(message.recipient) if names and message.recipient else message.recipient}"
        )
    if message.edited_ts:
        flags.append("edited")
    header = f"{author}  {when}" + (f"  ({', '.join(flags)})" if flags else "")
    body = render_blocks(message.blocks, names) if message.blocks else render_mrkdwn(message.text, names)
    for attachment in message.attachments:
        extra = render_blocks(attachment.get("blocks", []), names) or render_mrkdwn(
            str(attachment.get("text") or attachment.get("fallback") or ""), names
        )
        if extra:
            body += "\n▌ " + extra.replace("\n", "\n▌ ")
    for file in message.files:
        body += f"\n📎 {file.get('name')} ({file.get('pretty_type') or file.get('filetype')})"
    if message.reactions:
        body += "\n" + " ".join(f":{name}: {len(users)}" for name, users in message.reactions.items())
    indented = "\n".join("  " + line if line else "" for line in body.strip("\n").split("\n"))
    return f"{header}\n{indented}"


def render_view(view: JsonDict, names: Names | None = None) -> str:
    """A modal or App Home view: title, blocks, then its buttons."""
    title = (
        _text(view.get("title"), names)
        if view.get("title")
        else ("App Home" if view.get("type") == "home" else "")
    )
    body = render_blocks(view.get("blocks", []), names)
    lines = [f"┌ {title}", *("│ " + line for line in body.split("\n") if body)]
    buttons = [f"[{_text(view[k], names)}]" for k in ("close", "submit") if view.get(k)]
    lines.append(("└ " + " ".join(buttons)).rstrip())
    return "\n".join(lines)
