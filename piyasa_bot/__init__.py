"""piyasa_bot: Telegram market-persona bots, long-polled from one asyncio loop (see README.md)."""

from piyasa_bot.aiogram_models import install as _defer_aiogram_model_builds

# Before anything imports aiogram: its types build on first use (seconds and ~100 MiB saved at start).
_defer_aiogram_model_builds()
