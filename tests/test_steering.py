"""Steering that lasts: pauses, paces and disabled bots stored in PostgreSQL, applied to the real directors.

The services are built as `run` builds them (open_services: the pool, the outbox,
the chat rooms and their directors, the Steering), against a real PostgreSQL; no
bot polls and no chatter runs, so what the tests see is what steering did. A
restart is the services closed and opened again on the same database.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from piyasa_bot.bots import BotHandle
from piyasa_bot.console import steer_routes
from piyasa_bot.console.context import CONTEXT, ConsoleContext
from piyasa_bot.console.errors import error_pages
from piyasa_bot.console.render import VIEWER_KEY, environment
from piyasa_bot.console.viewer import Role, Viewer
from piyasa_bot.crypto import TokenCipher, generate_key
from piyasa_bot.roster_apply import apply_roster, register
from piyasa_bot.roster_loader import LoadedRoster, parse_roster
from piyasa_bot.sending.outbox import Outgoing, Priority
from piyasa_bot.services import ServiceOptions, Services, open_services
from piyasa_bot.steering import (
    DISABLED_REASON,
    ConversationOff,
    InvalidPace,
    NotSaved,
    PaceRefused,
    UnknownTarget,
    parse_pace,
)
from piyasa_bot.telegram import make_bot
from tests.helpers import World, make_world, roster_yaml
from tests.test_conversation_director import START, run

CIPHER = TokenCipher.from_setting(generate_key())
OPERATOR = Viewer(name="deniz", role=Role.OPERATOR, csrf="csrf-token-1")
LOOKER = Viewer(name="misafir", role=Role.VIEWER, csrf="csrf-token-2")


@pytest.fixture
async def world() -> AsyncIterator[World]:
    made = await make_world(3)
    try:
        yield made
    finally:
        await made.emulator.stop()


def paced(world: World, pace: float) -> LoadedRoster:
    """The world's roster with another pace for its chat in bots.yaml."""
    text = roster_yaml([bot.name for bot in world.loaded.roster.bots], world.chat_id)
    text = text.replace("    title: Test\n", f"    title: Test\n    pace: {pace}\n", 1)
    return parse_roster(text, "test.yaml", world.env, None)


@contextlib.asynccontextmanager
async def opened(
    world: World, dsn: str, loaded: LoadedRoster | None = None, *, conversation: bool = True
) -> AsyncIterator[Services]:
    """The runner's services, its bots registered and known (none polls): one "run" of the process."""
    loaded = loaded or world.loaded
    options = ServiceOptions(dsn=dsn, api_base=world.base_url, conversation=conversation, seed=1)
    async with open_services(loaded, options, metrics_view=None) as services:
        ids = await register(services.pool, CIPHER, services.aliases, loaded)
        for bot in loaded.roster.bots:
            handle = BotHandle(
                name=bot.name, db_id=ids[bot.name], bot=make_bot(loaded.tokens[bot.name], services.session)
            )
            services.bots.add(handle)
        if services.rooms is not None:
            for chat in loaded.roster.chats:
                services.rooms.take(chat.id)  # what a runner alone on its database is handed
            services.deps.steering.reapply()  # as the runner does for each chat it takes
        yield services


async def queue_later(services: Services, bot: str, chat_id: int, text: str) -> int:
    """A message queued for an hour from now: it waits in the outbox, as a typing delay or a backoff makes it."""
    outbox_id = await services.outbox.put(
        Outgoing(bot=bot, chat_id=chat_id, text=text, priority=Priority.CHATTER, not_before=time.time() + 3600)
    )
    assert outbox_id is not None
    return outbox_id


async def outbox_row(services: Services, outbox_id: int) -> asyncpg.Record:
    return await services.pool.fetchrow("SELECT status, reason FROM outbox WHERE id = $1", outbox_id)


def speakers(services: Services, chat_id: int) -> set[str]:
    """Who the chat's director lets speak over a simulated day."""
    return {turn.bot_name for _, turn in run([services.rooms.directors[chat_id]], START, START + timedelta(days=1))}


# --- chats -------------------------------------------------------------------------------------


async def test_a_pause_is_stored_and_a_restart_starts_paused(world: World, dsn: str) -> None:
    chat = world.chat_id
    async with opened(world, dsn) as services:
        state = await services.deps.steering.pause(chat, by="deniz")
        director = services.rooms.directors[chat]
        assert director.paused and director.next_turn(START) is None
        assert state.paused and state.differs_from_yaml and state.updated_by == "deniz"
    async with opened(world, dsn) as again:
        fresh = again.rooms.directors[chat]
        assert fresh.paused and fresh.next_turn(START) is None, "the restart kept the pause"
        state = again.deps.steering.chat_state(chat)
        assert state.paused and state.updated_by == "deniz" and state.updated_at is not None
        resumed = await again.deps.steering.resume(chat, by="ops")
        assert not fresh.paused and fresh.next_turn(START) is not None
    assert not resumed.paused and not resumed.differs_from_yaml and resumed.updated_by == "ops"


async def test_a_pace_is_stored_and_paces_the_director_after_a_restart(world: World, dsn: str) -> None:
    chat = world.chat_id  # bots.yaml gives it 30 an hour
    async with opened(world, dsn) as services:
        state = await services.deps.steering.set_pace(chat, 60, by="deniz")
        assert services.rooms.directors[chat].scale == 2.0  # the rate stays bots.yaml's pace x a scale
        assert (state.pace, state.yaml_pace, state.pace_override) == (60, 30, 60)
        assert state.pace_differs and state.differs_from_yaml and not state.paused
    async with opened(world, dsn) as again:
        assert again.rooms.directors[chat].scale == 2.0
        assert again.deps.steering.chat_state(chat).pace == 60
        same = await again.deps.steering.set_pace(chat, 30, by="deniz")
        silent = await again.deps.steering.set_pace(chat, 0, by="deniz")
        director = again.rooms.directors[chat]
    assert not same.differs_from_yaml, "the pace bots.yaml gives is no override"
    assert silent.pace == 0 and silent.differs_from_yaml and director.next_turn(START) is None


async def test_a_bots_yaml_reload_keeps_the_overrides(world: World, dsn: str) -> None:
    chat = world.chat_id

    class Fleet:  # the same bots with the same tokens: nothing starts or stops
        def start_bot(self, *args: object) -> None:
            raise AssertionError("no bot was added")

        async def stop_bot(self, name: str) -> None:
            raise AssertionError("no bot was removed")

    async with opened(world, dsn) as services:
        steering = services.deps.steering
        await steering.pause(chat, by="deniz")
        await steering.set_pace(chat, 60, by="deniz")
        await steering.disable_bot("bot001", by="deniz")
        before = services.rooms.directors[chat]
        await apply_roster(services, Fleet(), CIPHER, world.loaded, paced(world, 120))  # bots.yaml: pace 120 now
        after = services.rooms.directors[chat]
        state = steering.chat_state(chat)
        assert after is not before, "the reload built new directors"
        assert after.paused and not after.is_active("bot001")
        assert after.chat.pace * after.scale == 60, "the stored pace, whatever bots.yaml says now"
        assert (state.pace, state.yaml_pace) == (60, 120) and state.differs_from_yaml
        await steering.resume(chat, by="deniz")
        assert "bot001" not in speakers(services, chat)


async def test_a_chat_bots_yaml_silences_cannot_be_given_a_pace(world: World, dsn: str) -> None:
    async with opened(world, dsn, paced(world, 0)) as services:
        steering = services.deps.steering
        with pytest.raises(PaceRefused, match="bots.yaml gives this chat pace 0"):
            await steering.set_pace(world.chat_id, 10, by="deniz")
        for wrong in (-1, 1201, float("nan"), float("inf")):
            with pytest.raises(InvalidPace):
                await steering.set_pace(world.chat_id, wrong, by="deniz")
        assert (await steering.set_pace(world.chat_id, 0, by="deniz")).pace == 0
        rows = await services.pool.fetch("SELECT pace FROM chat_steering")
    assert [row["pace"] for row in rows] == [0.0], "only the change that was made is stored"


def test_a_pace_is_read_as_an_operator_types_it() -> None:
    assert parse_pace(" 45 ") == 45 and parse_pace("1,5") == 1.5 and parse_pace("0") == 0
    for wrong in ("", "çok", "5000", "-3", "nan", "1e999"):
        with pytest.raises(InvalidPace, match="messages an hour"):
            parse_pace(wrong)


async def test_steering_what_bots_yaml_does_not_name_is_an_unknown_target(world: World, dsn: str) -> None:
    async with opened(world, dsn) as services:
        steering = services.deps.steering
        for change in (
            steering.pause(-1009999, by="deniz"),
            steering.resume(-1009999, by="deniz"),
            steering.set_pace(-1009999, 10, by="deniz"),
            steering.disable_bot("nobody", by="deniz"),
            steering.enable_bot("nobody", by="deniz"),
        ):
            with pytest.raises(UnknownTarget):
                await change
        with pytest.raises(UnknownTarget):
            steering.chat_state(-1009999)
        with pytest.raises(UnknownTarget):
            steering.bot_state("nobody")
        stored = await services.pool.fetchval(
            "SELECT (SELECT count(*) FROM chat_steering) + count(*) FROM bot_steering"
        )
        listed = ([s.chat_id for s in steering.chat_states()], [s.name for s in steering.bot_states()])
    assert stored == 0
    assert listed == ([world.chat_id], ["bot000", "bot001", "bot002"])


async def test_a_change_the_database_refuses_changes_nothing(world: World, dsn: str) -> None:
    async with opened(world, dsn) as services:
        await services.pool.execute(
            """CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$;
               CREATE TRIGGER refuse_chat BEFORE INSERT OR UPDATE ON chat_steering
                   FOR EACH ROW EXECUTE FUNCTION refuse();
               CREATE TRIGGER refuse_bot BEFORE INSERT OR UPDATE ON bot_steering
                   FOR EACH ROW EXECUTE FUNCTION refuse();"""
        )
        queued = await queue_later(services, "bot001", world.chat_id, "birazdan")
        steering, director = services.deps.steering, services.rooms.directors[world.chat_id]
        with pytest.raises(NotSaved, match="not saved.*Nothing changed"):
            await steering.pause(world.chat_id, by="deniz")
        with pytest.raises(NotSaved):
            await steering.disable_bot("bot001", by="deniz")
        assert not director.paused and director.next_turn(START) is not None
        assert not steering.chat_state(world.chat_id).paused and not steering.bot_state("bot001").disabled
        assert director.is_active("bot001") and services.outbox.backlog_of(world.chat_id) == 1
        assert (await outbox_row(services, queued))["status"] == "pending"


# --- bots --------------------------------------------------------------------------------------


async def test_a_disabled_bot_listens_says_nothing_and_comes_back_when_enabled(world: World, dsn: str) -> None:
    chat = world.chat_id
    async with opened(world, dsn) as services:
        steering = services.deps.steering
        queued = [await queue_later(services, "bot001", chat, f"sonra {i}") for i in range(2)]
        other = await queue_later(services, "bot000", chat, "benimki kalsın")
        state = await steering.disable_bot("bot001", by="deniz")
        await services.outbox.drain()  # the rows are closed in the background
        ended = [await outbox_row(services, outbox_id) for outbox_id in queued]
        assert [(row["status"], row["reason"]) for row in ended] == [("expired", DISABLED_REASON)] * 2
        assert (await outbox_row(services, other))["status"] == "pending"
        assert state.disabled and state.differs_from_yaml and state.updated_by == "deniz"
        director = services.rooms.directors[chat]
        assert director.members == ("bot000", "bot002")
        assert "bot001" not in speakers(services, chat)
        later = await queue_later(services, "bot001", chat, "yine de")  # an answer composed meanwhile
        assert tuple(await outbox_row(services, later)) == ("expired", DISABLED_REASON)
    async with opened(world, dsn) as again:
        steering = again.deps.steering
        assert not again.rooms.directors[chat].is_active("bot001"), "the restart kept it disabled"
        assert steering.bot_state("bot001").disabled and steering.is_disabled("bot001")
        enabled = await steering.enable_bot("bot001", by="ops")
        assert again.rooms.directors[chat].is_active("bot001")
        back = await queue_later(again, "bot001", chat, "geri geldim")
        assert (await outbox_row(again, back))["status"] == "pending"
        assert "bot001" in speakers(again, chat)
    assert not enabled.disabled and not enabled.differs_from_yaml and enabled.updated_by == "ops"


async def test_with_the_conversation_off_bots_can_be_disabled_and_chats_not_paused(world: World, dsn: str) -> None:
    async with opened(world, dsn, conversation=False) as services:
        steering = services.deps.steering
        queued = await queue_later(services, "bot002", world.chat_id, "kayıt modunda")
        await steering.disable_bot("bot002", by="deniz")
        await services.outbox.drain()
        with pytest.raises(ConversationOff, match="conversation is off"):
            await steering.pause(world.chat_id, by="deniz")
        assert tuple(await outbox_row(services, queued)) == ("expired", DISABLED_REASON)


# --- the console's forms -------------------------------------------------------------------------


def console_app(services: Services, viewer: Viewer | None) -> web.Application:
    @web.middleware
    async def signed_in(request: web.Request, handler):  # what the access middleware does (not ours to test)
        if viewer is not None:
            request[VIEWER_KEY] = viewer
        return await handler(request)

    app = web.Application(middlewares=[error_pages, signed_in])
    app[CONTEXT] = ConsoleContext(deps=services.deps, runner=None)
    steer_routes.add_routes(app)
    return app


@contextlib.asynccontextmanager
async def console(services: Services, viewer: Viewer | None = OPERATOR) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(console_app(services, viewer))) as client:
        yield client


async def post(client: TestClient, path: str, **form: str) -> tuple[int, str, str]:
    """Status, Location and page of a form posted as a browser posts it (no redirect followed)."""
    response = await client.post(path, data={"csrf": "csrf-token-1", **form}, allow_redirects=False)
    return response.status, response.headers.get("Location", ""), await response.text()


async def test_the_console_steers_a_chat_and_a_bot_and_goes_back_to_the_page(world: World, dsn: str) -> None:
    chat = world.chat_id
    async with opened(world, dsn) as services, console(services) as client:
        steering = services.deps.steering
        assert (await post(client, f"/chats/{chat}/pause"))[:2] == (303, f"/chats/{chat}")
        assert steering.chat_state(chat).paused and steering.chat_state(chat).updated_by == "deniz"
        status, location, _ = await post(client, f"/chats/{chat}/pace", pace="45", next="/chats?view=live")
        assert (status, location) == (303, "/chats?view=live") and steering.chat_state(chat).pace == 45
        status, location, _ = await post(client, f"/chats/{chat}/resume", next="//evil.example/steal")
        assert (status, location) == (303, f"/chats/{chat}"), "never a redirect off the console"
        assert not services.rooms.directors[chat].paused
        assert (await post(client, "/bots/bot002/disable"))[:2] == (303, "/bots")
        assert not services.rooms.directors[chat].is_active("bot002")
        assert (await post(client, "/bots/bot002/enable", next="/bots/bot002"))[:2] == (303, "/bots/bot002")
        assert services.rooms.directors[chat].is_active("bot002")


async def test_the_console_answers_bad_steering_with_a_sentence(world: World, dsn: str) -> None:
    chat = world.chat_id
    async with opened(world, dsn) as services, console(services) as client:
        for form in ({"pace": "çok"}, {"pace": "5000"}, {"pace": ""}, {}):
            status, _, page = await post(client, f"/chats/{chat}/pace", **form)
            assert status == 400 and "messages an hour" in page, form
            assert "Traceback" not in page
        status, _, page = await post(client, "/chats/-1009999/pause")
        assert status == 404 and "No chat -1009999 in bots.yaml." in page
        assert (await post(client, "/chats/genel/pause"))[0] == 404
        status, _, page = await post(client, "/bots/nobody/disable")
        assert status == 404 and "No bot named &#39;nobody&#39; in bots.yaml." in page
        stored = await services.pool.fetchval(
            "SELECT (SELECT count(*) FROM chat_steering) + count(*) FROM bot_steering"
        )
    assert stored == 0


async def test_the_console_refuses_a_viewer_who_may_only_look(world: World, dsn: str) -> None:
    async with opened(world, dsn) as services, console(services, LOOKER) as client:
        status, _, page = await post(client, f"/chats/{world.chat_id}/pause")
        assert status == 403 and "Only an operator may steer" in page
        assert not services.deps.steering.chat_state(world.chat_id).paused


async def test_the_console_cannot_pause_a_chat_when_the_conversation_is_off(world: World, dsn: str) -> None:
    async with opened(world, dsn, conversation=False) as services, console(services) as client:
        status, _, page = await post(client, f"/chats/{world.chat_id}/pause")
        assert status == 409 and "The conversation is off in this run" in page
        assert (await post(client, "/bots/bot000/disable"))[:2] == (303, "/bots")


# --- the forms' fragments ------------------------------------------------------------------------


def fragment(template: str, viewer: Viewer | None, **values: object) -> str:
    return environment().get_template(template).render(viewer=viewer, path="/chats/x", **values)


def form_ids(page: str) -> set[str]:
    return set(re.findall(r'<form [^>]*id="([a-z]+)"', page))


async def test_the_fragments_show_the_forms_the_state_allows_and_what_differs(world: World, dsn: str) -> None:
    chat = world.chat_id
    async with opened(world, dsn) as services:
        steering = services.deps.steering
        plain = fragment("steer_chat.html", OPERATOR, chat=steering.chat_state(chat))
        await steering.pause(chat, by="deniz")
        await steering.set_pace(chat, 60, by="deniz")
        steered = fragment("steer_chat.html", OPERATOR, chat=steering.chat_state(chat))
        looked_at = fragment("steer_chat.html", LOOKER, chat=steering.chat_state(chat))
        await steering.disable_bot("bot001", by="deniz")
        bots = {
            name: fragment("steer_bot.html", OPERATOR, bot=steering.bot_state(name)) for name in ("bot000", "bot001")
        }
    assert form_ids(plain) == {"pause", "pace"} and "differs" not in plain and "pace 30/h" in plain
    assert form_ids(steered) == {"resume", "pace"}
    assert '<span class="badge differs" id="paused-badge">paused (not in bots.yaml)</span>' in steered
    assert "pace 60/h (bots.yaml: 30/h)" in steered and "set by deniz" in steered
    assert steered.count('name="csrf" value="csrf-token-1"') == 2 and '<input name="pace"' in steered
    assert form_ids(looked_at) == set() and "paused (not in bots.yaml)" in looked_at
    assert form_ids(bots["bot000"]) == {"disable"} and "differs" not in bots["bot000"]
    assert form_ids(bots["bot001"]) == {"enable"} and "disabled (not in bots.yaml)" in bots["bot001"]
