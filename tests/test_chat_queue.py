"""The per-chat queue: the most urgent message whose limits have room, answers first, stale ones out."""

from __future__ import annotations

import random

from piyasa_bot.sending.chat_queue import COMPACT_AFTER, ChatQueue
from piyasa_bot.sending.outgoing import Outgoing, Priority


def message(
    bot: str, priority: Priority, text: str, *, not_before: float = 0.0, expires_at: float | None = None
) -> Outgoing:
    return Outgoing(bot=bot, chat_id=-100, text=text, priority=priority, not_before=not_before, expires_at=expires_at)


def room_for_all(_bot: str, _priority: Priority) -> float:
    return 0.0


def texts_in_order(queue: ChatQueue, now: float) -> list[str]:
    taken = []
    while (item := queue.pop_ready(now, room_for_all)) is not None:
        taken.append(item.text)
    return taken


def test_answers_go_before_chatter_that_waited_longer() -> None:
    queue = ChatQueue()
    for i in range(3):
        queue.push(message("ayse", Priority.CHATTER, f"sohbet {i}"))
    queue.push(message("mehmet", Priority.ANSWER, "cevap 0"))
    queue.push(message("ayse", Priority.ANSWER, "cevap 1"))
    assert texts_in_order(queue, now=10.0) == ["cevap 0", "cevap 1", "sohbet 0", "sohbet 1", "sohbet 2"]
    assert len(queue) == 0


def test_a_message_waits_for_its_time_and_chatter_goes_meanwhile() -> None:
    queue = ChatQueue()
    queue.push(message("ayse", Priority.ANSWER, "yazıyor...", not_before=5.0))
    queue.push(message("ayse", Priority.CHATTER, "sohbet"))
    assert texts_in_order(queue, now=1.0) == ["sohbet"]
    assert queue.next_wait(1.0, room_for_all) == 4.0
    assert texts_in_order(queue, now=5.0) == ["yazıyor..."]


def test_a_bot_without_room_does_not_hold_back_another_bots_message() -> None:
    queue = ChatQueue()
    queue.push(message("ayse", Priority.ANSWER, "ayşe cevap"))
    queue.push(message("mehmet", Priority.CHATTER, "mehmet sohbet"))

    def ayse_full(bot: str, _priority: Priority) -> float:
        return 2.5 if bot == "ayse" else 0.0

    assert queue.pop_ready(0.0, ayse_full).text == "mehmet sohbet"
    assert queue.pop_ready(0.0, ayse_full) is None
    assert queue.next_wait(0.0, ayse_full) == 2.5  # sleep until the bucket has room, no polling
    assert queue.pop_ready(0.0, room_for_all).text == "ayşe cevap"


def test_chatter_without_room_leaves_the_same_bots_answers_free_to_go() -> None:
    queue = ChatQueue()
    queue.push(message("ayse", Priority.CHATTER, "sohbet"))
    queue.push(message("ayse", Priority.ANSWER, "cevap", not_before=1.0))

    def chatter_share_used(_bot: str, priority: Priority) -> float:
        return 30.0 if priority is Priority.CHATTER else 0.0

    assert queue.pop_ready(2.0, chatter_share_used).text == "cevap"
    assert queue.pop_ready(2.0, chatter_share_used) is None


def test_stale_messages_expire_once_and_are_never_taken() -> None:
    queue = ChatQueue()
    queue.push(message("ayse", Priority.CHATTER, "eski", expires_at=3.0))
    queue.push(message("ayse", Priority.CHATTER, "taze", expires_at=30.0))
    assert queue.next_wait(0.0, lambda _b, _p: 60.0) == 3.0  # held by its bucket, but due to expire first
    assert [item.text for item in queue.pop_expired(3.0)] == ["eski"]
    assert queue.pop_expired(3.0) == []
    assert queue.count(Priority.CHATTER) == 1
    assert texts_in_order(queue, now=4.0) == ["taze"]
    assert queue.pop_expired(100.0) == []  # taken already: it cannot expire as well


def test_removing_a_bot_takes_all_its_messages_and_only_its() -> None:
    queue = ChatQueue()
    queue.push(message("ayse", Priority.ANSWER, "a1"))
    queue.push(message("ayse", Priority.CHATTER, "a2", expires_at=50.0))
    queue.push(message("mehmet", Priority.CHATTER, "m1", expires_at=50.0))
    assert sorted(item.text for item in queue.remove_bot("ayse")) == ["a1", "a2"]
    assert (len(queue), queue.count(Priority.ANSWER)) == (1, 0)
    assert queue.pop_expired(60.0)[0].text == "m1"


def test_the_pick_is_the_one_a_full_scan_would_make() -> None:
    # The old outbox scanned every message: min (priority, not_before, arrival) over those that may go.
    rng = random.Random(4)
    queue, reference, arrival = ChatQueue(), [], 0
    bots = ["ayse", "mehmet", "zeynep"]
    for step in range(3000):
        now = step * 0.1
        if rng.random() < 0.55:
            item = message(
                rng.choice(bots),
                rng.choice(list(Priority)),
                f"#{arrival}",
                not_before=now + rng.choice([0.0, 0.0, 0.5, 3.0]),
                expires_at=now + rng.uniform(1, 20),
            )
            queue.push(item)
            reference.append((item.priority, item.not_before, arrival, item))
            arrival += 1
        blocked = {(rng.choice(bots), rng.choice(list(Priority)))}

        def wait(bot: str, priority: Priority, blocked: set = blocked) -> float:
            return 1.0 if (bot, priority) in blocked else 0.0

        expired = {item.text for item in queue.pop_expired(now)}
        assert expired == {r[3].text for r in reference if r[3].expires_at <= now}
        reference = [r for r in reference if r[3].expires_at > now]
        ready = [r for r in reference if r[1] <= now and (r[3].bot, r[0]) not in blocked]
        picked = queue.pop_ready(now, wait)
        if not ready:
            assert picked is None
            continue
        best = min(ready, key=lambda r: r[:3])
        assert picked is best[3]
        reference.remove(best)
        assert len(queue) == len(reference)


def test_messages_that_went_through_leave_nothing_behind() -> None:
    queue = ChatQueue()
    for i in range(20_000):
        queue.push(message("ayse", Priority.CHATTER, f"{i}", expires_at=10_000.0 + i))
        assert queue.pop_ready(float(i), room_for_all) is not None
    # Only what is queued is kept (plus a bounded number of traces of what was taken).
    assert len(queue) == 0 and len(queue._expiry) <= COMPACT_AFTER + 1


def test_a_lane_count_follows_pushes_takes_and_expiries() -> None:
    queue = ChatQueue()
    for i in range(3):
        queue.push(Outgoing(bot="a", chat_id=1, text=f"{i}", priority=Priority.ANSWER, expires_at=100.0 + i))
    queue.push(Outgoing(bot="b", chat_id=1, text="x", priority=Priority.ANSWER, expires_at=200.0))
    assert queue.lane_count("a", Priority.ANSWER) == 3 and queue.lane_count("b", Priority.ANSWER) == 1
    assert queue.pop_ready(0.0, lambda bot, priority: 0.0) is not None
    queue.pop_expired(101.5)
    assert queue.lane_count("a", Priority.ANSWER) + queue.lane_count("b", Priority.ANSWER) == 2
    assert queue.lane_count("a", Priority.CHATTER) == 0
