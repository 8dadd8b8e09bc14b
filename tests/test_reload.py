"""Live edits of bots.yaml: added bots start, removed ones stop, a bad edit changes nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from piyasa_bot.roster_loader import load_roster
from piyasa_bot.roster_watch import RosterWatcher
from tests.helpers import make_runner, make_world, roster_yaml

pytestmark = pytest.mark.slow


async def test_live_edits_apply_and_a_bad_edit_leaves_the_roster_running(dsn: str, tmp_path: Path) -> None:
    world = await make_world(3)
    config = tmp_path / "bots.yaml"
    config.write_text(roster_yaml(["bot000", "bot001"], world.chat_id))
    try:
        async with make_runner(world, dsn, load_roster(config, world.env, None), conversation=True) as runner:
            watcher = RosterWatcher(config, lambda: load_roster(config, world.env, None), runner.apply, interval=60)

            async def edit(text: str) -> None:
                config.write_text(text)
                watcher.checked.clear()
                watcher.trigger()  # as SIGHUP does
                await watcher.checked.wait()

            watching = asyncio.create_task(watcher.run())
            await edit(roster_yaml(["bot000", "bot001", "bot002"], world.chat_id))
            await runner.wait_polling()
            assert sorted(runner.pollers) == ["bot000", "bot001", "bot002"]
            assert set(runner.rooms.directors[world.chat_id].members) == {"bot000", "bot001", "bot002"}

            await edit("bots: [oops\n")
            assert watcher.problems and "line" in str(watcher.problems[0])
            assert sorted(runner.pollers) == ["bot000", "bot001", "bot002"]

            await edit(
                roster_yaml(["bot000", "bot002"], world.chat_id).replace("title: Test", "title: Test\n    pace: 90")
            )
            assert sorted(runner.pollers) == ["bot000", "bot002"]
            assert runner.rooms.directors[world.chat_id].chat.pace == 90
            assert watcher.applied == 2
            removed_at = time.time()
            world.emulator.revoke("bot001")  # its queue no longer counts for wait_confirmed
            world.emulator.post(world.chat_id, user_id=5, text="yeni düzen")
            await world.emulator.wait_confirmed(timeout=30)  # bot000 and bot002 poll on
            watching.cancel()
    finally:
        await world.emulator.stop()
    late_polls = [r for r in world.emulator.requests if r.bot_name == "bot001" and r.at > removed_at + 0.5]
    assert late_polls == [] and any(r.bot_name == "bot001" for r in world.emulator.requests)  # it polled, then stopped
