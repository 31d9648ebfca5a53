//! Rows as the rest of the program sees them.

use serde::Serialize;

/// The room every user is in until rooms become a feature.
pub const LOBBY: RoomRef = RoomRef {
    id: 1,
    name: "lobby",
};

/// A room's id and name (names are fixed at build time for now).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomRef {
    /// Row id in `rooms`.
    pub id: i64,
    /// Name shown to clients.
    pub name: &'static str,
}

impl RoomRef {
    /// Looks a room up by the name a client gave.
    pub fn by_name(name: &str) -> Option<Self> {
        (name == LOBBY.name).then_some(LOBBY)
    }
}

/// A user account, without its password hash.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Login name, as registered.
    pub username: String,
    /// May use the admin commands.
    pub is_admin: bool,
    /// Unix epoch milliseconds.
    pub created_at: i64,
}

/// A user plus the PHC string of their password hash, for login.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    /// The account.
    pub user: User,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Tokens issued before this Unix second are refused (password reset).
    pub tokens_valid_after: u64,
}

/// A stored chat message, as sent to clients.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Message {
    /// Row id; grows with commit order.
    pub id: i64,
    /// Room name.
    pub room: &'static str,
    /// Author's id.
    pub user_id: i64,
    /// Author's name.
    pub username: String,
    /// Raw text (render as text).
    pub content: String,
    /// Unix epoch milliseconds.
    pub created_at: i64,
    /// The sender's idempotency key.
    pub client_id: String,
}

/// Result of a message insert: the row, and whether this call created it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The message (the earlier one when `created` is false).
    pub message: Message,
    /// False when the `(user, client_id)` pair was already stored.
    pub created: bool,
}

/// Milliseconds since the Unix epoch, by the wall clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
