//! Moving a team between the stores (`hearth migrate --to`): the tables
//! both stores share, described once, read from SQLite in chunks as typed
//! columns and written to PostgreSQL with one `unnest` insert per chunk.

/// The type of a column, as both stores can give and take it.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// BIGINT / INTEGER.
    Int,
    /// Nullable BIGINT.
    OptInt,
    /// TEXT.
    Text,
    /// Nullable TEXT.
    OptText,
    /// BOOLEAN (an INTEGER 0/1 in SQLite).
    Bool,
}

/// A table to copy.
#[derive(Debug)]
pub struct Table {
    /// Its name in both stores.
    pub name: &'static str,
    /// Its columns, in order.
    pub columns: &'static [(&'static str, Ty)],
    /// An integer key to read it in chunks by (`None`: small, read at once).
    pub key: Option<&'static str>,
}

/// Every table of a team, parents before children.
pub const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            ("id", Ty::Int),
            ("username", Ty::Text),
            ("password_hash", Ty::Text),
            ("created_at", Ty::Int),
            ("is_admin", Ty::Bool),
            ("tokens_valid_after", Ty::Int),
            ("name_key", Ty::Text),
            ("display_name", Ty::Text),
            ("status_text", Ty::Text),
            ("deactivated_at", Ty::OptInt),
            ("keep_session", Ty::OptText),
        ],
        key: Some("id"),
    },
    Table {
        name: "rooms",
        columns: &[
            ("id", Ty::Int),
            ("name", Ty::Text),
            ("kind", Ty::Text),
            ("topic", Ty::Text),
            ("archived", Ty::Bool),
            ("created_at", Ty::Int),
            ("created_by", Ty::OptInt),
            ("direct_key", Ty::OptText),
        ],
        key: Some("id"),
    },
    Table {
        name: "events",
        columns: &[
            ("seq", Ty::Int),
            ("kind", Ty::Text),
            ("room_id", Ty::Int),
            ("user_id", Ty::OptInt),
            ("actor_id", Ty::OptInt),
            ("value", Ty::OptInt),
            ("created_at", Ty::Int),
        ],
        key: Some("seq"),
    },
    Table {
        name: "messages",
        columns: &[
            ("id", Ty::Int),
            ("room_id", Ty::Int),
            ("user_id", Ty::Int),
            ("content", Ty::Text),
            ("created_at", Ty::Int),
            ("client_id", Ty::Text),
            ("reply_to", Ty::OptInt),
            ("edited_at", Ty::OptInt),
            ("deleted_at", Ty::OptInt),
            ("mentions", Ty::OptText),
            ("files", Ty::OptText),
        ],
        key: Some("id"),
    },
    // After `messages`; the blobs they name were copied first (see `BlobRow`).
    Table {
        name: "files",
        columns: &[
            ("id", Ty::Int),
            ("hash", Ty::Text),
            ("room_id", Ty::Int),
            ("uploader_id", Ty::Int),
            ("message_id", Ty::OptInt),
            ("name", Ty::Text),
            ("size", Ty::Int),
            ("created_at", Ty::Int),
        ],
        key: Some("id"),
    },
    Table {
        name: "mentions",
        columns: &[
            ("user_id", Ty::Int),
            ("room_id", Ty::Int),
            ("message_id", Ty::Int),
            ("author_id", Ty::Int),
        ],
        key: None,
    },
    Table {
        name: "reactions",
        columns: &[
            ("message_id", Ty::Int),
            ("emoji", Ty::Text),
            ("user_id", Ty::Int),
            ("created_at", Ty::Int),
        ],
        key: None,
    },
    Table {
        name: "memberships",
        columns: &[
            ("room_id", Ty::Int),
            ("user_id", Ty::Int),
            ("joined_seq", Ty::Int),
            ("left_seq", Ty::OptInt),
        ],
        key: None,
    },
    Table {
        name: "room_reads",
        columns: &[
            ("room_id", Ty::Int),
            ("user_id", Ty::Int),
            ("last_read_id", Ty::Int),
            ("notify", Ty::Text),
        ],
        key: None,
    },
    Table {
        name: "settings",
        columns: &[("key", Ty::Text), ("value", Ty::Text)],
        key: None,
    },
    Table {
        name: "invites",
        columns: &[
            ("id", Ty::Int),
            ("token_hash", Ty::Text),
            ("created_by", Ty::Int),
            ("created_at", Ty::Int),
            ("expires_at", Ty::Int),
            ("max_uses", Ty::Int),
            ("uses", Ty::Int),
            ("revoked_at", Ty::OptInt),
        ],
        key: Some("id"),
    },
    Table {
        name: "login_sessions",
        columns: &[
            ("id", Ty::Text),
            ("user_id", Ty::Int),
            ("created_at", Ty::Int),
            ("last_seen_at", Ty::Int),
            ("expires_at", Ty::Int),
            ("issued_at", Ty::Int),
            ("agent", Ty::Text),
            ("ip", Ty::Text),
        ],
        key: None,
    },
    Table {
        name: "password_links",
        columns: &[
            ("token_hash", Ty::Text),
            ("user_id", Ty::Int),
            ("created_by", Ty::OptInt),
            ("created_at", Ty::Int),
            ("expires_at", Ty::Int),
            ("used_at", Ty::OptInt),
        ],
        key: None,
    },
    Table {
        name: "audit_log",
        columns: &[
            ("id", Ty::Int),
            ("at", Ty::Int),
            ("actor_id", Ty::OptInt),
            ("actor", Ty::Text),
            ("action", Ty::Text),
            ("target", Ty::Text),
            ("detail", Ty::Text),
        ],
        key: Some("id"),
    },
    Table {
        name: "daily_stats",
        columns: &[
            ("day", Ty::Text),
            ("first_message_id", Ty::Int),
            ("peak_connections", Ty::Int),
        ],
        key: None,
    },
    Table {
        name: "revoked_sessions",
        columns: &[
            ("sid", Ty::Text),
            ("user_id", Ty::Int),
            ("revoked_at", Ty::Int),
            ("expires_at", Ty::Int),
        ],
        key: None,
    },
];

/// One column of a chunk.
#[derive(Debug)]
pub enum Column {
    /// [`Ty::Int`].
    Int(Vec<i64>),
    /// [`Ty::OptInt`].
    OptInt(Vec<Option<i64>>),
    /// [`Ty::Text`].
    Text(Vec<String>),
    /// [`Ty::OptText`].
    OptText(Vec<Option<String>>),
    /// [`Ty::Bool`].
    Bool(Vec<bool>),
}

impl Column {
    /// An empty column of type `ty`.
    pub fn new(ty: Ty) -> Self {
        match ty {
            Ty::Int => Self::Int(Vec::new()),
            Ty::OptInt => Self::OptInt(Vec::new()),
            Ty::Text => Self::Text(Vec::new()),
            Ty::OptText => Self::OptText(Vec::new()),
            Ty::Bool => Self::Bool(Vec::new()),
        }
    }

    /// Rows in it.
    pub fn len(&self) -> usize {
        match self {
            Self::Int(v) => v.len(),
            Self::OptInt(v) => v.len(),
            Self::Text(v) => v.len(),
            Self::OptText(v) => v.len(),
            Self::Bool(v) => v.len(),
        }
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A chunk of a table: its columns, and the last key read.
#[derive(Debug)]
pub struct Chunk {
    /// Columns in the table's order.
    pub columns: Vec<Column>,
    /// The key of the last row (chunked tables).
    pub last_key: Option<i64>,
}

impl Chunk {
    /// Rows in it.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }
}

/// A file content's row; copied one at a time with its content (which the
/// single-file store keeps on disk), before the tables.
#[derive(Debug)]
pub struct BlobRow {
    /// SHA-256, hex.
    pub hash: String,
    /// Bytes.
    pub size: i64,
    /// Sniffed type.
    pub mime: String,
    /// Pixels (images).
    pub width: Option<i64>,
    /// Pixels (images).
    pub height: Option<i64>,
    /// The thumbnail (images).
    pub thumb: Option<Vec<u8>>,
    /// Its type.
    pub thumb_mime: Option<String>,
    /// Unix epoch ms.
    pub created_at: i64,
    /// Where the content is.
    pub path: std::path::PathBuf,
}

/// The values a migrated team keeps: clients keep their cache (epoch) and
/// their tokens (signing secret).
#[derive(Debug)]
pub struct TeamMeta {
    /// The database instance id.
    pub epoch: String,
    /// The token signing secret, hex.
    pub jwt_secret: String,
}
