//! The daily figures of the admin page, kept by the server itself: one row
//! a day (UTC) with the newest message id when the day began and the most
//! connections seen that day. Written only when something changed, so an
//! idle server does not write.

use super::{TeamResult, TeamService};
use crate::stmt;
use crate::store::now_ms;
use serde::Serialize;
use std::path::Path;
use std::sync::Mutex;

/// Days the admin chart shows.
pub const CHART_DAYS: usize = 14;

/// One day of the chart.
#[derive(Debug, Clone, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Messages stored that day (still stored now).
    pub messages: i64,
    /// Most connections seen at once (by this node's samples).
    pub peak_connections: i64,
}

/// What was last written, so an unchanged sample writes nothing.
#[derive(Default)]
pub(super) struct LastSample(Mutex<Option<(String, i64)>>);

/// Today's date, UTC.
pub fn today() -> String {
    let now =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(now_ms().max(0).unsigned_abs());
    humantime::format_rfc3339_seconds(now).to_string()[..10].to_owned()
}

impl TeamService {
    /// Notes `connections` for today (and the day's first message id).
    pub async fn sample(&self, connections: i64) -> TeamResult<()> {
        let last = &self.sampled;
        let day = today();
        {
            let last = last
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((d, peak)) = &*last
                && *d == day
                && *peak >= connections
            {
                return Ok(());
            }
        }
        let head = self
            .store
            .sql_read(stmt!("SELECT COALESCE(MAX(id), 0) FROM messages"))
            .await?
            .first()
            .map_or(0, |r| r.int(0));
        let rows = self
            .store
            .sql_write_one(stmt!(
                "INSERT INTO daily_stats (day, first_message_id, peak_connections) VALUES ($1, $2, $3)
                 ON CONFLICT (day) DO UPDATE SET peak_connections = CASE
                   WHEN excluded.peak_connections > daily_stats.peak_connections
                   THEN excluded.peak_connections ELSE daily_stats.peak_connections END
                 RETURNING peak_connections",
                day.as_str(),
                head,
                connections
            ))
            .await?;
        let peak = rows.first().map_or(connections, |r| r.int(0));
        *last
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((day, peak));
        Ok(())
    }

    /// The last [`CHART_DAYS`] days that have figures, oldest first.
    pub async fn daily_figures(&self) -> TeamResult<Vec<Day>> {
        let rows = self
            .store
            .sql_read(stmt!(
                "SELECT day, first_message_id, peak_connections FROM daily_stats
                 ORDER BY day DESC LIMIT $1",
                i64::try_from(CHART_DAYS).unwrap_or(14)
            ))
            .await?;
        let mut days = Vec::with_capacity(rows.len());
        // Newest first: each day ends where the next one began.
        let mut until = i64::MAX;
        for r in &rows {
            let first = r.int(1);
            let count = self
                .store
                .sql_read(stmt!(
                    "SELECT COUNT(*) FROM messages WHERE id > $1 AND id <= $2 AND deleted_at IS NULL",
                    first,
                    until
                ))
                .await?
                .first()
                .map_or(0, |c| c.int(0));
            days.push(Day {
                day: r.text(0),
                messages: count,
                peak_connections: r.int(2),
            });
            until = first;
        }
        days.reverse();
        Ok(days)
    }

    /// Bytes the data takes: the data directory's files (SQLite: the
    /// database and the uploads), or the PostgreSQL database.
    pub async fn data_size(&self, data_dir: &Path) -> TeamResult<u64> {
        if self.store.cluster().is_some() {
            let rows = self
                .store
                .sql_read(stmt!("SELECT pg_database_size(current_database())"))
                .await?;
            return Ok(rows.first().map_or(0, |r| r.int(0).try_into().unwrap_or(0)));
        }
        let dir = data_dir.to_owned();
        Ok(tokio::task::spawn_blocking(move || dir_size(&dir))
            .await
            .unwrap_or(0))
    }
}

/// Total size of the files under `dir`.
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}
