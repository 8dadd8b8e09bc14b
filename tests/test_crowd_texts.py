"""The simulated crowd writes like members: the names they use, suffixes in harmony, questions the bots
can read, and levels near the bots' own market; and `simulate` shows who answers whom."""

from __future__ import annotations

import io
import random
import re
from types import SimpleNamespace

import pytest

from piyasa_bot.commands.simulate import ChatView
from piyasa_bot.conversation.harmony import accusative, dative, locative, number_word, particle
from piyasa_bot.conversation.intent import is_question
from piyasa_bot.conversation.symbols import find_symbols, find_unfollowed
from piyasa_bot.sandbox import texts
from piyasa_bot.sandbox.crowd import CrowdPost
from piyasa_bot.sandbox.emulator import Emulator

# Every subject the crowd names, with the forms a Turkish member writes: mI, -(y)I, -(y)A, -DA.
FORMS = {
    "BIST100": ("BIST100 mü", "BIST100'ü", "BIST100'e", "BIST100'de"),
    "XU100": ("XU100 mü", "XU100'ü", "XU100'e", "XU100'de"),
    "USDTRY": ("USDTRY mi", "USDTRY'yi", "USDTRY'ye", "USDTRY'de"),
    "dolar/TL": ("dolar/TL mi", "dolar/TL'yi", "dolar/TL'ye", "dolar/TL'de"),
    "dolar": ("dolar mı", "doları", "dolara", "dolarda"),
    "EURTRY": ("EURTRY mi", "EURTRY'yi", "EURTRY'ye", "EURTRY'de"),
    "euro": ("euro mu", "euroyu", "euroya", "euroda"),
    "BTC": ("BTC mi", "BTC'yi", "BTC'ye", "BTC'de"),
    "bitcoin": ("bitcoin mi", "bitcoini", "bitcoine", "bitcoinde"),
    "ETH": ("ETH mi", "ETH'yi", "ETH'ye", "ETH'de"),
    "SOL": ("SOL mu", "SOL'u", "SOL'a", "SOL'da"),
    "GOLD": ("GOLD mu", "GOLD'u", "GOLD'a", "GOLD'da"),
    "ons": ("ons mu", "onsu", "onsa", "onsta"),
    "XAUUSD": ("XAUUSD mi", "XAUUSD'yi", "XAUUSD'ye", "XAUUSD'de"),
    "altın": ("altın mı", "altını", "altına", "altında"),
    "gram altın": ("gram altın mı", "gram altını", "gram altına", "gram altında"),
    "THYAO": ("THYAO mu", "THYAO'yu", "THYAO'ya", "THYAO'da"),
    "ASELS": ("ASELS mi", "ASELS'i", "ASELS'e", "ASELS'te"),
    "GARAN": ("GARAN mı", "GARAN'ı", "GARAN'a", "GARAN'da"),
    "brent": ("brent mi", "brenti", "brente", "brentte"),
    "BIST30": ("BIST30 mu", "BIST30'u", "BIST30'a", "BIST30'da"),
    "endeks": ("endeks mi", "endeksi", "endekse", "endekste"),
    "borsa": ("borsa mı", "borsayı", "borsaya", "borsada"),
    "petrol": ("petrol mü", "petrolü", "petrole", "petrolde"),
    "EURUSD": ("EURUSD mi", "EURUSD'yi", "EURUSD'ye", "EURUSD'de"),
    "EUR/USD": ("EUR/USD mi", "EUR/USD'yi", "EUR/USD'ye", "EUR/USD'de"),
    "EURUS": ("EURUS mu", "EURUS'u", "EURUS'a", "EURUS'ta"),
    "DOGE": ("DOGE mi", "DOGE'yi", "DOGE'ye", "DOGE'de"),
    "gümüş": ("gümüş mü", "gümüşü", "gümüşe", "gümüşte"),
}
PRICES = {"XU100": 10_400.0, "USDTRY": 42.35, "EURTRY": 49.1, "BTC": 97_000.0, "ETH": 3_400.0, "SOL": 180.0,
          "ONS": 4_000.0, "GRAM": 5_450.0}  # fmt: skip


def crowd_questions(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [texts.question_to(rng, "kemal_piyasa_bot", PRICES.get) for _ in range(count)]


def test_every_subject_the_crowd_names_takes_its_suffixes_in_harmony() -> None:
    subjects = set(texts.SYMBOLS + texts.TRADED + texts.INDICES + texts.OUTSIDERS + ("petrol",))
    assert subjects <= FORMS.keys()
    for word in subjects:
        reading = texts.READINGS.get(word)
        forms = (particle(word, reading), accusative(word, reading), dative(word, reading), locative(word, reading))
        assert forms == FORMS[word], word


def test_numbers_are_read_by_their_last_word() -> None:
    assert [number_word(n) for n in (100, 30, 2500, 1, 45, 1_000_000)] == ["yüz", "otuz", "yüz", "bir", "beş", "milyon"]


def test_no_glued_or_mismatched_question_particle_in_what_people_write() -> None:
    written = crowd_questions(3000) + [texts.chatter(random.Random(n), PRICES.get) for n in range(1000)]
    for text in written:
        for name, forms in FORMS.items():
            for wrong in {"mi", "mı", "mu", "mü"} - {forms[0].split()[-1]}:
                assert not re.search(rf"(?<![\w/]){re.escape(name)} {wrong}\b", text), text
        # "altın mı, altın mı": two sides of a choice are two different things.
        choice = re.search(r"bu hafta (.+) m[ıiuü], (.+) m[ıiuü]\??$", text, re.IGNORECASE)
        if choice:
            first, second = find_symbols(choice.group(1)), find_symbols(choice.group(2))
            assert first != second, text


def test_the_crowd_asks_questions_the_bots_can_read() -> None:
    for text in crowd_questions(2000):
        assert is_question(text), text
        assert find_symbols(text) or find_unfollowed(text), text


def test_the_crowd_writes_the_names_members_use() -> None:
    written = " ".join(crowd_questions(3000, seed=4))
    for name in ("GOLD", "XU100", "dolar/TL", "BTC'yi", "EURUSD", "EURUS ", "THYAO", "ASELS", "kaç olur yıl sonu"):
        assert name in written, name
    lowercase = [text for text in crowd_questions(400, seed=5) if not text.startswith("@") and text[:1].islower()]
    no_mark = [text for text in crowd_questions(400, seed=5) if "?" not in text]
    assert lowercase and no_mark  # typed in a hurry, now and then


def test_some_questions_are_about_what_the_bots_do_not_follow_but_few() -> None:
    questions = crowd_questions(2000, seed=6)
    outsiders = [text for text in questions if not find_symbols(text)]
    assert 0.03 < len(outsiders) / len(questions) < 0.12


@pytest.mark.parametrize("seed", range(3))
def test_levels_in_questions_lie_near_the_bots_prices(seed: int) -> None:
    for text in crowd_questions(500, seed):
        for symbol in texts.SYMBOLS:
            match = re.search(rf"(?<![\w/]){re.escape(symbol)} (\d[\d.]*(?:,\d+)?) ", text)
            if match and not find_symbols(text)[1:]:
                value = float(match.group(1).replace(".", "").replace(",", "."))
                assert abs(value / PRICES[texts.CODES[symbol]] - 1) < 0.05, text


@pytest.mark.parametrize("chat_type", ["supergroup", "group"])
def test_simulate_shows_who_each_reply_answers(chat_type: str) -> None:
    # A basic group numbers messages per bot: the view must still find the message replied to.
    emulator = Emulator(seed=1)
    tokens = {name: emulator.add_bot(name, f"{name}_piyasa_bot", privacy=False).token for name in ("kemal", "can")}
    chat = -100 if chat_type == "group" else -1001
    emulator.add_chat(chat, type=chat_type, members=["kemal", "can"])
    question = emulator.post(chat, 100_001, "@kemal_piyasa_bot GOLD nereye gider?", "Mehmet")

    def send(bot: str, text: str, reply_to: int) -> None:
        account = emulator.bot_for_token(tokens[bot])
        assert account is not None
        emulator.send_message(account, {"chat_id": chat, "text": text, "reply_to_message_id": reply_to})

    send("kemal", "Ons altın 2.938 $, trend yukarı.", question.copies["kemal"])
    answer = emulator.sent()[-1].chat_message_id  # in the people's numbering
    can_offset = question.copies["can"] - question.message_id  # how can numbers the same messages
    send("can", "Bence de, ama BTC daha hızlı.", answer + can_offset)
    reply = emulator.post(chat, 100_002, "peki neden öyle düşünüyorsun?", "Ayşe", reply_to_message_id=answer)
    post = CrowdPost("reply", 100_002, chat, reply.message_id, reply.text, reply.available_at, "kemal", "reply",
                     None, answer)  # fmt: skip
    out = io.StringIO()
    fleet = SimpleNamespace(stored=2)  # what the view reads of the runners: how many messages they stored
    view = ChatView(emulator, fleet, out, quiet=False)  # type: ignore[arg-type]
    view.show({100_001: "Mehmet", 100_002: "Ayşe"}, [post])
    lines = out.getvalue().splitlines()
    for text, replied in (
        ("Ons altın 2.938 $", "↳ Mehmet: @kemal_piyasa_bot GOLD nereye gider?"),
        ("Bence de, ama BTC", "↳ @kemal: Ons altın 2.938 $, trend yukarı."),
        ("peki neden öyle", "↳ @kemal: Ons altın 2.938 $, trend yukarı."),
    ):
        at = next(i for i, line in enumerate(lines) if text in line and "↳" not in line)
        assert lines[at - 1].rstrip().endswith(replied), lines
    assert "↳" not in lines[0] and "GOLD nereye gider?" in lines[0]  # a new message answers nobody
