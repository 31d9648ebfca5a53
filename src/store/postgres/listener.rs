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
    wake: Arc<Notify>,
    presence: Arc<Notify>,
    stop: CancellationToken,
) {
    config.application_name(LISTENER_NAME);
    let mut backoff = Duration::from_millis(100);
    loop {
        let ended = tokio::select! {
            () = stop.cancelled() => return,
            ended = listen_once(&config, &wake, &presence) => ended,
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
    wake: &Notify,
    presence: &Notify,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // The connection must be polled for notifications to arrive.
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send(n.channel().to_owned()).is_err() {
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
            "LISTEN {EVENTS_CHANNEL}; LISTEN {PRESENCE_CHANNEL}"
        ))
        .await?;
    tracing::debug!("listening for other nodes' changes");
    // Anything committed while this connection was down is read now.
    wake.notify_one();
    presence.notify_one();
    while let Some(channel) = rx.recv().await {
        if channel == PRESENCE_CHANNEL {
            presence.notify_one();
        } else {
            wake.notify_one();
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
