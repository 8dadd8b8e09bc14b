-- The simulated market's state, so a restart goes on with the same prices.
--
-- One row for the whole database: every runner on it (a fleet) quotes the
-- same market. `state` is the market's own JSON (seed, levels, as_of); the
-- database does not look inside it.
CREATE TABLE market_state (
    id       smallint    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    state    jsonb       NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now()
);
