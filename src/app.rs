//! Start-up and shut-down: open the store, wire the hub and services, bind,
//! serve, and on shutdown close sockets with 1001 and let the writer commit.

use crate::auth::AuthService;
use crate::chat::ChatService;
use crate::config::Config;
use crate::hub::Hub;
use crate::ratelimit::SendLimiter;
use crate::store::{DB_FILE, Message, Store, open_db};
use crate::telemetry::{self, names};
use anyhow::Context;
use metrics_exporter_prometheus::PrometheusHandle;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Sessions get this long to flush and close at shutdown.
const SESSION_DRAIN: Duration = Duration::from_secs(5);
/// Interval of the stats log line.
const STATS_EVERY: Duration = Duration::from_secs(30);

/// State shared by every request and session.
pub struct AppState {
    /// Settings.
    pub config: Config,
    /// Storage.
    pub store: Store,
    /// Broadcast and presence.
    pub hub: Arc<Hub>,
    /// Accounts and tokens.
    pub auth: AuthService,
    /// Sending messages.
    pub chat: ChatService,
    /// Cancelled when the server stops.
    pub shutdown: CancellationToken,
    /// Running WebSocket sessions.
    pub sessions: TaskTracker,
    /// Metrics exporter, when installed.
    pub metrics: Option<PrometheusHandle>,
    /// Message frames written to WebSockets (a handle kept: this one is hot).
    pub deliveries: metrics::Counter,
}

/// A server that is bound and ready to run.
pub struct Application {
    state: Arc<AppState>,
    listener: TcpListener,
    addr: SocketAddr,
}

impl Application {
    /// Opens the database, starts the writer and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let metrics = telemetry::metrics_handle();
        let db_path = config.data_dir.join(DB_FILE);
        let path = db_path.clone();
        let db = tokio::task::spawn_blocking(move || open_db(&path))
            .await?
            .with_context(|| format!("cannot open the database {}", db_path.display()))?;
        let secret = config
            .jwt_secret
            .clone()
            .unwrap_or_else(|| db.jwt_secret.clone());
        let hub = Hub::new(db.head_id, config.ws.broadcast_buffer);
        let publisher = hub.clone();
        let store = Store::start(
            db,
            &db_path,
            Box::new(move |m: &[Message]| publisher.publish(m)),
        )?;

        let listener = crate::server::bind(config.bind).map_err(|e| bind_error(config.bind, e))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(AppState {
            auth: AuthService::new(store.clone(), &secret, config.token_lifetime),
            chat: ChatService::new(
                store.clone(),
                SendLimiter::new(config.send_rate, config.send_burst),
            ),
            config,
            store,
            hub,
            shutdown: CancellationToken::new(),
            sessions: TaskTracker::new(),
            metrics,
            deliveries: metrics::counter!(names::DELIVERIES),
        });
        Ok(Self {
            state,
            listener,
            addr,
        })
    }

    /// The address actually bound (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cancel this token to stop the server.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }

    /// The shared state (for tests and admin tools).
    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Serves until the shutdown token is cancelled, then shuts down in order:
    /// stop accepting, flush and close every WebSocket with 1001, let the
    /// writer commit what it has.
    pub async fn run(self) -> anyhow::Result<()> {
        let Self {
            state, listener, ..
        } = self;
        let shutdown = state.shutdown.clone();
        tokio::spawn(state.hub.clone().run_presence(shutdown.clone()));
        tokio::spawn(housekeeping(state.clone()));

        crate::server::serve(listener, crate::api::routes(state.clone()), shutdown).await;

        state.sessions.close();
        if tokio::time::timeout(SESSION_DRAIN, state.sessions.wait())
            .await
            .is_err()
        {
            tracing::warn!("some WebSocket sessions did not close in time");
        }
        state.store.close().await;
        tracing::info!("Hearth stopped");
        Ok(())
    }
}

fn bind_error(addr: SocketAddr, e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        anyhow::anyhow!(
            "port {} is already in use on {}: stop the other program or pass --bind with another port",
            addr.port(),
            addr.ip()
        )
    } else {
        anyhow::anyhow!("cannot listen on {addr}: {e}")
    }
}

/// Periodic chores: rate-limit state cleanup and the stats log line.
async fn housekeeping(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(STATS_EVERY);
    tick.tick().await;
    let mut last_ops = 0;
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        state.chat.sweep();
        let ops = state
            .store
            .writer_stats()
            .operations
            .load(std::sync::atomic::Ordering::Relaxed);
        tracing::info!(
            online_users = state.hub.presence().snapshot().count,
            head_id = state.hub.head(),
            writes_since_last = ops - last_ops,
            "stats (metrics: {}, {}, {})",
            names::WS_CONNECTIONS,
            names::MESSAGES_STORED,
            names::DELIVERIES
        );
        last_ops = ops;
    }
}
