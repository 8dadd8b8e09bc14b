"""No verbal tics: signature phrases are seasoning, stock clauses rotate, and a bot does not repeat its sentences.

Measured the way a reader would notice: per bot, over long runs, on the
sentences it sent (numbers masked, so "BIST 9.845" and "BIST 9.910" are the
same sentence).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from piyasa_bot.conversation.composer import Composer
from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.conversation.lines import ChatLine, Draft
from piyasa_bot.conversation.market import Market
from piyasa_bot.conversation.phrases_answer import ANSWER_OPENERS
from piyasa_bot.conversation.phrases_talk import OPENERS
from piyasa_bot.conversation.sentence_memory import SentenceMemory, sentence_keys, split_sentences
from piyasa_bot.conversation.style import Styler, is_lead_in
from piyasa_bot.conversation.turkish import compare_key
from piyasa_bot.roster import BotConfig, ChatConfig, Persona

CHAT = ChatConfig(id=-1001, topics=["bist", "usdtry", "gold", "crypto", "macro"])
START = datetime(2025, 3, 4, 9, 30, tzinfo=ISTANBUL)  # a Tuesday morning
KEMAL = BotConfig(
    name="kemal",
    token="t",
    chats=[CHAT.id],
    persona=Persona(
        tone="sarcastic",
        risk="low",
        watchlist=["BTC", "XU100", "XAUUSD"],
        length="medium",
        emoji_rate=0.1,
        typo_rate=0.02,
        stances={"crypto": "bearish", "bist": "neutral", "gold": "bullish"},
        signature_phrases=[
            "Kripto mu? Dijital lale soğanı.",
            "Herkes zengin olacaksa karşı tarafta kim var?",
            "Bu filmi daha önce izledik, sonu belli.",
        ],
    ),
)
EMRE = BotConfig(
    name="emre",
    token="t",
    chats=[CHAT.id],
    persona=Persona(
        tone="energetic",
        risk="high",
        watchlist=["THYAO", "ASELS", "SASA", "XU100"],
        length="short",
        emoji_rate=0.6,
        lowercase=True,
        typo_rate=0.08,
        stances={"bist": "bullish"},
        signature_phrases=["thyao uçuşa geçti 🚀", "stop yedim yine ya 😤", "hacim geliyo dikkat"],
    ),
)
SELIN = BotConfig(
    name="selin",
    token="t",
    chats=[CHAT.id],
    persona=Persona(tone="analytical", watchlist=["XU100", "USDTRY", "POLICY"], length="long", emoji_rate=0),
)
QUESTIONS = ("BTC ne olur sizce?", "dolar nereye gider?", "borsa bugün nasıl?", "altın alınır mı?", "faiz ne olur?")


def composer(seed: int = 1) -> Composer:
    return Composer(Market(random.Random(seed)), random.Random(seed))


def run(bot: BotConfig, count: int, seed: int = 1, *, questions: bool = True) -> list[Draft]:
    """`count` messages of one bot in a chat: chatter, and every fifth an answer to a person's question."""
    comp, rng = composer(seed), random.Random(seed)
    drafts: list[Draft] = []
    now = START
    for index in range(count):
        now += timedelta(minutes=rng.randint(2, 9))
        if questions and index % 5 == 0:
            asked = ChatLine(CHAT.id, 90_000 + index, rng.choice(QUESTIONS), now, user_id=7)
            draft = comp.answer(bot, CHAT, asked, [asked], now)
        else:
            draft = comp.chatter(bot, CHAT, [], now, reply_to=None)
        assert draft is not None, index  # a bot never falls silent for want of new words
        drafts.append(draft)
    return drafts


def signature_of(bot: BotConfig, text: str) -> str | None:
    folded = f" {compare_key(text)} "
    return next((p for p in bot.persona.signature_phrases if f" {compare_key(p)} " in folded), None)


def sentence_repeat_share(bot: BotConfig, texts: list[str], window: int = 500, counted: int = 0) -> float:
    """Sentences (numbers masked, signatures aside) that one of the bot's previous `window` sentences had;
    the first `counted` texts are only history."""
    signatures = {key for phrase in bot.persona.signature_phrases for key in sentence_keys(phrase)}
    earlier: list[str] = []
    total = repeated = 0
    for index, text in enumerate(texts):
        for key in sentence_keys(text):
            if key in signatures:
                continue
            if index >= counted:
                total += 1
                repeated += key in earlier[-window:]
            earlier.append(key)
    return repeated / total


@pytest.fixture(scope="module")
def kemal_2000() -> list[Draft]:
    return run(KEMAL, 2000)


def test_signature_phrases_season_at_most_one_message_in_ten_and_never_two_in_a_row(kemal_2000) -> None:
    signed = [signature_of(KEMAL, draft.text) is not None for draft in kemal_2000]
    assert 0.03 <= sum(signed) / len(signed) <= 0.10  # still there, but seasoning
    assert not any(a and b for a, b in zip(signed, signed[1:], strict=False))
    positions = [k for k, s in enumerate(signed) if s]
    gaps = [b - a for a, b in zip(positions, positions[1:], strict=False)]
    assert min(gaps) >= 10  # nine plain messages at least between two seasoned ones


def test_the_same_signature_phrase_does_not_come_back_soon(kemal_2000) -> None:
    used = [(index, signature_of(KEMAL, d.text)) for index, d in enumerate(kemal_2000) if signature_of(KEMAL, d.text)]
    by_phrase: dict[str, list[int]] = {}
    for index, phrase in used:
        by_phrase.setdefault(phrase, []).append(index)
    assert len(by_phrase) == 3  # all three are used over time
    for positions in by_phrase.values():
        assert min(b - a for a, b in zip(positions, positions[1:], strict=False)) >= 20


@pytest.mark.parametrize("bot", [KEMAL, EMRE, SELIN], ids=lambda bot: bot.name)
def test_a_bot_repeats_at_most_two_percent_of_its_sentences_over_a_thousand_messages(bot: BotConfig) -> None:
    texts = [draft.text for draft in run(bot, 1000, seed=3)]
    assert sentence_repeat_share(bot, texts) <= 0.02


def test_messages_keep_their_substance_while_the_memory_fills(kemal_2000) -> None:
    late = kemal_2000[-500:]
    assert sum(len(split_sentences(d.text)) for d in late) / len(late) >= 1.8  # not cut down to one line
    assert all(d.symbol and d.text for d in late)


def test_a_lead_in_is_not_reused_by_a_bot_within_its_last_twenty_messages(kemal_2000) -> None:
    lead_ins = {
        compare_key(clause)
        for family in (*OPENERS.values(), *ANSWER_OPENERS.values())
        for clause in family
        if is_lead_in(clause)
    }
    keys = [f" {compare_key(d.text)} " for d in kemal_2000]
    for index, key in enumerate(keys):
        for lead_in in lead_ins:
            if f" {lead_in} " in key:
                assert not any(f" {lead_in} " in earlier for earlier in keys[max(0, index - 20) : index]), lead_in


def test_stock_openers_of_a_tone_rotate_through_the_family() -> None:
    texts = [f" {compare_key(d.text)} " for d in run(KEMAL, 400, seed=5, questions=False)]
    used = {clause for clause in OPENERS["sarcastic"] if any(f" {compare_key(clause)} " in t for t in texts)}
    assert len(used) >= len(OPENERS["sarcastic"]) * 0.8


def test_a_person_asking_again_and_again_always_gets_an_answer_even_when_the_words_run_out() -> None:
    comp = composer(2)
    asked = ChatLine(CHAT.id, 1, "faiz ne olur?", START, user_id=7)
    answers = [comp.answer(SELIN, CHAT, asked, [asked], START + timedelta(minutes=i)) for i in range(150)]
    assert all(answer is not None and answer.symbol == "POLICY" for answer in answers)  # never silence
    texts = [answer.text for answer in answers if answer]
    assert all(any(char.isdigit() for char in text) for text in texts)  # the rate itself is always there
    keys = [compare_key(text) for text in texts]
    assert len(set(keys[:15])) == 15  # new words while there are any (six ways to state the rate, no more)


def test_a_remembered_signature_holds_the_next_ones_back_across_a_restart() -> None:
    comp = composer(4)
    comp.remember("kemal", "Klasik. BTC 97.450 $ civarında. Kripto mu? Dijital lale soğanı.")
    now = START
    drafts = []
    for _ in range(9):
        now += timedelta(minutes=5)
        drafts.append(comp.chatter(KEMAL, CHAT, [], now, reply_to=None))
    assert all(d is not None and signature_of(KEMAL, d.text) is None for d in drafts)


def test_remembered_sentences_are_not_said_again() -> None:
    first = [d.text for d in run(KEMAL, 150, seed=6)]
    comp = composer(6)  # the same seed: without the memory it would say the very same things
    for text in first:
        comp.remember("kemal", text)
    now, again = START + timedelta(days=1), []
    for _ in range(100):
        now += timedelta(minutes=4)
        draft = comp.chatter(KEMAL, CHAT, [], now, reply_to=None)
        assert draft is not None
        again.append(draft.text)
    assert sentence_repeat_share(KEMAL, first + again, counted=len(first)) <= 0.02


def test_sentences_are_compared_with_numbers_masked_and_the_oldest_forgotten() -> None:
    memory = SentenceMemory(sentences=3)
    memory.add("ayse", "BIST 9.845 puanda. Dolar/TL 38,20!")
    assert memory.repeated_sentences("ayse", "Bist 9.910 puanda. Altın sakin.") == ["bist puanda"]
    assert memory.repeated_sentences("ayse", "Yeni bir şey. Yeni bir şey.") == ["yeni bir sey"]
    assert memory.repeated_sentences("mert", "BIST 9.845 puanda.") == []
    memory.add("ayse", "Bir. İki.")  # four sentences kept in a memory of three: the first goes
    assert memory.repeated_sentences("ayse", "BIST 9.000 puanda.") == []
    assert memory.said_message("ayse", "bist 1 puanda. dolar/tl 2")
    assert split_sentences("Rakamlar şöyle: 9.845,20. Sonra? Bakalım… 📈") == [
        "Rakamlar şöyle: 9.845,20.",
        "Sonra?",
        "Bakalım…",
        "📈",
    ]


def test_signatures_are_left_out_of_the_sentence_memory() -> None:
    memory = SentenceMemory()
    memory.add("kemal", "Klasik. Kripto mu? Dijital lale soğanı.", leave_out=KEMAL.persona.signature_phrases)
    assert memory.repeated_sentences("kemal", "Kripto mu? Dijital lale soğanı.") == []
    assert memory.repeated_sentences("kemal", "Klasik.") == ["klasik"]


def test_the_styler_alone_still_seasons_and_respects_what_it_is_told_was_said() -> None:
    styler = Styler(random.Random(1))
    persona = KEMAL.persona
    said = [compare_key("Bu filmi daha önce izledik, sonu belli.")]
    assert all(styler.style(["klasik"], persona, "flat", recent=said).signature is None for _ in range(200))
    signed = sum(styler.style(["klasik"], persona, "flat").signature is not None for _ in range(1000))
    assert 100 < signed < 300  # without a memory: the chance alone


def test_signatures_stay_spaced_with_a_short_message_memory() -> None:
    comp = Composer(Market(random.Random(8)), random.Random(8), memory=5)
    now, signed = START, []
    for _ in range(400):
        now += timedelta(minutes=4)
        draft = comp.chatter(KEMAL, CHAT, [], now, reply_to=None)
        assert draft is not None
        signed.append(signature_of(KEMAL, draft.text) is not None)
    positions = [index for index, flag in enumerate(signed) if flag]
    assert positions and min(b - a for a, b in zip(positions, positions[1:], strict=False)) >= 10
