//! `hearth-bench search`: builds a team of N messages (mixed Chinese and
//! English, by default 1,000,000) straight into a fresh data dir, indexed as
//! the server indexes them, then starts the server on it and times
//! `/api/search` for each class of query (closed loop, one client). Also
//! reports the database's size with and without the search index.

use crate::stats::histogram;
use crate::suite::servers::Server;
use anyhow::Context;
use hearth::domain::{RoomName, Topic, Username};
use hearth::store::search::short_grams;
use hearth::store::{DB_FILE, RoomKind, offline, open_db};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `search`.
#[derive(clap::Args, Debug, Clone)]
pub struct SearchArgs {
    /// Messages to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub messages: u64,
    /// Searches per query class.
    #[arg(long, default_value_t = 200)]
    pub queries: usize,
    /// Server binary [default: `hearth` beside this program].
    #[arg(long)]
    pub server: Option<PathBuf>,
    /// Pin the server to these CPUs with taskset.
    #[arg(long)]
    pub server_cpus: Option<String>,
    /// Write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Two-character Chinese words, common to rare.
const CJK2: &[&str] = &[
    "会议", "部署", "上线", "故障", "预算", "客户", "周报", "接口", "合同", "麒麟",
];
/// Longer Chinese words.
const CJK3: &[&str] = &["服务器", "数据库", "产品经理", "测试环境", "紫禁城"];
/// English words.
const EN: &[&str] = &[
    "deploy",
    "release",
    "meeting",
    "database",
    "server",
    "nginx",
    "budget",
    "review",
    "customer",
    "incident",
    "rollback",
    "staging",
    "latency",
    "invoice",
    "kubernetes",
];
/// Filler between the words.
const FILLER_CJK: &str = "的了在是我有和就不人都一个上也很到说要去你会着没有看好自己这那些今天明天我们大家请已经可以需要";
const FILLER_EN: &[&str] = &[
    "the", "a", "to", "is", "we", "on", "for", "it", "please", "ok", "now", "after",
];

/// The query classes: (name, queries).
const CLASSES: &[(&str, &[&str])] = &[
    (
        "2-character CJK word",
        &["会议", "部署", "上线", "故障", "预算", "麒麟"],
    ),
    (
        "3+ character word",
        &[
            "deploy",
            "服务器",
            "kubernetes",
            "releas",
            "数据库",
            "invoice",
        ],
    ),
    (
        "two words",
        &[
            "部署 nginx",
            "会议 budget",
            "故障 database",
            "release 上线",
            "数据库 rollback",
        ],
    ),
    // The worst case of newest first: a common word drives, a rare one filters.
    (
        "two words, one rare",
        &["麒麟 deploy", "紫禁城 会议", "kubernetes 麒麟"],
    ),
    ("no match", &["不存在的词", "zyxwvut", "麒麟 紫禁城 不存在"]),
    (
        "relevance, 2-character",
        &["会议&order=relevance", "麒麟&order=relevance"],
    ),
];

/// A tiny deterministic generator (xorshift), so every run builds the same team.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// An index below `n`, skewed towards small ones (common words first).
    fn skewed(&mut self, n: usize) -> usize {
        let a = self.next() as usize % n;
        let b = self.next() as usize % n;
        a.min(b)
    }
}

/// One message: a few words of both languages with filler around them.
fn message(rng: &mut Rng) -> String {
    let mut out = String::new();
    let filler: Vec<char> = FILLER_CJK.chars().collect();
    for _ in 0..(3 + rng.next() % 6) {
        match rng.next() % 5 {
            0 => out.push_str(CJK2[rng.skewed(CJK2.len())]),
            1 => out.push_str(CJK3[rng.skewed(CJK3.len())]),
            2 => {
                out.push(' ');
                out.push_str(EN[rng.skewed(EN.len())]);
                out.push(' ');
            }
            3 => {
                out.push(' ');
                out.push_str(FILLER_EN[rng.next() as usize % FILLER_EN.len()]);
                out.push(' ');
            }
            _ => {
                for _ in 0..(2 + rng.next() % 5) {
                    out.push(filler[rng.next() as usize % filler.len()]);
                }
            }
        }
    }
    out.trim().to_owned()
}

/// Builds the team in `dir`: the reader in the lobby, another user in a
/// closed room the reader is not in; a quarter of the messages go there.
fn build(dir: &Path, n: u64) -> anyhow::Result<()> {
    let db = open_db(&dir.join(DB_FILE))?;
    let mut conn = db.conn;
    let hash = hearth::auth::password::hash_blocking("password123")?;
    let reader = offline::create_user(&mut conn, &Username::parse("reader")?, &hash, true)?;
    let other = offline::create_user(&mut conn, &Username::parse("other")?, &hash, false)?;
    let closed = offline::create_room(
        &mut conn,
        &RoomName::parse("elsewhere")?,
        RoomKind::Closed,
        &Topic::parse("")?,
        &["other".to_owned()],
    )?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let tx = conn.transaction()?;
        {
            let mut event = tx.prepare(
                "INSERT INTO events (kind, room_id, user_id, actor_id, created_at)
                 VALUES ('message', ?1, ?2, ?2, ?3) RETURNING seq",
            )?;
            let mut msg = tx.prepare(
                "INSERT INTO messages (id, room_id, user_id, content, created_at, client_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut fts = tx.prepare("INSERT INTO message_fts (rowid, content) VALUES (?1, ?2)")?;
            let mut grams =
                tx.prepare("INSERT INTO message_grams (rowid, grams) VALUES (?1, ?2)")?;
            for _ in 0..50_000.min(n - done) {
                let (room, user) = if rng.next().is_multiple_of(4) {
                    (closed.id, other.id)
                } else {
                    (1, reader.id)
                };
                let text = message(&mut rng);
                let at = 1_700_000_000_000 + done as i64 * 1000;
                let id: i64 = event.query_row(rusqlite::params![room, user, at], |r| r.get(0))?;
                msg.execute(rusqlite::params![
                    id,
                    room,
                    user,
                    text,
                    at,
                    format!("g{id}")
                ])?;
                fts.execute(rusqlite::params![id, text])?;
                let g = short_grams(&text);
                if !g.is_empty() {
                    grams.execute(rusqlite::params![id, g])?;
                }
                done += 1;
            }
        }
        tx.commit()?;
        eprintln!(
            "generated {done} of {n} messages ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    }
    // Everything generated is indexed (the server's own passes do this for
    // messages it stores).
    conn.execute(
        "UPDATE meta SET value = (SELECT MAX(id) FROM messages) WHERE key = 'search_indexed_to'",
        [],
    )?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(())
}

/// The database's size, and its size without the two search tables.
fn sizes(dir: &Path) -> anyhow::Result<(u64, u64)> {
    let db = dir.join(DB_FILE);
    let with = std::fs::metadata(&db)?.len();
    let copy = dir.join("without-index.db");
    let conn = rusqlite::Connection::open(&db)?;
    conn.execute("VACUUM INTO ?1", [copy.to_str().context("utf-8 path")?])?;
    drop(conn);
    let c = rusqlite::Connection::open(&copy)?;
    c.execute_batch("DROP TABLE message_fts; DROP TABLE message_grams; VACUUM;")?;
    drop(c);
    let without = std::fs::metadata(&copy)?.len();
    std::fs::remove_file(&copy)?;
    Ok((with, without))
}

/// One query class's timings.
#[derive(Debug, Serialize)]
pub struct ClassResult {
    pub class: String,
    pub searches: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_hits: f64,
}

/// The whole run.
#[derive(Debug, Serialize)]
pub struct SearchReport {
    pub messages: u64,
    pub db_bytes: u64,
    pub db_bytes_without_index: u64,
    pub generate_secs: f64,
    pub classes: Vec<ClassResult>,
}

/// Runs the benchmark.
pub async fn run(args: SearchArgs) -> anyhow::Result<SearchReport> {
    let dir = std::env::temp_dir().join(format!("hearth-bench-search-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let started = Instant::now();
    let (d, n) = (dir.clone(), args.messages);
    tokio::task::spawn_blocking(move || build(&d, n)).await??;
    let generate_secs = started.elapsed().as_secs_f64();
    let (db_bytes, db_bytes_without_index) = sizes(&dir)?;
    let server = Server::start_in(
        args.server.as_ref(),
        args.server_cpus.as_deref(),
        dir.clone(),
    )
    .await?;
    let result = measure(&server.url(), args.queries).await;
    server.stop().await;
    let classes = result?;
    let report = SearchReport {
        messages: args.messages,
        db_bytes,
        db_bytes_without_index,
        generate_secs,
        classes,
    };
    print(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(report)
}

async fn measure(url: &str, per_class: usize) -> anyhow::Result<Vec<ClassResult>> {
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{url}/api/auth/login"))
        .json(&serde_json::json!({"username": "reader", "password": "password123"}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().context("login failed")?.to_owned();
    let mut out = Vec::new();
    for (class, queries) in CLASSES {
        let mut hist = histogram();
        let mut hits = 0u64;
        // One warm-up pass, then timed ones.
        for i in 0..per_class + queries.len() {
            let q = queries[i % queries.len()];
            let (words, extra) = q.split_once('&').map_or((q, ""), |(w, e)| (w, e));
            let words =
                percent_encoding::utf8_percent_encode(words, percent_encoding::NON_ALPHANUMERIC);
            let t = Instant::now();
            let res = http
                .get(format!("{url}/api/search?q={words}&{extra}"))
                .bearer_auth(&token)
                .send()
                .await?;
            let status = res.status();
            let body: Value = res.json().await?;
            let micros = t.elapsed().as_micros() as u64;
            anyhow::ensure!(status.is_success(), "search {q:?} failed: {status} {body}");
            if i >= queries.len() {
                hist.record(micros.max(1))?;
                hits += body["results"].as_array().map_or(0, |r| r.len() as u64);
            }
        }
        out.push(ClassResult {
            class: (*class).to_owned(),
            searches: hist.len(),
            p50_ms: hist.value_at_quantile(0.5) as f64 / 1000.0,
            p99_ms: hist.value_at_quantile(0.99) as f64 / 1000.0,
            max_ms: hist.max() as f64 / 1000.0,
            mean_hits: hits as f64 / hist.len().max(1) as f64,
        });
    }
    Ok(out)
}

fn print(r: &SearchReport) {
    let mb = |b: u64| b as f64 / 1_048_576.0;
    println!(
        "search over {} messages (generated in {:.0} s)\ndatabase: {:.0} MiB with the search index, {:.0} MiB without (+{:.0} %)",
        r.messages,
        r.generate_secs,
        mb(r.db_bytes),
        mb(r.db_bytes_without_index),
        (r.db_bytes as f64 / r.db_bytes_without_index.max(1) as f64 - 1.0) * 100.0
    );
    println!("| query | searches | p50 ms | p99 ms | max ms | hits per page |");
    println!("|---|---|---|---|---|---|");
    for c in &r.classes {
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            c.class, c.searches, c.p50_ms, c.p99_ms, c.max_ms, c.mean_hits
        );
    }
}
