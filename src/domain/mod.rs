//! Domain newtypes: every value that comes from a user is parsed once, at the
//! edge, into a type that cannot hold an invalid value.

pub mod access;
mod client_id;
mod emoji;
mod file_name;
pub mod mention;
mod message_body;
mod password;
mod profile;
mod room_name;
pub mod search_query;
mod username;

pub use client_id::ClientId;
pub use emoji::Emoji;
pub use file_name::FileName;
pub use message_body::MessageBody;
pub use password::Password;
pub use profile::{DisplayName, Registration, StatusText, TeamName};
pub use room_name::{RoomName, Topic};
pub use username::{Username, name_key};

/// Why a user-supplied value was refused; the text is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

impl ValidationError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}
