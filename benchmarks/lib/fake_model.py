"""A local OpenAI-compatible chat-completions endpoint for the conversation benchmark (no network, no model).

It answers the way a small model would from the prompt the runner sends:
the first market fact line (the asked symbol's comes first, llm/prompt.py)
becomes "<name> şu an <price>" plus an opinion, after a configurable delay.
Varied enough to exercise the LLM path (guard, repeat checks, fallbacks,
latency) without pretending to measure a model's Turkish.
"""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

_FACT = re.compile(r"^- (?P<name>[^(:]+?) \((?P<code>[A-Z0-9]+)\): (?P<value>[^;\n]+)", re.M)
OPINIONS = (
    "bence acele etmemek lazım",
    "kısa vadede yön belirsiz",
    "hacim gelmeden güvenmem",
    "bir süre izlemekte fayda var",
    "alıcılar hâlâ istekli görünüyor",
    "satış baskısı tam bitmedi",
    "ben pozisyonumu koruyorum",
    "destek seviyeleri önemli",
)
OPENERS = ("", "", "Valla ", "Bakın, ", "Şöyle: ", "Açıkçası ")


class FakeModel:
    def __init__(self, delay: float = 0.8, seed: int = 1) -> None:
        self.delay = delay
        self.calls = 0
        self._rng = random.Random(seed)
        self._server: TestServer | None = None
        self.base_url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        self.base_url = str(self._server.make_url("/v1"))
        return self.base_url

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.close()

    async def _complete(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        self.calls += 1
        await asyncio.sleep(self.delay * self._rng.uniform(0.5, 1.5))  # a model takes its time
        user = body["messages"][-1]["content"]
        fact = _FACT.search(user)
        rng = self._rng
        if fact is None or "güncel veri yok" in fact["value"]:
            text = f"{rng.choice(OPENERS)}{rng.choice(OPINIONS)}."
        else:
            text = f"{rng.choice(OPENERS)}{fact['name'].strip()} şu an {fact['value'].strip()}, {rng.choice(OPINIONS)}."
        text = text[0].upper() + text[1:]
        return web.json_response({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]})
