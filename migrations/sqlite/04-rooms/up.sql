-- Hearth schema v4: rooms, direct messages, membership and one change stream.

-- Rooms gain a kind, a topic, an archived flag and, for direct messages, the
-- set of their members as a key (the same people always get the same room).
-- Names stay unique (ignoring case) among open and closed rooms only, so the
-- table is rebuilt. Migrations run with foreign keys off and are checked
-- with `PRAGMA foreign_key_check` afterwards (see src/store/schema.rs).

CREATE TABLE rooms_v4 (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL DEFAULT 'open' CHECK (kind IN ('open', 'closed', 'direct')),
    topic      TEXT    NOT NULL DEFAULT '',
    archived   INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    created_at INTEGER NOT NULL,
    created_by INTEGER REFERENCES users (id),
    direct_key TEXT UNIQUE               -- direct rooms: member ids, ascending, comma-separated
);
INSERT INTO rooms_v4 (id, name, kind, created_at) SELECT id, name, 'open', created_at FROM rooms;
DROP TABLE rooms;
ALTER TABLE rooms_v4 RENAME TO rooms;
CREATE UNIQUE INDEX rooms_name ON rooms (name COLLATE NOCASE) WHERE kind <> 'direct';

-- One sequence for every change a client must learn about. A message's id is
-- the seq of its creation, so message ids and stream cursors are one number
-- space. AUTOINCREMENT: a seq is never handed out twice, even after deletes.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL CHECK (kind IN ('message', 'room_created', 'room_updated',
                   'room_archived', 'room_unarchived', 'member_added', 'member_removed', 'read')),
    room_id    INTEGER NOT NULL REFERENCES rooms (id),
    user_id    INTEGER REFERENCES users (id),   -- message: author; member_*: the member; read: the reader
    actor_id   INTEGER REFERENCES users (id),   -- who made the change
    value      INTEGER,                         -- read: the new last_read_id
    created_at INTEGER NOT NULL                 -- Unix epoch milliseconds
);
CREATE INDEX events_room ON events (room_id, seq);
CREATE INDEX events_reads ON events (user_id, seq) WHERE kind = 'read';
INSERT INTO events (seq, kind, room_id, user_id, created_at)
SELECT id, 'message', room_id, user_id, created_at FROM messages ORDER BY id;

-- Every stretch of time a user was a member of a room: the stream delivers a
-- room's events to a user only for seqs inside one of their stretches.
CREATE TABLE memberships (
    room_id    INTEGER NOT NULL REFERENCES rooms (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    joined_seq INTEGER NOT NULL,            -- the member_added event (0: from the beginning)
    left_seq   INTEGER,                     -- the member_removed event; NULL while a member
    PRIMARY KEY (room_id, user_id, joined_seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX memberships_current ON memberships (room_id, user_id) WHERE left_seq IS NULL;
CREATE INDEX memberships_user ON memberships (user_id, room_id);
INSERT INTO memberships (room_id, user_id, joined_seq) SELECT 1, id, 0 FROM users;

-- How far each member has read each room (kept across leaving and rejoining).
CREATE TABLE room_reads (
    room_id      INTEGER NOT NULL REFERENCES rooms (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    last_read_id INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
