"""One call to an OpenAI-compatible chat-completions endpoint, with a deadline.

OpenAI, Groq, Ollama and vLLM all take `POST {base_url}/chat/completions`
and answer `{"choices": [{"message": {"content": "..."}}]}`. Every way this
can go wrong ends as an `LlmError` with a short reason; the reason, the
repr and the log lines never carry the API key (it only travels in the
Authorization header, and aiohttp errors are not chained).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass(frozen=True)
class LlmConfig:
    base_url: str  # e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1
    model: str
    api_key: str | None = field(repr=False)
    timeout: float = 8.0  # seconds for the whole call, connect to last byte
    max_tokens: int = 160
    temperature: float = 0.9

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        if not self.model.strip():
            raise ValueError("model is empty")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")

    @property
    def endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"


class LlmError(Exception):
    """The endpoint gave no usable text. `reason` is short and safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChatClient:
    def __init__(self, config: LlmConfig, session: aiohttp.ClientSession | None = None) -> None:
        self._config = config
        self._session = session
        self._owns_session = session is None

    async def complete(self, messages: Sequence[dict[str, str]]) -> str:
        config = self._config
        payload = {
            "model": config.model,
            "messages": list(messages),
            "max_tokens": config.max_tokens,
            "temperature": config.temperature,
            "stream": False,
        }
        headers = {"Accept": "application/json"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        try:
            async with asyncio.timeout(config.timeout):
                session = self._open_session()
                async with session.post(config.endpoint, json=payload, headers=headers) as response:
                    if not 200 <= response.status < 300:
                        raise LlmError(f"http {response.status}")
                    raw = await response.read()
        except TimeoutError:
            raise LlmError("timeout") from None
        except aiohttp.ClientError as error:
            raise LlmError(f"connection failed ({type(error).__name__})") from None
        return _content(raw)

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def __repr__(self) -> str:
        return f"ChatClient(endpoint={self._config.endpoint!r}, model={self._config.model!r})"


def _content(raw: bytes) -> str:
    try:
        body: Any = json.loads(raw)
    except ValueError:
        raise LlmError("not JSON") from None
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LlmError("no choices[0].message.content") from None
    if not isinstance(content, str) or not content.strip():
        raise LlmError("empty content")
    return content
