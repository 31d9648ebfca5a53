-- Hearth schema v6: files and search.

-- A file's content, stored once however often it is uploaded: the original
-- lies in the data directory under files/ named by its SHA-256; the small
-- thumbnail of an image is kept here.
CREATE TABLE blobs (
    hash       TEXT    PRIMARY KEY,                 -- SHA-256, lower-case hex
    size       INTEGER NOT NULL,
    mime       TEXT    NOT NULL,                    -- sniffed from the content
    width      INTEGER,                             -- images only
    height     INTEGER,
    thumb      BLOB,                                -- JPEG or PNG, images only
    thumb_mime TEXT,
    created_at INTEGER NOT NULL                     -- Unix epoch milliseconds
) WITHOUT ROWID;

-- One upload: a name for a blob, in a room. Attached to a message when the
-- message is sent; until then only its uploader sees it. Goes with its message.
CREATE TABLE files (
    id          INTEGER PRIMARY KEY,
    hash        TEXT    NOT NULL REFERENCES blobs (hash),
    room_id     INTEGER NOT NULL REFERENCES rooms (id),
    uploader_id INTEGER NOT NULL REFERENCES users (id),
    message_id  INTEGER REFERENCES messages (id),
    name        TEXT    NOT NULL,
    size        INTEGER NOT NULL,                   -- the blob's, for the daily quota
    created_at  INTEGER NOT NULL                    -- Unix epoch milliseconds
);
CREATE INDEX files_message ON files (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX files_hash ON files (hash);
CREATE INDEX files_uploader ON files (uploader_id, created_at);
-- The file ids of a message, comma-separated, read with the message (like
-- `mentions`): pages need no second query when no message has files.
ALTER TABLE messages ADD COLUMN files TEXT;

-- Search: FTS5's trigram tokenizer finds any substring of 3+ characters in
-- any script, case-insensitively. Contentless (the text is in messages), so
-- the index adds tokens only; rows are deleted with the message.
CREATE VIRTUAL TABLE message_fts USING fts5 (
    content, content = '', contentless_delete = 1, tokenize = 'trigram'
);
INSERT INTO message_fts (rowid, content)
    SELECT id, content FROM messages WHERE deleted_at IS NULL AND content <> '';
-- The path for 2-character queries, which trigrams cannot answer: the
-- bigrams of CJK text and the 2-letter words of other scripts, written by
-- Hearth (store::search::short_grams). Filled for old messages at start.
CREATE VIRTUAL TABLE message_grams USING fts5 (grams, content = '', contentless_delete = 1);
INSERT INTO meta (key, value) VALUES ('grams_pending', '1')
    ON CONFLICT (key) DO UPDATE SET value = '1';
-- New messages are indexed a moment after they are stored, many at a time
-- (see store/sqlite/search.rs): the highest message id indexed so far.
-- Searches scan the few messages above it directly.
INSERT INTO meta (key, value)
    VALUES ('search_indexed_to', (SELECT COALESCE(MAX(id), 0) FROM messages))
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
