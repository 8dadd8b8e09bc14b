"""The send step: one sendMessage attempt, its answer turned into a `SendResult`."""

from __future__ import annotations

from aiogram.types import ReplyParameters

from piyasa_bot.bots import BotHandle
from piyasa_bot.sending.limits import SendLimits
from piyasa_bot.sending.outcomes import SendOutcome, SendResult, classify
from piyasa_bot.sending.outgoing import Outgoing


async def send_once(handle: BotHandle, item: Outgoing, limits: SendLimits) -> SendResult:
    """Send `item` as `handle`'s bot; never raises for what Telegram or the network did."""
    reply = ReplyParameters(message_id=item.reply_to, allow_sending_without_reply=True) if item.reply_to else None
    # Taken right before the request, so that time spent in a busy loop between
    # the bucket and the wire cannot shift two seconds' sends into one.
    await limits.enter_global_window()
    try:
        message = await handle.bot.send_message(item.chat_id, item.text, reply_parameters=reply)
    except Exception as error:  # noqa: BLE001 - every exception is an outcome; cancellation (BaseException) is not
        return classify(error)
    return SendResult(SendOutcome.SENT, message=message)
