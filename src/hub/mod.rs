//! The hub: a bounded broadcast of frames serialized once per room, the id of
//! the newest published message, and the presence registry.

mod presence;

pub use presence::{POLLER_TTL, PRESENCE_LIST_CAP, Presence, PresenceGuard};

use crate::protocol::ServerFrame;
use crate::store::Message;
use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
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

/// Shared real-time state. Messages are published here by the store's writer
/// thread after commit, in id order.
pub struct Hub {
    lobby: Box<[broadcast::Sender<Event>]>,
    next_shard: AtomicUsize,
    head: AtomicI64,
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
            presence: Presence::default(),
        })
    }

    /// Publishes committed messages (called in id order by the writer thread).
    pub fn publish(&self, messages: &[Message]) {
        for message in messages {
            let frame = ServerFrame::Message { message }.to_ws_frame();
            // The head moves before the send: a subscriber that reads a head
            // below this id is subscribed already and will receive the frame.
            self.head.store(message.id, Ordering::SeqCst);
            self.send(Event {
                id: message.id,
                frame,
            });
        }
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
