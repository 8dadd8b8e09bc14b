-- Emoji reactions our bots put on people's messages (piyasa_bot/reactions.py).
--
-- A row is the claim made before the setMessageReaction request: the primary key lets one
-- message get at most one reaction, by any bot, in any process, across restarts. chat_id and
-- message_id are as Telegram numbered them when the reaction was claimed (in a basic group,
-- in the reacting bot's numbering: only the bot that received the message reacts there).

CREATE TABLE reactions (
    chat_id    bigint      NOT NULL,
    message_id bigint      NOT NULL,
    bot        text        NOT NULL,                  -- the bot's name in bots.yaml
    emoji      text        NOT NULL,
    reacted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, message_id)
);
