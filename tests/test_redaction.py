"""One redactor before anything is stored, logged or shown: also behind a proxy that echoes the URL."""

from __future__ import annotations

import asyncio
import io
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from piyasa_bot.bootstrap import Prepared
from piyasa_bot.bot_states import BotStates
from piyasa_bot.bots import BotHandle
from piyasa_bot.commands.check import reach_bots
from piyasa_bot.crypto import TokenCipher, generate_key
from piyasa_bot.db.migrate import SQL_DIR, apply_migrations
from piyasa_bot.polling import BotState
from piyasa_bot.redaction import Redactor, redact
from piyasa_bot.roster_loader import parse_roster
from piyasa_bot.settings import Settings
from tests.helpers import SUPERGROUP, World, make_runner, roster_yaml
from tests.log_capture import capture_log_lines  # noqa: F401  # the log_lines fixture
from tests.test_cli import piyasa

# The roster's tokens (a runner registers them with the process-wide redactor) and one that
# nothing registers, which only the shape can catch.
TOKENS = {"AYSE_TOKEN": "7100000001:AAH-ayse_" + "a" * 30, "ALI_TOKEN": "7100000002:AAH-ali_" + "b" * 30}
UNKNOWN = "7100000003:AAH-never_registered_" + "c" * 20
SECRET_PARTS = [token.split(":", 1)[1] for token in [*TOKENS.values(), UNKNOWN]]


def leaks(text: str) -> list[str]:
    return [part for part in SECRET_PARTS if part in text]


# --- the pattern -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        "{t}",
        "http://127.0.0.1:8081/bot{t}/getUpdates",
        "The requested URL /bot{t}/getUpdates was not found on this server.",
        "url='http://proxy/bot{encoded}/getMe'",
        "/bot{twice}/getMe",
        '{{"url": "/bot{t}/sendMessage"}}',
    ],
)
def test_every_form_of_a_token_is_replaced(form: str) -> None:
    text = form.format(t=UNKNOWN, encoded=UNKNOWN.replace(":", "%3A"), twice=UNKNOWN.replace(":", "%253a"))
    cleaned = Redactor()(text)
    assert not leaks(cleaned) and "<token>" in cleaned


def test_known_secrets_are_replaced_whatever_their_shape_and_urls_lose_their_password() -> None:
    redactor = Redactor(["sk-llm-key-1234567890", "short"])
    text = "key sk-llm-key-1234567890 dsn postgresql://piyasa:hunter2pw@db:5432/x at http://127.0.0.1:8081/bot"
    assert redactor(text) == "key <secret> dsn postgresql://piyasa:<secret>@db:5432/x at http://127.0.0.1:8081/bot"
    assert redactor("short stays") == "short stays"  # too short to be a secret; replacing it would mangle text
    assert redactor.value({"error": ValueError(UNKNOWN), "n": 3}) == {"error": "ValueError: <token>", "n": 3}


# --- the write path and the migration --------------------------------------------------------


async def test_a_bot_state_error_is_stored_redacted(dsn: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
        bot_id = await pool.fetchval("INSERT INTO bots (name, token_encrypted) VALUES ('ayse', 'enc:x') RETURNING id")
        page = f"ClientDecodeError: <html>The requested URL /bot{UNKNOWN}/getMe was not found</html>"
        states = BotStates(pool)
        states.note(BotHandle(name="ayse", db_id=bot_id, bot=None), BotState.RETRYING, page)  # type: ignore[arg-type]
        await states.close()  # writes what was noted
        stored = await pool.fetchval("SELECT last_error FROM bots WHERE id = $1", bot_id)
    finally:
        await pool.close()
    assert stored == "ClientDecodeError: <html>The requested URL /<token>/getMe was not found</html>"


async def test_the_migration_redacts_error_texts_written_by_earlier_versions(dsn: str, tmp_path: Path) -> None:
    earlier = tmp_path / "sql"
    earlier.mkdir()
    for path in SQL_DIR.glob("*.sql"):
        if int(path.name[:4]) < 6:
            shutil.copy(path, earlier / path.name)
    token = UNKNOWN
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn, earlier)
        bot_id = await conn.fetchval(
            "INSERT INTO bots (name, token_encrypted, last_error) VALUES ('ayse', 'enc:x', $1) RETURNING id",
            f"network: TooManyRedirects: 10, message='', url='http://proxy/bot{token.replace(':', '%3A')}/getMe'",
        )
        await conn.execute(
            "INSERT INTO bot_chats (bot_id, chat_id, active, reason) VALUES ($1, $2, false, $3)",
            bot_id,
            SUPERGROUP,
            f"forbidden: seen at /bot{token}/sendMessage",
        )
        await conn.execute(
            "INSERT INTO outbox (bot_id, chat_id, text, priority, status, reason) VALUES "
            "($1, $2, 'merhaba', 0, 'failed', $3), ($1, $2, 'selam', 0, 'failed', 'guard: repeated line')",
            bot_id,
            SUPERGROUP,
            f"bad_request: {token}",
        )
        await apply_migrations(conn)
        texts = [
            await conn.fetchval("SELECT last_error FROM bots"),
            await conn.fetchval("SELECT reason FROM bot_chats"),
            *[row["reason"] for row in await conn.fetch("SELECT reason FROM outbox ORDER BY id")],
        ]
    finally:
        await conn.close()
    assert texts == [
        "network: TooManyRedirects: 10, message='', url='http://proxy/<token>/getMe'",
        "forbidden: seen at /<token>/sendMessage",
        "bad_request: <token>",
        "guard: repeated line",  # rows without a token are left as they were
    ]
    assert [redact(text) for text in texts] == texts  # the same replacements as the Python redactor


# --- a Bot API base URL that is not the Bot API ----------------------------------------------


async def echo_page(request: web.Request) -> web.Response:
    return web.Response(
        status=404,
        content_type="text/html",
        text=f"<html><body><h1>Not Found</h1>The requested URL {request.path} was not found "
        "on this server.</body></html>",
    )


async def redirect_loop(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.path)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def proxy(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, dict[str, int]]]:
    """A server at the Bot API's address answering every path with `request.param`; its request counts."""
    handler: Handler = request.param
    seen: dict[str, int] = {}

    async def counted(request: web.Request) -> web.StreamResponse:
        method = request.path.rsplit("/", 1)[-1]
        seen[method] = seen.get(method, 0) + 1
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", counted)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), seen
    finally:
        await server.close()


def roster_file(tmp_path: Path) -> Path:
    path = tmp_path / "bots.yaml"
    path.write_text(roster_yaml(["ayse", "ali"], SUPERGROUP))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("proxy", [echo_page], indirect=True)
async def test_check_names_an_html_answer_and_exits_1_without_the_token(
    proxy: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    base, seen = proxy
    env = {
        **TOKENS,
        "PIYASA_CONFIG": str(roster_file(tmp_path)),
        "PIYASA_TELEGRAM_API": base,
        "PIYASA_SECRET_KEY": generate_key(),
    }
    code, output = await piyasa("check", env=env)
    assert code == 1, output
    assert f"FAIL  ayse: the Bot API at {base} answered HTML (status 404): is PIYASA_TELEGRAM_API right?" in output
    assert "0 of 2 bots reachable" in output and "Traceback" not in output
    assert seen["getMe"] == 2 and not leaks(output)


@pytest.mark.parametrize("proxy", [redirect_loop], indirect=True)
async def test_check_names_a_redirect_loop_without_the_token(proxy: tuple[str, dict[str, int]], tmp_path: Path) -> None:
    base, seen = proxy
    settings = Settings(PIYASA_TELEGRAM_API=base)
    loaded = parse_roster(roster_file(tmp_path).read_text(), "bots.yaml", TOKENS, None)
    out = io.StringIO()
    code = await reach_bots(settings, Prepared(loaded, TokenCipher.from_setting(generate_key())), out)
    assert code == 1
    assert (
        f"FAIL  ali: the Bot API at {base} redirects in a loop (too many redirects): "
        "is PIYASA_TELEGRAM_API right?" in out.getvalue()
    )
    assert seen["getMe"] > 2 and not leaks(out.getvalue())


async def bot_error_written(conn: asyncpg.Connection) -> asyncio.Event:
    """Set once a bot's last_error is written (a trigger of the test database's, so nothing sleeps)."""
    written = asyncio.Event()
    await conn.execute("""
        CREATE FUNCTION notify_bot_error() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN PERFORM pg_notify('bot_error', NEW.name); RETURN NEW; END $$;
        CREATE TRIGGER bot_error AFTER UPDATE OF last_error ON bots
        FOR EACH ROW WHEN (NEW.last_error IS NOT NULL) EXECUTE FUNCTION notify_bot_error();""")
    await conn.add_listener("bot_error", lambda *_: written.set())
    return written


@pytest.mark.parametrize("proxy", [echo_page, redirect_loop], indirect=True)
async def test_a_runner_behind_a_proxy_that_echoes_the_url_stores_and_logs_no_token(
    proxy: tuple[str, dict[str, int]], dsn: str, log_lines: io.StringIO
) -> None:
    base, _ = proxy
    loaded = parse_roster(roster_yaml(["ayse", "ali"], SUPERGROUP), "test.yaml", TOKENS, None)
    world = World(emulator=None, base_url=base, loaded=loaded, env=TOKENS, chat_id=SUPERGROUP)  # type: ignore[arg-type]
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn)
        written = await bot_error_written(conn)
        async with make_runner(world, dsn):
            await asyncio.wait_for(written.wait(), 30)
            tables = [row[0] for row in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            rows = [
                row[0] for table in tables for row in await conn.fetch(f'SELECT row_to_json(t)::text FROM "{table}" t')
            ]
    finally:
        await conn.close()
    stored = "\n".join(rows)
    assert "getMe" in stored  # the error was stored, with the URL's path in it
    assert not leaks(stored)
    assert "bot.poll_failed" in log_lines.getvalue() and not leaks(log_lines.getvalue())
