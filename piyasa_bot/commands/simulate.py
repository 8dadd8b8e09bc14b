"""`simulate`: the whole system against the local Bot API emulator, no Telegram needed.

bots.yaml is read as written, each bot gets an emulator token in place of its
own, simulated people post into the first chat, and the chat is shown as it
unfolds. It ends with what was posted against what was stored.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from typing import TextIO

import asyncpg

from piyasa_bot.bootstrap import ConfigError, database_dsn, secret_cipher
from piyasa_bot.chat_kinds import is_supergroup_id
from piyasa_bot.commands.run import stop_on_signals
from piyasa_bot.console.options import ConsoleOptions
from piyasa_bot.crypto import TokenCipher, generate_key
from piyasa_bot.db.pool import fresh_database
from piyasa_bot.roster_loader import LoadedRoster, RosterError, load_roster
from piyasa_bot.runner import Runner
from piyasa_bot.runner_group import RunnerGroup
from piyasa_bot.sandbox import Crowd, CrowdSpec, Emulator, limits_for
from piyasa_bot.sandbox.crowd import CrowdPost
from piyasa_bot.settings import Settings

SIMULATION_DATABASE = "piyasa_simulate"
SNIPPET = 40  # characters of the message a reply answers, shown on its "↳" line


def simulated_roster(settings: Settings, emulator: Emulator) -> LoadedRoster:
    env: dict[str, str] = {**os.environ}
    try:
        loaded = load_roster(settings.config, _WithPlaceholders(env), secret_cipher(settings))
    except RosterError as error:
        raise ConfigError(error.problems) from None
    tokens = {}
    for bot in loaded.roster.bots:
        tokens[bot.name] = emulator.add_bot(name=bot.name, username=f"{bot.name}_piyasa_bot", privacy=False).token
    for chat in loaded.roster.chats:
        members = [bot.name for bot in loaded.roster.bots if chat.id in bot.chats]
        emulator.add_chat(
            chat_id=chat.id,
            title=chat.title,
            type="supergroup" if is_supergroup_id(chat.id) else "group",
            members=members,
        )
    return dataclasses.replace(loaded, tokens=tokens, warnings=[])


class _WithPlaceholders(dict[str, str]):
    """The environment, where a missing token variable gets a placeholder instead of an error."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env)
        self._made = 0

    def __missing__(self, name: str) -> str:
        self._made += 1
        value = f"{9_000_000 + self._made}:{'S' * 35}"
        self[name] = value
        return value

    def get(self, name: str, default: str | None = None) -> str:  # type: ignore[override]
        return self[name]


async def fresh_simulation_database(settings: Settings) -> str:
    # The emulator numbers messages from 1 on every start: simulated rows must
    # never meet earlier ones, nor real ones.
    return await fresh_database(database_dsn(settings), SIMULATION_DATABASE)


class ChatView:
    """Prints the chat as it unfolds, who answers whom, and a line of live counts.

    A reply gets a line of its own before it, "↳ Mehmet: GOLD nereye gider…", naming the
    author of the message it answers (a bot as "@name") so a reader can follow threads.
    """

    def __init__(self, emulator: Emulator, fleet: RunnerGroup, out: TextIO, quiet: bool) -> None:
        self.emulator, self.fleet, self.out, self.quiet = emulator, fleet, out, quiet
        self._posted = 0
        self._sent = 0
        self._posts_read = 0
        self._names: dict[int, str] = {}  # user id -> first name, kept across calls
        self._said: dict[tuple[int, int], tuple[str, str]] = {}  # (chat, people's message id) -> who, what
        self._replies_to: dict[tuple[int, int], int] = {}  # a person's reply -> the message it answers

    def show(self, names: dict[int, str], posts: Sequence[CrowdPost] = ()) -> None:
        """Print what is new; `names` are the people's first names, `posts` the crowd's posts so far."""
        self._names.update(names)
        for post in posts[self._posts_read :]:
            if post.reply_to_message_id is not None:
                self._replies_to[(post.chat_id, post.message_id)] = post.reply_to_message_id
        self._posts_read = max(self._posts_read, len(posts))
        posted = self.emulator.posted
        sent = self.emulator.sent_since(self._sent)
        new_posts = posted[self._posted :]
        for p in new_posts:
            self._said[(p.chat_id, p.message_id)] = (self._names.get(p.user_id, str(p.user_id)), p.text)
        for s in sent:
            self._said[(s.chat_id, s.chat_message_id)] = ("@" + s.bot_name, s.text)
        lines: list[tuple[float, str, str | None]] = []
        for p in new_posts:
            who = self._said[(p.chat_id, p.message_id)][0]
            lines.append((p.available_at, f"{who:>10} │ {p.text}", self._thread(p.chat_id, p.message_id)))
        for s in sent:
            # The bot's reply id is in its own numbering: shift it by the offset its own message shows.
            target = None if s.reply_to_message_id is None else s.reply_to_message_id - s.message_id + s.chat_message_id
            lines.append((s.at, f"{'@' + s.bot_name:>10} │ {s.text}", self._label(s.chat_id, target)))
        if not self.quiet:
            for at, line, thread in sorted(lines, key=lambda item: item[0]):
                if thread:
                    print(f"{'':>8} {'':>10} │ {thread}", file=self.out)
                print(f"{time.strftime('%H:%M:%S', time.localtime(at))} {line}", file=self.out)
        self._posted, self._sent = len(posted), self._sent + len(sent)
        stored = self.fleet.stored
        print(f"          ── people posted {self._posted}, stored {stored}, bots sent {self._sent}", file=self.out)

    def _thread(self, chat_id: int, message_id: int) -> str | None:
        return self._label(chat_id, self._replies_to.get((chat_id, message_id)))

    def _label(self, chat_id: int, target: int | None) -> str | None:
        """ "↳ Mehmet: GOLD nereye gider…" for a reply to a message we have shown, "↳ #12" otherwise."""
        if target is None:
            return None
        said = self._said.get((chat_id, target))
        if said is None:
            return f"↳ #{target}"
        who, text = said[0], " ".join(said[1].split())
        snippet = text if len(text) <= SNIPPET else text[: SNIPPET - 1].rstrip() + "…"
        return f"↳ {who}: {snippet}"


async def simulate(settings: Settings, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    emulator = Emulator(seed=args.seed)
    loaded = simulated_roster(settings, emulator)
    limits = loaded.roster.limits
    emulator.use_limits(limits_for(limits.global_per_second, limits.per_chat_per_minute))
    cipher = secret_cipher(settings) or TokenCipher.from_setting(generate_key())
    assert cipher is not None
    stop = asyncio.Event()
    stop_on_signals(stop)
    base_url = await emulator.start()
    chat = loaded.roster.chats[0]
    people = max(args.people, 1)
    spec = CrowdSpec(
        chat_id=chat.id,
        normal=people - 2 * (people // 5),
        mention=people // 5,
        reply=people // 5,
        duration=args.duration,
        rate_multiplier=args.rate,
        seed=args.seed,
    )
    print(
        f"simulating {len(loaded.roster.bots)} bots and {people} people in '{chat.title}' "
        f"for {args.duration:.0f} s (emulator at {base_url})",
        file=out,
    )
    dsn = await fresh_simulation_database(settings)
    try:
        console = ConsoleOptions(port=args.console) if args.console is not None else None

        def runner(index: int) -> Runner:
            return Runner(
                loaded,
                dsn=dsn,
                api_base=base_url,
                cipher=cipher,
                poll_timeout=10,
                seed=args.seed + index,
                pace_scale=args.pace,
                console=console if index == 0 else None,
            )

        async with RunnerGroup(runner, args.runners) as fleet:
            first = fleet.first
            if args.runners > 1:
                shares = ", ".join(f"{len(each.pollers)} bots" for each in fleet.runners)
                print(f"a fleet of {args.runners} runners on one database: {shares}", file=out)
            if first.console is not None:
                print(f"the console: {first.console.url}/ (the local operator, no sign-in)", file=out)
            market = fleet.director_of(chat.id).services.market
            # People quote the market the bots quote, so the demo does not contradict itself.
            crowd = Crowd(emulator, spec, market.prices() if market is not None else None)
            view = ChatView(emulator, fleet, out, args.quiet)
            crowd_task = asyncio.create_task(crowd.run())
            stopped = asyncio.create_task(stop.wait())
            while not crowd_task.done() and not stopped.done():
                await asyncio.wait([crowd_task, stopped], timeout=1.0)
                view.show({p.user_id: p.first_name for p in crowd.people}, crowd.result.posts)
            crowd.stop()
            stopped.cancel()
            await crowd_task
            await emulator.wait_confirmed(timeout=30)
            # No new chatter; let the answers still on their way go out.
            await fleet.drain(timeout=90)
            view.show({}, crowd.result.posts)
            counts = fleet.answer_counts
            answered = (counts.addressed, counts.answered)
        return await report(dsn, emulator, answered, out)
    finally:
        await emulator.stop()


async def report(dsn: str, emulator: Emulator, answered: tuple[int, int], out: TextIO) -> int:
    posted = emulator.posted
    conn = await asyncpg.connect(dsn)
    try:
        stored = await conn.fetchval("SELECT count(*) FROM messages WHERE is_incoming")
    finally:
        await conn.close()
    lost = len(posted) - stored
    violations = sum(emulator.violations.values())
    print(
        f"people posted {len(posted)}, stored {stored}, lost {max(lost, 0)}; "
        f"addressed a bot {answered[0]}, answered {answered[1]}; "
        f"bots sent {len(emulator.sent())}, limit violations {violations}",
        file=out,
    )
    return 0 if lost == 0 and violations == 0 and answered[0] == answered[1] else 1
