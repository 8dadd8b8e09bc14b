-- Core tables: bots, chats, which bot is in which chat, and every message.

CREATE TABLE bots (
    id              serial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    telegram_id     bigint UNIQUE,                 -- from getMe, once reached
    username        text,
    token_encrypted text NOT NULL,                 -- Fernet, never the plain token
    state           text NOT NULL DEFAULT 'configured',
    last_error      text,
    last_seen_at    timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chats (
    id          bigint PRIMARY KEY,
    title       text NOT NULL DEFAULT '',
    type        text,                              -- 'supergroup' or 'group', once seen
    allowed     boolean NOT NULL DEFAULT true,     -- listed in bots.yaml
    migrated_to bigint,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bot_chats (
    bot_id     integer NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    chat_id    bigint  NOT NULL,
    active     boolean NOT NULL DEFAULT true,
    reason     text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bot_id, chat_id)
);

CREATE TABLE messages (
    id                  bigserial PRIMARY KEY,
    chat_id             bigint  NOT NULL,
    -- Whose numbering telegram_message_id is in: 0 where the chat owns its ids
    -- (supergroups), the receiving or sending bot's telegram id in basic groups,
    -- where every bot numbers the same message differently.
    id_scope            bigint  NOT NULL DEFAULT 0,
    telegram_message_id bigint  NOT NULL,
    bot_id              integer REFERENCES bots (id),  -- the sending bot; NULL for a person
    from_user_id        bigint,
    text                text,
    reply_to_message_id bigint,
    is_incoming         boolean NOT NULL,
    kind                text    NOT NULL DEFAULT 'text',
    -- Basic groups: what the message is (sender, date, text, occurrence), the
    -- same for every bot's copy, so that one copy is stored and none is lost.
    copy_key            text,
    received_by         integer REFERENCES bots (id),  -- the bot whose copy was stored
    sent_at             timestamptz,                   -- Telegram's date
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT uq_messages_chat_message UNIQUE (chat_id, id_scope, telegram_message_id)
);

CREATE UNIQUE INDEX uq_messages_copy_key ON messages (chat_id, copy_key) WHERE copy_key IS NOT NULL;
CREATE INDEX ix_messages_bot_created_at ON messages (bot_id, created_at);
CREATE INDEX ix_messages_chat_created_at ON messages (chat_id, created_at);
CREATE INDEX ix_messages_chat_telegram_msg ON messages (chat_id, telegram_message_id);
CREATE INDEX ix_messages_reply_lookup ON messages (chat_id, reply_to_message_id)
    WHERE reply_to_message_id IS NOT NULL;
CREATE INDEX ix_messages_incoming ON messages (chat_id, created_at) WHERE is_incoming;
