//! Search on SQLite: FTS5 with the trigram tokenizer for terms of 3+
//! characters (any script), a second FTS5 table of short grams for
//! 2-character terms. Both are contentless (the text stays in `messages`).
//!
//! New messages are indexed by the writer a moment after they are stored
//! (every 100 ms, up to 2000 at a time): indexing each small transaction of
//! sends on its own cost 30 % of the ingest rate. `meta.search_indexed_to`
//! is the highest message id indexed, moved in the same transaction, so a
//! crash loses nothing; searches scan the few messages above it directly,
//! so a message is found the moment it is acknowledged. Edits and deletions
//! of indexed messages update the index in their own transaction.

use super::message_rows::{MESSAGE_COLUMNS, MESSAGE_FROM, add_reactions, message_from_row};
use crate::store::search::{
    RANK_POOL, SearchHit, SearchOrder, SearchRequest, fts_phrase, short_grams,
};
use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};

/// `hearth_has_gram(content, gram)`: whether the text has that short gram;
/// checks the 2-character words of a query whose longer words drive it.
pub(super) fn register_functions(c: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    c.create_scalar_function(
        "hearth_has_gram",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let content = ctx.get_raw(0).as_str().unwrap_or_default();
            let gram = ctx.get_raw(1).as_str().unwrap_or_default();
            Ok(has_gram(content, gram))
        },
    )
}

/// Whether `gram` is among the short grams of `content`.
fn has_gram(content: &str, gram: &str) -> bool {
    // A CJK pair is there exactly when it is a substring; skip the split.
    if !content.contains(gram) && gram.chars().all(|c| !c.is_ascii()) {
        return false;
    }
    short_grams(content).split(' ').any(|g| g == gram)
}

/// The highest message id indexed.
fn indexed_to(c: &Connection) -> rusqlite::Result<i64> {
    let value: Option<String> = c
        .prepare_cached("SELECT value FROM meta WHERE key = 'search_indexed_to'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Indexes up to `max` messages stored since the last pass; returns how many.
pub(super) fn index_pending(c: &Connection, max: usize) -> rusqlite::Result<usize> {
    let from = indexed_to(c)?;
    let rows: Vec<(i64, String)> = c
        .prepare_cached("SELECT id, content FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2")?
        .query_map(params![from, max as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let Some(last) = rows.last().map(|r| r.0) else {
        return Ok(0);
    };
    for (id, content) in &rows {
        // A message deleted meanwhile has no text left: nothing to index.
        index(c, *id, content)?;
    }
    c.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('search_indexed_to', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([last.to_string()])?;
    Ok(rows.len())
}

/// After an edit: the new text replaces the old in the index (nothing to do
/// for a message not indexed yet: its pass reads the text as it is then).
pub(super) fn reindex(c: &Connection, id: i64, content: &str) -> rusqlite::Result<()> {
    if id <= indexed_to(c)? {
        unindex(c, id)?;
        index(c, id, content)?;
    }
    Ok(())
}

/// Indexes message `id` with text `content`.
fn index(c: &Connection, id: i64, content: &str) -> rusqlite::Result<()> {
    if content.is_empty() {
        return Ok(());
    }
    c.prepare_cached("INSERT INTO message_fts (rowid, content) VALUES (?1, ?2)")?
        .execute(params![id, content])?;
    let grams = short_grams(content);
    if !grams.is_empty() {
        c.prepare_cached("INSERT INTO message_grams (rowid, grams) VALUES (?1, ?2)")?
            .execute(params![id, grams])?;
    }
    Ok(())
}

/// Takes message `id` out of the index (if it is in it).
pub(super) fn unindex(c: &Connection, id: i64) -> rusqlite::Result<()> {
    if id > indexed_to(c)? {
        return Ok(());
    }
    c.prepare_cached("DELETE FROM message_fts WHERE rowid = ?1")?
        .execute([id])?;
    c.prepare_cached("DELETE FROM message_grams WHERE rowid = ?1")?
        .execute([id])?;
    Ok(())
}

/// After the upgrade to schema v6: writes the short grams of the messages
/// stored before it (the trigram index was filled by the migration's SQL).
pub(super) fn fill_pending_grams(c: &Connection) -> rusqlite::Result<()> {
    let pending: Option<String> = c
        .query_row(
            "SELECT value FROM meta WHERE key = 'grams_pending'",
            [],
            |r| r.get(0),
        )
        .ok();
    if pending.as_deref() != Some("1") {
        return Ok(());
    }
    let total: i64 = c.query_row(
        "SELECT COUNT(*) FROM messages WHERE deleted_at IS NULL AND content <> ''",
        [],
        |r| r.get(0),
    )?;
    tracing::info!(
        messages = total,
        "indexing old messages for 2-character search"
    );
    c.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        let mut read = c.prepare(
            "SELECT id, content FROM messages WHERE deleted_at IS NULL AND content <> ''",
        )?;
        let mut write = c.prepare("INSERT INTO message_grams (rowid, grams) VALUES (?1, ?2)")?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let grams = short_grams(&r.get::<_, String>(1)?);
            if !grams.is_empty() {
                write.execute(params![r.get::<_, i64>(0)?, grams])?;
            }
        }
        c.execute("DELETE FROM meta WHERE key = 'grams_pending'", [])?;
        Ok(())
    })();
    match result {
        Ok(()) => c.execute_batch("COMMIT"),
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// The messages matching `req` in the rooms its user is a member of now.
pub(super) fn search(c: &Connection, req: &SearchRequest) -> rusqlite::Result<Vec<SearchHit>> {
    let long = req
        .long_terms
        .iter()
        .map(|t| fts_phrase(t))
        .collect::<Vec<_>>()
        .join(" AND ");
    let short = req
        .grams
        .iter()
        .map(|t| fts_phrase(t))
        .collect::<Vec<_>>()
        .join(" AND ");
    // An index drives (newest first it stops after `limit` rows): the
    // trigram one when there are longer words, whose matches each 2-character
    // word then checks on the row; the short-gram one otherwise.
    let (driver, matched) = if long.is_empty() {
        ("message_grams", short)
    } else {
        ("message_fts", long)
    };
    // Relevance ranks the newest RANK_POOL matches: ranking every match of
    // a common word would read all of them (200 ms at a million messages).
    let (rank, order, pool) = match req.order {
        SearchOrder::Newest => ("0", "f.rowid DESC", req.limit),
        SearchOrder::Relevance => ("f.rank", "f.rowid DESC", RANK_POOL.max(req.limit)),
    };
    // One parameter per checked gram (?8, ?9, …): the statement stays cached
    // per number of grams, not per query.
    let checked: &[String] = if driver == "message_fts" {
        &req.grams
    } else {
        &[]
    };
    let gram_checks: String = (0..checked.len())
        .map(|i| format!(" AND hearth_has_gram(m.content, ?{})", i + 8))
        .collect();
    let sql = format!(
        "SELECT * FROM (
           SELECT {MESSAGE_COLUMNS}, r.kind, {rank} AS score FROM {driver} f CROSS JOIN {MESSAGE_FROM}
           WHERE {driver} MATCH ?1 AND m.id = f.rowid AND f.rowid < ?2
             AND m.deleted_at IS NULL
             AND m.room_id IN (SELECT room_id FROM memberships WHERE user_id = ?3 AND left_seq IS NULL)
             AND (?4 IS NULL OR m.room_id = ?4) AND (?5 IS NULL OR m.user_id = ?5){gram_checks}
           ORDER BY {order} LIMIT ?6)
         ORDER BY score, 1 DESC LIMIT ?7"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let before = req.before.unwrap_or(i64::MAX);
    let (pool, limit) = (pool as i64, req.limit as i64);
    let mut values: Vec<&dyn ToSql> = vec![
        &matched,
        &before,
        &req.user_id,
        &req.room_id,
        &req.author_id,
        &pool,
        &limit,
    ];
    values.extend(checked.iter().map(|g| g as &dyn ToSql));
    let rows = stmt.query_map(params_from_iter(values), |r| {
        Ok((message_from_row(r)?, r.get::<_, String>(17)?))
    })?;
    let mut hits = Vec::new();
    for row in rows {
        let (message, room_kind) = row?;
        hits.push(SearchHit { message, room_kind });
    }
    drop(stmt);
    let recent = tail(c, req)?;
    hits = match req.order {
        SearchOrder::Newest => recent.into_iter().chain(hits).collect(),
        SearchOrder::Relevance => hits.into_iter().chain(recent).collect(),
    };
    hits.truncate(req.limit);
    add_reactions(c, hits.iter_mut().map(|h| &mut h.message))?;
    Ok(hits)
}

/// The matches among the messages not indexed yet (a fraction of a
/// second's worth), newest first: read and matched here.
fn tail(c: &Connection, req: &SearchRequest) -> rusqlite::Result<Vec<SearchHit>> {
    let from = indexed_to(c)?;
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS}, r.kind FROM {MESSAGE_FROM}
         WHERE m.id > ?1 AND m.id < ?2 AND m.deleted_at IS NULL
           AND m.room_id IN (SELECT room_id FROM memberships WHERE user_id = ?3 AND left_seq IS NULL)
           AND (?4 IS NULL OR m.room_id = ?4) AND (?5 IS NULL OR m.user_id = ?5)
         ORDER BY m.id DESC"
    );
    let before = req.before.unwrap_or(i64::MAX);
    let long: Vec<String> = req.long_terms.iter().map(|t| t.to_lowercase()).collect();
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![from, before, req.user_id, req.room_id, req.author_id],
        |r| Ok((message_from_row(r)?, r.get::<_, String>(17)?)),
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (message, room_kind) = row?;
        let text = message.content.to_lowercase();
        let matched = long.iter().all(|t| text.contains(t.as_str()))
            && req.grams.iter().all(|g| has_gram(&message.content, g));
        if matched {
            out.push(SearchHit { message, room_kind });
        }
    }
    Ok(out)
}
