-- Headlines read from the news feeds, and which chat was already told which.
--
-- A headline's key is a hash of the feed's own id for the item (piyasa_bot/news/feed.py), so a
-- refresh or a restart that reads the same item again finds it here and it is not news twice.
-- news_mentions is "told once": a headline is brought up in a chat at most once, by any bot.
-- Both tables are pruned by published_at (news/store.py, forget_older_than), which keeps them
-- bounded; a mention goes with its item.

CREATE TABLE news_items (
    key           text        PRIMARY KEY,               -- sha256 hex[:32] of the item's id, link or title
    source        text        NOT NULL,                  -- the feed's name in bots.yaml
    title         text        NOT NULL,                  -- cleaned: plain text, no links, at most ~200 chars
    link          text,                                  -- kept for people reading the table; never sent
    published_at  timestamptz NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX ix_news_items_published_at ON news_items (published_at);

CREATE TABLE news_mentions (
    chat_id      bigint      NOT NULL,
    key          text        NOT NULL REFERENCES news_items (key) ON DELETE CASCADE,
    mentioned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, key)
);

-- The cascade from a pruned item finds its mentions by key, which the primary key does not lead with.
CREATE INDEX ix_news_mentions_key ON news_mentions (key);
