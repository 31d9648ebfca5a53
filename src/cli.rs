//! Command-line arguments (clap). Every setting has a `HEARTH_*` environment
//! twin; validation happens in [`crate::config`].

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Parser, Subcommand};
use std::path::PathBuf;

/// Hearth: real-time team chat in one file.
#[derive(Debug, Parser)]
#[command(
    name = "hearth",
    version,
    about = "Hearth: real-time team chat in one file",
    long_about = "Hearth: real-time team chat in one file.\n\n\
        Run it with no arguments to serve the chat on http://localhost:3001 (and every \
        LAN address). Data lives in one SQLite file in the data directory.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings for `serve` when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the chat (the default).
    Serve(Box<ServeArgs>),
    /// Manage accounts (works while the server runs).
    User {
        /// What to do.
        #[command(subcommand)]
        action: UserCommand,
        /// The data directory.
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Manage rooms (works while the server runs; its clients see the change
    /// within a couple of seconds).
    Room {
        /// What to do.
        #[command(subcommand)]
        action: RoomCommand,
        /// The data directory.
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Who may create an account (works while the server runs).
    Registration {
        /// What to do.
        #[command(subcommand)]
        action: RegistrationCommand,
        /// The data directory.
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Invitation links (works while the server runs).
    Invite {
        /// What to do.
        #[command(subcommand)]
        action: InviteCommand,
        /// The data directory.
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Write one archive of the database and its files to FILE (works while
    /// the server runs).
    Backup {
        /// Where to write the backup.
        file: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
        /// The data directory.
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Put a backup's database and files back (the server must be stopped;
    /// the old ones are kept beside them).
    Restore {
        /// The backup to restore.
        file: PathBuf,
        /// The data directory.
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Check the database and its files: files missing or damaged on disk,
    /// files on disk that no message names (works while the server runs).
    Check {
        /// The data directory.
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Copy this data directory's team (accounts, rooms, members, messages,
    /// read positions, the epoch and the signing secret) into an empty
    /// PostgreSQL database, to run it as a cluster. Stop the server first.
    Migrate {
        /// The PostgreSQL database (`postgres://user:password@host:port/db`).
        #[arg(long, value_name = "URL")]
        to: String,
        /// The data directory.
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Exit 0 when the local server answers /healthz (for container health checks).
    Healthcheck {
        /// Server to check [default: port of HEARTH_BIND (or 3001) on 127.0.0.1].
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<String>,
    },
}

/// `hearth user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (the password is asked for, read with
    /// --password-stdin, or generated and printed).
    Add {
        /// Login name.
        username: String,
        /// Make the account an admin.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts.
    List,
    /// Print a one-time link (valid 24 hours) that sets a new password; with
    /// --password-stdin, set the password read from standard input at once.
    /// Either way the account is signed out everywhere once it is set.
    ResetPassword {
        /// Login name.
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// The address people open Hearth at, for the link.
        #[command(flatten)]
        url: PublicUrlArg,
    },
    /// Make an account an admin (or, with --revoke, not).
    SetAdmin {
        /// Login name.
        username: String,
        /// Take the admin right away instead.
        #[arg(long)]
        revoke: bool,
    },
}

/// `hearth registration …`.
#[derive(Debug, Subcommand)]
pub enum RegistrationCommand {
    /// Show who may create an account.
    Show,
    /// Set who may create an account: open, invite or closed.
    Set {
        /// `open`, `invite` (with an invitation link) or `closed` (admins create accounts).
        mode: String,
    },
}

/// `hearth invite …`.
#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Make an invitation link and print it.
    Create {
        /// How many people may register with it.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// How many hours it lasts.
        #[arg(long, default_value_t = 168)]
        hours: u32,
        /// The address people open Hearth at, for the link.
        #[command(flatten)]
        url: PublicUrlArg,
    },
}

/// The address people open Hearth at (links printed by the CLI).
#[derive(Debug, Clone, clap::Args)]
pub struct PublicUrlArg {
    /// e.g. `http://192.168.1.20:3001` or `https://chat.example.com`.
    #[arg(
        long = "url",
        env = "HEARTH_PUBLIC_URL",
        default_value = "http://localhost:3001",
        value_name = "URL"
    )]
    pub url: String,
}

/// `hearth room …`.
#[derive(Debug, Subcommand)]
pub enum RoomCommand {
    /// List every room (direct messages too) with its members and messages.
    List,
    /// Create an open room (or, with --closed, a members-only room).
    Create {
        /// The room's name.
        name: String,
        /// Members only, instead of open to everyone.
        #[arg(long)]
        closed: bool,
        /// The room's topic.
        #[arg(long, default_value = "")]
        topic: String,
        /// Members to add (usernames).
        #[arg(long = "member", value_name = "USER")]
        members: Vec<String>,
    },
    /// Archive a room (read-only, hidden from the room list), or --undo it.
    Archive {
        /// The room's id or name.
        room: String,
        /// Unarchive instead.
        #[arg(long)]
        undo: bool,
    },
    /// Add members to an open or closed room.
    AddMember {
        /// The room's id or name.
        room: String,
        /// Usernames.
        #[arg(required = true)]
        users: Vec<String>,
    },
}

/// The data directory of an admin command.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDirArg {
    /// Where the database lives [default: the platform data directory].
    #[arg(long, env = "HEARTH_DATA_DIR", value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

/// Settings of the server.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one) [default:
    /// 0.0.0.0:3001, or the next free port when 3001 is taken].
    #[arg(long, env = "HEARTH_BIND", value_name = "HOST:PORT")]
    pub bind: Option<String>,

    /// Where the database lives [default: the platform data directory, e.g. ~/.local/share/hearth].
    #[arg(long, env = "HEARTH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Run as a node of a cluster on this PostgreSQL database
    /// (`postgres://user:password@host:port/db`); every node given the same
    /// URL serves the same team. Without it the team lives in a SQLite file
    /// in the data directory.
    #[arg(long, env = "HEARTH_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,

    /// How long a cluster node's users stay online after it stops renewing
    /// them (a node that dies); nodes renew every third of it.
    #[arg(
        long,
        env = "HEARTH_PRESENCE_TTL",
        default_value = "15s",
        value_name = "DURATION",
        hide = true
    )]
    pub presence_ttl: String,

    /// Do not open a browser at start.
    #[arg(long, env = "HEARTH_NO_OPEN", value_parser = BoolishValueParser::new())]
    pub no_open: bool,

    /// Log filter, e.g. `info` or `info,hearth=debug`.
    #[arg(
        long,
        env = "HEARTH_LOG",
        default_value = "info",
        value_name = "FILTER",
        value_parser = parse_log_filter
    )]
    pub log: String,

    /// How long a login token stays valid, e.g. `7d`, `12h`.
    #[arg(
        long,
        env = "HEARTH_TOKEN_LIFETIME",
        default_value = "7d",
        value_name = "DURATION"
    )]
    pub token_lifetime: String,

    /// Messages per second one user may send on average (REST and WebSocket together).
    #[arg(long, env = "HEARTH_SEND_RATE", default_value_t = 10, value_name = "N")]
    pub send_rate: u32,

    /// Messages one user may send in a burst.
    #[arg(
        long,
        env = "HEARTH_SEND_BURST",
        default_value_t = 20,
        value_name = "N"
    )]
    pub send_burst: u32,

    /// How long after sending a message its author may still edit it (e.g.
    /// `15m`, `2d`); `none` (the default) for no limit.
    #[arg(
        long,
        env = "HEARTH_EDIT_WINDOW",
        default_value = "none",
        value_name = "DURATION"
    )]
    pub edit_window: String,

    /// In rooms with more members than this, only admins may use `@everyone`.
    #[arg(
        long,
        env = "HEARTH_EVERYONE_MAX_MEMBERS",
        default_value_t = 50,
        value_name = "N"
    )]
    pub everyone_max_members: u32,

    /// Most different emoji one message may carry as reactions.
    #[arg(
        long,
        env = "HEARTH_MAX_REACTIONS",
        default_value_t = 20,
        value_name = "N"
    )]
    pub max_reactions: u32,

    /// Who may create an account: `open`, `invite` (with an invitation link)
    /// or `closed` (admins create accounts). Written to the settings at
    /// start; admins change it in the browser. Not set: `invite` once an
    /// admin exists and the server listens beyond loopback, else `open`.
    #[arg(long, env = "HEARTH_REGISTRATION", value_name = "MODE")]
    pub registration: Option<String>,

    /// Largest file one upload may be (e.g. `25MB`, `1GiB`).
    #[arg(
        long,
        env = "HEARTH_MAX_FILE_SIZE",
        default_value = "25MB",
        value_name = "SIZE"
    )]
    pub max_file_size: String,

    /// Most bytes one user may upload in 24 hours; `none` for no limit.
    #[arg(
        long,
        env = "HEARTH_UPLOAD_QUOTA",
        default_value = "1GB",
        value_name = "SIZE"
    )]
    pub upload_quota: String,

    /// Uploads are refused (507, `disk_full`) when they would leave less than
    /// this free on the data directory's disk.
    #[arg(
        long,
        env = "HEARTH_MIN_FREE_DISK",
        default_value = "200MB",
        value_name = "SIZE"
    )]
    pub min_free_disk: String,

    /// Extra origins whose pages may open a WebSocket, comma-separated (e.g.
    /// `https://chat.example.com`); `*` allows any. The server's own host is always allowed.
    #[arg(
        long,
        env = "HEARTH_ALLOWED_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGINS"
    )]
    pub allowed_origins: Vec<String>,

    /// Offer WebSocket; `false` makes clients use the polling API.
    #[arg(
        long,
        env = "HEARTH_WEBSOCKET",
        default_value_t = true,
        action = ArgAction::Set,
        value_parser = BoolishValueParser::new(),
        value_name = "BOOL"
    )]
    pub websocket: bool,

    /// Interval of server pings on idle WebSockets.
    #[arg(
        long,
        env = "HEARTH_PING_INTERVAL",
        default_value = "30s",
        value_name = "DURATION"
    )]
    pub ping_interval: String,

    /// Close a WebSocket from which nothing arrived for this long.
    #[arg(
        long,
        env = "HEARTH_IDLE_TIMEOUT",
        default_value = "60s",
        value_name = "DURATION"
    )]
    pub idle_timeout: String,

    /// Drop a WebSocket whose writes stay blocked this long.
    #[arg(
        long,
        env = "HEARTH_WRITE_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION"
    )]
    pub write_timeout: String,

    /// Largest WebSocket frame or message a client may send, in bytes.
    #[arg(
        long,
        env = "HEARTH_MAX_FRAME",
        default_value_t = 4096,
        value_name = "BYTES"
    )]
    pub max_frame: usize,

    /// Frames buffered per room for slow readers before they are resynced from the database.
    #[arg(
        long,
        env = "HEARTH_BROADCAST_BUFFER",
        default_value_t = 1024,
        value_name = "FRAMES"
    )]
    pub broadcast_buffer: usize,

    /// Token signing secret (at least 32 bytes) instead of the one kept in the
    /// database. Prefer the environment variable: arguments show in `ps`.
    #[arg(
        long,
        env = "HEARTH_JWT_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub jwt_secret: Option<String>,

    /// Reverse proxies to believe, comma-separated addresses or CIDR blocks
    /// (e.g. `127.0.0.1` for nginx on this host, `10.0.0.0/8`). Requests from
    /// them take the client address from `X-Real-IP`, else from the rightmost
    /// `X-Forwarded-For` entry. `true` means loopback. Without it the TCP peer
    /// is the client.
    #[arg(
        long,
        env = "HEARTH_TRUST_PROXY",
        value_delimiter = ',',
        value_name = "ADDRS",
        num_args = 0..,
        default_missing_value = "true"
    )]
    pub trust_proxy: Vec<String>,

    /// Exempt loopback clients (this host: a local reverse proxy without
    /// --trust-proxy, benchmarks) from the per-address limits. Per-account
    /// limits still apply.
    #[arg(
        long,
        env = "HEARTH_LOOPBACK_EXEMPT",
        default_value_t = true,
        action = ArgAction::Set,
        value_parser = BoolishValueParser::new(),
        value_name = "BOOL"
    )]
    pub loopback_exempt: bool,

    /// Most connections (HTTP and WebSocket) the server holds [default: the
    /// open-file limit, raised to its hard maximum at start, minus a reserve
    /// for the database and logs]. WebSockets leave a little of it to HTTP.
    #[arg(long, env = "HEARTH_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,

    /// Most connections one client address holds (IPv6: one /64).
    #[arg(
        long,
        env = "HEARTH_MAX_CONNECTIONS_PER_IP",
        default_value_t = 1000,
        value_name = "N"
    )]
    pub max_connections_per_ip: usize,

    /// Most WebSockets one account holds open (tabs and devices together).
    #[arg(
        long,
        env = "HEARTH_MAX_WEBSOCKETS_PER_USER",
        default_value_t = 20,
        value_name = "N"
    )]
    pub max_websockets_per_user: usize,

    /// A client must send its request headers within this time.
    #[arg(
        long,
        env = "HEARTH_HEADER_TIMEOUT",
        default_value = "30s",
        value_name = "DURATION"
    )]
    pub header_timeout: String,

    /// A client must send a request body within this time.
    #[arg(
        long,
        env = "HEARTH_BODY_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION"
    )]
    pub body_timeout: String,

    /// Accounts one client address may register per hour, on average.
    #[arg(
        long,
        env = "HEARTH_REGISTER_PER_HOUR",
        default_value_t = 30,
        value_name = "N"
    )]
    pub register_per_hour: u32,

    /// Accounts one client address may register in a burst.
    #[arg(
        long,
        env = "HEARTH_REGISTER_BURST",
        default_value_t = 10,
        value_name = "N"
    )]
    pub register_burst: u32,

    /// Password checks (login, registration) running or waiting at once;
    /// beyond it requests are refused with 429 instead of queueing.
    #[arg(
        long,
        env = "HEARTH_HASH_QUEUE",
        default_value_t = 32,
        value_name = "N"
    )]
    pub hash_queue: usize,

    /// Heavy reads (history pages, polls, catch-up pages) per second one user
    /// may make on average.
    #[arg(long, env = "HEARTH_READ_RATE", default_value_t = 10, value_name = "N")]
    pub read_rate: u32,

    /// Heavy reads one user may make in a burst.
    #[arg(
        long,
        env = "HEARTH_READ_BURST",
        default_value_t = 60,
        value_name = "N"
    )]
    pub read_burst: u32,

    /// Bearer token for /metrics; without it /metrics answers loopback clients only.
    #[arg(
        long,
        env = "HEARTH_METRICS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub metrics_token: Option<String>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: ServeArgs,
        }
        // Parsing no arguments yields exactly the documented defaults.
        Wrapper::parse_from(["hearth"]).args
    }
}

/// Refuses a log filter that `tracing` cannot read, instead of silently logging at `info`.
fn parse_log_filter(s: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(s)
        .map(|_| s.to_owned())
        .map_err(|e| format!("not a log filter ({e}); e.g. `info` or `info,hearth=debug`"))
}
