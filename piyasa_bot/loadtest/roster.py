"""The load test's roster: N bots in one supergroup, with a spread of personas."""

from __future__ import annotations

from piyasa_bot.roster import BotConfig, ChatConfig, Limits, Persona, Roster
from piyasa_bot.roster_loader import LoadedRoster

ALL_DAY = ["00:00-24:00"]  # a load test must not depend on the hour it runs at

PERSONAS = [
    Persona(
        tone="cautious",
        risk="low",
        watchlist=["GRAM", "USDTRY"],
        emoji_rate=0.0,
        active_hours=ALL_DAY,
        stances={"gold": "bullish", "crypto": "bearish"},
    ),
    Persona(
        tone="energetic",
        risk="high",
        watchlist=["THYAO", "ASELS", "XU100"],
        length="short",
        emoji_rate=0.5,
        lowercase=True,
        typo_rate=0.05,
        active_hours=ALL_DAY,
    ),
    Persona(
        tone="analytical",
        risk="medium",
        watchlist=["XU100", "USDTRY", "POLICY"],
        length="long",
        emoji_rate=0.0,
        active_hours=ALL_DAY,
        stances={"macro": "neutral"},
    ),
    Persona(
        tone="enthusiastic",
        risk="high",
        watchlist=["BTC", "ETH", "SOL"],
        emoji_rate=0.6,
        active_hours=ALL_DAY,
        stances={"crypto": "bullish"},
    ),
    Persona(tone="calm", risk="medium", watchlist=["USDTRY", "EURTRY"], active_hours=ALL_DAY),
    Persona(
        tone="sarcastic", risk="medium", watchlist=["BTC", "XU100"], active_hours=ALL_DAY, stances={"crypto": "bearish"}
    ),
]


def bot_names(count: int) -> list[str]:
    return [f"yuk{index:04d}" for index in range(count)]


def loadtest_roster(tokens: dict[str, str], chat_id: int, limits: Limits | None = None) -> LoadedRoster:
    bots = [
        BotConfig(
            name=name, token=f"${{{name.upper()}_TOKEN}}", chats=[chat_id], persona=PERSONAS[index % len(PERSONAS)]
        )
        for index, name in enumerate(tokens)
    ]
    roster = Roster(limits=limits or Limits(), chats=[ChatConfig(id=chat_id, title="Yük Testi")], bots=bots)
    return LoadedRoster(roster=roster, tokens=dict(tokens), warnings=[], source="loadtest")
