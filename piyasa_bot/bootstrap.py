"""From settings to what the runner needs: the cipher, the roster, the database DSN.

Every problem found is collected with its location so the operator sees them
all at once, and nothing starts while there is one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dotenv import dotenv_values

from piyasa_bot.crypto import SecretKeyError, TokenCipher
from piyasa_bot.db.embedded import start_embedded
from piyasa_bot.roster_loader import LoadedRoster, Problem, RosterError, load_roster
from piyasa_bot.settings import Settings

if TYPE_CHECKING:
    # piyasa_bot.llm brings aiohttp and the conversation package: imported only
    # when a model is configured, so that `status` and `encrypt-token` stay fast.
    from piyasa_bot.llm import LlmConfig


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class Prepared:
    loaded: LoadedRoster
    cipher: TokenCipher
    llm: LlmConfig | None = None


def llm_config(settings: Settings) -> LlmConfig | None:
    """The model endpoint when both its URL and model are set; None means templates."""
    if not (settings.llm_base_url and settings.llm_model):
        return None
    from piyasa_bot.llm import LlmConfig

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return LlmConfig(settings.llm_base_url, settings.llm_model, key, timeout=settings.llm_timeout)


def environment(env_file: str = ".env") -> dict[str, str]:
    """The process environment over `.env`, so a token may live in either."""
    return {**{k: v for k, v in dotenv_values(env_file).items() if v is not None}, **os.environ}


def secret_cipher(settings: Settings) -> TokenCipher | None:
    raw = settings.secret_key.get_secret_value() if settings.secret_key else None
    return TokenCipher.from_setting(raw)


def prepare(settings: Settings, env: Mapping[str, str] | None = None) -> Prepared:
    """Validate the key and the roster; raise ConfigError listing every problem."""
    problems: list[Problem] = []
    cipher: TokenCipher | None = None
    try:
        cipher = secret_cipher(settings)
    except SecretKeyError as error:
        problems.append(Problem("PIYASA_SECRET_KEY", str(error).removeprefix("PIYASA_SECRET_KEY: ")))
    loaded: LoadedRoster | None = None
    try:
        loaded = load_roster(settings.config, environment() if env is None else env, cipher)
    except RosterError as error:
        problems.extend(error.problems)
    if cipher is None and not problems:
        problems.append(
            Problem(
                "PIYASA_SECRET_KEY",
                "not set; tokens are stored encrypted. Create a key with `python -m piyasa_bot keygen` "
                "and put it in the environment or .env",
            )
        )
    llm: LlmConfig | None = None
    try:
        llm = llm_config(settings)
    except ValueError as error:
        problems.append(Problem("PIYASA_LLM_BASE_URL", str(error)))
    if problems:
        raise ConfigError(problems)
    assert loaded is not None and cipher is not None
    return Prepared(loaded=loaded, cipher=cipher, llm=llm)


def database_dsn(settings: Settings, database: str = "postgres") -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return start_embedded(settings.data_dir, database)
