"""The bot registry: one mapping of the running bots, found by name, username, Telegram id or database id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from piyasa_bot.bots import BotHandle, BotRegistry
from piyasa_bot.held_messages import HeldUntilIdentified


def handle(name: str, db_id: int) -> BotHandle:
    return BotHandle(name=name, db_id=db_id, bot=None)  # type: ignore[arg-type]  # no request is made


def identify(registry: BotRegistry, name: str, telegram_id: int) -> None:
    registry[name].telegram_id, registry[name].username = telegram_id, f"{name}_Bot"
    registry.identified(name)


async def test_bots_are_found_by_every_id_once_identified_and_forgotten_when_removed() -> None:
    registry = BotRegistry()
    registry.add(handle("ayse", 1))
    registry.add(handle("mert", 2))
    assert list(registry) == ["ayse", "mert"] and registry.by_db_id(2) is registry["mert"]
    assert registry.by_username("ayse_bot") is None and registry.pending == {"ayse", "mert"}
    identify(registry, "ayse", 7001)
    assert registry.by_username("@AYSE_bot") is registry["ayse"] is registry.by_telegram_id(7001)
    assert registry.known(["ayse"]) and not registry.known(["ayse", "mert"])
    registry.gave_up("mert")  # a rejected token: nobody waits for it
    assert registry.known(registry)
    removed = registry.remove("ayse")
    assert removed is not None and "ayse" not in registry
    assert registry.by_telegram_id(7001) is None and registry.by_username("ayse_bot") is None


async def test_waiting_for_identities_ends_when_they_are_known_or_the_time_is_up() -> None:
    registry = BotRegistry()
    registry.add(handle("ayse", 1))
    assert not await registry.wait_known(["ayse"], timeout=0.01)
    waiting = asyncio.create_task(registry.wait_known(["ayse"], timeout=5))
    await asyncio.sleep(0)
    identify(registry, "ayse", 7001)
    assert await waiting


async def test_messages_wait_in_order_for_the_bots_of_their_chat() -> None:
    registry, released = BotRegistry(), []
    registry.add(handle("ayse", 1))
    held = HeldUntilIdentified(registry, wait=5)

    def hearing(text: str) -> Callable[[], None]:
        return lambda: released.append(text)

    assert held.hold(-1001, ["ayse"], hearing("m0"))
    assert held.hold(-1001, ["ayse"], hearing("m1"))  # behind the first, to keep the order
    identify(registry, "ayse", 7001)
    await held.settle(timeout=5)
    assert released == ["m0", "m1"]
    assert not held.hold(-1001, ["ayse"], hearing("m2"))  # everybody known: heard at once
