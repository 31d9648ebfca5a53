//! The hub: a bounded broadcast of frames serialized once per room, the id of
//! the newest published message, and the presence registry.

mod presence;

pub use presence::{POLLER_TTL, PRESENCE_LIST_CAP, Presence, PresenceGuard};

use crate::protocol::ServerFrame;
use crate::store::Message;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// One frame on a room's broadcast, shared by every receiver.
#[derive(Debug, Clone)]
pub struct Event {
    /// Message id for message frames, 0 for others (presence).
    pub id: i64,
    /// The complete WebSocket frame (header and JSON), built once.
    pub frame: Bytes,
}

/// Broadcast channels per room. Receivers are spread over them so that the
/// channel locks (taken by every receiver on every frame) are not one point
/// of contention for thousands of connections.
const SHARDS: usize = 16;

/// Message frames kept for catching up lagging or resuming connections
/// without the store (about 2 MiB of typical messages).
const RECENT_FRAMES: usize = 8192;

/// The newest message frames, in id order.
struct Recent {
    frames: VecDeque<Event>,
    /// Every message with an id above this one is in `frames`.
    floor: i64,
}

/// Shared real-time state. Messages are published here by the store's writer
/// thread after commit, in id order.
pub struct Hub {
    lobby: Box<[broadcast::Sender<Event>]>,
    next_shard: AtomicUsize,
    head: AtomicI64,
    recent: Mutex<Recent>,
    presence: Presence,
}

impl Hub {
    /// A hub whose newest message is `head_id`, with `capacity` frames of
    /// broadcast buffer per room.
    pub fn new(head_id: i64, capacity: usize) -> Arc<Self> {
        let lobby = (0..SHARDS)
            .map(|_| broadcast::channel(capacity.max(16)).0)
            .collect();
        Arc::new(Self {
            lobby,
            next_shard: AtomicUsize::new(0),
            head: AtomicI64::new(head_id),
            recent: Mutex::new(Recent {
                frames: VecDeque::with_capacity(RECENT_FRAMES),
                floor: head_id,
            }),
            presence: Presence::default(),
        })
    }

    /// Publishes committed messages (called in id order by the writer thread).
    pub fn publish(&self, messages: &[Message]) {
        let events: Vec<Event> = messages
            .iter()
            .map(|message| Event {
                id: message.id,
                frame: ServerFrame::Message { message }.to_ws_frame(),
            })
            .collect();
        // Into the catch-up cache first: whatever a lagging receiver missed
        // on the broadcast is then in the cache (or, once evicted, the store).
        {
            let mut recent = self.lock_recent();
            for event in &events {
                if recent.frames.len() == RECENT_FRAMES
                    && let Some(old) = recent.frames.pop_front()
                {
                    recent.floor = old.id;
                }
                recent.frames.push_back(event.clone());
            }
        }
        for event in events {
            // The head moves before the send: a subscriber that reads a head
            // below this id is subscribed already and will receive the frame.
            self.head.store(event.id, Ordering::SeqCst);
            self.send(event);
        }
    }

    fn lock_recent(&self) -> MutexGuard<'_, Recent> {
        // The cache holds no invariant a panic could break half-way.
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Up to `max` message frames with ids above `after`, oldest first, from
    /// memory; `None` when some of them are only in the store.
    pub fn recent_after(&self, after: i64, max: usize) -> Option<Vec<Event>> {
        let recent = self.lock_recent();
        if after < recent.floor {
            return None;
        }
        let start = recent.frames.partition_point(|e| e.id <= after);
        Some(recent.frames.range(start..).take(max).cloned().collect())
    }

    /// Sends one frame (shared, not copied) to every receiver of the lobby.
    fn send(&self, event: Event) {
        for shard in &self.lobby {
            // No receivers is fine: nobody is connected to that shard.
            let _ = shard.send(event.clone());
        }
    }

    /// Subscribes to the lobby, then reads the head: every message with an id
    /// above the returned head will arrive on the receiver.
    pub fn subscribe(&self) -> (broadcast::Receiver<Event>, i64) {
        let shard = self.next_shard.fetch_add(1, Ordering::Relaxed) % SHARDS;
        let rx = self.lobby[shard].subscribe();
        (rx, self.head.load(Ordering::SeqCst))
    }

    /// The id of the newest published message.
    pub fn head(&self) -> i64 {
        self.head.load(Ordering::SeqCst)
    }

    /// Who is online.
    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    /// Pushes coalesced presence frames to the lobby until `shutdown`.
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
                    id: 0,
                    frame: crate::protocol::text_frame(&frame),
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

    fn message(id: i64) -> Message {
        Message {
            id,
            room: "lobby",
            user_id: 1,
            username: "a".into(),
            content: format!("m{id}"),
            created_at: 0,
            client_id: format!("c{id}"),
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
        let batch: Vec<Message> = (11..=20).map(message).collect();
        hub.publish(&batch);
        let page = hub.recent_after(14, 3).unwrap();
        assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), [15, 16, 17]);
        let many: Vec<Message> = (21..=20 + RECENT_FRAMES as i64).map(message).collect();
        hub.publish(&many);
        // 11..=20 were evicted to make room.
        assert!(
            hub.recent_after(19, 1).is_none(),
            "evicted: go to the store"
        );
        assert_eq!(hub.recent_after(20, 1).unwrap()[0].id, 21);
        assert_eq!(hub.head(), 20 + RECENT_FRAMES as i64);
    }
}
