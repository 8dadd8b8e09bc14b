-- Real quotes (bots.yaml `market.mode: live`): the last good value per symbol and source,
-- so a restart speaks from them while they are fresh, and `status` shows their age; and
-- each source's health, so `status` shows which source fails and why.

CREATE TABLE quotes (
    symbol         text             NOT NULL,
    source         text             NOT NULL,
    price          double precision NOT NULL CHECK (price > 0),
    previous_close double precision CHECK (previous_close > 0),
    as_of          timestamptz      NOT NULL,  -- when the source says the price was current
    received_at    timestamptz      NOT NULL,
    PRIMARY KEY (symbol, source)
);

CREATE TABLE quote_sources (
    name       text        PRIMARY KEY,
    kind       text        NOT NULL,
    ok_at      timestamptz,           -- the last fetch that gave good quotes
    failed_at  timestamptz,           -- the last fetch that failed
    failures   integer     NOT NULL DEFAULT 0,  -- in a row, since the last good fetch
    last_error text,                  -- redacted, as every stored error
    updated_at timestamptz NOT NULL DEFAULT now()
);
