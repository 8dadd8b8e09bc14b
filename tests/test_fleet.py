"""A fleet: three `run` processes on one PostgreSQL share the roster; a death or a rolling restart loses nothing.

Each runner names itself in its requests (User-Agent), so the emulator says
which runner polled each bot and when. Every runner gets its own
PIYASA_FLEET_HOST, as on separate machines: only the heartbeat tells a death.
The emulator answers a long poll after POLL seconds at most, so the runners
poll as if their poll timeout were POLL.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from piyasa_bot.crypto import generate_key
from piyasa_bot.fleet.assignment import LeaseKey, assign
from piyasa_bot.runner import COPIES_PAUSE
from piyasa_bot.sandbox import Crowd, CrowdPost, CrowdSpec, Emulator, limits_for
from piyasa_bot.sandbox.models import CutOff
from tests.helpers import RunnerProcess, World, make_world, roster_yaml

pytestmark = pytest.mark.slow

BOTS = 12
POLL = 2.0  # the emulator's longest poll: the runners' poll timeout, in effect
# A window in which every bot polls: a bot whose batches bring only copies (another bot stored them
# first) rests up to 1.5 x the copies pause between polls.
STEADY = 1.5 * COPIES_PAUSE + 1.5
TAKEOVER_WITHIN = 10.0  # from a SIGKILL to the first poll of each of its bots by another runner
# The people: ~2 messages a second, two thirds of them addressed to a bot (a mention or a reply).
PEOPLE = {"normal": 4, "mention": 4, "reply": 4, "rate_multiplier": 4.0}


@dataclass
class Member:
    process: RunnerProcess
    id: str  # runners.id, as its requests name it


@dataclass
class Fleet:
    world: World
    dsn: str
    config: Path
    key: str = field(default_factory=generate_key)  # one secret key for the whole fleet
    started: list[RunnerProcess] = field(default_factory=list)
    crowds: list[People] = field(default_factory=list)
    _hosts: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def emulator(self) -> Emulator:
        return self.world.emulator

    @property
    def bots(self) -> list[str]:
        return [bot.name for bot in self.world.loaded.roster.bots]

    async def start(self) -> Member:
        """One more runner, on a "machine" of its own; back once it has joined."""
        process = RunnerProcess(
            self.world, self.dsn, self.config, key=self.key, env={"PIYASA_FLEET_HOST": f"fleet-{next(self._hosts)}"}
        )
        self.started.append(process)
        await process.start()
        await process.wait_for("fleet.joined", timeout=60)
        return Member(process, process.events("fleet.joined")[0]["runner"])

    def people(self, seed: int) -> People:
        """People start posting (and stop at the end of the test, whatever happens)."""
        self.crowds.append(People(self.emulator, self.world.chat_id, seed))
        return self.crowds[-1]


@pytest.fixture
async def fleet(tmp_path: Path, dsn: str) -> AsyncIterator[Fleet]:
    world = await make_world(BOTS, limits=limits_for(30, 20), longest_poll=POLL)
    config = tmp_path / "bots.yaml"
    config.write_text(roster_yaml([bot.name for bot in world.loaded.roster.bots], world.chat_id))
    crew = Fleet(world, dsn, config)
    try:
        yield crew
    finally:
        for crowd in crew.crowds:
            await crowd.stop()
        for process in crew.started:  # whatever the test left running
            if process.process is not None and process.process.returncode is None:
                process.process.kill()
                await process.finish()
        await world.emulator.stop()


# --- what the fleet holds, what the emulator saw ----------------------------------------------


async def held_leases(dsn: str) -> dict[LeaseKey, str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT kind, key, owner FROM leases WHERE owner IS NOT NULL AND expires_at > now()")
    finally:
        await conn.close()
    return {LeaseKey(r["kind"], r["key"]): r["owner"] for r in rows}


def latest_pollers(emulator: Emulator) -> dict[str, str | None]:
    """Per bot, the runner of its latest getUpdates."""
    latest: dict[str, str | None] = {}
    for record in emulator.requests:
        if record.method == "getUpdates" and record.bot_name is not None:
            latest[record.bot_name] = record.runner
    return latest


async def until(condition: Callable[[], object], timeout: float, what: str) -> None:
    # The emulator and the leases table keep state, not events: look again until it holds.
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"not within {timeout:g} s: {what}") from None


async def settled(fleet: Fleet, live: list[Member], timeout: float = 30.0) -> dict[str, str]:
    """Wait until every lease is where the fleet's assignment puts it among `live` and each bot's owner polls it.

    Returns bot name -> owner.
    """
    ids = [member.id for member in live]
    keys = [LeaseKey("bot", bot) for bot in fleet.bots] + [LeaseKey("chat", str(fleet.world.chat_id))]
    wanted = assign(keys, ids)
    owners = {key.key: owner for key, owner in wanted.items() if key.kind == "bot"}
    held: dict[LeaseKey, str] = {}
    try:
        async with asyncio.timeout(timeout):
            while True:
                held = await held_leases(fleet.dsn)
                polled = latest_pollers(fleet.emulator)
                if held == wanted and all(polled.get(bot) == owner for bot, owner in owners.items()):
                    return owners
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(
            f"the fleet did not settle within {timeout:g} s: leases {held}, wanted {wanted},"
            f" latest pollers {latest_pollers(fleet.emulator)}"
        ) from None


async def assert_steady(fleet: Fleet, owners: dict[str, str]) -> None:
    """Over a window of traffic, each bot is polled by its lease owner alone, and nobody is cut off with 409."""
    conflicts = fleet.emulator.conflicts
    since = time.time()
    await asyncio.sleep(STEADY)  # the window itself: what happens in it is the measure
    pollers = fleet.emulator.pollers(since)
    assert pollers == {bot: {owner} for bot, owner in owners.items()}
    assert fleet.emulator.conflicts == conflicts
    bot_leases = {key.key: owner for key, owner in (await held_leases(fleet.dsn)).items() if key.kind == "bot"}
    assert bot_leases == owners


def conflicts_heard(fleet: Fleet) -> list[dict[str, object]]:
    """Polls a runner got back with 409 while it still listened: another runner polled that token too.

    (A poll its runner gave up, or died with, is still cut off in the emulator, as Telegram does:
    nobody hears that one.)
    """
    return [
        line
        for process in fleet.started
        for line in process.lines
        if line.get("event") == "bot.poll_failed" and line.get("kind") == "conflict"
    ]


def cut_while_held(fleet: Fleet, since: float) -> list[CutOff]:
    """Polls cut off (409) by another runner's while their runner still held the bot.

    A runner gives a bot up (`fleet.released`) after it stopped polling it; the poll it left
    open may still be cut off by the new owner's first one, which is no double poll.
    """
    released: dict[tuple[str | None, str], list[float]] = {}
    for process in fleet.started:
        for line in process.events("fleet.released"):
            if line.get("kind") == "bot":
                at = datetime.fromisoformat(str(line["timestamp"])).timestamp()
                released.setdefault((str(line["runner"]), str(line["key"])), []).append(at)
    return [
        cut
        for cut in fleet.emulator.journal.cut_offs(since)
        if cut.runner != cut.by and not any(at <= cut.at for at in released.get((cut.runner, cut.bot_name), []))
    ]


# --- people, and what they got ----------------------------------------------------------------


class People:
    """A crowd posting into the fleet's chat until stopped."""

    def __init__(self, emulator: Emulator, chat_id: int, seed: int) -> None:
        self.crowd = Crowd(emulator, CrowdSpec(chat_id=chat_id, duration=600, seed=seed, **PEOPLE))
        self.task = asyncio.create_task(self.crowd.run())

    async def stop(self) -> list[CrowdPost]:
        self.crowd.stop()
        return list((await self.task).posts)


def answers(emulator: Emulator, addressed: list[CrowdPost]) -> dict[int, int]:
    """Per addressed message, the answers its bot sent (messages of that bot replying to it)."""
    replies = Counter((s.bot_name, s.reply_to_message_id) for s in emulator.sent())
    return {p.message_id: replies[(p.addressed, p.message_id)] for p in addressed}


async def assert_nothing_lost_and_everyone_answered_once(fleet: Fleet, posts: list[CrowdPost]) -> None:
    emulator = fleet.emulator
    await emulator.wait_confirmed(timeout=30)  # every copy confirmed: stored, or nothing is
    addressed = [p for p in posts if p.addressed is not None]
    with contextlib.suppress(AssertionError):  # what is still unanswered is told below
        await until(lambda: all(answers(emulator, addressed).values()), 45, "every addressed message answered")
    conn = await asyncpg.connect(fleet.dsn)
    try:
        await until_no_answer_pending(conn)
        stored = Counter(
            r[0]
            for r in await conn.fetch(
                "SELECT telegram_message_id FROM messages WHERE chat_id = $1 AND is_incoming", fleet.world.chat_id
            )
        )
        counts = answers(emulator, addressed)
        odd = {m: n for m, n in counts.items() if n != 1}
        outbox = await conn.fetch(
            "SELECT answers_message_id, status, reason, bot_id FROM outbox"
            " WHERE answers_message_id = ANY($1::bigint[])",
            list(odd),
        )
    finally:
        await conn.close()
    posted = [p.message_id for p in emulator.posted]
    assert len(posted) == len(posts) >= 5, "too little traffic to tell"
    assert sorted(stored) == sorted(posted), "people's messages lost, or stored that nobody posted"
    assert [m for m, n in stored.items() if n > 1] == [], "people's messages stored twice"
    assert odd == {}, (
        f"addressed messages answered other than once: {odd}; their outbox rows {[dict(r) for r in outbox]};"
        f" the posts {[p for p in addressed if p.message_id in odd]}; the runners said {answer_lines(fleet, odd)}"
    )
    assert sum(emulator.violations.values()) == 0, emulator.violations


def answer_lines(fleet: Fleet, message_ids: Collection[int]) -> list[dict[str, object]]:
    """The runners' log lines that name one of these messages."""
    return [
        line
        for process in fleet.started
        for line in process.lines
        if line.get("message_id") in message_ids or line.get("answers") in message_ids
    ]


async def until_no_answer_pending(conn: asyncpg.Connection) -> None:
    """A second answer would be a pending outbox row (or already sent): wait until none is left."""
    async with asyncio.timeout(30):
        while await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE status = 'pending' AND answers_message_id IS NOT NULL"
        ):
            await asyncio.sleep(0.2)


# --- the tests ---------------------------------------------------------------------------------


async def start_three(fleet: Fleet) -> list[Member]:
    return list(await asyncio.gather(*(fleet.start() for _ in range(3))))


async def test_three_runners_poll_each_bot_from_one_runner_and_a_third_each(fleet: Fleet) -> None:
    members = await start_three(fleet)
    owners = await settled(fleet, members)
    people = fleet.people(seed=1)
    await assert_steady(fleet, owners)
    # Every bot is one member's, and a third of the roster each.
    assert Counter(owners.values()) == dict.fromkeys((member.id for member in members), BOTS // 3)
    await assert_nothing_lost_and_everyone_answered_once(fleet, await people.stop())
    assert conflicts_heard(fleet) == []


async def test_a_sigkilled_runners_bots_are_polled_by_the_others_within_ten_seconds_and_nothing_is_lost(
    fleet: Fleet,
) -> None:
    members = await start_three(fleet)
    await settled(fleet, members)
    # The victim holds the chat: its director and the answers it was composing die with it.
    chat_owner = (await held_leases(fleet.dsn))[LeaseKey("chat", str(fleet.world.chat_id))]
    victim = next(member for member in members if member.id == chat_owner)
    its_bots = {
        key.key for key, owner in (await held_leases(fleet.dsn)).items() if key.kind == "bot" and owner == victim.id
    }
    assert its_bots, "the chat's owner holds no bot"
    people = fleet.people(seed=2)
    await until(lambda: len(fleet.emulator.sent()) >= 3, 30, "the bots answering")  # mid-traffic
    killed_at = time.time()
    victim.process.signal(signal.SIGKILL)

    def first_polls_by_others() -> dict[str, float]:
        first: dict[str, float] = {}
        for record in fleet.emulator.journal.polls(killed_at):
            if record.bot_name in its_bots and record.runner != victim.id and record.arrived_at is not None:
                first.setdefault(record.bot_name, record.arrived_at)
        return first

    await until(lambda: first_polls_by_others().keys() == its_bots, 30, f"another runner polling {sorted(its_bots)}")
    takeover = {bot: round(at - killed_at, 2) for bot, at in first_polls_by_others().items()}
    assert max(takeover.values()) < TAKEOVER_WITHIN, takeover
    survivors = [member for member in members if member is not victim]
    owners = await settled(fleet, survivors)
    await assert_steady(fleet, owners)
    # The only polls cut off by another runner's: the victim's last ones, by the new owners' first.
    assert {(cut.bot_name, cut.runner) for cut in cut_while_held(fleet, killed_at)} <= {
        (b, victim.id) for b in its_bots
    }
    await assert_nothing_lost_and_everyone_answered_once(fleet, await people.stop())
    assert conflicts_heard(fleet) == []
    assert await victim.process.finish() == -signal.SIGKILL


async def test_a_rolling_restart_of_all_three_loses_nothing_and_each_handover_is_short(fleet: Fleet) -> None:
    members = await start_three(fleet)
    await settled(fleet, members)
    people = fleet.people(seed=3)
    began = time.time()
    for old in list(members):
        old.process.signal(signal.SIGTERM)
        assert await old.process.finish() == 0
        members.remove(old)
        members.append(await fleet.start())
        await settled(fleet, members)  # the new runner holds its share (what hashing gives it)
    moves = handovers(fleet.emulator, began, time.time())
    # Every bot changed hands at least once (its first owner is gone), each time within a poll and a second.
    assert {bot for bot, _ in moves} == set(fleet.bots)
    assert max(gap for _, gap in moves) < POLL + 1, sorted(moves, key=lambda move: -move[1])[:5]
    # A clean handover: no poll was cut off (409) by another runner's while its own runner held the bot.
    assert cut_while_held(fleet, began) == []
    await assert_nothing_lost_and_everyone_answered_once(fleet, await people.stop())
    assert conflicts_heard(fleet) == []


def handovers(emulator: Emulator, since: float, until: float) -> list[tuple[str, float]]:
    """(bot, gap) for each change of the runner polling a bot in the window: the time from the last
    getUpdates of the one to the first of the next (a bot resting between polls is no handover)."""
    last: dict[str, tuple[str | None, float]] = {}
    moves: list[tuple[str, float]] = []
    for record in emulator.journal.polls(since - POLL, until):
        if record.bot_name is None or record.arrived_at is None:
            continue
        before = last.get(record.bot_name)
        if before is not None and before[0] != record.runner:
            moves.append((record.bot_name, round(record.arrived_at - before[1], 2)))
        last[record.bot_name] = (record.runner, record.arrived_at)
    return moves
