//! Who is online: a count of open connections per user, plus users of the
//! polling API seen in the last [`POLLER_TTL`]. A user with two tabs counts
//! once and leaves when the last one closes. Changes are pushed as coalesced
//! `presence` frames by [`super::Hub::run_presence`].

use super::Hub;
use crate::protocol::{Online, OnlineUser, ServerFrame};
use serde_json::value::RawValue;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A polling client counts as online this long after its last poll.
pub const POLLER_TTL: Duration = Duration::from_secs(15);

/// Most users listed in a WebSocket frame (`hello`, snapshots, and the
/// `joined`/`left` of a push); `count` is always exact. Larger teams get the
/// whole list from `GET /api/chat/online-users`.
pub const PRESENCE_LIST_CAP: usize = 200;

#[derive(Default)]
struct State {
    /// user id → (name, open connections)
    connections: HashMap<i64, (String, usize)>,
    /// user id → (name, last poll)
    pollers: HashMap<i64, (String, Instant)>,
    /// user id → name: online on other nodes of a cluster.
    remote: HashMap<i64, String>,
    /// The set clients were last told about.
    announced: BTreeSet<OnlineUser>,
    /// The `online` object of `hello` frames, built once per change of the
    /// set: thousands of connections opening at once would otherwise each
    /// copy and sort every online user (and fragment the heap doing it).
    hello: Option<Arc<RawValue>>,
}

/// The presence registry.
#[derive(Default)]
pub struct Presence {
    state: Mutex<State>,
    notify: Notify,
    /// Wakes the cluster task when this node's own set changed.
    local: Notify,
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
            let entry = state
                .connections
                .entry(user_id)
                .or_insert_with(|| (username.to_owned(), 0));
            entry.1 += 1;
            if entry.1 == 1 {
                state.hello = None;
                hub.presence.local.notify_one();
            }
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
                    state.hello = None;
                    self.local.notify_one();
                }
            }
        }
        self.notify.notify_one();
    }

    /// Records a poll of the polling API by `user`.
    pub fn polled(&self, user_id: i64, username: &str) {
        let new = {
            let mut state = self.lock();
            let now = Instant::now();
            let new = state
                .pollers
                .insert(user_id, (username.to_owned(), now))
                .is_none();
            if new {
                state.hello = None;
            }
            new
        };
        if new {
            self.notify.notify_one();
            self.local.notify_one();
        }
    }

    /// Who is online on this node (sockets and recent polls), by id.
    pub fn local_users(&self) -> Vec<OnlineUser> {
        let state = self.lock();
        let mut users: Vec<OnlineUser> = state.local().into_iter().collect();
        users.sort_by_key(|u| u.id);
        users
    }

    /// Replaces the users online on other nodes (a cluster).
    pub fn set_remote(&self, users: Vec<OnlineUser>) {
        let remote: HashMap<i64, String> = users.into_iter().map(|u| (u.id, u.username)).collect();
        let changed = {
            let mut state = self.lock();
            let changed = state.remote != remote;
            if changed {
                state.remote = remote;
                state.hello = None;
            }
            changed
        };
        if changed {
            self.notify.notify_one();
        }
    }

    /// Waits until this node's own set changed (a first socket, a last one
    /// closing, a new poller).
    pub async fn local_changed(&self) {
        self.local.notified().await;
    }

    /// Who is online now: the exact count and up to `cap` users.
    pub fn snapshot(&self, cap: usize) -> Online {
        let users = self.lock().current();
        let count = users.len();
        Online {
            count,
            users: sorted_capped(users, cap),
        }
    }

    /// The number of users online.
    pub fn count(&self) -> usize {
        self.lock().current().len()
    }

    /// `{"count":N,"users":[…]}` for `hello` frames (up to
    /// [`PRESENCE_LIST_CAP`] users), shared until the set changes.
    pub fn hello_json(&self) -> Arc<RawValue> {
        let mut state = self.lock();
        if let Some(cached) = &state.hello {
            return cached.clone();
        }
        let users = state.current();
        let online = Online {
            count: users.len(),
            users: sorted_capped(users, PRESENCE_LIST_CAP),
        };
        let json =
            serde_json::to_string(&online).unwrap_or_else(|_| r#"{"count":0,"users":[]}"#.into());
        let raw: Arc<RawValue> = RawValue::from_string(json)
            .map(Arc::from)
            .unwrap_or_else(|_| Arc::from(RawValue::NULL.to_owned()));
        state.hello = Some(raw.clone());
        raw
    }

    /// Waits until something changed since the last push.
    pub(super) async fn changed(&self) {
        self.notify.notified().await;
    }

    /// A presence frame for what changed since the last one, if anything did.
    pub(super) fn take_changes(&self) -> Option<String> {
        let mut state = self.lock();
        let polling = state.pollers.len();
        state.pollers.retain(|_, (_, at)| at.elapsed() < POLLER_TTL);
        if state.pollers.len() != polling {
            state.hello = None;
        }
        let current = state.current();
        let joined: Vec<OnlineUser> = current.difference(&state.announced).cloned().collect();
        let left: Vec<OnlineUser> = state.announced.difference(&current).cloned().collect();
        if joined.is_empty() && left.is_empty() {
            return None;
        }
        let count = current.len();
        // More changes than a frame lists (a mass reconnect): send the list
        // itself, so clients never apply truncated changes.
        let truncated = joined.len() > PRESENCE_LIST_CAP || left.len() > PRESENCE_LIST_CAP;
        let users = truncated.then(|| sorted_capped(current.clone(), PRESENCE_LIST_CAP));
        let (joined, left) = if truncated {
            (&[][..], &[][..])
        } else {
            (&joined[..], &left[..])
        };
        let frame = ServerFrame::Presence {
            count,
            users: users.as_deref(),
            joined,
            left,
        }
        .to_json();
        state.announced = current;
        Some(frame)
    }
}

impl State {
    /// Users online anywhere: here, or on another node of a cluster.
    fn current(&self) -> BTreeSet<OnlineUser> {
        let mut users = self.local();
        users.extend(self.remote.iter().map(|(id, name)| OnlineUser {
            id: *id,
            username: name.clone(),
        }));
        users
    }

    /// Users with an open connection or a recent poll on this node.
    fn local(&self) -> BTreeSet<OnlineUser> {
        let online = |(id, name): (&i64, &String)| OnlineUser {
            id: *id,
            username: name.clone(),
        };
        self.connections
            .iter()
            .map(|(id, (name, _))| online((id, name)))
            .chain(
                self.pollers
                    .iter()
                    .filter(|(_, (_, at))| at.elapsed() < POLLER_TTL)
                    .map(|(id, (name, _))| online((id, name))),
            )
            .collect()
    }
}

/// Users sorted by name, at most `cap`.
fn sorted_capped(users: BTreeSet<OnlineUser>, cap: usize) -> Vec<OnlineUser> {
    let mut users: Vec<OnlineUser> = users.into_iter().collect();
    users.sort_by(|a, b| a.username.cmp(&b.username).then(a.id.cmp(&b.id)));
    users.truncate(cap);
    users
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
        assert_eq!(hub.presence().snapshot(PRESENCE_LIST_CAP).count, 2);
        let frame = hub.presence().take_changes().unwrap();
        assert!(
            frame.contains(r#""count":2"#)
                && frame.contains(
                    r#""joined":[{"id":1,"username":"alice"},{"id":2,"username":"bob"}]"#
                ),
            "{frame}"
        );
        drop(a1);
        assert_eq!(hub.presence().snapshot(PRESENCE_LIST_CAP).count, 2);
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
        assert_eq!(hub.presence().snapshot(PRESENCE_LIST_CAP).count, 0);
    }

    #[test]
    fn pollers_count_as_online_and_once_with_a_socket() {
        let hub = Hub::new(0, 16);
        hub.presence().polled(3, "carol");
        let _ws = Presence::join(&hub, 3, "carol");
        hub.presence().polled(4, "dan");
        let online = hub.presence().snapshot(PRESENCE_LIST_CAP);
        assert_eq!(online.count, 2);
        assert_eq!(
            online
                .users
                .iter()
                .map(|u| u.username.as_str())
                .collect::<Vec<_>>(),
            ["carol", "dan"]
        );
        assert!(
            hub.presence()
                .take_changes()
                .unwrap()
                .contains(r#""count":2"#)
        );
    }
}
