//! Routing of changes outside the lobby: which users are in which room, and
//! each v2 session's queue. The writer thread updates the membership index in
//! stream order as it publishes, so routing always matches the commit: after
//! a removal is committed, no later event of the room reaches the removed
//! user. A direct message wakes only its members' sessions.

use super::Event;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

/// One v2 session's queue of events from rooms other than the lobby.
#[derive(Default)]
pub struct SessionQueue {
    items: Mutex<VecDeque<Event>>,
    notify: Notify,
    /// Events were dropped because the queue was full: resync from the store.
    lagged: AtomicBool,
    capacity: usize,
}

impl SessionQueue {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Event>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, event: Event) {
        {
            let mut items = self.lock();
            if items.len() >= self.capacity {
                // Too slow: drop, and let the session catch up from the store.
                self.lagged.store(true, Ordering::Release);
                return;
            }
            items.push_back(event);
        }
        self.notify.notify_one();
    }

    /// Waits until something was pushed (returns at once if it already was).
    pub async fn ready(&self) {
        self.notify.notified().await;
    }

    /// Whether events wait in the queue.
    pub fn has_items(&self) -> bool {
        !self.lock().is_empty()
    }

    /// Takes everything queued, and whether events were dropped since the
    /// last call (then the caller must catch up from the store).
    pub fn take(&self, into: &mut Vec<Event>) -> bool {
        let lagged = self.lagged.swap(false, Ordering::AcqRel);
        into.extend(self.lock().drain(..));
        lagged
    }
}

#[derive(Default)]
struct Index {
    /// Room → its current members (rooms other than the lobby).
    members: HashMap<i64, HashSet<i64>>,
    /// User → the queues of their v2 sessions.
    sessions: HashMap<i64, Vec<Arc<SessionQueue>>>,
}

/// The membership index and the session queues.
pub struct Routes {
    index: Mutex<Index>,
    capacity: usize,
    /// Events queued to sessions so far (each one a wake-up).
    pushes: AtomicU64,
}

impl Routes {
    /// Empty routes; each session queue holds `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self {
            index: Mutex::new(Index::default()),
            capacity: capacity.max(16),
            pushes: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        // The index holds plain sets; a panic cannot leave one half-updated.
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Loads the current memberships (at start, before serving).
    pub fn load(&self, memberships: impl IntoIterator<Item = (i64, i64)>) {
        let mut index = self.lock();
        for (room, user) in memberships {
            index.members.entry(room).or_default().insert(user);
        }
    }

    /// Records a new member (before routing the event that announces it).
    pub fn add_member(&self, room: i64, user: i64) {
        self.lock().members.entry(room).or_default().insert(user);
    }

    /// Forgets a member (after routing the event that announces it).
    pub fn remove_member(&self, room: i64, user: i64) {
        let mut index = self.lock();
        if let Some(set) = index.members.get_mut(&room) {
            set.remove(&user);
            if set.is_empty() {
                index.members.remove(&room);
            }
        }
    }

    /// Whether `user` is a member of `room` now (outside the lobby).
    pub fn is_member(&self, room: i64, user: i64) -> bool {
        self.lock()
            .members
            .get(&room)
            .is_some_and(|set| set.contains(&user))
    }

    /// Events queued to sessions so far: each is one session woken up.
    pub fn pushes(&self) -> u64 {
        self.pushes.load(Ordering::Relaxed)
    }

    /// Queues `event` for every session of every member of `room`.
    pub fn to_room(&self, room: i64, event: &Event) {
        let index = self.lock();
        let Some(members) = index.members.get(&room) else {
            return;
        };
        for user in members {
            Self::push_all(&self.pushes, index.sessions.get(user), event);
        }
    }

    /// Queues `event` for every session of `user`.
    pub fn to_user(&self, user: i64, event: &Event) {
        let index = self.lock();
        Self::push_all(&self.pushes, index.sessions.get(&user), event);
    }

    fn push_all(pushes: &AtomicU64, queues: Option<&Vec<Arc<SessionQueue>>>, event: &Event) {
        for queue in queues.into_iter().flatten() {
            queue.push(event.clone());
            pushes.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A new session's queue; the guard removes it.
    pub fn register(self: &Arc<Self>, user: i64) -> QueueGuard {
        let queue = Arc::new(SessionQueue::new(self.capacity));
        self.lock()
            .sessions
            .entry(user)
            .or_default()
            .push(queue.clone());
        QueueGuard {
            routes: self.clone(),
            user,
            queue,
        }
    }
}

/// A registered session queue; dropping it unregisters the session.
pub struct QueueGuard {
    routes: Arc<Routes>,
    user: i64,
    /// The queue.
    pub queue: Arc<SessionQueue>,
}

impl Drop for QueueGuard {
    fn drop(&mut self) {
        let mut index = self.routes.lock();
        if let Some(list) = index.sessions.get_mut(&self.user) {
            list.retain(|q| !Arc::ptr_eq(q, &self.queue));
            if list.is_empty() {
                index.sessions.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn event(seq: i64) -> Event {
        Event {
            seq,
            frame: Bytes::from_static(b"x"),
            v1: false,
        }
    }

    #[test]
    fn routes_to_members_sessions_only_and_follows_membership() {
        let routes = Arc::new(Routes::new(16));
        routes.load([(7, 1), (7, 2)]);
        let a = routes.register(1);
        let b = routes.register(2);
        let c = routes.register(3);
        routes.to_room(7, &event(10));
        let take = |g: &QueueGuard| {
            let mut v = Vec::new();
            g.queue.take(&mut v);
            v.iter().map(|e| e.seq).collect::<Vec<_>>()
        };
        assert_eq!((take(&a), take(&b), take(&c)), (vec![10], vec![10], vec![]));
        routes.remove_member(7, 2);
        routes.add_member(7, 3);
        routes.to_room(7, &event(11));
        assert_eq!((take(&a), take(&b), take(&c)), (vec![11], vec![], vec![11]));
        routes.to_user(1, &event(12));
        assert_eq!(take(&a), vec![12]);
        drop(a);
        routes.to_room(7, &event(13));
        assert_eq!(take(&c), vec![13]);
    }

    #[test]
    fn a_full_queue_marks_the_session_lagged() {
        let routes = Arc::new(Routes::new(16));
        routes.load([(7, 1)]);
        let a = routes.register(1);
        for seq in 0..20 {
            routes.to_room(7, &event(seq));
        }
        let mut got = Vec::new();
        assert!(a.queue.take(&mut got), "lagged");
        assert_eq!(got.len(), 16);
        assert!(!a.queue.take(&mut got), "reported once");
    }
}
