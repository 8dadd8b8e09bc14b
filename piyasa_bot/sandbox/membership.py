"""Who is in a chat, as Telegram tells the bots: my_chat_member updates, leaveChat,
and a basic group upgraded to a supergroup.

A mixin of SandboxState (it uses the host's `_chat`, `_bot`, `_chats` and
`push_update`), kept apart so that state.py stays about messages.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from .chats import ChatState
from .messages import bot_user_dict, user_dict
from .models import ApiError, SandboxBot

if TYPE_CHECKING:
    from .state import BotAccount


def chat_member(bot: SandboxBot, status: str) -> dict[str, Any]:
    member: dict[str, Any] = {"user": bot_user_dict(bot), "status": status}
    if status == "kicked":
        member["until_date"] = 0  # forever
    return member


def my_chat_member(chat: dict[str, Any], by: dict[str, Any], bot: SandboxBot, old: str, new: str) -> dict[str, Any]:
    return {
        "my_chat_member": {
            "chat": chat,
            "from": by,
            "date": int(time.time()),
            "old_chat_member": chat_member(bot, old),
            "new_chat_member": chat_member(bot, new),
        }
    }


def migrated(chat: ChatState) -> ApiError:
    return ApiError(
        400, "Bad Request: group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": chat.migrated_to}
    )


class Membership:
    # Provided by the host class (SandboxState).
    rng: random.Random
    _chats: dict[int, ChatState]

    if TYPE_CHECKING:

        def _chat(self, chat_id: int) -> ChatState: ...
        def _bot(self, name: str) -> BotAccount: ...
        def member_chat(self, state: BotAccount, raw_chat_id: Any) -> ChatState: ...
        def push_update(self, bot_name: str, update: dict[str, Any]) -> int: ...

    def add_member(self, chat_id: int, bot_name: str, by_user: int | None = None) -> None:
        """Put a bot in a chat; with `by_user`, the bot is told as Telegram tells it (my_chat_member)."""
        self._chat(chat_id).add_member(bot_name, self._bot(bot_name).index, self.rng.randrange(1, 37))
        if by_user is not None:
            self._tell(chat_id, bot_name, user_dict(by_user, "Yönetici"), "left", "member")

    def remove_member(self, chat_id: int, bot_name: str, by_user: int | None = None, kicked: bool = False) -> None:
        """Take a bot out of a chat; with `by_user`, the bot is told (my_chat_member)."""
        self._chat(chat_id).remove_member(bot_name)
        if by_user is not None:
            self._tell(chat_id, bot_name, user_dict(by_user, "Yönetici"), "member", "kicked" if kicked else "left")

    def leave_chat(self, state: BotAccount, params: dict[str, Any]) -> bool:
        chat = self.member_chat(state, params.get("chat_id"))
        chat.remove_member(state.bot.name)
        self._tell(chat.id, state.bot.name, bot_user_dict(state.bot), "member", "left")
        return True

    def migrate_chat(self, old_id: int, new_id: int, by_user: int) -> None:
        """Upgrade a basic group to a supergroup, telling each member bot as Telegram does:
        the bot joins the supergroup (my_chat_member), then a service message in the old
        group (migrate_to_chat_id) and one in the new supergroup (migrate_from_chat_id).
        """
        old = self._chat(old_id)
        if old.is_supergroup or old.migrated_to is not None:
            raise ValueError(f"chat {old_id} is not a basic group that could be upgraded")
        new = self._chats[new_id] = ChatState(new_id, old.title, "supergroup")
        old.migrated_to = new_id
        person, now, last = user_dict(by_user, "Yönetici"), int(time.time()), old.next_message_id()
        for name in list(old.members):
            new.add_member(name, self._bot(name).index, 0)
            self._tell(new_id, name, person, "left", "member")
            to_new = {
                "message_id": old.id_for_bot(name, last),
                "from": person,
                "chat": old.as_dict,
                "date": now,
                "migrate_to_chat_id": new_id,
            }
            self.push_update(name, {"message": to_new})
        first = new.next_message_id()
        for name in new.members:
            self.push_update(
                name,
                {
                    "message": {
                        "message_id": first,
                        "from": person,
                        "chat": new.as_dict,
                        "date": now,
                        "migrate_from_chat_id": old_id,
                    }
                },
            )
        old.members.clear()

    def _tell(self, chat_id: int, bot_name: str, by: dict[str, Any], old: str, new: str) -> None:
        state = self._bot(bot_name)
        if not state.revoked:
            self.push_update(bot_name, my_chat_member(self._chat(chat_id).as_dict, by, state.bot, old, new))
