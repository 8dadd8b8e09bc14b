"""What the console takes from a URL: a chat id in its path, a `next` path to go back to."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web


def chat_id_in(request: web.Request) -> int:
    """The `{chat_id}` of the path; a 404 that says so when it is not a number."""
    text = request.match_info["chat_id"]
    try:
        return int(text)
    except ValueError:
        raise web.HTTPNotFound(text=f"No chat {text[:32]!r}: a chat id is a number, as in bots.yaml.") from None


def is_local_path(target: str, *, max_length: int) -> bool:
    """A path of this console, never another site (no open redirect): "/chats/-100?x=1", not "//evil" nor "/\\evil"."""
    if not target or len(target) > max_length or not target.startswith("/") or target.startswith("//"):
        return False
    if any(char == "\\" or ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return False  # a header cannot carry control characters, and browsers read a backslash as a slash
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
