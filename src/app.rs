//! Start-up and shut-down: open the store, wire the hub and services, bind,
//! serve, and on shutdown close sockets with 1001 and let the writer commit.

use crate::auth::{AuthLimits, AuthService, revocation};
use crate::chat::ChatService;
use crate::config::Config;
use crate::conversation::ConversationService;
use crate::hub::{Hub, SessionRegistry};
use crate::limits::{ConnectionLimits, ReadBudget, SendLimiter, nofile};
use crate::rooms::RoomService;
use crate::server::ServeOptions;
use crate::state::AppState;
use crate::store::DataDirLock;
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{Change, DB_FILE, Store, open_db};
use crate::telemetry::{self, Stats};
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Sessions get this long to flush and close at shutdown.
const SESSION_DRAIN: Duration = Duration::from_secs(5);
/// The writer gets this long to commit what is queued and checkpoint.
const STORE_CLOSE: Duration = Duration::from_secs(10);
/// Interval of the stats log line.
const STATS_EVERY: Duration = Duration::from_secs(30);
/// How often message retention runs (the first time half a minute after start).
const RETENTION_EVERY: Duration = Duration::from_secs(24 * 3600);

/// A server that is bound and ready to run.
pub struct Application {
    state: Arc<AppState>,
    listener: TcpListener,
    addr: SocketAddr,
    /// The port asked for, when it was taken and another one is used.
    busy_port: Option<u16>,
    lock: DataDirLock,
    /// This node's name in a cluster.
    node: Option<String>,
}

impl Application {
    /// Opens the database, starts the writer and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let lock = DataDirLock::acquire(&config.data_dir)?;
        let max_connections = connection_cap(&config);
        let metrics = telemetry::metrics_handle();
        let (store, hub, stored_secret) = open_store(&config).await?;
        let secret = config.jwt_secret.clone().unwrap_or(stored_secret);
        // Before the first request: the routing index must know every room.
        hub.routes().load(store.memberships().await?);

        let (listener, busy_port) = listen(&config)?;
        let addr = listener.local_addr()?;
        let team = crate::team::TeamService::load(
            store.clone(),
            crate::team::Defaults {
                reachable: !addr.ip().is_loopback(),
                registration: config.registration,
                max_file_bytes: config.files.max_file_bytes,
                upload_quota: config.files.daily_quota,
            },
        )
        .await?;
        let limits = &config.limits;
        let state = Arc::new(AppState {
            team,
            auth: AuthService::new(
                store.clone(),
                &secret,
                AuthLimits {
                    token_lifetime: config.token_lifetime,
                    hash_queue: limits.hash_queue,
                    register_per_hour: limits.register_per_hour,
                    register_burst: limits.register_burst,
                },
            ),
            chat: ChatService::new(
                store.clone(),
                SendLimiter::per_second(config.send_rate, config.send_burst),
                config.conversation,
            ),
            conversation: ConversationService::new(store.clone(), hub.clone(), config.conversation),
            rooms: RoomService::new(store.clone()),
            files: crate::files::FileService::new(store.clone(), config.files),
            search: crate::search::SearchService::new(store.clone()),
            registry: SessionRegistry::new(limits.max_websockets_per_user),
            connections: ConnectionLimits::new(max_connections, limits.max_connections_per_ip),
            reads: ReadBudget::per_second(limits.read_rate, limits.read_burst),
            config,
            store,
            hub,
            shutdown: CancellationToken::new(),
            sessions: TaskTracker::new(),
            metrics,
            stats: Stats::new(),
        });
        // Before the first request: a restart must not accept revoked tokens.
        state.auth.refresh_revocations().await?;
        state.apply_settings(&state.team.settings());
        // A restarted cluster node first clears the presence it left behind.
        let node = match state.store.cluster() {
            Some(pg) => {
                let node = crate::cluster::node_id(&state.config.data_dir)
                    .context("cannot keep this node's name in the data directory")?;
                pg.presence_publish(&node, &[], state.config.presence_ttl, true)
                    .await?;
                Some(node)
            }
            None => None,
        };
        Ok(Self {
            state,
            listener,
            addr,
            busy_port,
            lock,
            node,
        })
    }

    /// The address actually bound (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port that was asked for but taken (another one is used instead).
    pub fn busy_port(&self) -> Option<u16> {
        self.busy_port
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
            state,
            listener,
            lock,
            node,
            ..
        } = self;
        let shutdown = state.shutdown.clone();
        tokio::spawn(state.hub.clone().run_presence(shutdown.clone()));
        let presence =
            node.map(|node| tokio::spawn(crate::cluster::run_presence(state.clone(), node)));
        tokio::spawn(housekeeping(state.clone()));
        tokio::spawn(watch_revocations(state.clone()));

        let options = ServeOptions {
            limits: state.connections.clone(),
            trusted_proxies: state.config.limits.trusted_proxies.clone(),
            loopback_exempt: state.config.limits.loopback_exempt,
            header_timeout: state.config.limits.header_timeout,
        };
        crate::server::serve(
            listener,
            crate::api::routes(state.clone()),
            options,
            shutdown,
        )
        .await;

        state.sessions.close();
        if tokio::time::timeout(SESSION_DRAIN, state.sessions.wait())
            .await
            .is_err()
        {
            tracing::warn!("some WebSocket sessions did not close in time");
        }
        if let Some(presence) = presence {
            // It takes this node's users offline in the cluster first.
            let _ = tokio::time::timeout(Duration::from_secs(2), presence).await;
        }
        if !state.store.close(STORE_CLOSE).await {
            tracing::warn!("the database writer did not stop in time");
        }
        drop(lock);
        tracing::info!("Hearth stopped");
        Ok(())
    }
}

/// Opens the store the configuration names, with the hub its publisher
/// feeds, and the token secret kept in the database.
async fn open_store(config: &Config) -> anyhow::Result<(Store, Arc<Hub>, Vec<u8>)> {
    let buffer = config.ws.broadcast_buffer;
    if let Some(url) = &config.database {
        let pg = PgStore::connect(url)
            .await
            .context("cannot use the cluster database (--database)")?;
        let hub = Hub::new(pg.head_seq_at_start(), buffer);
        let publisher = hub.clone();
        pg.start(Box::new(move |c: &[Change]| publisher.publish(c)));
        // Other nodes' typing indicators reach this node's sessions.
        let mut notes = pg.typing_notes();
        let typing_hub = hub.clone();
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match notes.recv().await {
                    Ok(note) => typing_hub.typing(note.room_id, &note.user),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                }
            }
        });
        let secret = pg.jwt_secret().to_vec();
        tracing::info!("running as a cluster node on PostgreSQL");
        return Ok((Store::postgres(pg), hub, secret));
    }
    let db_path = config.data_dir.join(DB_FILE);
    let path = db_path.clone();
    let db = tokio::task::spawn_blocking(move || open_db(&path))
        .await?
        .with_context(|| format!("cannot open the database {}", db_path.display()))?;
    let secret = db.jwt_secret.clone();
    let epoch = db.epoch.clone();
    let hub = Hub::new(db.head_seq, buffer);
    let publisher = hub.clone();
    let sqlite = SqliteStore::start(
        db,
        &db_path,
        Box::new(move |c: &[Change]| publisher.publish(c)),
    )?;
    Ok((Store::sqlite(sqlite, &epoch), hub, secret))
}

/// The connection cap: `--max-connections`, else what the open-file limit
/// (raised to its hard maximum first) allows. An explicit cap above that is
/// lowered: past it the process would run out of descriptors.
fn connection_cap(config: &Config) -> usize {
    let Some(files) = nofile::raise_open_file_limit() else {
        return config.limits.max_connections.unwrap_or(10_000);
    };
    let allowed = nofile::connections_for(files);
    match config.limits.max_connections {
        Some(cap) if cap > allowed => {
            tracing::warn!(
                requested = cap,
                allowed,
                open_files = files,
                "--max-connections is above what the open-file limit allows; using the lower value"
            );
            allowed
        }
        Some(cap) => cap,
        None => allowed,
    }
}

/// Binds the configured address. When the default port is taken, the next
/// free one (up to 20 further) is used instead of failing.
fn listen(config: &Config) -> anyhow::Result<(TcpListener, Option<u16>)> {
    let addr = config.bind;
    let in_use = |e: &std::io::Error| e.kind() == std::io::ErrorKind::AddrInUse;
    match crate::server::bind(addr) {
        Ok(listener) => return Ok((listener, None)),
        Err(e) if in_use(&e) && !config.bind_explicit && addr.port() != 0 => {}
        Err(e) if in_use(&e) => anyhow::bail!(
            "port {} is already in use on {}: stop the other program or choose another port with --bind",
            addr.port(),
            addr.ip()
        ),
        Err(e) => anyhow::bail!("cannot listen on {addr}: {e}"),
    }
    for port in addr.port().saturating_add(1)..=addr.port().saturating_add(20) {
        if let Ok(listener) = crate::server::bind(SocketAddr::new(addr.ip(), port)) {
            tracing::warn!(
                busy = addr.port(),
                port,
                "port in use, using the next free one"
            );
            return Ok((listener, Some(addr.port())));
        }
    }
    anyhow::bail!(
        "port {} and the 20 after it are in use: choose a port with --bind",
        addr.port()
    )
}

/// Re-reads the revocations (password resets by the admin CLI, sign-outs)
/// and closes the sockets of newly revoked tokens at once.
async fn watch_revocations(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(revocation::REFRESH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        // The admin CLI writes from its own process too (rooms, accounts,
        // settings), and so do other nodes.
        state.store.sync().await;
        state.enforce_revocations().await;
        match state.team.refresh().await {
            Ok(settings) => state.apply_settings(&settings),
            Err(e) => tracing::warn!(error = %e, "cannot read the settings"),
        }
    }
}

/// Periodic chores: rate-limit state cleanup, the daily figures, message
/// retention, and the stats line (only when something happened: an idle
/// server keeps the terminal quiet; the admin page has the live figures).
async fn housekeeping(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(STATS_EVERY);
    tick.tick().await;
    let (mut last_messages, mut last_deliveries, mut last_connections) = (0, 0, 0);
    let mut retention_due = std::time::Instant::now();
    // Today's row of the daily figures, so the day's messages count from here.
    if let Err(e) = state.team.sample(state.stats.connections()).await {
        tracing::debug!(error = %e, "cannot note the daily figures");
    }
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        state.chat.sweep();
        state.conversation.sweep();
        state.auth.sweep();
        state.reads.sweep();
        state.files.sweep_unsent().await;
        let connections = state.stats.connections();
        if let Err(e) = state.team.sample(connections).await {
            tracing::debug!(error = %e, "cannot note the daily figures");
        }
        if std::time::Instant::now() >= retention_due {
            retention_due = std::time::Instant::now() + RETENTION_EVERY;
            if let Err(e) = state.team.apply_retention().await {
                tracing::warn!(error = %e, "retention: cannot delete old messages");
            }
        }
        let messages = state
            .store
            .writer_stats()
            .operations
            .load(Ordering::Relaxed);
        let deliveries = state.stats.deliveries();
        let (writes, delivered) = (messages - last_messages, deliveries - last_deliveries);
        if writes > 0 || delivered > 0 || connections != last_connections {
            tracing::info!(
                connections,
                online_users = state.hub.presence().count(),
                writes,
                deliveries = delivered,
                "stats (last {}s)",
                STATS_EVERY.as_secs()
            );
        }
        (last_messages, last_deliveries, last_connections) = (messages, deliveries, connections);
    }
}
