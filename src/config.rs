//! The validated configuration, built from [`crate::cli::ServeArgs`].

use crate::cli::ServeArgs;
use crate::limits::TrustedProxies;
use std::net::{SocketAddr, ToSocketAddrs};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where Hearth listens unless told otherwise (the seed's port, all interfaces).
pub const DEFAULT_BIND: &str = "0.0.0.0:3001";

/// A setting that cannot be used, with a message for the user.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

/// WebSocket timing and limits.
#[derive(Debug, Clone, Copy)]
pub struct WsSettings {
    /// Server ping interval.
    pub ping_interval: Duration,
    /// Read deadline: close when nothing arrived for this long.
    pub idle_timeout: Duration,
    /// Write deadline.
    pub write_timeout: Duration,
    /// Largest incoming frame/message, bytes.
    pub max_frame: usize,
    /// Broadcast buffer per room, frames.
    pub broadcast_buffer: usize,
}

/// Limits against floods and slow clients (docs/SECURITY.md).
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// Reverse proxies whose forwarding headers are believed.
    pub trusted_proxies: TrustedProxies,
    /// Loopback clients skip the per-address limits.
    pub loopback_exempt: bool,
    /// Most connections in all (`None`: derived from the open-file limit).
    pub max_connections: Option<usize>,
    /// Most connections per client address.
    pub max_connections_per_ip: usize,
    /// Most WebSockets per account.
    pub max_websockets_per_user: usize,
    /// Deadline for a request's headers.
    pub header_timeout: Duration,
    /// Deadline for a request's body.
    pub body_timeout: Duration,
    /// Registrations per client address per hour.
    pub register_per_hour: NonZeroU32,
    /// Registrations per client address in a burst.
    pub register_burst: NonZeroU32,
    /// Password checks running or waiting at once.
    pub hash_queue: usize,
    /// Heavy reads per user per second.
    pub read_rate: NonZeroU32,
    /// Heavy reads per user in a burst.
    pub read_burst: NonZeroU32,
}

/// Limits of the conversation features (mentions, edits, reactions).
#[derive(Debug, Clone, Copy)]
pub struct ConversationSettings {
    /// Edits are refused this long after a message was sent (`None`: never).
    pub edit_window: Option<Duration>,
    /// Non-admins may use `@everyone` in rooms with at most this many members.
    pub everyone_max_members: i64,
    /// Most distinct emoji on one message.
    pub max_reactions: usize,
}

/// Limits of uploads.
#[derive(Debug, Clone, Copy)]
pub struct FileSettings {
    /// Largest upload, bytes.
    pub max_file_bytes: u64,
    /// Most bytes per user per 24 hours (`None`: no limit).
    pub daily_quota: Option<u64>,
    /// Free space an upload must leave on the disk, bytes.
    pub min_free_disk: u64,
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub bind: SocketAddr,
    /// The address was chosen by the user (no fallback to another port).
    pub bind_explicit: bool,
    /// Data directory (exists and is writable).
    pub data_dir: PathBuf,
    /// Open a browser at start.
    pub open_browser: bool,
    /// Log filter.
    pub log: String,
    /// Token lifetime.
    pub token_lifetime: Duration,
    /// Average sends per second per user.
    pub send_rate: NonZeroU32,
    /// Burst of sends per user.
    pub send_burst: NonZeroU32,
    /// Extra origins allowed to open WebSockets.
    pub allowed_origins: Vec<String>,
    /// WebSocket offered at all.
    pub websocket: bool,
    /// WebSocket timing and limits.
    pub ws: WsSettings,
    /// Token secret from the environment (else the database's).
    pub jwt_secret: Option<Vec<u8>>,
    /// Flood and slow-client limits.
    pub limits: LimitSettings,
    /// Bearer token for /metrics.
    pub metrics_token: Option<String>,
    /// The cluster database (none: SQLite in the data dir).
    pub database: Option<String>,
    /// How long a dead node's users stay online in a cluster.
    pub presence_ttl: Duration,
    /// Mentions, edits and reactions.
    pub conversation: ConversationSettings,
    /// Uploads.
    pub files: FileSettings,
    /// `--registration`, when given.
    pub registration: Option<crate::domain::Registration>,
}

impl Config {
    /// Validates arguments, resolves and prepares the data directory.
    pub fn from_args(args: ServeArgs) -> Result<Self, ConfigError> {
        let bind_explicit = args.bind.is_some();
        let bind = parse_bind(args.bind.as_deref().unwrap_or(DEFAULT_BIND))?;
        let data_dir = data_dir_or_default(args.data_dir)?;
        prepare_data_dir(&data_dir)?;
        let jwt_secret = match args.jwt_secret {
            Some(s) if s.len() < 32 => {
                return Err(ConfigError(format!(
                    "HEARTH_JWT_SECRET is {} bytes; it must be at least 32 (e.g. `openssl rand -hex 32`)",
                    s.len()
                )));
            }
            other => other.map(String::into_bytes),
        };
        let nonzero = |v: u32, name: &str| {
            NonZeroU32::new(v).ok_or_else(|| ConfigError(format!("--{name} must be at least 1")))
        };
        if args.max_frame < 1024 {
            return Err(ConfigError(
                "--max-frame must be at least 1024 bytes".into(),
            ));
        }
        let ws = WsSettings {
            ping_interval: duration(&args.ping_interval, "ping-interval")?,
            idle_timeout: duration(&args.idle_timeout, "idle-timeout")?,
            write_timeout: duration(&args.write_timeout, "write-timeout")?,
            max_frame: args.max_frame,
            broadcast_buffer: args.broadcast_buffer.clamp(16, 1 << 20),
        };
        if ws.idle_timeout <= ws.ping_interval {
            return Err(ConfigError(
                "--idle-timeout must be longer than --ping-interval".into(),
            ));
        }
        let limits = LimitSettings {
            trusted_proxies: TrustedProxies::parse(&args.trust_proxy).map_err(ConfigError)?,
            loopback_exempt: args.loopback_exempt,
            max_connections: match args.max_connections {
                Some(0) => return Err(ConfigError("--max-connections must be at least 1".into())),
                other => other,
            },
            max_connections_per_ip: positive(
                args.max_connections_per_ip,
                "max-connections-per-ip",
            )?,
            max_websockets_per_user: positive(
                args.max_websockets_per_user,
                "max-websockets-per-user",
            )?,
            header_timeout: duration(&args.header_timeout, "header-timeout")?,
            body_timeout: duration(&args.body_timeout, "body-timeout")?,
            register_per_hour: nonzero(args.register_per_hour, "register-per-hour")?,
            register_burst: nonzero(args.register_burst, "register-burst")?,
            hash_queue: positive(args.hash_queue, "hash-queue")?,
            read_rate: nonzero(args.read_rate, "read-rate")?,
            read_burst: nonzero(args.read_burst, "read-burst")?,
        };
        Ok(Self {
            bind,
            bind_explicit,
            data_dir,
            open_browser: !args.no_open,
            log: args.log,
            token_lifetime: duration(&args.token_lifetime, "token-lifetime")?,
            send_rate: nonzero(args.send_rate, "send-rate")?,
            send_burst: nonzero(args.send_burst, "send-burst")?,
            allowed_origins: args
                .allowed_origins
                .into_iter()
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            websocket: args.websocket,
            ws,
            jwt_secret,
            limits,
            metrics_token: args.metrics_token.filter(|t| !t.is_empty()),
            database: match args.database.filter(|d| !d.is_empty()) {
                Some(url)
                    if !url.starts_with("postgres://") && !url.starts_with("postgresql://") =>
                {
                    return Err(ConfigError(
                        "--database must be a postgres:// URL (without it, Hearth uses SQLite in the data directory)".into(),
                    ));
                }
                other => other,
            },
            presence_ttl: duration(&args.presence_ttl, "presence-ttl")?,
            conversation: ConversationSettings {
                edit_window: match args.edit_window.trim() {
                    "" | "none" | "0" => None,
                    raw => Some(duration(raw, "edit-window")?),
                },
                everyone_max_members: i64::from(args.everyone_max_members),
                max_reactions: positive(args.max_reactions as usize, "max-reactions")?,
            },
            files: FileSettings {
                max_file_bytes: size(&args.max_file_size, "max-file-size")?.max(1),
                daily_quota: match args.upload_quota.trim() {
                    "" | "none" => None,
                    raw => Some(size(raw, "upload-quota")?),
                },
                min_free_disk: size(&args.min_free_disk, "min-free-disk")?,
            },
            registration: match args.registration.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(raw) => Some(
                    raw.parse()
                        .map_err(|e: crate::domain::ValidationError| ConfigError(e.0))?,
                ),
            },
        })
    }
}

fn parse_bind(raw: &str) -> Result<SocketAddr, ConfigError> {
    let bad = || {
        ConfigError(format!(
            "--bind {raw:?} is not HOST:PORT (e.g. 0.0.0.0:3001 or 127.0.0.1:0)"
        ))
    };
    if let Ok(addr) = raw.parse() {
        return Ok(addr);
    }
    raw.to_socket_addrs()
        .map_err(|_| bad())?
        .next()
        .ok_or_else(bad)
}

/// A size such as `25MB` or `1GiB` (a bare number is bytes).
fn size(raw: &str, name: &str) -> Result<u64, ConfigError> {
    raw.trim()
        .parse::<bytesize::ByteSize>()
        .map(|s| s.as_u64())
        .map_err(|e| ConfigError(format!("--{name} {raw:?} is not a size like 25MB: {e}")))
}

fn positive(v: usize, name: &str) -> Result<usize, ConfigError> {
    if v == 0 {
        return Err(ConfigError(format!("--{name} must be at least 1")));
    }
    Ok(v)
}

fn duration(raw: &str, name: &str) -> Result<Duration, ConfigError> {
    let d = humantime::parse_duration(raw)
        .map_err(|e| ConfigError(format!("--{name} {raw:?}: {e} (e.g. 30s, 10m, 7d)")))?;
    if d.is_zero() {
        return Err(ConfigError(format!("--{name} must be longer than zero")));
    }
    Ok(d)
}

/// The data directory given, or the platform's.
pub fn data_dir_or_default(dir: Option<PathBuf>) -> Result<PathBuf, ConfigError> {
    dir.map_or_else(default_data_dir, Ok)
}

/// The platform data directory, e.g. `~/.local/share/hearth` on Linux.
pub fn default_data_dir() -> Result<PathBuf, ConfigError> {
    directories::ProjectDirs::from("", "", "hearth")
        .map(|d| d.data_dir().to_owned())
        .ok_or_else(|| {
            ConfigError(
                "cannot find a home directory: pass --data-dir or set HEARTH_DATA_DIR".into(),
            )
        })
}

/// Creates the data directory if needed and proves it is writable.
pub fn prepare_data_dir(dir: &Path) -> Result<(), ConfigError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        ConfigError(format!(
            "cannot create the data directory {}: {e}",
            dir.display()
        ))
    })?;
    let probe = dir.join(".hearth-write-test");
    let written = std::fs::write(&probe, b"ok");
    // Removed whatever happened: a full disk creates the file, then fails the write.
    let removed = std::fs::remove_file(&probe);
    written.and(removed).map_err(|e| {
        ConfigError(format!(
            "the data directory {} is not writable: {e}",
            dir.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> ServeArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct W {
            #[command(flatten)]
            a: ServeArgs,
        }
        let mut argv = vec!["hearth"];
        argv.extend_from_slice(extra);
        W::parse_from(argv).a
    }

    #[test]
    fn defaults_and_validation() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let c = Config::from_args(args(&["--data-dir", d])).unwrap();
        assert_eq!(c.bind, "0.0.0.0:3001".parse().unwrap());
        assert!(!c.bind_explicit);
        assert!(
            Config::from_args(args(&["--data-dir", d, "--bind", "127.0.0.1:0"]))
                .unwrap()
                .bind_explicit
        );
        assert_eq!(c.token_lifetime, Duration::from_secs(7 * 24 * 3600));
        assert_eq!((c.send_rate.get(), c.send_burst.get()), (10, 20));
        assert_eq!(c.ws.max_frame, 4096);
        assert!(c.websocket && c.open_browser);
        assert!(Config::from_args(args(&["--data-dir", d, "--jwt-secret", "short"])).is_err());
        assert!(Config::from_args(args(&["--data-dir", d, "--bind", "nonsense"])).is_err());
        assert!(Config::from_args(args(&["--data-dir", d, "--token-lifetime", "soon"])).is_err());
        assert!(Config::from_args(args(&["--data-dir", d, "--send-rate", "0"])).is_err());
        assert!(
            !Config::from_args(args(&["--data-dir", d, "--websocket", "false"]))
                .unwrap()
                .websocket
        );
        let origins = Config::from_args(args(&[
            "--data-dir",
            d,
            "--allowed-origins",
            "https://a.example, https://b.example",
        ]))
        .unwrap();
        assert_eq!(
            origins.allowed_origins,
            vec!["https://a.example", "https://b.example"]
        );
    }

    #[test]
    fn unwritable_data_dir_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let err = Config::from_args(args(&["--data-dir", file.join("sub").to_str().unwrap()]))
            .unwrap_err();
        assert!(
            err.to_string().contains("cannot create the data directory"),
            "{err}"
        );
    }
}
