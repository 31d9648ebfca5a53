-- Hearth schema v3: server-side sign-out and look-alike usernames.

-- A token carries a session id (`sid`); logout records it here until the
-- token would have expired anyway.
CREATE TABLE revoked_sessions (
    sid        TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    revoked_at INTEGER NOT NULL,            -- Unix epoch milliseconds
    expires_at INTEGER NOT NULL             -- Unix seconds: the row may go after this
) WITHOUT ROWID;

-- The uniqueness key of a username: case folded and UTS #39 confusables
-- mapped (`аlice` with a Cyrillic а has the key of `alice`). Computed by the
-- server (it needs Unicode tables), filled in for older rows at start.
ALTER TABLE users ADD COLUMN name_key TEXT;
CREATE INDEX users_name_key ON users (name_key);
