//! WebSocket frames and close codes (docs/PROTOCOL.md).

use crate::store::{
    Change, ChangeKind, MemberEvent, Message, NotifyLevel, Reaction, Room, RoomEvent, Stored,
    UserRef,
};
use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

/// Close codes the server uses.
pub mod close {
    /// Server shutting down: reconnect and resume.
    pub const GOING_AWAY: u16 = 1001;
    /// Frame or message over the size limit.
    pub const TOO_LARGE: u16 = 1009;
    /// Token invalid or expired: do not reconnect, log in again.
    pub const UNAUTHORIZED: u16 = 4001;
    /// Too slow to keep up: reconnect and resume.
    pub const TOO_SLOW: u16 = 4008;
    /// Sustained abuse of the rate limit.
    pub const ABUSE: u16 = 4029;
}

/// A frame from a client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Send a chat message.
    Message {
        /// The text.
        content: String,
        /// Idempotency key (required over WebSocket).
        client_id: Option<String>,
        /// Room name (v1: only `lobby`); the lobby when absent.
        room: Option<String>,
        /// Room id (v2); wins over `room`.
        room_id: Option<i64>,
        /// The message it answers (v2).
        reply_to: Option<i64>,
        /// Uploads to attach (v2); the text may then be empty.
        #[serde(default)]
        files: Vec<i64>,
    },
    /// Replace the text of one's own message (v2).
    Edit {
        /// The message.
        message_id: i64,
        /// The new text.
        content: String,
        /// Request key, echoed by `done` or `error`.
        client_id: Option<String>,
    },
    /// Delete a message (v2).
    Delete {
        /// The message.
        message_id: i64,
        /// Request key.
        client_id: Option<String>,
    },
    /// Add or remove one's reaction (v2).
    React {
        /// The message.
        message_id: i64,
        /// The emoji.
        emoji: String,
        /// Add (true) or remove.
        on: bool,
        /// Request key.
        client_id: Option<String>,
    },
    /// The user is typing in a room (v2; ephemeral).
    Typing {
        /// The room.
        room_id: i64,
    },
    /// Move the read position in a room (v2).
    Read {
        /// The room.
        room_id: i64,
        /// The newest message read.
        last_read_id: i64,
    },
    /// Send every message after `after`, then continue live.
    Sync {
        /// The last id the client has.
        after: i64,
    },
    /// App-level heartbeat.
    Ping,
}

/// A user as listed in presence frames.
pub use crate::store::UserRef as OnlineUser;

/// Who is online: the exact count and (up to a cap) the users.
#[derive(Debug, Clone, Serialize)]
pub struct Online {
    /// Users with at least one open connection.
    pub count: usize,
    /// Those users, sorted by name (at most the cap of the snapshot).
    pub users: Vec<OnlineUser>,
}

/// A frame from the server.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    /// First frame of a connection.
    Hello {
        /// The connected user.
        user: OnlineUser,
        /// Database instance id.
        epoch: &'a str,
        /// Who is online (`{"count","users"}`, serialized once per change).
        online: &'a serde_json::value::RawValue,
        /// Newest seq of the change stream at connect time.
        last_id: i64,
        /// The `after` cursor given was above every stored message (another
        /// timeline): it was ignored, and the client must drop its cache.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        reset: bool,
        /// The stream version of the connection (2: rooms), absent for v1.
        #[serde(skip_serializing_if = "Option::is_none")]
        v: Option<u8>,
    },
    /// Answer to a `sync` whose cursor is above every stored message: drop
    /// the cache; the stream continues after `last_id`.
    Reset {
        /// Newest message id.
        last_id: i64,
    },
    /// A send was committed.
    Ack {
        /// The sender's key.
        client_id: &'a str,
        /// Message id.
        id: i64,
        /// Commit time, ms.
        created_at: i64,
        /// The room.
        room_id: i64,
    },
    /// Online users changed. Pushes carry the changes (`joined`, `left`);
    /// `users`, when present, replaces the client's whole list.
    Presence {
        /// Exact count.
        count: usize,
        /// The full list (capped), in snapshots only.
        #[serde(skip_serializing_if = "Option::is_none")]
        users: Option<&'a [OnlineUser]>,
        /// Came online since the last push.
        joined: &'a [OnlineUser],
        /// Went offline since the last push.
        left: &'a [OnlineUser],
    },
    /// Answer to a client ping.
    Pong,
    /// An edit, deletion or reaction was committed.
    Done {
        /// The request's key.
        client_id: &'a str,
        /// The seq of its event (absent when nothing changed).
        #[serde(skip_serializing_if = "Option::is_none")]
        seq: Option<i64>,
    },
    /// A refused frame.
    Error {
        /// Machine-readable code.
        code: &'a str,
        /// Human-readable text.
        message: &'a str,
        /// The refused send's key, when it had one.
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<&'a str>,
        /// For `rate_limited`: when to retry.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

impl ServerFrame<'_> {
    /// Serializes the frame to JSON text.
    pub fn to_json(&self) -> String {
        // Serializing these plain structs cannot fail (no maps with non-string keys).
        serde_json::to_string(self).unwrap_or_else(|_| {
            String::from(r#"{"type":"error","code":"internal","message":"encode"}"#)
        })
    }

    /// The frame as a complete WebSocket text frame, ready for the socket.
    pub fn to_ws_frame(&self) -> Bytes {
        text_frame(&self.to_json())
    }

    /// The ack for a stored send.
    pub fn ack(stored: &Stored) -> ServerFrame<'_> {
        ServerFrame::Ack {
            client_id: &stored.message.client_id,
            id: stored.message.id,
            created_at: stored.message.created_at,
            room_id: stored.message.room_id,
        }
    }
}

/// A change of the stream as the client sees it (docs/PROTOCOL.md §3).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StreamFrame<'a> {
    Message {
        seq: i64,
        message: &'a Message,
    },
    Room {
        seq: i64,
        event: RoomEvent,
        room: &'a Room,
    },
    Member {
        seq: i64,
        event: MemberEvent,
        room_id: i64,
        user: &'a OnlineUser,
        room: &'a Room,
    },
    Read {
        seq: i64,
        room_id: i64,
        last_read_id: i64,
    },
    MessageEdited {
        seq: i64,
        message: &'a Message,
    },
    MessageDeleted {
        seq: i64,
        room_id: i64,
        message_id: i64,
    },
    Reaction {
        seq: i64,
        room_id: i64,
        message_id: i64,
        reactions: &'a [Reaction],
    },
    Notify {
        seq: i64,
        room_id: i64,
        level: NotifyLevel,
    },
}

/// The JSON text of a stream event.
pub fn stream_frame(change: &Change) -> String {
    let seq = change.seq;
    let frame = match &change.kind {
        ChangeKind::Message(message) => StreamFrame::Message { seq, message },
        ChangeKind::Room { event, room } => StreamFrame::Room {
            seq,
            event: *event,
            room,
        },
        ChangeKind::Member { event, user, room } => StreamFrame::Member {
            seq,
            event: *event,
            room_id: change.room_id,
            user,
            room,
        },
        ChangeKind::Read { last_read_id, .. } => StreamFrame::Read {
            seq,
            room_id: change.room_id,
            last_read_id: *last_read_id,
        },
        ChangeKind::Edited(message) => StreamFrame::MessageEdited { seq, message },
        ChangeKind::Deleted { message_id } => StreamFrame::MessageDeleted {
            seq,
            room_id: change.room_id,
            message_id: *message_id,
        },
        ChangeKind::Reaction {
            message_id,
            reactions,
        } => StreamFrame::Reaction {
            seq,
            room_id: change.room_id,
            message_id: *message_id,
            reactions,
        },
        ChangeKind::Notify { level, .. } => StreamFrame::Notify {
            seq,
            room_id: change.room_id,
            level: *level,
        },
    };
    // Plain structs with string keys: serializing cannot fail.
    serde_json::to_string(&frame).unwrap_or_default()
}

/// Someone is typing in a room: an ephemeral frame, outside the stream.
#[derive(Serialize)]
#[serde(tag = "type", rename = "typing")]
struct TypingFrame<'a> {
    room_id: i64,
    user: &'a UserRef,
}

/// The JSON text of a `typing` frame.
pub fn typing_frame(room_id: i64, user: &UserRef) -> String {
    serde_json::to_string(&TypingFrame { room_id, user }).unwrap_or_default()
}

/// The JSON text of a message event (as `stream_frame` writes it).
pub fn message_frame(message: &Message) -> String {
    serde_json::to_string(&StreamFrame::Message {
        seq: message.id,
        message,
    })
    .unwrap_or_default()
}

/// A complete server-to-client WebSocket text frame (FIN, opcode 1, no mask:
/// RFC 6455 §5.2) around `text`. Built once, it can be written as-is to any
/// number of connections.
pub fn text_frame(text: &str) -> Bytes {
    let len = text.len();
    let mut frame = BytesMut::with_capacity(len + 10);
    frame.put_u8(0x81);
    match u16::try_from(len) {
        Ok(short) if short < 126 => frame.put_u8(short as u8),
        Ok(medium) => {
            frame.put_u8(126);
            frame.put_u16(medium);
        }
        Err(_) => {
            frame.put_u8(127);
            frame.put_u64(len as u64);
        }
    }
    frame.put_slice(text.as_bytes());
    frame.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_frames_encode_all_three_length_forms() {
        assert_eq!(&text_frame("hi")[..], b"\x81\x02hi");
        let medium = text_frame(&"a".repeat(300));
        assert_eq!(&medium[..4], &[0x81, 126, 1, 44]);
        assert_eq!(medium.len(), 304);
        let long = text_frame(&"b".repeat(70_000));
        assert_eq!(&long[..2], &[0x81, 127]);
        assert_eq!(u64::from_be_bytes(long[2..10].try_into().unwrap()), 70_000);
        assert_eq!(text_frame(&"c".repeat(125))[1], 125);
        assert_eq!(text_frame(&"c".repeat(126))[1], 126);
    }
}
