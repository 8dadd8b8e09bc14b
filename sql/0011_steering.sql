-- What the operator steered, from the console or an admin command (piyasa_bot/steering.py).
--
-- bots.yaml stays the roster; these rows are overrides on top of it that a restart and a
-- reload keep. chat_id is the chat's id in bots.yaml (not the one Telegram uses after a
-- supergroup upgrade); bot is the bot's name in bots.yaml. A row for a chat or a bot that
-- left bots.yaml is kept, and applies again if it comes back.

CREATE TABLE chat_steering (
    chat_id    bigint           PRIMARY KEY,
    paused     boolean          NOT NULL DEFAULT false,
    pace       double precision CHECK (pace >= 0),      -- messages an hour; NULL: as bots.yaml says
    updated_at timestamptz      NOT NULL DEFAULT now(),
    updated_by text             NOT NULL                 -- a console user, or "telegram:<user id>"
);

CREATE TABLE bot_steering (
    bot        text        PRIMARY KEY,
    disabled   boolean     NOT NULL DEFAULT false,   -- listens and stores, says nothing
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text        NOT NULL
);
