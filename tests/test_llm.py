"""LlmSource, a text source, against a local fake chat-completions endpoint.

Model text when it is good, the templates otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestServer

from piyasa_bot.conversation.composer import Composer
from piyasa_bot.conversation.hours import ISTANBUL
from piyasa_bot.conversation.lines import ChatLine, Draft
from piyasa_bot.conversation.market import Market
from piyasa_bot.conversation.symbols import SYMBOLS
from piyasa_bot.conversation.turkish import compare_key, format_number
from piyasa_bot.llm import Breaker, LlmConfig, LlmSource, TemplateSource
from piyasa_bot.llm.client import ChatClient
from piyasa_bot.llm.reply import clean, cut
from piyasa_bot.roster import BotConfig, ChatConfig, Persona

KEY = "sk-test-SECRET-0123456789abcdef"
MODEL = "test-model"
CHAT = ChatConfig(id=-1001, title="Piyasa Sohbet", topics=["bist", "usdtry", "gold"])
NOW = datetime(2025, 3, 4, 11, 0, tzinfo=ISTANBUL)
AYSE = BotConfig(
    name="ayse",
    token="t",
    chats=[CHAT.id],
    persona=Persona(
        tone="analytical",
        risk="low",
        watchlist=["XU100", "THYAO", "USDTRY"],
        emoji_rate=0,
        stances={"gold": "bullish"},
        signature_phrases=["Sabır kazandırır."],
    ),
)
CONTEXT = [
    ChatLine(CHAT.id, 101, "dolar bugün yine mi yükseldi", NOW - timedelta(minutes=4), user_id=7),
    ChatLine(
        CHAT.id,
        102,
        "Kur 38 bandında sakin, panik yok.",
        NOW - timedelta(minutes=3),
        author_bot="mert",
        reply_to_message_id=101,
    ),
]
QUESTION = ChatLine(
    CHAT.id, 103, "ayse THYAO ne olur sence?", NOW - timedelta(minutes=1), user_id=8, addressed_to="ayse"
)
GOOD = "THYAO 305 desteğinin üzerinde tutunuyor, 315 direnci aşılırsa görünüm güçlenir."


class FakeEndpoint:
    """An OpenAI-compatible /v1/chat/completions that records what it was sent."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.behaviour = "ok"
        self.reply = GOOD
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()  # a "slow" answer waits for this; tests never set it
        self.base_url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({"json": await request.json(), "headers": dict(request.headers)})
        self.arrived.set()
        if self.behaviour == "slow":
            await self.release.wait()
        if self.behaviour == "error":
            return web.json_response({"error": {"message": "boom"}}, status=500)
        if self.behaviour == "unauthorized":  # real endpoints echo the key they were given
            return web.json_response({"error": {"message": f"Incorrect API key provided: {KEY}"}}, status=401)
        if self.behaviour == "bad_json":
            return web.Response(text='{"choices": [', content_type="application/json")
        if self.behaviour == "no_choices":
            return web.json_response({"choices": []})
        if self.behaviour == "empty":
            return web.json_response({"choices": [{"message": {"role": "assistant", "content": "  "}}]})
        return web.json_response({"choices": [{"index": 0, "message": {"role": "assistant", "content": self.reply}}]})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def fake() -> AsyncIterator[FakeEndpoint]:
    endpoint = FakeEndpoint()
    server = TestServer(endpoint.app(), host="127.0.0.1", port=0)
    await server.start_server()
    endpoint.base_url = str(server.make_url("/v1"))
    try:
        yield endpoint
    finally:
        endpoint.release.set()  # let a handler still waiting finish before the server closes
        await server.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def template() -> TemplateSource:
    return TemplateSource(Composer(Market(random.Random(1)), random.Random(2)))


@pytest.fixture
async def llm(fake: FakeEndpoint, clock: Clock) -> AsyncIterator[LlmSource]:
    composer = LlmSource(LlmConfig(fake.base_url, MODEL, KEY, timeout=0.2), template(), clock=clock)
    try:
        yield composer
    finally:
        await composer.close()


async def test_an_answer_comes_from_the_endpoint_with_persona_context_market_and_key(
    llm: LlmSource, fake: FakeEndpoint
) -> None:
    draft = await llm.answer(AYSE, CHAT, QUESTION, [*CONTEXT, QUESTION], NOW)

    assert draft == Draft(GOOD, reply_to_message_id=103, topic="bist", symbol="THYAO")
    [sent] = fake.requests
    assert sent["headers"]["Authorization"] == f"Bearer {KEY}"
    body = sent["json"]
    assert body["model"] == MODEL and body["max_tokens"] == 160 and body["temperature"] == 0.9
    system, user = body["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    for persona_bit in (
        "ayse",
        "analitik",
        "Risk iştahın düşük",
        "THYAO",
        "altın (gram ve ons) için yükseliş",
        "Sabır kazandırır.",
        "Emoji kullanmazsın",
        "Yatırım tavsiyesi",
        "Link",
    ):
        assert persona_bit in system["content"], persona_bit
    for context_bit in (
        "katılımcı#7: dolar bugün yine mi yükseldi",
        "mert (yanıt: katılımcı#7): Kur 38 bandında",
        "«ayse THYAO ne olur sence?»",
    ):
        assert context_bit in user["content"], context_bit
    # The model is given the same level the template bots quote.
    quote = llm.fallback.composer.market.quote("THYAO", NOW)
    assert format_number(quote.price, SYMBOLS["THYAO"].decimals) + " TL" in user["content"]


async def test_chatter_replies_to_the_given_message_or_to_nobody(llm: LlmSource, fake: FakeEndpoint) -> None:
    reply = await llm.chatter(AYSE, CHAT, CONTEXT, NOW, CONTEXT[1])
    fake.reply = "Altında 3.600 desteği korundukça acele yok."
    fresh = await llm.chatter(AYSE, CHAT, CONTEXT, NOW, None)

    assert reply is not None and reply.text == GOOD and reply.reply_to_message_id == 102
    assert fresh is not None and fresh.text == fake.reply and fresh.reply_to_message_id is None
    assert "«Kur 38 bandında sakin, panik yok.»" in fake.requests[0]["json"]["messages"][1]["content"]
    assert "kendiliğinden yeni bir mesaj" in fake.requests[1]["json"]["messages"][1]["content"]


async def test_the_reply_is_cleaned_to_one_plain_message(llm: LlmSource, fake: FakeEndpoint) -> None:
    fake.reply = '<think>hmm</think>\n"ayse: **Dolar**  38 bandında\n yatay gidiyor."\nmert: bence de'
    draft = await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)

    assert draft is not None and draft.text == "Dolar 38 bandında yatay gidiyor."
    assert draft.symbol == "USDTRY"


def test_clean_strips_speakers_quotes_and_cuts_at_a_sentence() -> None:
    assert clean("«[11:02] Ayse (sen): selam»", {"ayse"}, 100) == "selam"
    assert clean("assistant: BIST 9.800 üstünde.", set(), 100) == "BIST 9.800 üstünde."
    assert clean("Not: BIST sakin.", set(), 100) == "Not: BIST sakin."
    assert clean("<think>uzun uzun düşün", set(), 100) == ""  # reasoning cut off by max_tokens: nothing to send
    assert clean("plan yap</think>\nAltın sakin.", set(), 100) == "Altın sakin."
    assert clean("BIST güçlü. Dolar sakin.", set(), 100, lowercase=True) == "bist güçlü. dolar sakin."
    long = "Endeks 9.800 üstünde kapanış arıyor. " + "Hacim " * 60
    assert cut(long, 80) == "Endeks 9.800 üstünde kapanış arıyor."
    assert cut("kelime " * 100, 50) == " ".join(["kelime"] * 7) + "…"  # whole words, within the limit


def twin_answer() -> Draft | None:
    """What the template fallback says for QUESTION: the same seeds, the same first call."""
    return template().composer.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)


@pytest.mark.parametrize("behaviour", ["slow", "error", "unauthorized", "bad_json", "no_choices", "empty"])
async def test_a_failed_call_falls_back_to_the_template(llm: LlmSource, fake: FakeEndpoint, behaviour: str) -> None:
    fake.behaviour = behaviour
    draft = await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)

    assert len(fake.requests) == 1
    assert draft is not None and draft == twin_answer()
    assert draft.reply_to_message_id == 103


async def test_the_timeout_is_the_configured_one(llm: LlmSource, fake: FakeEndpoint) -> None:
    fake.behaviour = "slow"
    loop = asyncio.get_running_loop()
    started = loop.time()
    await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)
    assert 0.15 < loop.time() - started < 2.0


@pytest.mark.parametrize(
    "text",
    [
        "Detaylar www.piyasaradar.com adresinde.",
        "Grafik burada: https://t.me/kanal",
        "THYAO kesin kazanç, kaçırmayın!",
        "Bu bir yatırım tavsiyesidir: THYAO al.",
        "Bilgi için 0532 123 45 67 arayın.",
    ],
)
async def test_a_reply_that_fails_guard_falls_back(llm: LlmSource, fake: FakeEndpoint, text: str) -> None:
    fake.reply = text
    draft = await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)

    assert draft == twin_answer()


async def test_the_bot_never_repeats_itself(llm: LlmSource, fake: FakeEndpoint) -> None:
    first = await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)
    fake.reply = GOOD.replace("305", "310")  # the same sentence with another number is still a repeat
    second = await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)

    assert first is not None and first.text == GOOD
    assert second is not None and second.text != first.text and second == twin_answer()


async def test_what_was_said_before_start_up_counts_as_said(llm: LlmSource) -> None:
    llm.remember("ayse", GOOD)
    draft = await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)
    assert draft is not None and draft.text != GOOD


async def test_a_model_draft_is_not_repeated_by_the_templates(llm: LlmSource, fake: FakeEndpoint) -> None:
    twin = twin_answer()
    assert twin is not None
    fake.reply = twin.text  # the model happens to say what the templates would say first
    said = await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)
    assert said is not None and said.text == twin.text
    fake.behaviour = "error"  # the same question again, now answered by the templates
    fallback = await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)
    assert fallback is None or compare_key(fallback.text) != compare_key(twin.text)


async def test_the_breaker_opens_after_three_failures_and_tries_once_after_the_cool_down(
    llm: LlmSource, fake: FakeEndpoint, clock: Clock
) -> None:
    fake.behaviour = "error"
    for _ in range(3):
        assert await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW) is not None
    assert len(fake.requests) == 3 and llm.breaker.state == "open"

    for _ in range(5):  # open: templates only, the endpoint is not called
        assert await llm.chatter(AYSE, CHAT, CONTEXT, NOW, None) is not None
    clock.now += 59
    assert await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW) is not None
    assert len(fake.requests) == 3

    clock.now += 2  # past the cool-down: one trial, which fails again -> open for twice as long
    await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)
    await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)
    assert len(fake.requests) == 4 and llm.breaker.state == "open" and llm.breaker.cooldown == 120

    clock.now += 119
    await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)
    assert len(fake.requests) == 4

    fake.behaviour = "ok"
    clock.now += 2  # a good trial closes it: calls flow again
    assert (await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)).text == GOOD  # type: ignore[union-attr]
    fake.reply = "Endeks 9.600 desteğinin üzerinde kaldıkça sakin."
    assert (await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)).text == fake.reply  # type: ignore[union-attr]
    assert len(fake.requests) == 6 and llm.breaker.state == "closed" and llm.breaker.cooldown == 60


async def test_half_open_lets_a_single_trial_through(llm: LlmSource, fake: FakeEndpoint, clock: Clock) -> None:
    fake.behaviour = "error"
    for _ in range(3):
        await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)
    clock.now += 61
    fake.behaviour, fake.arrived = "slow", asyncio.Event()
    trial = asyncio.create_task(llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW))
    await fake.arrived.wait()
    assert llm.breaker.state == "half-open"
    other = await llm.chatter(AYSE, CHAT, CONTEXT, NOW, None)  # does not wait for the trial
    assert other is not None and len(fake.requests) == 4
    assert await trial is not None
    assert llm.breaker.state == "open" and llm.breaker.cooldown == 120


def test_a_cancelled_trial_frees_the_half_open_slot() -> None:
    clock = Clock()
    breaker = Breaker(clock, threshold=1, cooldown=10)
    breaker.failed(breaker.admit() or "call")
    clock.now += 10
    ticket = breaker.admit()
    assert ticket == "trial" and breaker.admit() is None
    breaker.abandoned(ticket)
    assert breaker.admit() == "trial"


async def test_the_key_never_shows_in_repr_or_logs(
    llm: LlmSource, fake: FakeEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as events:
        fake.reply = "Detay: www.ornek.com"
        for behaviour in ("ok", "unauthorized", "bad_json", "slow"):
            fake.behaviour = behaviour
            await llm.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)

    assert {event["event"] for event in events} >= {"llm.failed", "llm.breaker_opened", "llm.rejected"}
    assert any(event.get("reason") == "http 401" for event in events)
    for text in (
        repr(llm),
        repr(llm.config),
        str(llm.config),
        repr(ChatClient(llm.config)),
        repr(llm.breaker),
        repr(events),
        caplog.text,
    ):
        assert KEY not in text and "SECRET" not in text


async def test_no_key_means_no_authorization_header(fake: FakeEndpoint) -> None:
    composer = LlmSource(LlmConfig(fake.base_url, MODEL, None), template())
    try:
        assert await composer.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW) is not None
    finally:
        await composer.close()
    assert "Authorization" not in fake.requests[0]["headers"]


async def test_an_injected_session_is_used_and_left_open(fake: FakeEndpoint) -> None:
    async with aiohttp.ClientSession() as session:
        composer = LlmSource(LlmConfig(fake.base_url, MODEL, KEY), template(), session=session)
        draft = await composer.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW)
        await composer.close()
        assert draft is not None and draft.text == GOOD
        assert not session.closed


async def test_an_unreachable_endpoint_falls_back(clock: Clock) -> None:
    composer = LlmSource(LlmConfig("http://127.0.0.1:9/v1", MODEL, KEY, timeout=2), template(), clock=clock)
    try:
        assert await composer.answer(AYSE, CHAT, QUESTION, CONTEXT, NOW) == twin_answer()
    finally:
        await composer.close()


def test_config_rejects_a_url_without_scheme() -> None:
    with pytest.raises(ValueError, match="base_url"):
        LlmConfig("api.openai.com/v1", MODEL, KEY)


async def test_a_headline_is_paraphrased_by_the_model_and_retold_by_the_templates_when_it_cannot(
    llm: LlmSource, fake: FakeEndpoint
) -> None:
    headline = "Merkez Bankası rezervleri 164,5 milyar dolara yükseldi"
    fake.reply = "Rezervler yine artmış, 164 milyar doları geçmiş; kur tarafı için fena değil."
    draft = await llm.news(AYSE, CHAT, headline, CONTEXT, NOW)
    assert draft is not None and draft.text == fake.reply
    [sent] = fake.requests
    user = sent["json"]["messages"][1]["content"]
    assert f"«{headline}»" in user and "bağlantı verme" in user
    fake.behaviour = "error"
    retold = await llm.news(AYSE, CHAT, headline, CONTEXT, NOW)
    assert retold is not None and headline in retold.text and "http" not in retold.text
