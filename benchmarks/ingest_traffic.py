"""The ingest benchmark's traffic and runners: people's posts, the rows they become, how each runner is started."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import asyncpg
import yaml

from benchmarks.lib.emulator import Control
from benchmarks.lib.figures import percentile

ROOT = Path(__file__).resolve().parents[1]
CHAT_ID = -1001000000001
RUNNERS = ("piyasa", "plain")

TEXTS = [
    "BIST bugün yine yatay, hacim düşük",
    "dolar/TL 0.3 yukarı, altın sabit",
    "THYAO bilançosu beklentinin üstünde geldi",
    "faiz kararı perşembe, herkes bekliyor",
    "BTC 100 bin direncini test ediyor",
    "gram altın rekor tazeledi mi?",
]


def post_body(i: int, tag: str) -> dict[str, Any]:
    return {
        "chat_id": CHAT_ID,
        "user_id": 1000 + i % 97,
        "first_name": f"Kişi{i % 97}",
        "text": f"{TEXTS[i % len(TEXTS)]} [{tag}{i}]",
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


async def post_steady(control: Control, rate: float, duration: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Post rate*duration messages, message i at t0 + i/rate (no bursts, no catching up in batches)."""
    loop = asyncio.get_running_loop()
    count = round(rate * duration)
    posted: list[dict[str, Any]] = []
    lateness: list[float] = []
    answer_ms: list[float] = []
    failures: list[str] = []

    async def one(i: int) -> None:
        sent = loop.time()
        try:
            answer = await control.call("POST", "/control/post", post_body(i, "m"))
        except Exception as error:  # noqa: BLE001 - counted and reported
            failures.append(f"{type(error).__name__}: {error}")
            return
        answer_ms.append((loop.time() - sent) * 1000)
        posted.append(
            {
                "message_id": answer["message_id"],
                "available_at": answer["available_at"],
                "recipients": len(answer["recipients"]),
            }
        )

    tasks: list[asyncio.Task[None]] = []
    t0 = loop.time() + 0.05
    for i in range(count):
        target = t0 + i / rate
        delay = target - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append((loop.time() - target) * 1000)
        tasks.append(asyncio.create_task(one(i)))
    last_sent = loop.time()
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    info = {
        "scheduled": count,
        "posted": len(posted),
        "post_failures": len(failures),
        "post_failure_examples": failures[:3],
        "achieved_rate": round(count / (last_sent - t0), 2) if count > 1 and last_sent > t0 else None,
        "schedule_late_ms_p99": _ms(percentile(lateness, 0.99) or 0),
        "schedule_late_ms_max": _ms(max(lateness)) if lateness else None,
        "post_answer_ms_p50": _ms(percentile(answer_ms, 0.5) or 0),
        "post_answer_ms_max": _ms(max(answer_ms)) if answer_ms else None,
    }
    return posted, info


async def stored_ids(conn: asyncpg.Connection, ids: list[int]) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(DISTINCT telegram_message_id) FROM messages"
            " WHERE chat_id = $1 AND telegram_message_id = ANY($2::bigint[])",
            CHAT_ID,
            ids,
        )
    )


async def stored_rows(conn: asyncpg.Connection, ids: list[int]) -> list[asyncpg.Record]:
    """Per posted message: its copies in the table and when the first was committed (epoch s)."""
    return await conn.fetch(
        """SELECT telegram_message_id AS id, count(*) AS n,
                  extract(epoch FROM min(created_at))::float8 AS at
           FROM messages WHERE chat_id = $1 AND telegram_message_id = ANY($2::bigint[])
           GROUP BY 1""",
        CHAT_ID,
        ids,
    )


def write_roster(path: Path, names: list[str]) -> None:
    roster = {
        "chats": [{"id": CHAT_ID, "title": "Bench"}],
        "bots": [{"name": name, "token": "${" + f"{name.upper()}_TOKEN" + "}", "chats": [CHAT_ID]} for name in names],
    }
    path.write_text(yaml.safe_dump(roster, sort_keys=False), encoding="utf-8")


def runner_command(
    runner: str, api: str, dsn: str, workdir: Path, tokens: dict[str, str], args: argparse.Namespace
) -> tuple[list[str], dict[str, str], Path]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIYASA_") and key != "DATABASE_URL"}
    if runner == "piyasa":
        from piyasa_bot.crypto import generate_key

        config = workdir / "bots.yaml"
        write_roster(config, list(tokens))
        env.update(
            {
                "DATABASE_URL": dsn,
                "PIYASA_CONFIG": str(config),
                "PIYASA_TELEGRAM_API": api,
                "PIYASA_SECRET_KEY": generate_key(),
                "PIYASA_DATA_DIR": str(workdir / "data"),
            }
        )
        env.update({f"{name.upper()}_TOKEN": token for name, token in tokens.items()})
        # cwd: the temp dir, so no .env of the checkout leaks in.
        return [sys.executable, "-m", "piyasa_bot", "--log-level", args.log_level, "run"], env, workdir
    env["PLAIN_BOT_TOKENS"] = ",".join(tokens.values())
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks" / "plain_aiogram.py"),
        "--api",
        api,
        "--dsn",
        dsn,
        "--polling-timeout",
        str(args.plain_polling_timeout),
    ]
    return cmd, env, workdir


def extra_env(args: argparse.Namespace) -> dict[str, str]:
    extra = {}
    for item in args.runner_env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--runner-env wants KEY=VALUE, got {item!r}")
        extra[key] = value
    return extra


def log_problems(path: Path, runner: str) -> dict[str, Any]:
    """Warning/error lines of the runner's log, counted, with a few examples."""
    counts = {"warning": 0, "error": 0}
    examples: list[str] = []
    with contextlib.suppress(OSError):
        for line in path.read_text(errors="replace").splitlines():
            level = None
            if runner == "piyasa":
                with contextlib.suppress(ValueError):
                    level = json.loads(line).get("level")
                if level is None and ("Traceback" in line or "Error" in line):
                    level = "error"
            else:
                for name in ("WARNING", "ERROR", "CRITICAL"):
                    if f" {name} " in line:
                        level = "error" if name != "WARNING" else "warning"
                if "Traceback" in line:
                    level = "error"
                if "Received SIGTERM signal" in line:  # aiogram's note that we stopped it
                    level = None
            if level in ("warning", "error", "critical", "exception"):
                key = "warning" if level == "warning" else "error"
                counts[key] += 1
                if len(examples) < 5:
                    examples.append(line[:300])
    return {**counts, "examples": examples}
