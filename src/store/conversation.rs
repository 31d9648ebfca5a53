//! The parts of a message beyond its text: mentions, replies, reactions,
//! and how loudly a room notifies its members. Both stores read and write
//! them in these forms.

use super::models::{Message, UserRef};
use serde::Serialize;

impl Message {
    /// Sets the mention fields from their stored form (ids, 0 for everyone).
    pub(crate) fn set_mentions(&mut self, stored: Option<&str>) {
        let mentions = Mentions::from_db(stored);
        self.mentions = mentions.users;
        self.mention_everyone = mentions.everyone;
    }
}

/// Longest excerpt of the original a reply carries, in characters.
pub const REPLY_PREVIEW_CHARS: usize = 200;

/// The message a reply answers, as it is now.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ReplyPreview {
    /// Its id.
    pub id: i64,
    /// Its author's id.
    pub user_id: i64,
    /// Its author's name.
    pub username: String,
    /// Its first [`REPLY_PREVIEW_CHARS`] characters (empty once deleted).
    pub content: String,
    /// It was deleted.
    pub deleted: bool,
}

impl ReplyPreview {
    /// A preview of a message with this (full) content.
    pub fn new(id: i64, user_id: i64, username: String, content: &str, deleted: bool) -> Self {
        let content = if deleted {
            String::new()
        } else {
            content.chars().take(REPLY_PREVIEW_CHARS).collect()
        };
        Self {
            id,
            user_id,
            username,
            content,
            deleted,
        }
    }
}

/// Most names a reaction lists (the count stays exact).
pub const REACTION_USERS_CAP: usize = 50;

/// One emoji's reactions to a message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Reaction {
    /// The emoji.
    pub emoji: String,
    /// How many reacted with it.
    pub count: i64,
    /// Who (the first [`REACTION_USERS_CAP`], in the order they reacted).
    pub users: Vec<UserRef>,
}

/// Groups `(emoji, user)` rows, ordered by reaction time, into reactions.
pub(crate) fn group_reactions(rows: impl IntoIterator<Item = (String, UserRef)>) -> Vec<Reaction> {
    let mut out: Vec<Reaction> = Vec::new();
    for (emoji, user) in rows {
        let reaction = match out.iter_mut().position(|r| r.emoji == emoji) {
            Some(i) => &mut out[i],
            None => {
                out.push(Reaction {
                    emoji,
                    count: 0,
                    users: Vec::new(),
                });
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        reaction.count += 1;
        if reaction.users.len() < REACTION_USERS_CAP {
            reaction.users.push(user);
        }
    }
    out
}

/// Whom a message mentions: member ids, and everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    /// Mentioned members, ascending, once each.
    pub users: Vec<i64>,
    /// `@everyone` by someone allowed to use it.
    pub everyone: bool,
}

impl Mentions {
    /// The stored form: ids, comma-separated, 0 for everyone; `None` when empty.
    pub(crate) fn to_db(&self) -> Option<String> {
        let ids: Vec<String> = self
            .everyone
            .then_some(0)
            .into_iter()
            .chain(self.users.iter().copied())
            .map(|id| id.to_string())
            .collect();
        (!ids.is_empty()).then(|| ids.join(","))
    }

    /// The rows of the `mentions` table (0 for everyone).
    pub(crate) fn rows(&self) -> Vec<i64> {
        self.everyone
            .then_some(0)
            .into_iter()
            .chain(self.users.iter().copied())
            .collect()
    }

    /// Parses the stored form (anything unreadable is skipped).
    pub(crate) fn from_db(stored: Option<&str>) -> Self {
        let mut out = Self::default();
        for id in stored
            .unwrap_or_default()
            .split(',')
            .filter_map(|p| p.parse::<i64>().ok())
        {
            if id == 0 {
                out.everyone = true;
            } else {
                out.users.push(id);
            }
        }
        out
    }
}

/// How loudly a room notifies one member.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NotifyLevel {
    /// Every message.
    All,
    /// Mentions, and every message of a direct room.
    #[default]
    Mentions,
    /// Nothing.
    None,
}

impl NotifyLevel {
    /// The name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Mentions => "mentions",
            Self::None => "none",
        }
    }

    /// The level named `s`, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(Self::All),
            "mentions" => Some(Self::Mentions),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    /// The level as an event's `value`.
    pub(crate) fn code(self) -> i64 {
        match self {
            Self::All => 0,
            Self::Mentions => 1,
            Self::None => 2,
        }
    }

    /// The level of an event's `value`.
    pub(crate) fn from_code(code: Option<i64>) -> Self {
        match code {
            Some(0) => Self::All,
            Some(2) => Self::None,
            _ => Self::Mentions,
        }
    }
}
