-- The outbox: every message a bot is to send, durable from the moment it is decided.

CREATE TABLE outbox (
    id                  bigserial PRIMARY KEY,
    bot_id              integer  NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    chat_id             bigint   NOT NULL,
    text                text     NOT NULL,
    reply_to_message_id bigint,
    answers_message_id  bigint,                       -- the person's message this answers
    priority            smallint NOT NULL,            -- 0 answer to a person, 1 chatter
    status              text     NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sent', 'failed', 'expired')),
    reason              text,                         -- why failed or expired
    attempts            integer  NOT NULL DEFAULT 0,
    not_before          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz,                  -- chatter only
    telegram_message_id bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz
);

CREATE INDEX ix_outbox_pending ON outbox (priority, id) WHERE status = 'pending';
CREATE INDEX ix_outbox_chat_created_at ON outbox (chat_id, created_at);
-- A person's message is answered once, also when a crash makes the Bot API deliver it again.
CREATE UNIQUE INDEX uq_outbox_answer ON outbox (chat_id, answers_message_id) WHERE answers_message_id IS NOT NULL;
