//! Nodes, nginx and PostgreSQL for the cluster tests.

use crate::child::ChildServer;
use crate::helpers::*;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tempfile::TempDir;

/// The admin URL of the throw-away PostgreSQL, or `None` (the test is then
/// skipped, except in CI where scripts/test.sh always starts one).
pub fn admin_url() -> Option<String> {
    match std::env::var("HEARTH_TEST_PG") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok() => {
            panic!("HEARTH_TEST_PG is not set: scripts/test.sh starts PostgreSQL for these tests")
        }
        _ => {
            eprintln!(
                "skipped: no HEARTH_TEST_PG (run scripts/test.sh, or source scripts/postgres.sh and pg_start)"
            );
            None
        }
    }
}

/// A team's database and the nodes serving it.
pub struct Cluster {
    pub url: String,
    pub nodes: Vec<Option<Node>>,
    flags: Vec<String>,
    ports: Vec<u16>,
    root: TempDir,
}

/// One running node (its port is kept across restarts, so nginx's upstream
/// block stays right).
pub struct Node {
    pub server: ChildServer,
}

impl Node {
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }
}

/// Extra flags of every node: presence expires fast so the tests need not wait long.
pub const NODE_FLAGS: &[&str] = &[
    "--presence-ttl",
    "3s",
    "--send-burst",
    "1000",
    "--send-rate",
    "1000",
];

impl Cluster {
    /// `n` nodes on a fresh database.
    pub async fn start(admin: &str, n: usize) -> Self {
        Self::start_with(admin, n, NODE_FLAGS).await
    }

    /// `n` nodes on a fresh database, each started with `flags`.
    pub async fn start_with(admin: &str, n: usize, flags: &[&str]) -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let url = fresh_database(admin, root.path()).await;
        let mut cluster = Self {
            flags: flags.iter().map(|f| (*f).to_owned()).collect(),
            url,
            nodes: Vec::new(),
            ports: Vec::new(),
            root,
        };
        for i in 0..n {
            let dir = cluster.root.path().join(format!("node{i}"));
            std::fs::create_dir_all(&dir).expect("node dir");
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let node = cluster.boot(&dir, port).await;
            cluster.ports.push(port);
            cluster.nodes.push(Some(node));
        }
        cluster
    }

    async fn boot(&self, dir: &Path, port: u16) -> Node {
        let bind = format!("127.0.0.1:{port}");
        let mut args: Vec<std::ffi::OsString> =
            ["serve", "--bind", &bind, "--no-open", "--log", "warn"]
                .map(Into::into)
                .to_vec();
        args.extend(["--data-dir".into(), dir.as_os_str().to_owned()]);
        args.extend(["--database", self.url.as_str()].map(Into::into));
        args.extend(self.flags.iter().map(Into::into));
        Node {
            server: ChildServer::spawn(args, &[]).await,
        }
    }

    /// Where the nodes' data dirs are.
    pub fn root_dir(&self) -> &Path {
        self.root.path()
    }

    /// The fixed addresses of every node (running or not).
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.ports
            .iter()
            .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
            .collect()
    }

    pub fn node(&self, i: usize) -> &Node {
        self.nodes[i].as_ref().expect("node running")
    }

    pub fn addr(&self, i: usize) -> SocketAddr {
        self.node(i).addr()
    }

    /// Kills node `i` with SIGKILL (no shutdown at all).
    pub async fn kill(&mut self, i: usize) {
        let mut node = self.nodes[i].take().expect("node running");
        node.server.child.kill().await.expect("kill -9");
    }

    /// Stops node `i` as on SIGTERM (if it runs) and starts it again on
    /// its data dir and port.
    pub async fn restart(&mut self, i: usize) {
        let dir = self.root.path().join(format!("node{i}"));
        let port = self.ports[i];
        if let Some(mut node) = self.nodes[i].take() {
            node.server.signal(crate::child::libc_signal::Signal::Term);
            tokio::time::timeout(WAIT, node.server.child.wait())
                .await
                .expect("stops in time")
                .expect("exit status");
        }
        let node = self.boot(&dir, port).await;
        self.nodes[i] = Some(node);
    }

    /// A SQL statement on the team's database; returns the first column of every row.
    pub async fn sql(&self, query: &str) -> Vec<String> {
        sql(&self.url, query).await
    }
}

/// Runs `query` on `url`; the first column of every row, as text.
pub async fn sql(url: &str, query: &str) -> Vec<String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(connection);
    client
        .simple_query(query)
        .await
        .expect("query")
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("").to_owned()),
            _ => None,
        })
        .collect()
}

/// HTTP helpers against any address.
pub struct Http(pub reqwest::Client);

impl Http {
    pub fn new() -> Self {
        Self(reqwest::Client::new())
    }

    pub async fn register(&self, at: SocketAddr, name: &str) -> TestUser {
        let res = self
            .0
            .post(format!("http://{at}/api/auth/register"))
            .json(&json!({"username": name, "password": "password123"}))
            .send()
            .await
            .expect("register");
        assert_eq!(res.status(), 201, "register {name}");
        let body: Value = res.json().await.expect("json");
        TestUser {
            id: body["user"]["id"].as_i64().expect("id"),
            name: name.into(),
            token: body["token"].as_str().expect("token").into(),
        }
    }

    /// POST a message; the status and body (an error is `Err`: the node is down).
    pub async fn send(
        &self,
        at: SocketAddr,
        user: &TestUser,
        content: &str,
        client_id: &str,
    ) -> Result<(u16, Value), reqwest::Error> {
        let res = self
            .0
            .post(format!("http://{at}/api/chat/messages"))
            .bearer_auth(&user.token)
            .json(&json!({"content": content, "client_id": client_id}))
            .timeout(Duration::from_secs(15))
            .send()
            .await?;
        let status = res.status().as_u16();
        Ok((status, res.json().await.unwrap_or(Value::Null)))
    }

    /// Uploads `body` as `name` to the lobby; returns the file's id.
    pub async fn upload(&self, at: SocketAddr, user: &TestUser, name: &str, body: Vec<u8>) -> i64 {
        let res: Value = self
            .0
            .post(format!("http://{at}/api/rooms/1/files?name={name}"))
            .bearer_auth(&user.token)
            .body(body)
            .send()
            .await
            .expect("upload")
            .json()
            .await
            .expect("json");
        res["file"]["id"].as_i64().expect("file id")
    }

    pub async fn get(&self, at: SocketAddr, path: &str, user: &TestUser) -> Value {
        self.0
            .get(format!("http://{at}{path}"))
            .bearer_auth(&user.token)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json")
    }

    /// Every lobby message after `after`, by the seed's polling endpoint.
    pub async fn poll_all(&self, at: SocketAddr, user: &TestUser, mut after: i64) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let body = self
                .get(
                    at,
                    &format!("/api/chat/messages/new?after_id={after}"),
                    user,
                )
                .await;
            all.extend(
                body["messages"]
                    .as_array()
                    .expect("messages")
                    .iter()
                    .cloned(),
            );
            after = body["last_id"].as_i64().expect("last_id");
            if body["has_more"] != true {
                return all;
            }
        }
    }
}

/// Debian's nginx with `packaging/nginx/cluster.conf`, its upstream block
/// pointed at `nodes`.
pub async fn cluster_nginx(nodes: &[SocketAddr]) -> Nginx {
    let site = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/nginx/cluster.conf"),
    )
    .expect("cluster.conf");
    let seed_servers = "    server hearth1:3001;\n    server hearth2:3001;\n";
    for needle in ["ip_hash;", seed_servers, "listen 80;"] {
        assert!(
            site.contains(needle),
            "cluster.conf changed: {needle:?} is gone"
        );
    }
    let servers: String = nodes.iter().map(|a| format!("    server {a};\n")).collect();
    Nginx::start(|port| {
        site.replace(seed_servers, &servers)
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
    })
    .await
}

/// Waits (up to `within`) until `check` is true.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
