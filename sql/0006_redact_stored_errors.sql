-- Error texts written by earlier versions may hold a bot token: an HTML error page or a
-- redirect echoes the request URL (/bot<token>/getUpdates) and it was stored as it came.
-- The same replacements as piyasa_bot/redaction.py: anything shaped like a token (bare,
-- after `bot`, its colon URL-encoded once or twice) becomes <token>, a URL's password <secret>.

CREATE FUNCTION pg_temp.redacted(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(
               regexp_replace($1, '(?:bot)?\d{4,}(?::|%(?:25)?3[Aa])[A-Za-z0-9_-]{20,}', '<token>', 'g'),
               '(?<=://)([^/@:\s]*):[^/@\s]+@', '\1:<secret>@', 'g')
$$;

UPDATE bots SET last_error = pg_temp.redacted(last_error)
 WHERE last_error IS DISTINCT FROM pg_temp.redacted(last_error);
UPDATE bot_chats SET reason = pg_temp.redacted(reason)
 WHERE reason IS DISTINCT FROM pg_temp.redacted(reason);
UPDATE outbox SET reason = pg_temp.redacted(reason)
 WHERE reason IS DISTINCT FROM pg_temp.redacted(reason);

DROP FUNCTION pg_temp.redacted(text);
