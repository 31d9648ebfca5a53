//! What a node does as part of a cluster (the PostgreSQL store): it shares
//! who is online on it and learns who is online on the others. Messages and
//! rooms need nothing here: the store's publisher brings every node's
//! changes to this node's hub.

use crate::state::AppState;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The file in the data directory that names this node across restarts.
pub const NODE_ID_FILE: &str = "node-id";
/// Local changes are gathered this long before they are shared.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// This node's name: kept in the data directory, so a restarted node
/// recognises (and clears) the presence rows it left behind.
pub fn node_id(data_dir: &Path) -> std::io::Result<String> {
    let path = data_dir.join(NODE_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_owned()),
        _ => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            std::fs::write(&path, &id)?;
            Ok(id)
        }
    }
}

/// Shares this node's online users every third of `--presence-ttl` (and
/// at once when they change), and reads the other nodes' users (when they
/// announce a change, and at each renewal). Rows of a node that stops
/// renewing them expire, so a dead node's users go offline within the TTL.
pub async fn run_presence(state: Arc<AppState>, node: String) {
    let Some(pg) = state.store.cluster() else {
        return;
    };
    let ttl = state.config.presence_ttl;
    let renew = ttl / 3;
    let presence = state.hub.presence();
    let others_changed = pg.presence_changed();
    let mut shared: Option<Vec<crate::store::UserRef>> = None;
    let mut renewed = Instant::now();
    loop {
        let local = presence.local_users();
        let changed = shared.as_ref() != Some(&local);
        if changed || renewed.elapsed() >= renew {
            match pg.presence_publish(&node, &local, ttl, changed).await {
                Ok(()) => {
                    shared = Some(local);
                    renewed = Instant::now();
                }
                Err(e) => tracing::warn!(error = %e, "cannot share presence with the cluster"),
            }
        }
        match pg.presence_others(&node).await {
            Ok(others) => presence.set_remote(others),
            Err(e) => tracing::warn!(error = %e, "cannot read the cluster's presence"),
        }
        tokio::select! {
            () = state.shutdown.cancelled() => break,
            () = tokio::time::sleep(renew) => {}
            () = others_changed.notified() => {}
            () = presence.local_changed() => tokio::time::sleep(DEBOUNCE).await,
        }
    }
    // A clean stop takes this node's users offline at once.
    if let Err(e) = pg.presence_publish(&node, &[], ttl, true).await {
        tracing::debug!(error = %e, "cannot clear this node's presence");
    }
}
