//! Settings an admin changes at run time, kept in the `settings` table; a
//! missing key means the default, some of which come from the flags.

use super::audit::{self, Actor};
use super::{Defaults, TeamError, TeamResult, TeamService};
use crate::domain::{Registration, TeamName, ValidationError};
use crate::stmt;
use crate::store::Store;
use crate::store::sql::Stmt;
use serde::{Deserialize, Serialize};

/// Longest retention an admin may set, in days (100 years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;
/// The largest upload an admin may allow (the nginx site files allow 30 MB:
/// raise `client_max_body_size` there too).
pub const MAX_FILE_LIMIT: u64 = 2 << 30;

/// Who may create rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoomCreation {
    /// Every member.
    Everyone,
    /// Admins only.
    Admins,
}

/// The settings in force.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Shown on the login, setup and invitation pages.
    pub team_name: String,
    /// Who may create an account.
    pub registration: Registration,
    /// Members (not only admins) may create invitation links.
    pub members_invite: bool,
    /// Who may create rooms.
    pub room_creation: RoomCreation,
    /// Messages older than this many days are deleted daily (0: kept forever).
    pub retention_days: u32,
    /// Largest upload, bytes.
    pub max_file_bytes: u64,
    /// Most bytes one person uploads in 24 hours (0: no limit).
    pub upload_quota_bytes: u64,
    /// No account exists yet: the first-run setup page is shown.
    pub needs_setup: bool,
}

/// A change of settings (absent fields stay).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// New team name.
    pub team_name: Option<String>,
    /// New registration mode.
    pub registration: Option<Registration>,
    /// Members may invite.
    pub members_invite: Option<bool>,
    /// Who may create rooms.
    pub room_creation: Option<RoomCreation>,
    /// Retention in days (0: forever).
    pub retention_days: Option<u32>,
    /// Largest upload, bytes.
    pub max_file_bytes: Option<u64>,
    /// Daily upload quota, bytes (0: no limit).
    pub upload_quota_bytes: Option<u64>,
}

impl SettingsPatch {
    /// The validated `(key, value)` pairs to store.
    fn pairs(&self) -> Result<Vec<(&'static str, String)>, ValidationError> {
        let mut out = Vec::new();
        if let Some(name) = &self.team_name {
            out.push(("team_name", TeamName::parse(name)?.as_str().to_owned()));
        }
        if let Some(mode) = self.registration {
            out.push(("registration", mode.as_str().to_owned()));
        }
        if let Some(on) = self.members_invite {
            out.push(("members_invite", u8::from(on).to_string()));
        }
        if let Some(who) = self.room_creation {
            let who = match who {
                RoomCreation::Everyone => "everyone",
                RoomCreation::Admins => "admins",
            };
            out.push(("room_creation", who.to_owned()));
        }
        if let Some(days) = self.retention_days {
            if days > MAX_RETENTION_DAYS {
                return Err(ValidationError::new(format!(
                    "retention must be 0 (forever) to {MAX_RETENTION_DAYS} days"
                )));
            }
            out.push(("retention_days", days.to_string()));
        }
        if let Some(bytes) = self.max_file_bytes {
            if !(1024..=MAX_FILE_LIMIT).contains(&bytes) {
                return Err(ValidationError::new(
                    "the upload limit must be between 1 KiB and 2 GiB",
                ));
            }
            out.push(("max_file_bytes", bytes.to_string()));
        }
        if let Some(bytes) = self.upload_quota_bytes {
            out.push(("upload_quota_bytes", bytes.to_string()));
        }
        Ok(out)
    }
}

/// Reads the settings: stored values over the defaults.
pub(super) async fn read(store: &Store, defaults: &Defaults) -> TeamResult<Settings> {
    let rows = store
        .sql_read(stmt!(
            "SELECT key, value FROM settings
             UNION ALL SELECT '#users', CAST(COUNT(*) AS TEXT) FROM users"
        ))
        .await?;
    let mut s = Settings {
        team_name: "Hearth".to_owned(),
        registration: Registration::Open,
        members_invite: false,
        room_creation: RoomCreation::Everyone,
        retention_days: 0,
        max_file_bytes: defaults.max_file_bytes,
        upload_quota_bytes: defaults.upload_quota.unwrap_or(0),
        needs_setup: false,
    };
    let mut registration = None;
    for r in &rows {
        let value = r.text(1);
        match r.text(0).as_str() {
            "#users" => s.needs_setup = value == "0",
            "team_name" => s.team_name = value,
            "registration" => registration = value.parse().ok(),
            "members_invite" => s.members_invite = value == "1",
            "room_creation" if value == "admins" => s.room_creation = RoomCreation::Admins,
            "retention_days" => s.retention_days = value.parse().unwrap_or(0),
            "max_file_bytes" => s.max_file_bytes = value.parse().unwrap_or(s.max_file_bytes),
            "upload_quota_bytes" => s.upload_quota_bytes = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    // Not chosen: a server others can reach takes new people by invitation
    // only; on loopback only its own user can reach it anyway.
    s.registration = registration.unwrap_or(if defaults.reachable {
        Registration::Invite
    } else {
        Registration::Open
    });
    Ok(s)
}

pub(crate) fn upsert(key: &'static str, value: String) -> Stmt {
    stmt!(
        "INSERT INTO settings (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        key,
        value
    )
}

/// Stores settings without an audit entry (start-up flags).
pub(super) async fn write_raw(store: &Store, pairs: &[(&'static str, String)]) -> TeamResult<()> {
    let stmts = pairs.iter().map(|(k, v)| upsert(k, v.clone())).collect();
    store.sql_write(stmts).await?;
    Ok(())
}

impl TeamService {
    /// Changes settings, as `actor` (an admin, checked by the caller), with
    /// an audit entry; returns the settings now in force.
    pub async fn update_settings(
        &self,
        actor: &Actor,
        patch: &SettingsPatch,
    ) -> TeamResult<Settings> {
        let pairs = patch.pairs()?;
        if pairs.is_empty() {
            return Ok(self.settings());
        }
        let detail = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmts: Vec<Stmt> = pairs.into_iter().map(|(k, v)| upsert(k, v)).collect();
        stmts.push(audit::entry(actor, "settings.update", "", &detail));
        self.store.sql_write(stmts).await?;
        self.refresh().await
    }

    /// Sets the team name during the first-run setup (no account exists yet).
    pub async fn set_up(&self, team_name: &str) -> TeamResult<()> {
        let name = TeamName::parse(team_name)?;
        if self.has_users().await? {
            return Err(TeamError::AlreadySetUp);
        }
        write_raw(&self.store, &[("team_name", name.as_str().to_owned())]).await?;
        self.refresh().await?;
        Ok(())
    }

    /// Whether `user_id` may create rooms now.
    pub async fn may_create_rooms(&self, user_id: i64) -> TeamResult<bool> {
        Ok(match self.settings().room_creation {
            RoomCreation::Everyone => true,
            RoomCreation::Admins => self.require_admin(user_id).await.is_ok(),
        })
    }
}
