//! Who is online: a count of open connections per user. A user with two tabs
//! counts once and leaves when the last one closes. Changes are pushed as
//! coalesced `presence` frames by [`super::Hub::run_presence`].

use super::Hub;
use crate::protocol::{Online, OnlineUser, ServerFrame};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// Most users listed in one frame; `count` is always exact.
pub const PRESENCE_LIST_CAP: usize = 500;

#[derive(Default)]
struct State {
    /// user id → (name, open connections)
    connections: HashMap<i64, (String, usize)>,
    /// The set clients were last told about.
    announced: BTreeSet<OnlineUser>,
}

/// The presence registry.
#[derive(Default)]
pub struct Presence {
    state: Mutex<State>,
    notify: Notify,
}

/// Keeps a user online while alive; dropping it is the disconnect.
pub struct PresenceGuard {
    hub: Arc<Hub>,
    user_id: i64,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        self.hub.presence.leave(self.user_id);
    }
}

impl Presence {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves consistent counts behind, so
        // recover the data instead of propagating the poison.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks one more connection of `user` as open.
    pub fn join(hub: &Arc<Hub>, user_id: i64, username: &str) -> PresenceGuard {
        {
            let mut state = hub.presence.lock();
            state
                .connections
                .entry(user_id)
                .or_insert_with(|| (username.to_owned(), 0))
                .1 += 1;
        }
        hub.presence.notify.notify_one();
        PresenceGuard {
            hub: hub.clone(),
            user_id,
        }
    }

    fn leave(&self, user_id: i64) {
        {
            let mut state = self.lock();
            if let Some(entry) = state.connections.get_mut(&user_id) {
                entry.1 -= 1;
                if entry.1 == 0 {
                    state.connections.remove(&user_id);
                }
            }
        }
        self.notify.notify_one();
    }

    /// Who is online now.
    pub fn snapshot(&self) -> Online {
        let state = self.lock();
        let mut users: Vec<OnlineUser> = state
            .connections
            .iter()
            .map(|(id, (name, _))| OnlineUser {
                id: *id,
                username: name.clone(),
            })
            .collect();
        users.sort_by(|a, b| a.username.cmp(&b.username).then(a.id.cmp(&b.id)));
        let count = users.len();
        users.truncate(PRESENCE_LIST_CAP);
        Online { count, users }
    }

    /// Waits until something changed since the last push.
    pub(super) async fn changed(&self) {
        self.notify.notified().await;
    }

    /// A presence frame for what changed since the last one, if anything did.
    pub(super) fn take_changes(&self) -> Option<String> {
        let mut state = self.lock();
        let current: BTreeSet<OnlineUser> = state
            .connections
            .iter()
            .map(|(id, (name, _))| OnlineUser {
                id: *id,
                username: name.clone(),
            })
            .collect();
        let joined: Vec<OnlineUser> = current.difference(&state.announced).cloned().collect();
        let left: Vec<OnlineUser> = state.announced.difference(&current).cloned().collect();
        if joined.is_empty() && left.is_empty() {
            return None;
        }
        let mut users: Vec<OnlineUser> = current.iter().cloned().collect();
        users.sort_by(|a, b| a.username.cmp(&b.username).then(a.id.cmp(&b.id)));
        users.truncate(PRESENCE_LIST_CAP);
        let frame = ServerFrame::Presence {
            count: current.len(),
            users: &users,
            joined: &joined[..joined.len().min(PRESENCE_LIST_CAP)],
            left: &left[..left.len().min(PRESENCE_LIST_CAP)],
        }
        .to_json();
        state.announced = current;
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_tabs_count_once_and_leave_with_the_last() {
        let hub = Hub::new(0, 16);
        let a1 = Presence::join(&hub, 1, "alice");
        let a2 = Presence::join(&hub, 1, "alice");
        let b = Presence::join(&hub, 2, "bob");
        assert_eq!(hub.presence().snapshot().count, 2);
        let frame = hub.presence().take_changes().unwrap();
        assert!(
            frame.contains(r#""count":2"#)
                && frame.contains(
                    r#""joined":[{"id":1,"username":"alice"},{"id":2,"username":"bob"}]"#
                ),
            "{frame}"
        );
        drop(a1);
        assert_eq!(hub.presence().snapshot().count, 2);
        assert!(
            hub.presence().take_changes().is_none(),
            "one tab closing is not a leave"
        );
        drop(a2);
        let frame = hub.presence().take_changes().unwrap();
        assert!(
            frame.contains(r#""left":[{"id":1,"username":"alice"}]"#)
                && frame.contains(r#""count":1"#),
            "{frame}"
        );
        drop(b);
        assert_eq!(hub.presence().snapshot().count, 0);
    }
}
