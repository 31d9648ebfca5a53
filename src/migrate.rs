//! `hearth migrate --to postgres://…`: copies a single-node team into an
//! empty cluster database, with a progress bar on a terminal and plain
//! lines otherwise.

use crate::store::blob_dir::BlobDir;
use crate::store::postgres::PgStore;
use crate::store::sqlite::export;
use crate::store::transfer::TABLES;
use crate::store::{DB_FILE, DataDirLock, open_db};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

/// Copies the team in `data_dir` into the PostgreSQL database at `url`.
pub fn migrate(data_dir: &Path, url: &str) -> anyhow::Result<()> {
    let _lock = DataDirLock::acquire(data_dir)
        .context("migrate needs the server stopped (it would go on writing to SQLite)")?;
    let path = data_dir.join(DB_FILE);
    if !path.exists() {
        anyhow::bail!("there is no team in {} to migrate", data_dir.display());
    }
    let db = open_db(&path).context("cannot open the database")?;
    let conn = db.conn;
    let meta = export::team_meta(&conn)?;
    let mut total = export::blob_count(&conn)?;
    for table in TABLES {
        total += export::count(&conn, table)?;
    }
    let blobs = BlobDir::new(data_dir);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let pg = PgStore::connect(url)
            .await
            .context("cannot use the PostgreSQL database")?;
        let mut import = pg.import().await?;
        let progress = Progress::new(total);
        import
            .run(
                &meta,
                |table, after| export::read_chunk(&conn, table, after),
                |after| export::next_blob(&conn, &blobs, after),
                |what, rows| progress.rows(what, rows),
            )
            .await
            .context("nothing was copied")?;
        progress.finish();
        pg.close(Duration::from_secs(5)).await;
        println!(
            "migrated {total} rows from {} into PostgreSQL; start the nodes with --database",
            path.display()
        );
        Ok(())
    })
}

/// A bar on a terminal, a line per table otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    table: std::cell::RefCell<(Option<&'static str>, u64)>,
}

impl Progress {
    fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) =
                ProgressStyle::with_template("{msg:>16} [{bar:40}] {pos}/{len} rows ({eta} left)")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Self {
            bar,
            table: std::cell::RefCell::new((None, 0)),
        }
    }

    fn rows(&self, table: &'static str, rows: u64) {
        if let Some(bar) = &self.bar {
            bar.set_message(table);
            bar.inc(rows);
            return;
        }
        let mut current = self.table.borrow_mut();
        if current.0 != Some(table) {
            if let Some(done) = current.0 {
                eprintln!("{done}: {} rows", current.1);
            }
            *current = (Some(table), 0);
        }
        current.1 += rows;
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message("done");
        } else if let (Some(table), rows) = *self.table.borrow() {
            eprintln!("{table}: {rows} rows");
        }
    }
}
