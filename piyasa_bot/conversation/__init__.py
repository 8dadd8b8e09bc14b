"""The pure conversation core: who speaks, when, and what they say.

Nothing here does I/O, reads the clock or touches the global random state:
callers pass timezone-aware datetimes and a `random.Random`, so a seed
reproduces a whole conversation. The runner wires it to Telegram.

    lines      ChatLine / Draft / Turn value types
    director   per chat: next speaker and moment (pace, prime hours, caps)
    usage      per bot messages in the last hour, shared across chats
    composer   the text of a turn or an answer (templates + Market)
    sentence_memory, rotation  what each bot said, so it repeats no sentence and no stock clause
    market     the seeded simulated market every bot quotes
    market_state  what a restart needs to go on with the same market
    addressee  which bot a person addressed, or who volunteers
    guard      what may never be sent
"""

from piyasa_bot.conversation.addressee import Addressee, BotIdentity, classify, pick_volunteer
from piyasa_bot.conversation.composer import Composer
from piyasa_bot.conversation.director import Director
from piyasa_bot.conversation.guard import GuardVerdict, guard
from piyasa_bot.conversation.lines import ChatLine, Draft, Turn
from piyasa_bot.conversation.market import Market
from piyasa_bot.conversation.market_state import MarketState
from piyasa_bot.conversation.quote import MarketView, Quote
from piyasa_bot.conversation.usage import SpeakerUsage

__all__ = [
    "Addressee",
    "BotIdentity",
    "ChatLine",
    "Composer",
    "Director",
    "Draft",
    "GuardVerdict",
    "Market",
    "MarketState",
    "MarketView",
    "Quote",
    "SpeakerUsage",
    "Turn",
    "classify",
    "guard",
    "pick_volunteer",
]
