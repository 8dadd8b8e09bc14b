-- Edited messages, and chats that Telegram renumbered.

-- Every edit of a message is kept, as its own row: `messages.text` stays what
-- was first delivered, and the latest edit says what the chat shows now. An
-- edit therefore never collides with the message's own unique key.
CREATE TABLE message_edits (
    id                  bigserial PRIMARY KEY,
    chat_id             bigint  NOT NULL,
    id_scope            bigint  NOT NULL DEFAULT 0,    -- as in messages
    telegram_message_id bigint  NOT NULL,
    from_user_id        bigint,
    text                text,
    kind                text    NOT NULL,
    copy_key            text,                          -- basic groups, as in messages
    received_by         integer REFERENCES bots (id),
    edited_at           timestamptz NOT NULL,          -- Telegram's edit_date
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT uq_message_edits UNIQUE (chat_id, id_scope, telegram_message_id, edited_at)
);

CREATE UNIQUE INDEX uq_message_edits_copy_key ON message_edits (chat_id, copy_key) WHERE copy_key IS NOT NULL;

-- The time of the latest edit; NULL for a message never edited.
ALTER TABLE messages ADD COLUMN edited_at timestamptz;

