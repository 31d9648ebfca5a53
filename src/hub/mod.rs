//! The hub: everything published after a commit reaches the right sessions.
//! The lobby (everyone is in it) and events everyone sees go through a
//! bounded broadcast of frames serialized once; events of other rooms go
//! only to their members' sessions ([`routes`]). It also keeps the newest
//! lobby frames for catching up, the head of the change stream, and presence.

mod presence;
pub mod routes;
pub mod sessions;

pub use presence::{POLLER_TTL, PRESENCE_LIST_CAP, Presence, PresenceGuard};
pub use routes::{QueueGuard, Routes, SessionQueue};
pub use sessions::{Registration, SessionKey, SessionRegistry};

use crate::protocol::stream_frame;
use crate::store::{Change, ChangeKind, LOBBY_ID, MemberEvent, RoomKind};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// One frame for sessions, shared by every receiver.
#[derive(Debug, Clone)]
pub struct Event {
    /// Stream seq (a message's id); 0 for frames outside the stream (presence).
    pub seq: i64,
    /// The complete WebSocket frame (header and JSON), built once.
    pub frame: Bytes,
    /// Part of the v1 lobby stream (lobby messages and presence): sessions
    /// that know nothing of rooms get only these.
    pub v1: bool,
}

/// Broadcast channels for everyone. Receivers are spread over them so that
/// the channel locks (taken by every receiver on every frame) are not one
/// point of contention for thousands of connections.
const SHARDS: usize = 16;

/// Lobby message frames kept for catching up lagging or resuming v1
/// connections without the store (about 2 MiB of typical messages).
const RECENT_FRAMES: usize = 8192;

/// The newest lobby message frames, in seq order.
struct Recent {
    frames: VecDeque<Event>,
    /// Every lobby message with an id above this one is in `frames`.
    floor: i64,
}

/// Shared real-time state. Changes are published here by the store's writer
/// thread after commit, in seq order.
pub struct Hub {
    everyone: Box<[broadcast::Sender<Event>]>,
    next_shard: AtomicUsize,
    head: AtomicI64,
    /// The seq of the newest change routed to every channel and queue: a
    /// session that drains its two sources after reading it has every event
    /// up to it, so it can merge them in order.
    routed: AtomicI64,
    recent: Mutex<Recent>,
    routes: Arc<Routes>,
    presence: Presence,
}

/// A v2 session's subscription: the broadcast, its own queue, the head.
pub struct StreamSubscription {
    /// Lobby and everyone's events.
    pub everyone: broadcast::Receiver<Event>,
    /// Events of the user's other rooms and their own reads.
    pub own: QueueGuard,
    /// Every event above this seq will arrive on one of the two.
    pub head: i64,
}

impl Hub {
    /// A hub whose newest change is `head`, with `capacity` frames of buffer
    /// for the broadcast and for each session's queue.
    pub fn new(head: i64, capacity: usize) -> Arc<Self> {
        let everyone = (0..SHARDS)
            .map(|_| broadcast::channel(capacity.max(16)).0)
            .collect();
        Arc::new(Self {
            everyone,
            next_shard: AtomicUsize::new(0),
            head: AtomicI64::new(head),
            routed: AtomicI64::new(head),
            recent: Mutex::new(Recent {
                frames: VecDeque::with_capacity(RECENT_FRAMES),
                floor: head,
            }),
            routes: Arc::new(Routes::new(capacity)),
            presence: Presence::default(),
        })
    }

    /// The membership index (loaded at start, kept current by `publish`).
    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    /// Publishes committed changes (called in seq order by the writer thread).
    pub fn publish(&self, changes: &[Change]) {
        for change in changes {
            let event = Event {
                seq: change.seq,
                frame: crate::protocol::text_frame(&stream_frame(change)),
                v1: matches!(change.kind, ChangeKind::Message(_)) && change.room_id == LOBBY_ID,
            };
            if event.v1 {
                self.remember(&event);
            }
            // v1 clients that resume from the cache see lobby messages as
            // they are now: edited, or gone once deleted.
            if change.room_id == LOBBY_ID {
                match &change.kind {
                    ChangeKind::Deleted { message_id } => self.refresh(*message_id, None),
                    ChangeKind::Edited(m) => {
                        let frame = crate::protocol::text_frame(&crate::protocol::message_frame(m));
                        self.refresh(m.id, Some(frame));
                    }
                    _ => {}
                }
            }
            // The head moves before the send: a subscriber that reads a head
            // below this seq is subscribed already and will receive the frame.
            self.head.store(change.seq, Ordering::SeqCst);
            self.route(change, event);
            self.routed.store(change.seq, Ordering::SeqCst);
        }
    }

    /// Tells the room's v2 sessions that `user` is typing: an ephemeral
    /// frame outside the stream (seq 0), never stored.
    pub fn typing(&self, room_id: i64, user: &crate::store::UserRef) {
        let event = Event {
            seq: 0,
            frame: crate::protocol::text_frame(&crate::protocol::typing_frame(room_id, user)),
            v1: false,
        };
        if room_id == LOBBY_ID {
            self.send(event);
        } else {
            self.routes.to_room(room_id, &event);
        }
    }

    /// The seq up to which every change has been routed.
    pub fn routed(&self) -> i64 {
        self.routed.load(Ordering::SeqCst)
    }

    fn route(&self, change: &Change, event: Event) {
        let room = change.room_id;
        match &change.kind {
            ChangeKind::Read { user_id, .. } | ChangeKind::Notify { user_id, .. } => {
                self.routes.to_user(*user_id, &event);
            }
            _ if room == LOBBY_ID => self.send(event),
            ChangeKind::Room { room: r, .. } if r.kind == RoomKind::Open => self.send(event),
            ChangeKind::Member {
                event: what, user, ..
            } => {
                // The added user hears of it; the removed one too, then nothing more.
                match what {
                    MemberEvent::Added => {
                        self.routes.add_member(room, user.id);
                        self.routes.to_room(room, &event);
                    }
                    MemberEvent::Removed => {
                        self.routes.to_room(room, &event);
                        self.routes.remove_member(room, user.id);
                    }
                }
            }
            _ => self.routes.to_room(room, &event),
        }
    }

    fn remember(&self, event: &Event) {
        // Into the catch-up cache first: whatever a lagging receiver missed
        // on the broadcast is then in the cache (or, once evicted, the store).
        let mut recent = self.lock_recent();
        if recent.frames.len() == RECENT_FRAMES
            && let Some(old) = recent.frames.pop_front()
        {
            recent.floor = old.seq;
        }
        recent.frames.push_back(event.clone());
    }

    /// Replaces a lobby message's frame in the catch-up cache (`None`:
    /// drops it, for a deletion).
    fn refresh(&self, message_id: i64, frame: Option<Bytes>) {
        let mut recent = self.lock_recent();
        if let Ok(i) = recent.frames.binary_search_by_key(&message_id, |e| e.seq) {
            match frame {
                Some(frame) => recent.frames[i].frame = frame,
                None => {
                    recent.frames.remove(i);
                }
            }
        }
    }

    fn lock_recent(&self) -> MutexGuard<'_, Recent> {
        // The cache holds no invariant a panic could break half-way.
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Up to `max` lobby message frames with ids above `after`, oldest first,
    /// from memory; `None` when some of them are only in the store.
    pub fn recent_after(&self, after: i64, max: usize) -> Option<Vec<Event>> {
        let recent = self.lock_recent();
        if after < recent.floor {
            return None;
        }
        let start = recent.frames.partition_point(|e| e.seq <= after);
        Some(recent.frames.range(start..).take(max).cloned().collect())
    }

    /// Sends one frame (shared, not copied) to everyone.
    fn send(&self, event: Event) {
        for shard in &self.everyone {
            // No receivers is fine: nobody is connected to that shard.
            let _ = shard.send(event.clone());
        }
    }

    fn subscribe_everyone(&self) -> broadcast::Receiver<Event> {
        let shard = self.next_shard.fetch_add(1, Ordering::Relaxed) % SHARDS;
        self.everyone[shard].subscribe()
    }

    /// Subscribes to the lobby stream, then reads the head: every lobby
    /// message with an id above the returned head will arrive on the receiver.
    pub fn subscribe(&self) -> (broadcast::Receiver<Event>, i64) {
        let rx = self.subscribe_everyone();
        (rx, self.head.load(Ordering::SeqCst))
    }

    /// Subscribes a v2 session of `user_id` to everything it may see, then
    /// reads the head.
    pub fn subscribe_stream(&self, user_id: i64) -> StreamSubscription {
        let everyone = self.subscribe_everyone();
        let own = self.routes.register(user_id);
        StreamSubscription {
            everyone,
            own,
            head: self.head.load(Ordering::SeqCst),
        }
    }

    /// The seq of the newest published change.
    pub fn head(&self) -> i64 {
        self.head.load(Ordering::SeqCst)
    }

    /// Who is online.
    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    /// Pushes coalesced presence frames to everyone until `shutdown`.
    pub async fn run_presence(self: Arc<Self>, shutdown: CancellationToken) {
        /// At most one presence push per this interval.
        const COALESCE: Duration = Duration::from_millis(250);
        // Pollers leave by going quiet, which no event announces.
        let mut expiry = tokio::time::interval(POLLER_TTL / 3);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.presence.changed() => {}
                _ = expiry.tick() => {}
            }
            if let Some(frame) = self.presence.take_changes() {
                self.send(Event {
                    seq: 0,
                    frame: crate::protocol::text_frame(&frame),
                    v1: true,
                });
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(COALESCE) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::Message;

    fn message(id: i64) -> Change {
        Change {
            seq: id,
            room_id: LOBBY_ID,
            kind: ChangeKind::Message(Message {
                id,
                room: "lobby".into(),
                room_id: LOBBY_ID,
                user_id: 1,
                username: "a".into(),
                content: format!("m{id}"),
                created_at: 0,
                client_id: format!("c{id}"),
                ..Message::default()
            }),
        }
    }

    #[test]
    fn the_recent_cache_serves_what_it_holds_and_refuses_older() {
        let hub = Hub::new(10, 16);
        assert_eq!(
            hub.recent_after(10, 100).unwrap().len(),
            0,
            "nothing newer than the head yet"
        );
        assert!(
            hub.recent_after(9, 100).is_none(),
            "message 10 is only in the store"
        );
        let batch: Vec<Change> = (11..=20).map(message).collect();
        hub.publish(&batch);
        let page = hub.recent_after(14, 3).unwrap();
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [15, 16, 17]);
        let many: Vec<Change> = (21..=20 + RECENT_FRAMES as i64).map(message).collect();
        hub.publish(&many);
        // 11..=20 were evicted to make room.
        assert!(
            hub.recent_after(19, 1).is_none(),
            "evicted: go to the store"
        );
        assert_eq!(hub.recent_after(20, 1).unwrap()[0].seq, 21);
        assert_eq!(hub.head(), 20 + RECENT_FRAMES as i64);
    }
}
