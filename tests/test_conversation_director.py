"""Director: pace, prime hours, active hours, caps, rotation, operator controls."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from piyasa_bot.conversation.director import Director
from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.conversation.lines import ChatLine, Turn
from piyasa_bot.conversation.usage import SpeakerUsage
from piyasa_bot.roster import BotConfig, ChatConfig, Persona

CHAT = -1001
START = datetime(2025, 3, 3, 0, 0, tzinfo=ISTANBUL)  # a Monday
ALWAYS = ["00:00-24:00"]


def bot(
    name: str, *, chats: Sequence[int] = (CHAT,), cap: int = 600, hours: list[str] = ALWAYS, tone: str = "calm"
) -> BotConfig:
    return BotConfig(
        name=name, token="t", chats=list(chats), persona=Persona(hourly_cap=cap, active_hours=hours, tone=tone)
    )


def run(directors: list[Director], start: datetime, end: datetime, on_turn=None) -> list[tuple[int, Turn]]:
    """Drive directors like the runner would: wait for the earliest turn, revalidate it, speak."""
    ids = itertools.count(1)
    spoken: list[tuple[int, Turn]] = []
    now = start
    while now < end:
        plans = [(turn.at, index) for index, d in enumerate(directors) if (turn := d.next_turn(now))]
        if not plans:
            now += timedelta(minutes=1)
            continue
        at, index = min(plans)
        now = max(now, at)
        if now >= end:
            break
        director = directors[index]
        turn = director.next_turn(now)  # revalidated at its moment
        if turn is None or turn.at > now:
            continue
        line = ChatLine(director.chat.id, next(ids), "mesaj", now, author_bot=turn.bot_name)
        for other in directors:
            if other.chat.id == director.chat.id:
                other.observe(line)
        director.finish(turn)
        spoken.append((director.chat.id, turn))
        if on_turn:
            on_turn(director, turn)
    return spoken


def per_hour(turns: list[tuple[int, Turn]]) -> Counter:
    return Counter(turn.at.astimezone(ISTANBUL).replace(minute=0, second=0, microsecond=0) for _, turn in turns)


def mean_for(counts: Counter, hours: set[int], days: int) -> float:
    return sum(c for h, c in counts.items() if h.hour in hours) / (len(hours) * days)


PLAIN_HOURS = {0, 1, 2, 3, 4, 5, 6, 7, 8, 19, 20, 21, 22, 23}
PRIME_HOURS = {10, 11, 14, 15, 16, 17}  # default prime hours 09:30-12:00 and 14:00-18:00


def test_pace_outside_prime_hours_matches_chat_pace_and_prime_hours_are_boosted() -> None:
    chat = ChatConfig(id=CHAT, pace=40, prime_boost=2.0)
    director = Director(chat, [bot(f"b{i}") for i in range(5)], random.Random(1), SpeakerUsage())
    days = 2
    counts = per_hour(run([director], START, START + timedelta(days=days)))
    plain, prime = mean_for(counts, PLAIN_HOURS, days), mean_for(counts, PRIME_HOURS, days)
    assert 40 * 0.88 <= plain <= 40 * 1.12
    assert 80 * 0.88 <= prime <= 80 * 1.12
    # Clipped gaps: no hour is a burst or a dead hour.
    assert max(counts.values()) <= 80 * 1.5
    assert min(counts[h] for h in counts if h.hour in PLAIN_HOURS) >= 40 * 0.5


def test_scale_factor_set_while_running_scales_the_pace() -> None:
    chat = ChatConfig(id=CHAT, pace=40, prime_hours=[])
    director = Director(chat, [bot(f"b{i}") for i in range(4)], random.Random(2), SpeakerUsage())
    first = run([director], START, START + timedelta(days=2))
    director.scale = 0.5
    second = run([director], START + timedelta(days=2), START + timedelta(days=4))
    assert 40 * 0.9 <= len(first) / 48 <= 40 * 1.1
    assert 20 * 0.9 <= len(second) / 48 <= 20 * 1.1


def test_scale_zero_or_pace_zero_means_silence() -> None:
    director = Director(ChatConfig(id=CHAT), [bot("ali"), bot("bora")], random.Random(3), SpeakerUsage(), scale=0)
    assert director.next_turn(START) is None
    quiet = Director(ChatConfig(id=CHAT, pace=0), [bot("ali"), bot("bora")], random.Random(3), SpeakerUsage())
    assert quiet.next_turn(START) is None
    with pytest.raises(ValueError):
        director.scale = -1


def test_no_bot_speaks_outside_its_active_hours() -> None:
    bots = [
        bot("day1", hours=["09:00-18:00"]),
        bot("day2", hours=["09:00-18:00"]),
        bot("night", hours=["20:00-02:00"]),
        bot("owl", hours=["22:00-01:30"]),
    ]
    chat = ChatConfig(id=CHAT, pace=60)
    spoken = run([Director(chat, bots, random.Random(4), SpeakerUsage())], START, START + timedelta(days=2))
    by_name = {b.name: b for b in bots}
    assert spoken
    for _, turn in spoken:
        moment = turn.at.astimezone(ISTANBUL).time()
        assert any(r.contains(moment) for r in by_name[turn.bot_name].persona.active_hours), turn
    hours = {turn.at.astimezone(ISTANBUL).hour for _, turn in spoken}
    assert not hours & {2, 3, 4, 5, 6, 7, 8, 18, 19}
    assert {"day1", "day2", "night", "owl"} == {turn.bot_name for _, turn in spoken}


def test_never_the_same_bot_twice_in_a_row() -> None:
    director = Director(
        ChatConfig(id=CHAT, pace=120),
        [bot("ali"), bot("bora"), bot("cem", tone="energetic")],
        random.Random(5),
        SpeakerUsage(),
    )
    names = [turn.bot_name for _, turn in run([director], START, START + timedelta(hours=10))]
    assert len(names) > 1000
    assert all(x != y for x, y in itertools.pairwise(names))


def test_a_lone_bot_waits_for_a_person_before_speaking_again() -> None:
    director = Director(ChatConfig(id=CHAT), [bot("solo")], random.Random(6), SpeakerUsage())
    turn = director.next_turn(START)
    assert turn and turn.bot_name == "solo"
    director.observe(ChatLine(CHAT, 1, "selam", turn.at, author_bot="solo"))
    director.finish(turn)
    assert director.next_turn(turn.at) is None
    director.observe(ChatLine(CHAT, 2, "bist ne olur?", turn.at + timedelta(seconds=30), user_id=7))
    again = director.next_turn(turn.at + timedelta(seconds=30))
    assert again and again.bot_name == "solo"


def test_hourly_cap_holds_per_bot_across_chats() -> None:
    other = -1002
    bots = [
        bot("ali", chats=[CHAT, other], cap=6),
        bot("bora", chats=[CHAT, other], cap=6),
        bot("cem", chats=[CHAT], cap=50),
    ]
    usage = SpeakerUsage()
    directors = [
        Director(ChatConfig(id=CHAT, pace=60), bots, random.Random(7), usage),
        Director(ChatConfig(id=other, pace=60), bots, random.Random(8), usage),
    ]
    spoken = run(directors, START, START + timedelta(days=1))
    for name, cap in (("ali", 6), ("bora", 6), ("cem", 50)):
        times = sorted(turn.at for _, turn in spoken if turn.bot_name == name)
        assert times
        worst = max(sum(1 for t in times if start - timedelta(hours=1) < t <= start) for start in times)
        assert worst <= cap, name
    # Both chats used the shared bots, and the caps did bind: a and b are well under 60 a chat-hour.
    assert {chat for chat, turn in spoken if turn.bot_name == "ali"} == {CHAT, other}


def test_a_deactivated_bot_is_never_chosen_again() -> None:
    director = Director(
        ChatConfig(id=CHAT, pace=120), [bot("ali"), bot("bora"), bot("cem")], random.Random(9), SpeakerUsage()
    )
    run([director], START, START + timedelta(hours=2))
    director.deactivate("bora")
    later = run([director], START + timedelta(hours=2), START + timedelta(hours=12))
    assert later and "bora" not in {turn.bot_name for _, turn in later}
    assert not director.is_active("bora")
    assert director.members == ("ali", "cem")


def test_pause_stops_turns_and_resume_brings_them_back() -> None:
    director = Director(ChatConfig(id=CHAT), [bot("ali"), bot("bora")], random.Random(10), SpeakerUsage())
    assert director.next_turn(START) is not None
    director.pause()
    assert director.paused and director.next_turn(START) is None
    assert director.paused
    director.resume()
    assert director.next_turn(START) is not None


def test_next_turn_is_stable_until_finished() -> None:
    director = Director(ChatConfig(id=CHAT), [bot("ali"), bot("bora")], random.Random(11), SpeakerUsage())
    first = director.next_turn(START)
    assert first is not None
    assert director.next_turn(START + timedelta(seconds=5)) == first
    director.finish(first)
    assert director.next_turn(first.at) != first


def test_a_stale_turn_is_replanned_after_the_caller_was_away() -> None:
    director = Director(
        ChatConfig(id=CHAT),
        [bot("ali", hours=["08:00-23:00"]), bot("bora", hours=["08:00-23:00"])],
        random.Random(17),
        SpeakerUsage(),
    )
    evening = datetime(2025, 3, 3, 22, 55, tzinfo=ISTANBUL)
    turn = director.next_turn(evening)
    assert turn is not None
    late = datetime(2025, 3, 4, 3, 0, tzinfo=ISTANBUL)  # the process was suspended overnight
    replanned = director.next_turn(late)
    assert replanned is not None and replanned.at.astimezone(ISTANBUL).hour >= 8


def test_pending_turn_changes_speaker_if_that_bot_just_answered_someone() -> None:
    director = Director(ChatConfig(id=CHAT), [bot("ali"), bot("bora"), bot("cem")], random.Random(12), SpeakerUsage())
    turn = director.next_turn(START)
    assert turn is not None
    director.observe(ChatLine(CHAT, 1, "cevap", START + timedelta(seconds=1), author_bot=turn.bot_name))
    replanned = director.next_turn(START + timedelta(seconds=1))
    assert replanned is not None and replanned.bot_name != turn.bot_name


def test_same_seed_gives_the_same_schedule() -> None:
    def schedule(seed: int) -> list[tuple[str, datetime]]:
        director = Director(
            ChatConfig(id=CHAT), [bot("ali"), bot("bora"), bot("cem")], random.Random(seed), SpeakerUsage()
        )
        return [(turn.bot_name, turn.at) for _, turn in run([director], START, START + timedelta(hours=6))]

    assert schedule(13) == schedule(13)
    assert schedule(13) != schedule(14)


def test_turn_replies_to_a_fresh_question_from_a_person_most_of_the_time() -> None:
    replied = 0
    for seed in range(40):
        director = Director(ChatConfig(id=CHAT), [bot("ali"), bot("bora")], random.Random(seed), SpeakerUsage())
        director.observe(ChatLine(CHAT, 1, "dolar ne olur sizce?", START, user_id=5))
        turn = director.next_turn(START)
        assert turn is not None
        replied += turn.reply_to is not None and turn.reply_to.message_id == 1
    assert replied >= 28


def test_volunteer_and_answer_checks() -> None:
    crypto = BotConfig(name="kripto", token="t", chats=[CHAT], persona=Persona(watchlist=["BTC"], active_hours=ALWAYS))
    director = Director(ChatConfig(id=CHAT), [bot("ali"), crypto], random.Random(15), SpeakerUsage())
    question = ChatLine(CHAT, 1, "BTC ne olur?", START, user_id=5)
    director.observe(question)
    assert director.volunteer(question, START) == "kripto"
    assert director.is_active("ali") and not director.is_active("stranger")


def test_naive_datetimes_and_foreign_lines_are_rejected() -> None:
    director = Director(ChatConfig(id=CHAT), [bot("ali")], random.Random(16), SpeakerUsage())
    with pytest.raises(ValueError):
        director.next_turn(datetime(2025, 3, 3, 12, 0))
    with pytest.raises(ValueError):
        director.observe(ChatLine(-999, 1, "x", START))
