-- Hearth cluster schema v2 (PostgreSQL): mentions, notification levels,
-- edits, deletions, reactions and replies; the twin of SQLite's schema v5.

ALTER TABLE messages ADD COLUMN reply_to  BIGINT REFERENCES messages (id);
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;
-- Mentioned user ids, 0 for @everyone (read with the message).
ALTER TABLE messages ADD COLUMN mentions TEXT;

CREATE TABLE mentions (
    user_id    BIGINT NOT NULL,                     -- 0: @everyone
    room_id    BIGINT NOT NULL REFERENCES rooms (id),
    message_id BIGINT NOT NULL REFERENCES messages (id),
    author_id  BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (user_id, room_id, message_id)
);
CREATE INDEX mentions_message ON mentions (message_id);

CREATE TABLE reactions (
    message_id BIGINT NOT NULL REFERENCES messages (id),
    emoji      TEXT   NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

ALTER TABLE room_reads ADD COLUMN notify TEXT NOT NULL DEFAULT 'mentions'
    CHECK (notify IN ('all', 'mentions', 'none'));

ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN ('message', 'room_created',
    'room_updated', 'room_archived', 'room_unarchived', 'member_added', 'member_removed', 'read',
    'message_edited', 'message_deleted', 'reaction', 'notify'));
DROP INDEX events_reads;
CREATE INDEX events_reads ON events (user_id, seq) WHERE kind IN ('read', 'notify');
