//! Running a team: server settings, invitations, login sessions, one-time
//! password links, profiles, account administration, the audit log, the
//! daily figures and message retention. The data is written now and then,
//! so it uses the portable statements of `store::sql` (one text for both
//! stores). Whether a caller is an admin is decided in one place:
//! [`TeamService::require_admin`].

pub mod accounts;
pub mod audit;
pub mod invites;
pub mod links;
pub mod offline;
pub mod profiles;
pub mod retention;
pub mod rooms;
pub mod sessions;
pub mod settings;
pub mod stats;

use crate::domain::ValidationError;
use crate::stmt;
use crate::store::{Store, StoreError};
pub use audit::Actor;
pub use settings::{RoomCreation, Settings, SettingsPatch};
use std::sync::RwLock;

/// Errors of the team services; the API maps each to a status and a code.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// A field failed validation.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Registration is closed: admins create accounts.
    #[error("registration is closed: ask an admin for an account")]
    RegistrationClosed,
    /// Registration needs an invitation link.
    #[error("registration needs an invitation link")]
    InviteRequired,
    /// The invitation link cannot be used, and why (`invite_expired`, …).
    #[error("{1}")]
    Invite(&'static str, &'static str),
    /// The one-time password link cannot be used.
    #[error("this link was used already or has expired")]
    LinkInvalid,
    /// The account is deactivated.
    #[error("this account is deactivated")]
    Deactivated,
    /// The change would leave the team without an active admin.
    #[error("the team needs at least one active admin")]
    LastAdmin,
    /// Admins only.
    #[error("only admins may do this")]
    AdminOnly,
    /// Not allowed for this user, with the reason.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The current password is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// The server was set up already.
    #[error("this server is set up already")]
    AlreadySetUp,
    /// No such account, invitation or session.
    #[error("not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Result of the team services.
pub type TeamResult<T> = Result<T, TeamError>;

/// What the server was started with, for the settings' defaults.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// It listens on more than loopback (others can reach it).
    pub reachable: bool,
    /// `--registration`, when given.
    pub registration: Option<crate::domain::Registration>,
    /// `--max-file-size`.
    pub max_file_bytes: u64,
    /// `--upload-quota` (`None`: no limit).
    pub upload_quota: Option<u64>,
}

/// The team services.
pub struct TeamService {
    store: Store,
    defaults: Defaults,
    settings: RwLock<Settings>,
    /// Debounces the "last seen" writes of login sessions.
    seen: sessions::SeenDebounce,
    /// The last daily figures written.
    sampled: stats::LastSample,
}

impl TeamService {
    /// Loads the settings (writing `--registration` when given).
    pub async fn load(store: Store, defaults: Defaults) -> TeamResult<Self> {
        if let Some(mode) = defaults.registration {
            settings::write_raw(&store, &[("registration", mode.as_str().to_owned())]).await?;
        }
        let settings = settings::read(&store, &defaults).await?;
        Ok(Self {
            store,
            defaults,
            settings: RwLock::new(settings),
            seen: sessions::SeenDebounce::default(),
            sampled: stats::LastSample::default(),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Re-reads the settings (the CLI and other nodes change them too).
    pub async fn refresh(&self) -> TeamResult<Settings> {
        let fresh = settings::read(&self.store, &self.defaults).await?;
        *self
            .settings
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
        Ok(fresh)
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The account `user_id` as an actor, if it is an active admin; the one
    /// check every admin path uses.
    pub async fn require_admin(&self, user_id: i64) -> TeamResult<Actor> {
        let rows = self
            .store
            .sql_read(stmt!(
                "SELECT username, CASE WHEN is_admin THEN 1 ELSE 0 END, deactivated_at
                 FROM users WHERE id = $1",
                user_id
            ))
            .await?;
        match rows.first() {
            Some(r) if r.bool(1) && r.opt_int(2).is_none() => Ok(Actor {
                id: Some(user_id),
                name: r.text(0),
            }),
            _ => Err(TeamError::AdminOnly),
        }
    }

    /// The account `user_id` as an actor, and whether it is an admin.
    pub async fn actor(&self, user_id: i64) -> TeamResult<(Actor, bool)> {
        let rows = self
            .store
            .sql_read(stmt!(
                "SELECT username, CASE WHEN is_admin THEN 1 ELSE 0 END FROM users WHERE id = $1",
                user_id
            ))
            .await?;
        let r = rows.first().ok_or(TeamError::NotFound)?;
        Ok((
            Actor {
                id: Some(user_id),
                name: r.text(0),
            },
            r.bool(1),
        ))
    }

    /// Whether any account exists (no: the first-run setup page).
    pub async fn has_users(&self) -> TeamResult<bool> {
        let rows = self
            .store
            .sql_read(stmt!("SELECT COUNT(*) FROM users"))
            .await?;
        Ok(rows.first().is_some_and(|r| r.int(0) > 0))
    }
}

/// A random secret for a link: 192 bits, hex (URL-safe).
pub(crate) fn link_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is stored of a link secret: its SHA-256, hex.
pub(crate) fn secret_hash(secret: &str) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(secret.trim().as_bytes()))
}
