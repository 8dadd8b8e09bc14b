-- The console's charts read the last hours of messages and answers by time.
-- BRIN: rows arrive in time order, so a block range summary finds them for a
-- few kilobytes of index, at almost no cost to the inserts on the hot path.
CREATE INDEX ix_messages_created_brin ON messages USING brin (created_at);
CREATE INDEX ix_outbox_created_brin ON outbox USING brin (created_at);
