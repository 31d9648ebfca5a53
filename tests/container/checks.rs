//! What a user checks of a running Hearth container, whichever way it was
//! started: it answers, is healthy, runs unprivileged, two people chat (one
//! on a WebSocket, one polling), a stop closes sockets with 1001, and a new
//! container on the same data has every message.

use crate::helpers::*;
use crate::podman::{podman, podman_ok};
use reqwest::StatusCode;
use serde_json::Value;
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long a container may take to answer after it starts (a cluster node
/// waits for PostgreSQL's first start).
const START: Duration = Duration::from_secs(120);

/// A Hearth server reached through a published port.
pub struct Site {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
}

impl Api for Site {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

impl Site {
    /// Waits until `/healthz` answers 200 through the published port; its body.
    pub async fn answering(addr: SocketAddr) -> Self {
        let site = Self {
            addr,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
        };
        let started = Instant::now();
        loop {
            if let Ok(res) = site.http.get(site.url("/healthz")).send().await
                && res.status() == StatusCode::OK
            {
                return site;
            }
            assert!(
                started.elapsed() < START,
                "no answer on {addr} within {START:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The store `/healthz` names (`sqlite` or `postgres`).
    pub async fn database(&self) -> String {
        let (status, body) = self.call("GET", "/healthz", None, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["database"].as_str().unwrap_or_default().to_owned()
    }
}

/// The image's HEALTHCHECK (`hearth healthcheck`) passes in `container`.
pub async fn healthy(container: &str) {
    let check = podman(&[
        "inspect",
        "--format",
        "{{.Config.Healthcheck.Test}}",
        container,
    ])
    .await;
    assert!(
        check.contains("hearth healthcheck"),
        "the image keeps its HEALTHCHECK: {check}"
    );
    let started = Instant::now();
    while !podman_ok(&["healthcheck", "run", container]).await {
        assert!(
            started.elapsed() < START,
            "{container} never became healthy"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Hearth is the container's first process and runs as uid 10001, not root.
pub async fn runs_unprivileged(container: &str) {
    let status = podman(&["exec", container, "cat", "/proc/1/status"]).await;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(field("Name:"), ["hearth"], "{status}");
    assert_eq!(
        field("Uid:"),
        ["10001"; 4],
        "real, effective, saved, fs uid"
    );
    assert_eq!(field("Gid:"), ["10001"; 4]);
}

/// Two people of a fresh team: amy (the admin, on a WebSocket) and ben
/// (invited, polling).
pub struct Team {
    pub amy: TestUser,
    pub ben: TestUser,
    pub ws: WsClient,
    /// Every message sent so far, in order.
    pub sent: Vec<String>,
}

impl Team {
    /// Sets the server up, invites ben, opens amy's socket.
    pub async fn start(site: &Site) -> Self {
        let setup = serde_json::json!({"team_name": "容器组", "username": "amy", "password": "password123"});
        let (status, body) = site.call("POST", "/api/setup", None, Some(&setup)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let amy = user_of("amy", &body);
        let invite = site.invite(&amy, 1).await;
        let (status, body) = site.register_with("ben", Some(&invite)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let ben = user_of("ben", &body);
        let ws = WsClient::connect(site.addr, &amy.token, None)
            .await
            .expect("amy's WebSocket");
        Self {
            amy,
            ben,
            ws,
            sent: Vec::new(),
        }
    }

    /// Amy writes over the WebSocket and ben reads by polling; ben answers over
    /// REST and amy's socket delivers it.
    pub async fn chat(&mut self, site: &Site, round: &str) {
        let hello = format!("{round}: 你好 ben，这条走 WebSocket");
        let id = format!("amy-{}", self.sent.len());
        self.ws.send_message(&hello, &id).await;
        let echoed = self.ws.next_of("message").await;
        assert_eq!(echoed["message"]["content"], hello.as_str());
        self.sent.push(hello.clone());
        let polled = site.poll_all(&self.ben, 0).await;
        assert_eq!(
            polled.last().map(|m| m["content"].clone()),
            Some(Value::from(hello)),
            "ben's poll has amy's message"
        );

        let answer = format!("{round}: 收到 amy, this one came by polling");
        let (status, body) = site
            .send(&self.ben, &answer, &format!("ben-{}", self.sent.len()))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let delivered = self.ws.next_of("message").await;
        assert_eq!(delivered["message"]["content"], answer.as_str());
        self.sent.push(answer);
    }

    /// Runs `stop` (which should SIGTERM the server) and waits for the close
    /// frame on amy's socket: 1001 Going Away. Returns how long it took.
    pub async fn stopped_by(&mut self, stop: impl Future<Output = String>) -> Duration {
        let started = Instant::now();
        let (close, _) = tokio::join!(
            async {
                let close = self.ws.closed().await;
                (close, started.elapsed())
            },
            stop
        );
        let (close, took) = close;
        assert_eq!(
            close.map(|c| u16::from(c.code)),
            Some(1001),
            "a stop closes sockets with 1001"
        );
        took
    }

    /// After a restart on the same data: every message is kept, amy's old
    /// token opens a socket again, and the two chat on.
    pub async fn carries_on(&mut self, site: &Site, round: &str) {
        self.all_kept(site).await;
        self.ws = site.ws(&self.amy).await;
        self.chat(site, round).await;
    }

    /// Amy logs in again and polling returns every message once, in order.
    async fn all_kept(&self, site: &Site) {
        let (status, body) = site.login(&self.amy.name, "password123").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let amy = user_of("amy", &body);
        let kept: Vec<String> = site
            .poll_all(&amy, 0)
            .await
            .iter()
            .filter_map(|m| m["content"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(kept, self.sent, "every message, once, in order");
    }
}

/// `container`'s exit code once it has stopped.
pub async fn exit_code(container: &str) -> String {
    podman(&["inspect", "--format", "{{.State.ExitCode}}", container]).await
}
