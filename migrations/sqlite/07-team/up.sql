-- Hearth schema v7: running a team: profiles, deactivation, server settings,
-- invitations, login sessions, one-time password links, the audit log and
-- the daily figures of the admin page.

ALTER TABLE users ADD COLUMN display_name   TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN status_text    TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN avatar_at      INTEGER;          -- ms; the avatar's version, NULL: generated
ALTER TABLE users ADD COLUMN deactivated_at INTEGER;          -- ms; NULL: active
-- The one session a password change kept signed in (tokens_valid_after
-- revokes every other token issued before it).
ALTER TABLE users ADD COLUMN keep_session   TEXT;

-- A room an admin deleted: its members were removed and its messages
-- deleted; the row stays for the change stream's sake, hidden everywhere.
ALTER TABLE rooms ADD COLUMN deleted_at INTEGER;

-- An uploaded avatar, already cut to a small square.
CREATE TABLE avatars (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    image   BLOB    NOT NULL,
    mime    TEXT    NOT NULL
);

-- Server settings changed at run time (registration mode, limits,
-- retention, team name); a missing key means the default.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Invitation links: only the SHA-256 of the secret is kept.
CREATE TABLE invites (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT    NOT NULL UNIQUE,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,                  -- ms
    expires_at INTEGER NOT NULL,                  -- ms
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER                            -- ms
);

-- Every login: what the "active sessions" list shows. A signed-out one is
-- also in revoked_sessions.
CREATE TABLE login_sessions (
    id           TEXT    PRIMARY KEY,             -- the token's `sid`
    user_id      INTEGER NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,                -- ms
    last_seen_at INTEGER NOT NULL,                -- ms
    expires_at   INTEGER NOT NULL,                -- Unix seconds (the token's exp)
    issued_at    INTEGER NOT NULL,                -- Unix seconds (the token's iat)
    agent        TEXT    NOT NULL DEFAULT '',
    ip           TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX login_sessions_user ON login_sessions (user_id);

-- One-time links that set a password (admin reset, accounts an admin made).
CREATE TABLE password_links (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_by INTEGER REFERENCES users (id),
    created_at INTEGER NOT NULL,                  -- ms
    expires_at INTEGER NOT NULL,                  -- ms
    used_at    INTEGER                            -- ms
) WITHOUT ROWID;

-- What admins did.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,                    -- ms
    actor_id INTEGER,                             -- NULL: the server itself or the CLI
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    target   TEXT    NOT NULL DEFAULT '',
    detail   TEXT    NOT NULL DEFAULT ''
);

-- One row a day (UTC): the newest message id when the day began, so a day's
-- messages are the next day's first id minus its own, and the most
-- connections seen that day.
CREATE TABLE daily_stats (
    day              TEXT    PRIMARY KEY,         -- YYYY-MM-DD
    first_message_id INTEGER NOT NULL,
    peak_connections INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
