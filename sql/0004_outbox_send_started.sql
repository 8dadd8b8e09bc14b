-- When the last send attempt of a row began: set, and committed, before the request goes out.
--
-- Telegram's sendMessage has no idempotency key. A pending row whose send
-- started may or may not be in the chat: the runner that finds one at start
-- (it crashed between the request and recording its answer) does not send it
-- again (piyasa_bot/sending/resume.py says how it is closed). A send that
-- certainly did not reach Telegram clears it before the row is queued again.
ALTER TABLE outbox ADD COLUMN send_started_at timestamptz;
