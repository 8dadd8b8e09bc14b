"""`status` shows the fleet: which runners are live, which are dead or stopping, and who holds each bot and chat.

The rows are written straight into runners and leases (sql/0013_fleet.sql), as runners
would have left them; `status` reads them with the database's clock.
"""

from __future__ import annotations

import json
import re

import asyncpg
import pytest

from tests.test_status import run_status, settings_for

CIPHER = "gAAAAABfleet-test-token-cipher"  # what bots.token_encrypted holds: never shown
ALPHA = "alpha:101:aa11"  # live
BETA = "beta:202:bb22"  # its heartbeat stopped 30 s ago: dead
GAMMA = "gamma:303:cc33"  # fresh heartbeat, but handing its work over
LIVE_TITLE = "FLEET: RUNNERS (live = a heartbeat within 6s, not stopping)"  # the lease TTL less a heartbeat
OWNERS_TITLE = "FLEET: WHO HOLDS EACH BOT AND CHAT"
ROSTER = "5e1f0c2a9b3d4e7f"  # the fingerprint of a bots.yaml (fleet/assignment.py)


async def add_bots_and_chats(pool: asyncpg.Pool, bots: list[str], chats: list[int]) -> None:
    await pool.executemany(
        "INSERT INTO bots (name, token_encrypted, state) VALUES ($1, $2, 'running')", [(b, CIPHER) for b in bots]
    )
    await pool.executemany("INSERT INTO chats (id, title) VALUES ($1, 'Piyasa')", [(c,) for c in chats])


async def add_runner(
    pool: asyncpg.Pool, runner: str, *, heartbeat_age: float, stopping: bool = False, roster: str = ROSTER
) -> None:
    host, pid, _ = runner.split(":")
    await pool.execute(
        """INSERT INTO runners (id, host, pid, started_at, heartbeat_at, stopping, roster)
           VALUES ($1, $2, $3, now() - interval '5 minutes', now() - make_interval(secs => $4), $5, $6)""",
        runner,
        host,
        int(pid),
        heartbeat_age,
        stopping,
        roster,
    )


async def add_lease(pool: asyncpg.Pool, kind: str, key: str, owner: str | None, epoch: int, expires_in: float) -> None:
    await pool.execute(
        """INSERT INTO leases (kind, key, owner, epoch, acquired_at, expires_at)
           VALUES ($1, $2, $3, $4, now() - interval '1 minute', now() + make_interval(secs => $5))""",
        kind,
        key,
        owner,
        epoch,
        expires_in,
    )


@pytest.fixture
async def fleet(pool: asyncpg.Pool, dsn: str) -> str:
    """Three runners (live, dead, stopping) and a lease in every state; the dsn to run `status` on."""
    await add_bots_and_chats(pool, ["bot000", "bot001", "bot002", "bot003"], [-1001, -1002])
    await add_runner(pool, ALPHA, heartbeat_age=0)
    await add_runner(pool, BETA, heartbeat_age=30)
    await add_runner(pool, GAMMA, heartbeat_age=0, stopping=True)
    await add_lease(pool, "bot", "bot000", ALPHA, 3, expires_in=60)
    await add_lease(pool, "bot", "bot001", None, 2, expires_in=-5)  # released: handed back
    await add_lease(pool, "bot", "bot002", BETA, 1, expires_in=-22)  # its owner died; nobody took it yet
    # bot003: no lease row at all (no runner has claimed it)
    await add_lease(pool, "chat", "-1001", ALPHA, 1, expires_in=60)
    await add_lease(pool, "chat", "-1002", GAMMA, 4, expires_in=60)  # still held, by a runner on its way out
    return dsn


def sections(text: str, title: str) -> list[dict[str, str]]:
    """The rows of a titled table in the text output; columns are 2+ spaces apart."""
    lines = text.split(f"\n{title}\n", 1)[1].split("\n\n", 1)[0].splitlines()
    header = re.split(r"\s{2,}", lines[0].strip())
    return [dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=True)) for line in lines[1:]]


async def test_json_tells_the_live_runner_from_the_dead_and_the_stopping_one_and_counts_what_each_holds(
    fleet: str,
) -> None:
    code, output = await run_status(settings_for(fleet), as_json=True)
    assert code == 0, output
    report = json.loads(output)
    assert report["runner_running"] is True, "one live runner is enough"
    runners = {r["id"]: r for r in report["fleet"]["runners"]}
    assert [r["id"] for r in report["fleet"]["runners"]][0] == ALPHA, "the live runners come first"
    assert (runners[ALPHA]["live"], runners[ALPHA]["bots"], runners[ALPHA]["chats"]) == (True, 1, 1)
    assert (runners[ALPHA]["host"], runners[ALPHA]["pid"]) == ("alpha", 101)
    assert runners[BETA]["live"] is False and runners[BETA]["heartbeat_age_seconds"] >= 30
    assert runners[BETA]["bots"] == 0, "an expired lease is nobody's, not the dead runner's"
    assert (runners[GAMMA]["live"], runners[GAMMA]["stopping"], runners[GAMMA]["chats"]) == (False, True, 1)
    assert report["fleet"]["live_within_seconds"] == 6


async def test_json_says_who_holds_each_bot_and_chat_and_nobody_for_a_released_or_expired_lease(fleet: str) -> None:
    code, output = await run_status(settings_for(fleet), as_json=True)
    assert code == 0, output
    leases = {(lease["kind"], lease["key"]): lease for lease in json.loads(output)["fleet"]["leases"]}
    assert leases.keys() == {
        ("bot", "bot000"),
        ("bot", "bot001"),
        ("bot", "bot002"),
        ("bot", "bot003"),
        ("chat", "-1001"),
        ("chat", "-1002"),
    }
    held = leases["bot", "bot000"]
    assert (held["holder"], held["state"], held["epoch"], held["owner_live"]) == (ALPHA, "held", 3, True)
    assert 50 < held["expires_in_seconds"] <= 60
    released = leases["bot", "bot001"]
    assert (released["holder"], released["owner"], released["state"], released["epoch"]) == (None, None, "released", 2)
    expired = leases["bot", "bot002"]
    assert (expired["holder"], expired["owner"], expired["state"]) == (None, BETA, "expired")
    assert expired["expires_in_seconds"] <= -22
    assert (leases["bot", "bot003"]["holder"], leases["bot", "bot003"]["state"]) == (None, "unclaimed")
    assert leases["chat", "-1001"]["holder"] == ALPHA
    assert (leases["chat", "-1002"]["holder"], leases["chat", "-1002"]["owner_live"]) == (GAMMA, False)
    assert CIPHER not in output


async def test_the_text_shows_the_runners_and_the_holder_of_every_bot_and_chat(fleet: str) -> None:
    code, text = await run_status(settings_for(fleet), as_json=False)
    assert code == 0, text
    assert "; 1 runner running" in text.splitlines()[0]
    runners = {row["runner"]: row for row in sections(text, LIVE_TITLE)}
    assert (runners[ALPHA]["live"], runners[ALPHA]["bots"], runners[ALPHA]["chats"]) == ("yes", "1", "1")
    assert (runners[BETA]["live"], runners[BETA]["heartbeat"]) == ("NO", "30s ago")
    assert (runners[GAMMA]["live"], runners[GAMMA]["stopping"]) == ("NO", "yes")
    owners = {(row["kind"], row["key"]): row for row in sections(text, OWNERS_TITLE)}
    assert (owners["bot", "bot000"]["holder"], owners["bot", "bot000"]["epoch"]) == (ALPHA, "3")
    assert owners["bot", "bot000"]["lease"].startswith("expires in ")
    assert (owners["bot", "bot001"]["holder"], owners["bot", "bot001"]["lease"]) == ("—", "released")
    assert owners["bot", "bot002"]["holder"] == "—"
    assert re.fullmatch(rf"expired 2\ds ago, was {BETA}", owners["bot", "bot002"]["lease"])
    assert (owners["bot", "bot003"]["holder"], owners["bot", "bot003"]["lease"]) == ("—", "never claimed")
    assert owners["chat", "-1001"]["holder"] == ALPHA
    assert owners["chat", "-1002"]["lease"].endswith("; its runner is not live")
    assert "BOTS" in text.splitlines() and "CHATS" in text.splitlines(), "the other sections are still there"
    assert CIPHER not in text


async def test_with_only_dead_or_stopping_runners_the_fleet_is_not_running(pool: asyncpg.Pool, dsn: str) -> None:
    await add_bots_and_chats(pool, ["bot000"], [])
    await add_runner(pool, BETA, heartbeat_age=7)  # just past the 6 s
    await add_runner(pool, GAMMA, heartbeat_age=0, stopping=True)
    await add_lease(pool, "bot", "bot000", BETA, 1, expires_in=-1)

    code, output = await run_status(settings_for(dsn), as_json=True)
    assert code == 0 and json.loads(output)["runner_running"] is False
    code, text = await run_status(settings_for(dsn), as_json=False)
    assert "; runner not running" in text.splitlines()[0]
    assert "note: no runner is live now; these states are the last ones written (did it crash?)" in text
    assert {row["runner"]: row["live"] for row in sections(text, LIVE_TITLE)} == {BETA: "NO", GAMMA: "NO"}


async def test_before_any_runner_joined_the_fleet_says_so(pool: asyncpg.Pool, dsn: str) -> None:
    await add_bots_and_chats(pool, ["bot000"], [-1001])
    code, text = await run_status(settings_for(dsn), as_json=False)
    assert code == 0 and "FLEET: no runner has joined yet" in text and "; runner not running" in text
    code, output = await run_status(settings_for(dsn), as_json=True)
    fleet = json.loads(output)["fleet"]
    assert fleet["runners"] == [] and {lease["state"] for lease in fleet["leases"]} == {"unclaimed"}


async def test_a_database_from_before_the_fleet_tables_still_answers(pool: asyncpg.Pool, dsn: str) -> None:
    await add_bots_and_chats(pool, ["bot000"], [])
    await pool.execute("DROP TABLE leases; DROP TABLE runners")  # as a database migrated before sql/0013
    code, output = await run_status(settings_for(dsn), as_json=True)
    assert code == 0, output
    report = json.loads(output)
    assert report["runner_running"] is False and report["fleet"] == {
        "live_within_seconds": 6,
        "runners": [],
        "rosters_agree": True,
        "leases": [],
    }
    assert [bot["name"] for bot in report["bots"]] == ["bot000"]


async def test_live_runners_on_different_bots_yaml_are_pointed_out(pool: asyncpg.Pool, dsn: str) -> None:
    await add_bots_and_chats(pool, ["bot000"], [])
    await add_runner(pool, ALPHA, heartbeat_age=0)
    await add_runner(pool, GAMMA, heartbeat_age=0, roster="0badc0ffee000000")
    await add_runner(pool, BETA, heartbeat_age=30, roster="")  # dead, and from before sql/0014: not counted

    code, text = await run_status(settings_for(dsn), as_json=False)
    assert code == 0, text
    assert {row["runner"]: row["bots.yaml"] for row in sections(text, LIVE_TITLE)} == {
        ALPHA: ROSTER[:8],
        GAMMA: "0badc0ff",
        BETA: "unknown",
    }
    assert (
        f"WARNING: the live runners run different bots.yaml ({ROSTER[:8]}: {ALPHA}; 0badc0ff: {GAMMA}); "
        "each group shares out only its own bots and chats; give every runner the same bots.yaml"
    ) in text.splitlines()
    code, output = await run_status(settings_for(dsn), as_json=True)
    fleet = json.loads(output)["fleet"]
    assert fleet["rosters_agree"] is False
    assert {r["id"]: r["roster"] for r in fleet["runners"]} == {ALPHA: ROSTER, GAMMA: "0badc0ffee000000", BETA: None}


async def test_runners_on_one_bots_yaml_get_no_warning(fleet: str) -> None:
    code, text = await run_status(settings_for(fleet), as_json=False)
    assert code == 0 and "WARNING: the live runners run different bots.yaml" not in text
    code, output = await run_status(settings_for(fleet), as_json=True)
    assert json.loads(output)["fleet"]["rosters_agree"] is True


async def test_a_database_from_before_the_roster_column_still_answers(pool: asyncpg.Pool, dsn: str) -> None:
    await add_runner(pool, ALPHA, heartbeat_age=0)
    await pool.execute("ALTER TABLE runners DROP COLUMN roster")  # as a database migrated before sql/0014
    code, output = await run_status(settings_for(dsn), as_json=True)
    assert code == 0, output
    fleet = json.loads(output)["fleet"]
    assert [(r["id"], r["roster"]) for r in fleet["runners"]] == [(ALPHA, None)] and fleet["rosters_agree"] is True
