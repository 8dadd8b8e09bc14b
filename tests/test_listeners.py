"""Resting on copies never leaves a chat without an eager listener."""

from piyasa_bot.listeners import Listeners


def test_the_last_eager_listener_of_a_chat_may_not_rest() -> None:
    listeners = Listeners()
    for bot, chats in {"a": [-1], "b": [-1], "c": [-1, -2], "quiet": [-1, -2]}.items():
        listeners.join(bot, chats)
    for bot in "abc":
        listeners.identified(bot, reads_all_messages=True)
    listeners.identified("quiet", reads_all_messages=False)

    assert listeners.may_rest("a")
    listeners.resting("a", True)
    assert listeners.may_rest("b")
    listeners.resting("b", True)
    assert not listeners.may_rest("c")  # the only one left listening in -1, and the only one in -2
    assert listeners.may_rest("quiet")  # it only hears what addresses it
    listeners.resting("a", False)
    assert not listeners.may_rest("c")  # -2 still has nobody else
    listeners.leave("c")
    assert not listeners.may_rest("a")  # b rests and c is gone: a is -1's last listener
