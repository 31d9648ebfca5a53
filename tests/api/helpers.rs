//! Starting the server and talking to it.

use futures_util::{SinkExt, StreamExt};
use hearth::Application;
use hearth::cli::ServeArgs;
use hearth::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// A running server.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The server's shared state (counters, test hooks).
    pub state: Arc<hearth::state::AppState>,
    pub http: reqwest::Client,
    pub dir: Arc<TempDir>,
    stop: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
}

/// Starts a server with default settings plus `extra` arguments.
pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    spawn_in(Arc::new(tempfile::tempdir().expect("temp dir")), extra).await
}

/// Starts a server with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server on an existing data dir.
pub async fn spawn_in(dir: Arc<TempDir>, extra: &[&str]) -> TestApp {
    let data_dir = dir.path().to_str().expect("utf-8 path").to_owned();
    let mut argv = vec![
        "hearth",
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        &data_dir,
        "--no-open",
        "--log",
        "warn",
    ];
    let database = cluster_database(dir.path()).await;
    if let Some(url) = &database {
        argv.extend_from_slice(&["--database", url]);
    }
    argv.extend_from_slice(extra);
    let config = Config::from_args(parse_args(&argv)).expect("valid config");
    let app = Application::build(config).await.expect("server starts");
    let addr = app.local_addr();
    let state = app.state();
    let stop = app.shutdown_token();
    let handle = tokio::spawn(app.run());
    TestApp {
        addr,
        state,
        http: reqwest::Client::new(),
        dir,
        stop,
        handle,
    }
}

/// With `HEARTH_TEST_STORE=postgres`, the suite runs on the cluster store:
/// each data dir gets its own fresh database on the throw-away PostgreSQL
/// at `HEARTH_TEST_PG` (scripts/postgres.sh), kept across restarts of the
/// same dir. `None`: SQLite, as by default.
pub async fn cluster_database(dir: &std::path::Path) -> Option<String> {
    if std::env::var("HEARTH_TEST_STORE").ok()? != "postgres" {
        return None;
    }
    let admin = std::env::var("HEARTH_TEST_PG")
        .expect("HEARTH_TEST_STORE=postgres needs HEARTH_TEST_PG (see scripts/postgres.sh)");
    Some(fresh_database(&admin, dir).await)
}

/// A database of its own for `dir` (created on first use) on the cluster at `admin`.
pub async fn fresh_database(admin: &str, dir: &std::path::Path) -> String {
    let marker = dir.join("test-database");
    let name = match std::fs::read_to_string(&marker) {
        Ok(name) => name,
        Err(_) => {
            let name = format!("t_{}", uuid::Uuid::new_v4().simple());
            let (client, connection) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
                .await
                .expect("connect to the test PostgreSQL");
            tokio::spawn(connection);
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create a test database");
            std::fs::write(&marker, &name).expect("write the marker");
            name
        }
    };
    let base = admin.rsplit_once('/').map_or(admin, |(base, _)| base);
    format!("{base}/{name}")
}

fn parse_args(argv: &[&str]) -> ServeArgs {
    use clap::Parser;
    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ServeArgs,
    }
    Wrapper::parse_from(argv).args
}

/// A logged-in user.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: i64,
    pub name: String,
    pub token: String,
}

impl TestApp {
    /// Graceful stop (as on SIGTERM); returns the data dir for a restart.
    pub async fn stop(self) -> Arc<TempDir> {
        self.stop.cancel();
        tokio::time::timeout(WAIT, self.handle)
            .await
            .expect("stops in time")
            .expect("join")
            .expect("clean stop");
        self.dir
    }
}

impl Api for TestApp {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// Requests to a Hearth server by its address, shared by the in-process
/// [`TestApp`] and servers elsewhere (a child process, a container).
#[allow(async_fn_in_trait)]
pub trait Api {
    /// Where the server listens.
    fn addr(&self) -> SocketAddr;
    /// The HTTP client to use.
    fn http(&self) -> &reqwest::Client;

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut req = self.http().post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.http().get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    /// Logs in; returns the status and the body.
    async fn login(&self, name: &str, password: &str) -> (StatusCode, Value) {
        let res = self
            .post_json(
                "/api/auth/login",
                None,
                &json!({"username": name, "password": password}),
            )
            .await;
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn register(&self, name: &str) -> TestUser {
        let res = self
            .post_json(
                "/api/auth/register",
                None,
                &json!({"username": name, "password": "password123"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "register {name}");
        user_of(name, &res.json().await.expect("json"))
    }

    /// Registers with an invitation; (status, body).
    async fn register_with(&self, name: &str, invite: Option<&str>) -> (StatusCode, Value) {
        let body = json!({"username": name, "password": "password123", "invite": invite});
        self.call("POST", "/api/auth/register", None, Some(&body))
            .await
    }

    /// Makes an invitation as `who`; its secret.
    async fn invite(&self, who: &TestUser, uses: u32) -> String {
        let body = json!({"uses": uses, "hours": 24});
        let (status, body) = self
            .call("POST", "/api/invites", Some(&who.token), Some(&body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert!(
            body["path"]
                .as_str()
                .expect("path")
                .starts_with("/#/invite/")
        );
        body["invite"]["token"]
            .as_str()
            .expect("invite token")
            .to_owned()
    }

    /// Sends over REST; returns (status, message).
    async fn send(&self, user: &TestUser, content: &str, client_id: &str) -> (StatusCode, Value) {
        let res = self
            .post_json(
                "/api/chat/messages",
                Some(&user.token),
                &json!({"content": content, "client_id": client_id}),
            )
            .await;
        let status = res.status();
        (status, res.json().await.expect("json"))
    }

    /// Every message with id > after, through the polling endpoint.
    async fn poll_all(&self, user: &TestUser, mut after: i64) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let res = self
                .get(
                    &format!("/api/chat/messages/new?after_id={after}"),
                    Some(&user.token),
                )
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let body: Value = res.json().await.expect("json");
            let batch = body["messages"].as_array().expect("messages").clone();
            after = body["last_id"].as_i64().expect("last_id");
            all.extend(batch);
            if !body["has_more"].as_bool().expect("has_more") {
                return all;
            }
        }
    }

    /// A JSON request: (status, body; `Null` when there is none).
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http().request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates a room as `who`; returns it.
    async fn create_room(&self, who: &TestUser, name: &str, kind: &str, members: &[i64]) -> Value {
        let body = json!({"name": name, "kind": kind, "member_ids": members});
        let (status, room) = self
            .call("POST", "/api/rooms", Some(&who.token), Some(&body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{room}");
        room
    }

    /// The direct room of `who` and `others`; returns its id.
    async fn direct(&self, who: &TestUser, others: &[i64]) -> i64 {
        let body = json!({"user_ids": others});
        let (status, room) = self
            .call("POST", "/api/rooms/direct", Some(&who.token), Some(&body))
            .await;
        assert!(status.is_success(), "{room}");
        room["id"].as_i64().expect("room id")
    }

    /// Sends to a room over REST; returns (status, message or error).
    async fn send_to(
        &self,
        who: &TestUser,
        room: i64,
        text: &str,
        cid: &str,
    ) -> (StatusCode, Value) {
        let body = json!({"content": text, "client_id": cid});
        self.call(
            "POST",
            &format!("/api/rooms/{room}/messages"),
            Some(&who.token),
            Some(&body),
        )
        .await
    }

    /// A v2 (rooms) WebSocket, resuming after `after` when given.
    async fn ws_v2(&self, user: &TestUser, after: Option<i64>) -> WsClient {
        WsClient::connect_query(self.addr(), &user.token, after, "v=2")
            .await
            .expect("ws v2 connects")
    }

    async fn ws(&self, user: &TestUser) -> WsClient {
        WsClient::connect(self.addr(), &user.token, None)
            .await
            .expect("ws connects")
    }

    async fn ws_after(&self, user: &TestUser, after: i64) -> WsClient {
        WsClient::connect(self.addr(), &user.token, Some(after))
            .await
            .expect("ws connects")
    }
}

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket test client.
pub struct WsClient {
    pub ws: Stream,
    pub hello: Value,
}

impl WsClient {
    /// Connects with `Authorization: Bearer`, reads the hello frame.
    pub async fn connect(
        addr: SocketAddr,
        token: &str,
        after: Option<i64>,
    ) -> Result<Self, WsError> {
        Self::connect_query(addr, token, after, "").await
    }

    /// Like [`Self::connect`] with extra query parameters (e.g. `v=2`).
    pub async fn connect_query(
        addr: SocketAddr,
        token: &str,
        after: Option<i64>,
        extra: &str,
    ) -> Result<Self, WsError> {
        let mut query: Vec<String> = after.map(|a| format!("after={a}")).into_iter().collect();
        if !extra.is_empty() {
            query.push(extra.to_owned());
        }
        let url = if query.is_empty() {
            format!("ws://{addr}/api/chat/ws")
        } else {
            format!("ws://{addr}/api/chat/ws?{}", query.join("&"))
        };
        let mut req = url.into_client_request()?;
        req.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        let mut client = Self {
            ws,
            hello: Value::Null,
        };
        client.hello = client.next_of("hello").await;
        Ok(client)
    }

    pub async fn send_json(&mut self, v: &Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn send_message(&mut self, content: &str, client_id: &str) {
        self.send_json(&json!({"type": "message", "content": content, "client_id": client_id}))
            .await;
    }

    /// The next JSON frame (protocol pings/pongs skipped).
    pub async fn next_json(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("stream open")
                .expect("frame ok");
            match frame {
                Message::Text(t) => return serde_json::from_str(t.as_str()).expect("json frame"),
                Message::Close(c) => panic!("closed unexpectedly: {c:?}"),
                _ => {}
            }
        }
    }

    /// The next frame of `kind`, skipping others (presence pushes, …).
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let v = self.next_json().await;
            if v["type"] == kind {
                return v;
            }
        }
    }

    /// `n` message frames, skipping other kinds.
    pub async fn messages(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            out.push(self.next_of("message").await["message"].clone());
        }
        out
    }

    /// Waits for the server's close frame and returns it.
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("close in time")
            {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Frames until a pong answers a ping sent now: everything the server
    /// had queued for this socket before it (a barrier).
    pub async fn drain(&mut self) -> Vec<Value> {
        self.send_json(&json!({"type": "ping"})).await;
        let mut seen = Vec::new();
        loop {
            let v = self.next_json().await;
            if v["type"] == "pong" {
                return seen;
            }
            seen.push(v);
        }
    }

    /// Proves the connection still works: ping → pong.
    pub async fn assert_usable(&mut self) {
        self.send_json(&json!({"type": "ping"})).await;
        self.next_of("pong").await;
    }
}

/// The account in a register, setup or login answer.
pub fn user_of(name: &str, body: &Value) -> TestUser {
    TestUser {
        id: body["user"]["id"].as_i64().expect("id"),
        name: name.to_owned(),
        token: body["token"].as_str().expect("token").to_owned(),
    }
}

/// Path of the built `hearth` binary.
pub fn hearth_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hearth"))
}

/// Ids of a list of message objects.
pub fn ids(messages: &[Value]) -> Vec<i64> {
    messages
        .iter()
        .map(|m| m["id"].as_i64().expect("id"))
        .collect()
}

/// Debian's nginx (a test fails without it: scripts/test.sh installs it),
/// on a free loopback port, serving the site `site(port)` returns.
pub struct Nginx {
    pub addr: SocketAddr,
    _child: tokio::process::Child,
    _dir: TempDir,
}

impl Nginx {
    /// Checks the configuration with `nginx -t`, starts nginx in the
    /// foreground and waits until it listens.
    pub async fn start(site: impl FnOnce(u16) -> String) -> Self {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .expect(
                "nginx is not installed: scripts/test.sh installs Debian's nginx for this test",
            );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let d = dir.path().display();
        std::fs::write(dir.path().join("site.conf"), site(port)).expect("site");
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             include {d}/site.conf;\n}}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("conf");
        let run = |test: bool| {
            let mut cmd = tokio::process::Command::new(&nginx);
            if test {
                cmd.arg("-t");
            }
            cmd.arg("-p").arg(dir.path()).arg("-c").arg(&conf_path);
            cmd
        };
        let check = run(true).output().await.expect("nginx -t");
        assert!(
            check.status.success(),
            "nginx -t: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let child = run(false).kill_on_drop(true).spawn().expect("start nginx");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        tokio::time::timeout(WAIT, async {
            while TcpStream::connect(addr).await.is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("nginx listens");
        Self {
            addr,
            _child: child,
            _dir: dir,
        }
    }
}
