"""The send windows: exact counts, chatter's share, the pace bucket."""

from __future__ import annotations

import time

from piyasa_bot.roster import Limits
from piyasa_bot.sending.limits import GLOBAL_WINDOW, PER_CHAT_SPACING, WINDOW, SendLimits, SendWindow


def test_a_window_refuses_the_send_that_would_make_twenty_one() -> None:
    window = SendWindow(20)
    for second in range(20):
        assert window.has_room(float(second))
        window.record(float(second))
    assert not window.has_room(59.0)
    # The first send leaves the window a minute (plus the jitter margin) later.
    assert not window.has_room(WINDOW - 0.01)
    assert window.has_room(WINDOW + 0.01)


def test_chatter_leaves_the_answers_their_share_of_every_window() -> None:
    pair = SendLimits(Limits(per_chat_per_minute=20, answer_share=0.3)).pair("ayse", -100)
    for second in range(14):
        assert pair.chatter.has_room(float(second))
        pair.chatter.record(float(second))
        pair.window.record(float(second))
    assert not pair.chatter.has_room(14.0)  # chatter has used its 14
    assert pair.window.has_room(14.0)  # six slots are left for answers


async def test_the_pace_bucket_spaces_a_pair_about_a_second_apart() -> None:
    pair = SendLimits(Limits()).pair("ayse", -100)
    assert pair.has_room(chatter=False)
    await pair.take(chatter=False)
    assert not pair.has_room(chatter=False)


async def test_the_global_window_never_holds_more_than_the_limit() -> None:
    limits = SendLimits(Limits(global_per_second=5))
    for _ in range(5):
        await limits.enter_global_window()
    now = time.monotonic()
    assert limits.global_window.count(now) == 5
    assert not limits.global_window.has_room(now)
    assert 0 < limits.global_window.until_room(now) <= GLOBAL_WINDOW


async def test_a_pair_without_room_says_how_long_until_it_has_some() -> None:
    limits = SendLimits(Limits(per_chat_per_minute=20))
    pair = limits.pair("ayse", -100)
    assert limits.until_room("ayse", -100, chatter=False) == 0
    await pair.take(chatter=False)
    # The queue sleeps this long instead of polling the bucket.
    assert 0.9 < limits.until_room("ayse", -100, chatter=False) <= PER_CHAT_SPACING
    assert limits.holding("ayse", -100, chatter=False) == "chat"
    limits.pauses.pause("ayse", 5)
    assert limits.holding("ayse", -100, chatter=False) == "retry_after"
    assert 4 < limits.until_room("ayse", -100, chatter=False) <= 5


def test_a_window_of_no_sends_says_wait_rather_than_crashing() -> None:
    # per_chat_per_minute: 1 leaves chatter int(1 * 0.7) = 0 slots: answers only, and the queue must not crash.
    window = SendWindow(0, 61.0)
    assert not window.has_room(100.0)
    assert window.until_room(100.0) == 61.0
