-- Who may sign in to the operator's console (piyasa_bot/console/access.py), written by
-- `python -m piyasa_bot console-user add|remove`.
--
-- password_hash is an argon2id hash in its PHC string form ($argon2id$v=19$m=...,t=...,p=...$salt$hash):
-- the parameters travel with it, so a hash made with older parameters still verifies and is
-- renewed at the next sign-in. A session cookie is bound to updated_at: replacing a user (a new
-- password or role) ends every session signed in before.

CREATE TABLE console_users (
    name          text        PRIMARY KEY,
    role          text        NOT NULL CHECK (role IN ('viewer', 'operator')),
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
