"""No one answered twice: a row is queued once per process, and a send whose outcome is unknown is not repeated."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from piyasa_bot.sending.outbox import Outgoing, Priority
from tests.helpers import make_runner, make_world

pytestmark = pytest.mark.slow


class CuttingProxy:
    """A Bot API in front of the emulator that forwards every call; told to, it answers no sendMessage.

    `cut="reset"` closes the connection once the emulator has the message;
    `cut="truncated"` sends half of the emulator's answer, then closes.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.cut: str | None = None
        self.before_send: Callable[[], Awaitable[None]] | None = None
        self.sends = 0
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        sending = request.path.lower().endswith("/sendmessage")
        if sending:
            self.sends += 1
            if self.before_send is not None:
                await self.before_send()
        body = await request.read()
        headers = {"Content-Type": request.headers.get("Content-Type", "application/octet-stream")}
        async with self._session.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as answer:
            payload, status = await answer.read(), answer.status
        if not sending or self.cut is None:
            return web.Response(body=payload, status=status, content_type="application/json")
        assert request.transport is not None
        if self.cut == "truncated":
            response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
            response.content_length = len(payload)
            await response.prepare(request)
            await response.write(payload[: len(payload) // 2])
        request.transport.close()
        raise web.HTTPServiceUnavailable()  # nothing can be written any more: the client sees the cut


async def outbox_rows(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch("SELECT * FROM outbox ORDER BY id")
    finally:
        await conn.close()


async def test_a_row_this_run_queued_is_not_queued_again_by_a_late_resume(dsn: str) -> None:
    world = await make_world(2)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_resumed()
            for i, bot in enumerate(["bot000", "bot001"]):
                await runner.outbox.put(
                    Outgoing(
                        bot=bot,
                        chat_id=world.chat_id,
                        text=f"cevap {i}",
                        answers=10 + i,
                        priority=Priority.ANSWER,
                        not_before=time.time() + 0.5,
                    )
                )
            # The resume reaches rows the pollers' handlers queued moments ago (the restart race).
            again = await runner.outbox.load_pending()
            await runner.outbox.drain_until_idle(timeout=20)
    finally:
        await world.emulator.stop()
    assert again == 0
    assert sorted(s.text for s in world.emulator.sent()) == ["cevap 0", "cevap 1"]
    assert [r["status"] for r in await outbox_rows(dsn)] == ["sent", "sent"]


async def test_people_who_mention_bots_while_the_runner_is_down_are_answered_once_each(dsn: str) -> None:
    world = await make_world(3)
    try:
        async with make_runner(world, dsn):
            pass  # a first run registers the bots; then the runner is down
        mentions = [
            world.emulator.post(world.chat_id, user_id=500 + i, text=f"@bot00{i % 3}_bot dolar ne olur?")
            for i in range(6)
        ]
        asked = {m.message_id for m in mentions}
        async with make_runner(world, dsn, conversation=True, seed=3) as runner:
            await runner.wait_resumed()
            outbox, emu = runner.outbox, world.emulator
            await outbox.wait_until(lambda: runner.rooms.counts.answered == len(mentions), timeout=30)
            await outbox.load_pending()  # a resume that comes late finds the answers queued already
            await outbox.wait_until(lambda: asked <= {s.reply_to_message_id for s in emu.sent()}, timeout=30)
            await runner.rooms.stop_chatter()
            await outbox.drain_until_idle(timeout=30)
    finally:
        await world.emulator.stop()
    answers = [s.reply_to_message_id for s in world.emulator.sent() if s.reply_to_message_id in asked]
    assert sorted(answers) == sorted(asked)  # every one answered, no one twice


async def test_sends_that_started_before_a_crash_are_not_sent_again_and_say_why(dsn: str) -> None:
    world = await make_world(1)
    try:
        async with make_runner(world, dsn):
            pass
        # What a SIGKILL between marking a send and recording its answer leaves behind.
        conn = await asyncpg.connect(dsn)
        try:
            bot_id = await conn.fetchval("SELECT id FROM bots WHERE name = 'bot000'")
            for text, priority, started in [
                ("cevap belki gitti", 0, True),
                ("sohbet belki gitti", 1, True),
                ("cevap gitmedi", 0, False),
                ("kesin kazanç t.me/kanal", 0, False),
            ]:
                await conn.execute(
                    """INSERT INTO outbox (bot_id, chat_id, text, priority, attempts, send_started_at)
                       VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END)""",
                    bot_id,
                    world.chat_id,
                    text,
                    priority,
                    int(started),
                    started,
                )
        finally:
            await conn.close()
        async with make_runner(world, dsn) as runner:
            await runner.wait_resumed()
            await runner.outbox.drain_until_idle(timeout=20)
    finally:
        await world.emulator.stop()
    assert [s.text for s in world.emulator.sent()] == ["cevap gitmedi"]
    answer, chatter, plain, refused = await outbox_rows(dsn)
    assert answer["status"] == "failed" and answer["reason"].startswith("outcome unknown: the previous run stopped")
    assert "no one is answered twice" in answer["reason"]
    assert chatter["status"] == "expired" and chatter["reason"].startswith("outcome unknown:")
    assert plain["status"] == "sent" and plain["send_started_at"] is not None
    assert refused["status"] == "failed" and refused["reason"].startswith("guard:")


async def test_the_send_is_marked_started_in_its_row_before_the_request_reaches_telegram(dsn: str) -> None:
    world = await make_world(1)
    proxy = CuttingProxy(world.base_url)
    seen: list[tuple[str, bool]] = []

    async def look_at_the_row() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            row = await conn.fetchrow("SELECT status, send_started_at FROM outbox")
        finally:
            await conn.close()
        seen.append((row["status"], row["send_started_at"] is not None))

    proxy.before_send = look_at_the_row
    world.base_url = await proxy.start()
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            await runner.outbox.put(
                Outgoing(bot="bot000", chat_id=world.chat_id, text="işaretli", priority=Priority.ANSWER)
            )
            await runner.outbox.drain_until_idle(timeout=20)
    finally:
        await proxy.stop()
        await world.emulator.stop()
    assert seen == [("pending", True)]
    (row,) = await outbox_rows(dsn)
    assert (row["status"], row["attempts"], row["telegram_message_id"]) == (
        "sent",
        1,
        world.emulator.sent()[0].message_id,
    )


@pytest.mark.parametrize("cut", ["reset", "truncated"])
async def test_an_answer_cut_off_after_the_request_was_forwarded_is_not_sent_twice(dsn: str, cut: str) -> None:
    world = await make_world(2)
    proxy = CuttingProxy(world.base_url)
    world.base_url = await proxy.start()
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_polling()
            proxy.cut = cut
            await runner.outbox.put(
                Outgoing(bot="bot000", chat_id=world.chat_id, text="tek cevap", priority=Priority.ANSWER, answers=7)
            )
            await runner.outbox.put(
                Outgoing(
                    bot="bot001",
                    chat_id=world.chat_id,
                    text="tek sohbet",
                    priority=Priority.CHATTER,
                    expires_at=time.time() + 60,
                )
            )
            await runner.outbox.drain_until_idle(timeout=20)
            counts = runner.outbox.counts
    finally:
        await proxy.stop()
        await world.emulator.stop()
    # Telegram has each message once: neither was tried again.
    assert sorted(s.text for s in world.emulator.sent()) == ["tek cevap", "tek sohbet"]
    assert proxy.sends == 2
    answer, chatter = await outbox_rows(dsn)
    assert answer["status"] == "failed" and answer["reason"].startswith("outcome unknown: network")
    assert "after the request was sent" in answer["reason"]
    assert chatter["status"] == "expired" and chatter["reason"].startswith("outcome unknown: network")
    assert (counts.failed, counts.expired, counts.retried) == (1, 1, 0)


async def insert_answer_row(
    dsn: str, chat_id: int, text: str, answers: int, *, status: str = "pending", started: bool = False
) -> int:
    """An answer's row as another round trip left it: committed, and never seen by the process that wrote it."""
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            """INSERT INTO outbox (bot_id, chat_id, text, priority, answers_message_id, status, send_started_at)
               SELECT id, $1, $2, 0, $3, $4, CASE WHEN $5 THEN now() END FROM bots WHERE name = 'bot000'
               RETURNING id""",
            chat_id,
            text,
            answers,
            status,
            started,
        )
    finally:
        await conn.close()


async def test_an_answer_whose_insert_committed_unseen_is_sent_once_when_put_meets_its_row(dsn: str) -> None:
    """The database outage race: the INSERT commits as PostgreSQL stops, the retry meets the answer-once index."""
    world = await make_world(1)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_resumed()
            committed = await insert_answer_row(dsn, world.chat_id, "kayıp cevap", answers=41)
            retried = await runner.outbox.put(
                Outgoing(bot="bot000", chat_id=world.chat_id, text="kayıp cevap", priority=Priority.ANSWER, answers=41)
            )
            again = await runner.outbox.put(
                Outgoing(bot="bot000", chat_id=world.chat_id, text="ikinci", priority=Priority.ANSWER, answers=41)
            )
            await runner.outbox.drain_until_idle(timeout=20)
    finally:
        await world.emulator.stop()
    assert (retried, again) == (committed, None)  # the row is this put's; a later one finds it held here
    assert [(s.text, s.reply_to_message_id) for s in world.emulator.sent()] == [("kayıp cevap", None)]
    (row,) = await outbox_rows(dsn)
    assert (row["id"], row["status"], row["attempts"]) == (committed, "sent", 1)


async def test_put_meeting_an_ended_or_started_answer_sends_nothing(dsn: str) -> None:
    world = await make_world(1)
    try:
        async with make_runner(world, dsn) as runner:
            await runner.wait_resumed()
            await insert_answer_row(dsn, world.chat_id, "gitti", answers=51, status="sent")
            await insert_answer_row(dsn, world.chat_id, "belki gitti", answers=52, started=True)
            ended = await runner.outbox.put(
                Outgoing(bot="bot000", chat_id=world.chat_id, text="yine", priority=Priority.ANSWER, answers=51)
            )
            started = await runner.outbox.put(
                Outgoing(bot="bot000", chat_id=world.chat_id, text="yine", priority=Priority.ANSWER, answers=52)
            )
            await runner.outbox.drain_until_idle(timeout=20)
    finally:
        await world.emulator.stop()
    assert (ended, started) == (None, None)
    assert world.emulator.sent() == []
    sent, unknown = await outbox_rows(dsn)
    assert (sent["status"], sent["text"]) == ("sent", "gitti")
    assert unknown["status"] == "failed" and unknown["reason"].startswith("outcome unknown:")


class SwallowingProxy:
    """PostgreSQL behind a TCP proxy that, once armed, lets one `INSERT INTO outbox` commit and then
    cuts its connection before the answer gets back: the client sees the database go away."""

    STATEMENT = b"INSERT INTO outbox"

    def __init__(self, dsn: str) -> None:
        parts = urlsplit(dsn)
        socket_dir = dict(parse_qsl(parts.query)).get("host", "")
        self.unix = f"{socket_dir}/.s.PGSQL.{parts.port or 5432}" if socket_dir.startswith("/") else None
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.database, self.user = parts.path.lstrip("/"), parts.username or "postgres"
        self.armed = False
        self.cuts = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"postgresql://{self.user}@127.0.0.1:{port}/{self.database}?sslmode=disable"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _connection(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self.unix is not None:
            server_r, server_w = await asyncio.open_unix_connection(self.unix)
        else:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        phase = [0]  # 1: the INSERT was parsed; 2: it is being executed, its answer is to be swallowed

        async def up() -> None:
            while data := await client_r.read(65536):
                if phase[0] == 0 and self.armed and self.STATEMENT in data:
                    phase[0] = 1
                elif phase[0] == 1:
                    phase[0] = 2
                server_w.write(data)
                await server_w.drain()

        async def down() -> None:
            while data := await server_r.read(65536):
                if phase[0] == 2:  # the server executed and committed the INSERT: its answer is lost
                    self.armed, self.cuts = False, self.cuts + 1
                    return
                client_w.write(data)
                await client_w.drain()

        try:
            await asyncio.wait(
                [asyncio.create_task(up()), asyncio.create_task(down())], return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for writer in (client_w, server_w):
                writer.close()


async def test_an_answer_committed_as_the_database_connection_drops_is_still_sent_once(dsn: str) -> None:
    world = await make_world(1)
    proxy = SwallowingProxy(dsn)
    try:
        async with make_runner(world, await proxy.start()) as runner:
            await runner.wait_resumed()
            proxy.armed = True
            outbox_id = await runner.outbox.put(
                Outgoing(bot="bot000", chat_id=world.chat_id, text="geç cevap", priority=Priority.ANSWER, answers=61)
            )
            await runner.outbox.drain_until_idle(timeout=20)
    finally:
        await proxy.stop()
        await world.emulator.stop()
    assert proxy.cuts == 1
    (row,) = await outbox_rows(dsn)
    # The first INSERT committed (its id is the sequence's first); the retry met it and sent it.
    assert (row["id"], row["status"], outbox_id) == (1, "sent", 1)
    assert [s.text for s in world.emulator.sent()] == ["geç cevap"]
