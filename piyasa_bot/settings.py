"""Environment settings (DESIGN.md's table), read once before the loop starts."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

TELEGRAM_API = "https://api.telegram.org"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: SecretStr | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL"))
    data_dir: Path = Field(default=Path(".piyasa"), validation_alias=AliasChoices("PIYASA_DATA_DIR"))
    config: Path = Field(default=Path("bots.yaml"), validation_alias=AliasChoices("PIYASA_CONFIG"))
    telegram_api: str = Field(default=TELEGRAM_API, validation_alias=AliasChoices("PIYASA_TELEGRAM_API"))
    secret_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("PIYASA_SECRET_KEY"))
    # Optional port for /metrics and /healthz; unset means no HTTP listener.
    metrics_port: int | None = Field(default=None, validation_alias=AliasChoices("PIYASA_METRICS_PORT"))
    metrics_host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("PIYASA_METRICS_HOST"))
    # The machine's name in the fleet (runners on one host tell a dead sibling by its pid); default: the hostname.
    fleet_host: str | None = Field(default=None, min_length=1, validation_alias=AliasChoices("PIYASA_FLEET_HOST"))
    # Optional port for the operator's web console (piyasa_bot/console); unset means no console.
    # Off 127.0.0.1 it refuses to start until an operator account exists (`console-user add`).
    console_port: int | None = Field(default=None, ge=0, le=65535, validation_alias=AliasChoices("PIYASA_CONSOLE_PORT"))
    console_host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("PIYASA_CONSOLE_HOST"))
    # Signs the console's session cookies; unset: derived from PIYASA_SECRET_KEY, else new at every start.
    console_secret: SecretStr | None = Field(default=None, validation_alias=AliasChoices("PIYASA_CONSOLE_SECRET"))
    # Optional OpenAI-compatible chat-completions endpoint for the bots' texts;
    # unset means the built-in Turkish templates (no network).
    llm_base_url: str | None = Field(default=None, validation_alias=AliasChoices("PIYASA_LLM_BASE_URL"))
    llm_model: str | None = Field(default=None, validation_alias=AliasChoices("PIYASA_LLM_MODEL"))
    llm_api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("PIYASA_LLM_API_KEY"))
    llm_timeout: float = Field(default=8.0, gt=0, validation_alias=AliasChoices("PIYASA_LLM_TIMEOUT"))


class SettingsError(ValueError):
    """Settings that cannot be used: one line per variable, never the value (it may be a secret)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def read_settings() -> Settings:
    """The settings from the environment and `.env`; SettingsError names every malformed variable."""
    try:
        return Settings()
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(part) for part in detail['loc']) or 'settings'}: {detail['msg']}"
            for detail in error.errors(include_url=False, include_input=False, include_context=False)
        ]
        # `from None`: pydantic's own message echoes each input, and a traceback would carry it.
        raise SettingsError(problems) from None
