"""The operator's web console: the chats live, the bots, the outbox and its reasons, steering.

Served by the runner (aiohttp) on PIYASA_CONSOLE_PORT, server-rendered (Jinja2
templates, autoescaped) with a little JavaScript for the live views (Server-Sent
Events). It reads through queries of its own (`queries.py`) and the runner's read
view, and writes only through `piyasa_bot.steering`, as the in-chat admin commands do.
"""
