"""Building blocks for end-to-end tests: an emulator world and a roster that matches it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from piyasa_bot.crypto import TokenCipher, generate_key
from piyasa_bot.roster_loader import LoadedRoster, parse_roster
from piyasa_bot.runner import Runner
from piyasa_bot.sandbox import Emulator
from piyasa_bot.sending.outbox import Outgoing, Priority

SUPERGROUP = -1001000000001
BASIC_GROUP = -4000000001


@dataclass
class World:
    emulator: Emulator
    base_url: str
    loaded: LoadedRoster
    env: dict[str, str]
    chat_id: int


def roster_yaml(names: list[str], chat_id: int) -> str:
    lines = ["chats:", f"  - id: {chat_id}", "    title: Test", "bots:"]
    for name in names:
        lines += [f"  - name: {name}", f"    token: ${{{name.upper()}_TOKEN}}", f"    chats: [{chat_id}]"]
    return "\n".join(lines) + "\n"


async def make_world(bots: int, *, chat_type: str = "supergroup", privacy: bool = False, **emulator_args) -> World:
    chat_id = SUPERGROUP if chat_type == "supergroup" else BASIC_GROUP
    emulator = Emulator(**emulator_args)
    names = [f"bot{index:03d}" for index in range(bots)]
    env = {}
    for name in names:
        env[f"{name.upper()}_TOKEN"] = emulator.add_bot(name=name, username=f"{name}_bot", privacy=privacy).token
    emulator.add_chat(chat_id=chat_id, title="Test", type=chat_type, members=names)
    base_url = await emulator.start(host="127.0.0.1", port=0)
    loaded = parse_roster(roster_yaml(names, chat_id), "test.yaml", env, None)
    return World(emulator, base_url, loaded, env, chat_id)


def roster_of(world: World, names: list[str]) -> LoadedRoster:
    """A roster of some of the world's bots (as bots.yaml would name them), in the world's chat."""
    return parse_roster(roster_yaml(names, world.chat_id), "test.yaml", world.env, None)


def make_runner(world: World, dsn: str, loaded: LoadedRoster | None = None, **kwargs) -> Runner:
    cipher = TokenCipher.from_setting(generate_key())
    assert cipher is not None
    kwargs.setdefault("poll_timeout", 5)
    # A bot that gets only copies waits up to 1.5 x this before confirming them: at the default
    # (5 s) every wait_confirmed paid 2.5-7.5 s.
    kwargs.setdefault("copies_pause", 0.3)
    kwargs.setdefault("conversation", False)  # spine tests: only what the test itself sends
    return Runner(loaded or world.loaded, dsn=dsn, api_base=world.base_url, cipher=cipher, **kwargs)


async def incoming_rows(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch("SELECT * FROM messages WHERE is_incoming ORDER BY id")
    finally:
        await conn.close()


async def send_as(runner: Runner, bot: str, chat_id: int, text: str, reply_to: int | None = None) -> int:
    """Send through the outbox, as the runner's own answers go, and return Telegram's message id."""
    outbox_id = await runner.outbox.put(
        Outgoing(bot=bot, chat_id=chat_id, text=text, priority=Priority.ANSWER, reply_to=reply_to)
    )
    assert outbox_id is not None
    await runner.outbox.drain_until_idle(timeout=20)
    status, message_id = await runner.pool.fetchrow(
        "SELECT status, telegram_message_id FROM outbox WHERE id = $1", outbox_id
    )
    assert status == "sent", f"the send ended {status}"
    return message_id


class RunnerProcess:
    """`python -m piyasa_bot run` as an operator starts it, its JSON log lines read from stderr.

    The runners of one fleet share a `key` (PIYASA_SECRET_KEY: the tokens at rest); `env`
    adds to (or overrides) the environment, e.g. PIYASA_FLEET_HOST. Log lines are read as
    they come, so a chatty runner never stalls on a full pipe.
    """

    def __init__(
        self, world: World, dsn: str, config: Path, *, key: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.env = {
            **os.environ,
            **world.env,
            "DATABASE_URL": dsn,
            "PIYASA_CONFIG": str(config),
            "PIYASA_TELEGRAM_API": world.base_url,
            "PIYASA_SECRET_KEY": key or generate_key(),
            **(env or {}),
        }
        self.process: asyncio.subprocess.Process | None = None
        self.lines: list[dict[str, Any]] = []
        self._reader: asyncio.Task[None] | None = None
        self._read_more = asyncio.Event()

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "piyasa_bot",
            "run",
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read(self.process))

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        while line := await process.stderr.readline():
            if line.strip():
                try:
                    self.lines.append(json.loads(line))
                except ValueError:  # a traceback from a crash, not a log line
                    self.lines.append({"event": None, "text": line.decode(errors="replace")})
            self._read_more.set()
        self._read_more.set()

    async def wait_for(self, event: str, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until `event` has been logged `count` times."""
        assert self._reader is not None

        async def seen() -> None:
            while sum(line.get("event") == event for line in self.lines) < count:
                assert not self._reader.done(), f"the runner exited before {event!r}: {self.lines[-5:]}"
                self._read_more.clear()
                await self._read_more.wait()

        await asyncio.wait_for(seen(), timeout)

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    async def finish(self, timeout: float = 30.0) -> int:
        """Wait for the process to end (its log read to the end); its exit code."""
        assert self.process is not None and self._reader is not None
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return await self.process.wait()

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("event") == event]
