-- Hearth schema v1. Applied at start by rusqlite_migration (tracked with PRAGMA user_version).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,            -- Unix epoch milliseconds
    is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1))
);

CREATE TABLE rooms (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

INSERT INTO rooms (id, name, created_at)
VALUES (1, 'lobby', CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- Ids are rowids: they grow with commit order, which is the order clients see.
CREATE TABLE messages (
    id         INTEGER PRIMARY KEY,
    room_id    INTEGER NOT NULL REFERENCES rooms (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    content    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    client_id  TEXT    NOT NULL,
    UNIQUE (user_id, client_id)
);

CREATE INDEX messages_room_id ON messages (room_id, id);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- The epoch names this database instance; clients drop their cache when it changes.
INSERT INTO meta (key, value) VALUES ('epoch', lower(hex(randomblob(16))));
