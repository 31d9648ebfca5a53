-- Hearth cluster schema v3 (PostgreSQL): files and search; the twin of
-- SQLite's schema v6. Every node reaches the files, so they live here.

CREATE TABLE blobs (
    hash       TEXT   PRIMARY KEY,                  -- SHA-256, lower-case hex
    size       BIGINT NOT NULL,
    mime       TEXT   NOT NULL,
    width      INTEGER,
    height     INTEGER,
    thumb      BYTEA,
    thumb_mime TEXT,
    created_at BIGINT NOT NULL
);
-- The content in 1 MiB pieces: a download streams them one at a time.
CREATE TABLE blob_chunks (
    hash TEXT    NOT NULL REFERENCES blobs (hash) ON DELETE CASCADE,
    n    INTEGER NOT NULL,
    data BYTEA   NOT NULL,
    PRIMARY KEY (hash, n)
);

CREATE TABLE files (
    id          BIGSERIAL PRIMARY KEY,
    hash        TEXT   NOT NULL REFERENCES blobs (hash),
    room_id     BIGINT NOT NULL REFERENCES rooms (id),
    uploader_id BIGINT NOT NULL REFERENCES users (id),
    message_id  BIGINT REFERENCES messages (id),
    name        TEXT   NOT NULL,
    size        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX files_message ON files (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX files_hash ON files (hash);
CREATE INDEX files_uploader ON files (uploader_id, created_at);
ALTER TABLE messages ADD COLUMN files TEXT;

-- Search: 3+ characters through pg_trgm (created at start when the server
-- may, see schema.rs); 2-character queries through the same short grams
-- as SQLite, in an array with a GIN index.
ALTER TABLE messages ADD COLUMN grams TEXT[];
CREATE INDEX messages_grams ON messages USING gin (grams) WHERE grams IS NOT NULL;
