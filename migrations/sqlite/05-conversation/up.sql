-- Hearth schema v5: mentions, notification levels, edits, deletions,
-- reactions and replies.

-- A reply names the message it answers; an edit or a deletion is stamped.
-- A deleted message keeps its row (the stream still holds its events) with
-- its content blanked; `secure_delete` (set at open) overwrites the old text.
ALTER TABLE messages ADD COLUMN reply_to INTEGER REFERENCES messages (id);
ALTER TABLE messages ADD COLUMN edited_at INTEGER;      -- Unix epoch milliseconds
ALTER TABLE messages ADD COLUMN deleted_at INTEGER;     -- Unix epoch milliseconds
-- The mentioned user ids, comma-separated, 0 for @everyone: read with the
-- message, so pages need no second query. `mentions` below is the same set
-- indexed for counting a user's unread mentions.
ALTER TABLE messages ADD COLUMN mentions TEXT;

CREATE TABLE mentions (
    user_id    INTEGER NOT NULL,                    -- 0: @everyone
    room_id    INTEGER NOT NULL REFERENCES rooms (id),
    message_id INTEGER NOT NULL REFERENCES messages (id),
    author_id  INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (user_id, room_id, message_id)
) WITHOUT ROWID;
CREATE INDEX mentions_message ON mentions (message_id);

CREATE TABLE reactions (
    message_id INTEGER NOT NULL REFERENCES messages (id),
    emoji      TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,                    -- Unix epoch milliseconds
    PRIMARY KEY (message_id, emoji, user_id)
) WITHOUT ROWID;

-- How loudly a room notifies its member: every message, mentions (and every
-- message of a direct room), or nothing.
ALTER TABLE room_reads ADD COLUMN notify TEXT NOT NULL DEFAULT 'mentions'
    CHECK (notify IN ('all', 'mentions', 'none'));

-- The events table gains the new kinds; a CHECK constraint changes only by
-- rebuilding the table. The AUTOINCREMENT counter is carried over, so no seq
-- is ever handed out twice.
CREATE TABLE events_v5 (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL CHECK (kind IN ('message', 'room_created', 'room_updated',
                   'room_archived', 'room_unarchived', 'member_added', 'member_removed', 'read',
                   'message_edited', 'message_deleted', 'reaction', 'notify')),
    room_id    INTEGER NOT NULL REFERENCES rooms (id),
    user_id    INTEGER REFERENCES users (id),   -- message*: author; member_*: the member; read, notify, reaction: who
    actor_id   INTEGER REFERENCES users (id),   -- who made the change
    value      INTEGER,                         -- read: last_read_id; edits, deletions, reactions: the message id
    created_at INTEGER NOT NULL
);
INSERT INTO events_v5 (seq, kind, room_id, user_id, actor_id, value, created_at)
SELECT seq, kind, room_id, user_id, actor_id, value, created_at FROM events ORDER BY seq;
UPDATE sqlite_sequence
SET seq = (SELECT MAX(seq) FROM sqlite_sequence WHERE name IN ('events', 'events_v5'))
WHERE name = 'events_v5';
DROP TABLE events;
ALTER TABLE events_v5 RENAME TO events;
CREATE INDEX events_room ON events (room_id, seq);
CREATE INDEX events_reads ON events (user_id, seq) WHERE kind IN ('read', 'notify');
