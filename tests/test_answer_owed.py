"""Which stored messages are answers owed: the live path's rule, applied to rows (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from piyasa_bot.answer_recovery import owed_answers
from piyasa_bot.conversation import BotIdentity
from piyasa_bot.db.queries import UnansweredRow

CHAT, OLD_ID = -1001000000001, -4000000001
AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
IDENTITIES = [BotIdentity("ayse", "ayse_bot", 7001), BotIdentity("mehmet", "Mehmet_Bot", 7002)]
NAMES = {1: "ayse", 2: "mehmet"}


def row(message_id: int, text: str, *, user: int = 500, replied: int | None = None, scope: int = 0, chat: int = CHAT):
    return UnansweredRow(chat, scope, message_id, user, text, None, replied, 2, AT, AT)


def owed(*rows: UnansweredRow):
    return owed_answers(rows, IDENTITIES, NAMES, {CHAT: CHAT}.get, ttl=600)


def test_a_mention_or_a_reply_to_a_bot_is_owed_to_that_bot() -> None:
    found = owed(row(1, "@ayse_bot dolar?"), row(2, "ne dersin @mehmet_bot"), row(3, "sence?", replied=1))
    assert [(o.line.message_id, o.bot_name, o.line.addressed_to) for o in found] == [
        (1, "ayse", "ayse"),
        (2, "mehmet", "mehmet"),  # usernames in any case
        (3, "ayse", "ayse"),
    ]
    assert all(o.received_by == "mehmet" and o.chat_type == "supergroup" for o in found)
    assert found[0].expires_at == AT.timestamp() + 600  # the answer expires when it would have


def test_the_first_mention_wins_over_the_bot_replied_to() -> None:
    (found,) = owed(row(1, "@mehmet_bot sen ne diyorsun?", replied=1))
    assert found.bot_name == "mehmet"


def test_commands_unknown_names_service_accounts_and_other_chats_are_not_owed() -> None:
    assert (
        owed(
            row(1, "/status @ayse_bot"),
            row(2, "/pace@ayse_bot 20"),
            row(3, "mail me at x@ayse_bot.com"),  # inside a word: not a mention
            row(4, "@someone_else selam"),
            row(5, "@ayse_bot selam", user=1087968824),  # the anonymous group admin
            row(6, "@ayse_bot selam", chat=OLD_ID),  # not a roster chat
        )
        == []
    )


def test_in_a_basic_group_the_answer_replies_only_through_the_bot_that_stored_it() -> None:
    (found,) = owed(row(9, "@ayse_bot altın?", scope=7002))
    assert (found.chat_type, found.received_by) == ("group", "mehmet")
