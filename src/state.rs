//! The state every request and session shares.

use crate::auth::AuthService;
use crate::chat::ChatService;
use crate::config::Config;
use crate::conversation::ConversationService;
use crate::files::FileService;
use crate::hub::{Hub, SessionRegistry};
use crate::limits::{ConnectionLimits, ReadBudget};
use crate::rooms::RoomService;
use crate::search::SearchService;
use crate::store::Store;
use crate::team::TeamService;
use crate::telemetry::Stats;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// State shared by every request and session.
pub struct AppState {
    /// Settings.
    pub config: Config,
    /// Storage.
    pub store: Store,
    /// Broadcast and presence.
    pub hub: Arc<Hub>,
    /// Accounts and tokens.
    pub auth: AuthService,
    /// Sending messages.
    pub chat: ChatService,
    /// Edits, deletions, reactions, typing.
    pub conversation: ConversationService,
    /// Rooms, memberships, read positions.
    pub rooms: RoomService,
    /// Uploads and downloads.
    pub files: FileService,
    /// Message search.
    pub search: SearchService,
    /// Settings, invitations, sessions, profiles, administration.
    pub team: TeamService,
    /// Cancelled when the server stops.
    pub shutdown: CancellationToken,
    /// Running WebSocket sessions.
    pub sessions: TaskTracker,
    /// Open WebSocket sessions by account (cap, sign-out).
    pub registry: Arc<SessionRegistry>,
    /// Connection caps.
    pub connections: Arc<ConnectionLimits>,
    /// Heavy reads per user.
    pub reads: ReadBudget,
    /// Metrics exporter, when installed.
    pub metrics: Option<PrometheusHandle>,
    /// Live counts for the stats line.
    pub stats: Stats,
}

impl AppState {
    /// After a change that revokes tokens (password change, deactivation,
    /// sign-outs): re-reads the revocations and closes the sockets of the
    /// revoked tokens with 4001 now (other nodes within a refresh).
    pub async fn enforce_revocations(&self) {
        match self.auth.refresh_revocations().await {
            Ok(false) => {}
            Ok(true) => {
                let stopped = self.registry.stop_revoked(|k| self.auth.is_key_revoked(k));
                if stopped > 0 {
                    tracing::info!(sockets = stopped, "closed the sockets of revoked tokens");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read token revocations"),
        }
    }

    /// Applies the team settings that other services hold (upload limits).
    pub fn apply_settings(&self, settings: &crate::team::Settings) {
        self.files.set_limits(
            settings.max_file_bytes,
            (settings.upload_quota_bytes > 0).then_some(settings.upload_quota_bytes),
        );
    }
}
