-- The fleet: several runners on one database share the roster through leases (piyasa_bot/fleet/).
--
-- A runner registers a row and renews its heartbeat every couple of seconds; each bot (polled
-- by one runner) and each chat (whose director runs on one runner) is a lease row: the owner,
-- an epoch bumped at every change of hands, and an expiry the owner pushes back at each
-- heartbeat. A lease whose expiry has passed is free for whoever should own it. Rows, not
-- session advisory locks: those vanish silently with a connection and break behind a
-- transaction-pooling proxy.

CREATE TABLE runners (
    id           text        PRIMARY KEY,            -- host:pid:random, unique per start
    host         text        NOT NULL,
    pid          integer     NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stopping     boolean     NOT NULL DEFAULT false  -- handing its work over (SIGTERM)
);

CREATE TABLE leases (
    kind        text        NOT NULL CHECK (kind IN ('bot', 'chat')),
    key         text        NOT NULL,                -- a bot's name, a chat's bots.yaml id
    owner       text,                                -- a runners.id; NULL once released
    epoch       bigint      NOT NULL DEFAULT 0,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, key)
);

CREATE INDEX ix_leases_owner ON leases (owner);

-- Which runner stored a message: its pool's sessions carry the runner's id as application_name.
-- A chat's owner hears what the other runners stored (the ones it stored itself it heard live).
ALTER TABLE messages ADD COLUMN stored_by text DEFAULT current_setting('application_name', true);

-- Every insert into messages tells the listeners which ids it added (one statement per writer
-- batch, so one notification per batch). The notification is delivered at commit, when the
-- rows are visible; a listener that missed some catches up by time.
CREATE FUNCTION piyasa_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    low  bigint;
    high bigint;
BEGIN
    SELECT min(id), max(id) INTO low, high FROM inserted;
    IF low IS NOT NULL THEN
        PERFORM pg_notify('piyasa_messages', low || ' ' || high);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_inserted AFTER INSERT ON messages
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION piyasa_messages_inserted();

-- Outbox claims fenced by the bot's lease: a row of a bot whose lease this runner lost is not sent.
CREATE INDEX ix_outbox_bot_pending ON outbox (bot_id, id) WHERE status = 'pending';
