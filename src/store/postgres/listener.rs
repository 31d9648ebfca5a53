//! The two tasks that make a node part of the cluster: the listener holds a
//! connection with `LISTEN` and turns notifications into wake-ups; the
//! publisher, on each wake-up (or every [`REREAD_EVERY`], in case one was
//! missed), reads the events after the last seq it published and hands them
//! to the hub in seq order. A notification is only a wake-up: after the
//! listener reconnects, the publisher simply reads from where it was.

use super::changes::changes_after;
use super::tx::EVENTS_CHANNEL;
use crate::store::Publisher;
use deadpool_postgres::Pool;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::CancellationToken;

/// The channel of cluster presence changes.
pub(super) const PRESENCE_CHANNEL: &str = "hearth_presence";
/// The channel of typing indicators (ephemeral: a NOTIFY, never a row).
/// Payload: `<origin> <room id> <user id> <username>`.
pub(super) const TYPING_CHANNEL: &str = "hearth_typing";

/// Someone is typing, as another node reported it.
#[derive(Debug, Clone)]
pub struct TypingNote {
    /// The room.
    pub room_id: i64,
    /// Who types.
    pub user: crate::store::UserRef,
}

/// Parses a typing payload; `None` for this node's own (or a broken one).
fn typing_note(payload: &str, origin: &str) -> Option<TypingNote> {
    let mut parts = payload.splitn(4, ' ');
    if parts.next()? == origin {
        return None;
    }
    let room_id = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    let username = parts.next()?.to_owned();
    Some(TypingNote {
        room_id,
        user: crate::store::UserRef { id, username },
    })
}

/// Where the listener delivers what it hears besides wake-ups.
pub(super) struct Ears {
    /// Wakes the publisher.
    pub wake: Arc<Notify>,
    /// Wakes the presence task.
    pub presence: Arc<Notify>,
    /// Other nodes' typing indicators.
    pub typing: tokio::sync::broadcast::Sender<TypingNote>,
    /// This node's origin mark (its own notes are skipped).
    pub origin: Arc<str>,
}
/// The `application_name` of the listener's connection (the tests find it
/// by this name to kill it).
pub const LISTENER_NAME: &str = "hearth-listener";
/// The publisher reads even without a wake-up this often.
const REREAD_EVERY: Duration = Duration::from_secs(1);
/// Events read per query.
const PAGE: i64 = 1000;

/// Keeps a `LISTEN` connection open, reconnecting with a back-off.
pub(super) async fn listen(
    mut config: tokio_postgres::Config,
    ears: Ears,
    stop: CancellationToken,
) {
    config.application_name(LISTENER_NAME);
    let mut backoff = Duration::from_millis(100);
    loop {
        let ended = tokio::select! {
            () = stop.cancelled() => return,
            ended = listen_once(&config, &ears) => ended,
        };
        if let Err(e) = ended {
            tracing::warn!(error = %e, retry_in = ?backoff, "the database listener connection ended; reconnecting");
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One listener connection, until it breaks.
async fn listen_once(
    config: &tokio_postgres::Config,
    ears: &Ears,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // The connection must be polled for notifications to arrive.
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx
                        .send((n.channel().to_owned(), n.payload().to_owned()))
                        .is_err()
                    {
                        return Ok(());
                    }
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    client
        .batch_execute(&format!(
            "LISTEN {EVENTS_CHANNEL}; LISTEN {PRESENCE_CHANNEL}; LISTEN {TYPING_CHANNEL}"
        ))
        .await?;
    tracing::debug!("listening for other nodes' changes");
    // Anything committed while this connection was down is read now.
    ears.wake.notify_one();
    ears.presence.notify_one();
    while let Some((channel, payload)) = rx.recv().await {
        if channel == PRESENCE_CHANNEL {
            ears.presence.notify_one();
        } else if channel == TYPING_CHANNEL {
            if let Some(note) = typing_note(&payload, &ears.origin) {
                // Nobody listening is fine (no local sessions care yet).
                let _ = ears.typing.send(note);
            }
        } else {
            ears.wake.notify_one();
        }
    }
    drop(client);
    match driver.await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}

/// Publishes every change after `last`, in seq order, on each wake-up.
pub(super) async fn publish(
    pool: Pool,
    mut last: i64,
    wake: Arc<Notify>,
    published: Arc<watch::Sender<i64>>,
    publish: Publisher,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(REREAD_EVERY) => {}
        }
        loop {
            let read = async {
                let client = pool.get().await?;
                changes_after(&client, last, PAGE).await
            };
            match read.await {
                Ok((changes, Some(seen))) => {
                    if !changes.is_empty() {
                        publish(&changes);
                    }
                    last = seen;
                    published.send_replace(seen);
                    if changes.len() < PAGE as usize {
                        // Probably all; a wake-up that came meanwhile reads again.
                        break;
                    }
                }
                Ok((_, None)) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the change stream; retrying");
                    break;
                }
            }
        }
    }
}
