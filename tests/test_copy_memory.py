"""What the copy detection remembers stays bounded by age and size, whatever the traffic."""

from __future__ import annotations

from piyasa_bot.ingest.identity import REMEMBER_FOR, CopyKeys, SeenMessages


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_seen_messages_forget_keys_older_than_their_window_and_keep_recent_ones() -> None:
    clock = Clock()
    seen = SeenMessages(clock=clock)
    for message_id in range(1, 1001):  # one message a second for 1000 s
        clock.now = float(message_id)
        seen.remember((-100, message_id), f"commit {message_id}")
    assert len(seen) == int(REMEMBER_FOR) + 1
    assert seen.get((-100, 1000)) == "commit 1000"
    assert seen.get((-100, 1000 - int(REMEMBER_FOR))) == f"commit {1000 - int(REMEMBER_FOR)}"
    assert seen.get((-100, 1)) is None


def test_seen_messages_never_hold_more_than_their_capacity_in_a_burst() -> None:
    seen = SeenMessages(capacity=100)
    for message_id in range(10_000):
        seen.remember((-100, message_id), message_id)
    assert len(seen) == 100
    assert seen.get((-100, 9_999)) == 9_999
    assert seen.get((-100, 9_899)) is None


def test_a_redelivered_basic_group_copy_keeps_its_key_within_the_window() -> None:
    keys = CopyKeys()
    message = {"message_id": 7, "chat": {"id": -4001, "type": "group"}, "from": {"id": 5}, "date": 100, "text": "x"}
    first = keys.key(1, "message", message)
    again = keys.key(1, "message", message)
    twin = keys.key(1, "message", {**message, "message_id": 8})  # an identical message, sent again
    assert first == again
    assert twin != first
