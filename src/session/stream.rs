//! Delivering the stream to a session: live events from the broadcast and
//! (v2) the session's own queue, merged in seq order; catch-up from the hub's
//! cache or the store when a connection resumes or falls behind.

use super::write::Batch;
use super::{End, Session};
use crate::hub::{Event, PRESENCE_LIST_CAP};
use crate::protocol::{ServerFrame, close, message_frame, stream_frame};
use crate::store::LOBBY_ID;
use crate::telemetry::names;
use std::borrow::Cow;
use tokio::sync::broadcast::{self, error::TryRecvError};

/// Broadcast frames written before one flush.
const MAX_BATCH: usize = 256;
/// Events read from the store per catch-up page.
const CATCH_UP_PAGE: usize = 256;

impl Session {
    /// Writes `first` and whatever else is ready with one system call.
    pub(super) async fn forward(
        &mut self,
        first: Option<Event>,
        rx: &mut broadcast::Receiver<Event>,
    ) -> Result<(), End> {
        if self.own.is_some() {
            return self.forward_v2(first, rx).await;
        }
        let mut batch = Batch::default();
        let mut lagged = false;
        let mut delivered = 0u64;
        let mut next = first;
        while let Some(event) = next.take() {
            // v1 sessions see lobby messages and presence only.
            if event.v1 && (event.seq == 0 || event.seq > self.last_sent) {
                if event.seq != 0 {
                    self.last_sent = event.seq;
                    delivered += 1;
                }
                batch.push(event.frame);
            }
            // Only look for more when a newer change was published: an
            // empty try_recv costs a lock on the channel.
            if batch.len() < MAX_BATCH && self.state.hub.head() > self.last_sent {
                match rx.try_recv() {
                    Ok(e) => next = Some(e),
                    Err(TryRecvError::Lagged(_)) => lagged = true,
                    Err(_) => {}
                }
            }
        }
        self.write_batch(&batch).await?;
        self.state.stats.delivered(delivered);
        if lagged {
            Box::pin(self.resync()).await
        } else {
            Ok(())
        }
    }

    /// v2: merges the broadcast and the session's queue in seq order. An
    /// event is written only once every event before it has been routed
    /// (the hub's `routed` mark), so one source can never run ahead of the
    /// other: a later event never goes out before an earlier one.
    async fn forward_v2(
        &mut self,
        first: Option<Event>,
        rx: &mut broadcast::Receiver<Event>,
    ) -> Result<(), End> {
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend(first);
        loop {
            let routed = self.state.hub.routed();
            let mut lagged = false;
            loop {
                match rx.try_recv() {
                    Ok(e) => pending.push(e),
                    Err(TryRecvError::Lagged(_)) => {
                        lagged = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            if let Some(own) = &self.own {
                lagged |= own.queue.take(&mut pending);
            }
            if lagged {
                // Everything dropped is committed: the store has it all.
                pending.clear();
                return Box::pin(self.resync()).await;
            }
            pending.sort_by_key(|e| e.seq);
            let ready = pending.partition_point(|e| e.seq <= routed);
            let mut batch = Batch::default();
            let mut delivered = 0u64;
            for event in pending.drain(..ready) {
                if event.seq == 0 || event.seq > self.last_sent {
                    if event.seq != 0 {
                        self.last_sent = event.seq;
                        delivered += 1;
                    }
                    batch.push(event.frame);
                }
            }
            self.write_batch(&batch).await?;
            self.state.stats.delivered(delivered);
            if pending.is_empty() {
                return Ok(());
            }
            // The publisher is routing these right now: a moment's wait.
            tokio::task::yield_now().await;
        }
    }

    /// The stream moved past this client: send what it missed from the store.
    pub(super) async fn resync(&mut self) -> Result<(), End> {
        metrics::counter!(names::RESYNCS).increment(1);
        tracing::debug!(user = %self.user.username, last = self.last_sent, "resyncing a lagging connection");
        self.catch_up().await?;
        // Presence frames may have been skipped too: send the current state.
        let online = self.state.hub.presence().snapshot(PRESENCE_LIST_CAP);
        let frame = ServerFrame::Presence {
            count: online.count,
            users: Some(&online.users),
            joined: &[],
            left: &[],
        };
        let mut batch = Batch::default();
        batch.push(frame.to_ws_frame());
        self.write_batch(&batch).await
    }

    /// Sends everything after `last_sent`, page by page. v1: lobby messages,
    /// from the hub's cache of recent frames when it reaches back far enough
    /// (no encoding, no database), else from the store. v2: the user's
    /// stream, from the store.
    pub(super) async fn catch_up(&mut self) -> Result<(), End> {
        loop {
            let mut batch = Batch::default();
            let cached = if self.own.is_none() {
                self.state.hub.recent_after(self.last_sent, CATCH_UP_PAGE)
            } else {
                None
            };
            let (count, more) = if let Some(events) = cached {
                let count = events.len();
                if let Some(last) = events.last() {
                    self.last_sent = last.seq;
                }
                for event in events {
                    batch.push(event.frame);
                }
                (count, count == CATCH_UP_PAGE)
            } else {
                // Pages from the store come out of the user's read budget:
                // paced, not refused, since the server owes them.
                self.state.reads.wait(&self.user.id).await;
                match self.store_page(&mut batch).await {
                    Ok(counted) => counted,
                    Err(e) => {
                        // Without the store this client cannot be caught up
                        // here; it can on a fresh connection, by resuming.
                        tracing::error!(error = %e, "catch-up read failed");
                        metrics::counter!(names::SLOW_CLOSES).increment(1);
                        return Err(End::Close(
                            close::TOO_SLOW,
                            Cow::Borrowed("cannot catch up: reconnect and resume"),
                        ));
                    }
                }
            };
            self.write_batch(&batch).await?;
            self.state.stats.delivered(count as u64);
            if !more {
                return Ok(());
            }
        }
    }

    /// One page from the store into `batch`: (events, more to come).
    async fn store_page(
        &mut self,
        batch: &mut Batch,
    ) -> Result<(usize, bool), crate::store::StoreError> {
        let reader = &self.state.store;
        if self.own.is_some() {
            let page = reader
                .stream(self.user.id, self.last_sent, CATCH_UP_PAGE)
                .await?;
            for change in &page.changes {
                batch.push(crate::protocol::text_frame(&stream_frame(change)));
                self.last_sent = change.seq;
            }
            Ok((page.changes.len(), page.has_more))
        } else {
            let page = reader
                .after(LOBBY_ID, self.last_sent, CATCH_UP_PAGE)
                .await?;
            // v1 clients know nothing of deletions: deleted messages are left out.
            for message in &page.messages {
                if !message.deleted {
                    batch.push(crate::protocol::text_frame(&message_frame(message)));
                }
                self.last_sent = message.id;
            }
            Ok((page.messages.len(), page.has_more))
        }
    }

    /// On shutdown: write what was already published, then close with 1001.
    pub(super) async fn drain_for_shutdown(&mut self, rx: &mut broadcast::Receiver<Event>) -> End {
        loop {
            let next = match rx.try_recv() {
                Ok(event) => Some(event),
                Err(TryRecvError::Lagged(_)) => {
                    if let Err(end) = self.catch_up().await {
                        return end;
                    }
                    continue;
                }
                Err(_) => None,
            };
            let queued = self.own.as_ref().is_some_and(|o| o.queue.has_items());
            if next.is_none() && !queued {
                return End::Close(close::GOING_AWAY, Cow::Borrowed("server shutting down"));
            }
            if let Err(end) = self.forward(next, rx).await {
                return end;
            }
        }
    }
}
