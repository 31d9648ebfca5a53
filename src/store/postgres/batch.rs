//! Group commit of messages on the cluster store. Sends queue here; one
//! task per node takes everything queued (up to [`MAX_BATCH`]) and stores it
//! in one transaction: one stream lock, one insert of every message and its
//! event, one commit. Under load that turns hundreds of transactions, each
//! waiting for the lock and a disk flush, into one.

use super::conn::Conn;
use super::files;
use super::rows::{MESSAGE_COLUMNS, MESSAGE_FROM, add_reactions, message_from_row, room_facts};
use super::tx::PgTx;
use crate::domain::access::{self, Action};
use crate::store::files::FileInfo;
use crate::store::search::short_grams;
use crate::store::{
    LOBBY_ID, LOBBY_NAME, Message, NewMessage, ReplyPreview, StoreError, StoreResult, Stored,
};
use deadpool_postgres::Pool;
use std::collections::HashMap;
use tokio::sync::{Notify, mpsc, oneshot};

/// Most messages stored in one transaction.
const MAX_BATCH: usize = 512;
/// Sends that may wait in the queue before senders wait for room.
const QUEUE: usize = 8192;

/// One queued send.
pub(super) struct Send {
    pub message: NewMessage,
    pub reply: oneshot::Sender<StoreResult<Stored>>,
}

/// The queue of sends; dropping every handle ends the task.
pub(super) fn start(
    pool: Pool,
    wake: std::sync::Arc<Notify>,
    stats: std::sync::Arc<crate::store::WriterStats>,
) -> mpsc::Sender<Send> {
    let (tx, mut rx) = mpsc::channel::<Send>(QUEUE);
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let sends = std::mem::take(&mut batch);
            let n = sends.len() as u64;
            let started = std::time::Instant::now();
            if commit(&pool, sends, &wake).await {
                use std::sync::atomic::Ordering;
                stats.transactions.fetch_add(1, Ordering::Relaxed);
                stats.operations.fetch_add(n, Ordering::Relaxed);
                stats.max_batch.fetch_max(n, Ordering::Relaxed);
                metrics::histogram!(crate::telemetry::names::DB_BATCH_SIZE).record(n as f64);
                metrics::histogram!(crate::telemetry::names::DB_COMMIT_SECONDS)
                    .record(started.elapsed().as_secs_f64());
            }
        }
    });
    tx
}

/// Stores `sends` in one transaction and answers each; true when it
/// committed. A batch the database refuses (not for being unreachable) is
/// retried one send at a time, so one bad send cannot fail the others.
async fn commit(pool: &Pool, sends: Vec<Send>, wake: &Notify) -> bool {
    match store(pool, &sends).await {
        Ok((answers, wrote)) => {
            if wrote {
                wake.notify_one();
            }
            for (send, answer) in sends.into_iter().zip(answers) {
                let _ = send.reply.send(answer);
            }
            true
        }
        Err(StoreError::Postgres(why)) if sends.len() > 1 => {
            tracing::warn!(error = %why, size = sends.len(), "a batch of messages failed; storing them one by one");
            for send in sends {
                Box::pin(commit(pool, vec![send], wake)).await;
            }
            false
        }
        Err(e) => {
            for send in sends {
                let _ = send.reply.send(Err(copy(&e)));
            }
            false
        }
    }
}

fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Postgres(m) => StoreError::Postgres(m.clone()),
        other => StoreError::Task(format!("write failed: {other}")),
    }
}

/// The answer of each send, and whether any message was written.
async fn store(pool: &Pool, sends: &[Send]) -> StoreResult<(Vec<StoreResult<Stored>>, bool)> {
    let mut client = pool.get().await?;
    let mut tx = PgTx::begin(&mut client).await?;
    // Access, once per room and sender, on facts read under the stream lock.
    let mut allowed: HashMap<(i64, i64), Result<String, StoreError>> = HashMap::new();
    for send in sends
        .iter()
        .map(|s| &s.message)
        .filter(|s| s.room_id != LOBBY_ID)
    {
        let key = (send.room_id, send.sender.id);
        if allowed.contains_key(&key) {
            continue;
        }
        let verdict = match room_facts(&tx.tx, send.room_id, send.sender.id).await? {
            None => Err(StoreError::NotFound),
            Some(facts) => match access::decide(&facts, Action::Post) {
                Ok(()) => Ok(tx
                    .tx
                    .one("SELECT name FROM rooms WHERE id = $1", &[&send.room_id])
                    .await?
                    .get(0)),
                Err(denied) => Err(denied.into()),
            },
        };
        allowed.insert(key, verdict);
    }
    // Each send's room name and reply preview, or why it is refused.
    let mut verdicts: Vec<Result<(String, Option<ReplyPreview>), StoreError>> =
        Vec::with_capacity(sends.len());
    for send in sends.iter().map(|s| &s.message) {
        let room = if send.room_id == LOBBY_ID {
            Ok(LOBBY_NAME.to_owned())
        } else {
            match allowed.get(&(send.room_id, send.sender.id)) {
                Some(Ok(name)) => Ok(name.clone()),
                Some(Err(e)) => Err(copy_refusal(e)),
                None => Ok(String::new()),
            }
        };
        let mut verdict = match (room, send.reply_to) {
            (Ok(room), Some(id)) => match reply_preview(&tx, send.room_id, id).await? {
                Some(preview) => Ok((room, Some(preview))),
                None => Err(StoreError::NotFound),
            },
            (room, _) => room.map(|room| (room, None)),
        };
        if verdict.is_ok()
            && !send.files.is_empty()
            && !files::all_pending(&tx.tx, &send.files, send.room_id, send.sender.id).await?
        {
            // Sent already (a retry), or not this sender's unsent uploads here.
            verdict = Err(StoreError::Invalid(
                "files must be your own uploads to this room, not sent yet",
            ));
        }
        verdicts.push(verdict);
    }
    // Every allowed message with the next seq; repeats of a stored client
    // id are skipped by the insert and leave their seq unused.
    let mut seqs = Vec::new();
    let (mut rooms, mut users, mut contents, mut cids, mut replies, mut mentions) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut grams = Vec::new();
    for (send, verdict) in sends.iter().map(|s| &s.message).zip(&verdicts) {
        if verdict.is_ok() {
            seqs.push(tx.take_seq());
            rooms.push(send.room_id);
            users.push(send.sender.id);
            contents.push(send.body.as_str());
            cids.push(send.client_id.as_str());
            replies.push(send.reply_to);
            mentions.push(send.mentions.to_db());
            grams.push(short_grams(send.body.as_str()));
        }
    }
    let inserted: Vec<i64> = if seqs.is_empty() {
        Vec::new()
    } else {
        tx.tx
            .rows(
                "WITH m AS (
                     INSERT INTO messages (id, room_id, user_id, content, created_at, client_id,
                                           reply_to, mentions, grams)
                     SELECT id, room_id, user_id, content, $5, client_id, reply_to, mentions,
                            string_to_array(g, ' ')
                     FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[], $6::TEXT[],
                                 $7::BIGINT[], $8::TEXT[], $9::TEXT[])
                          AS t (id, room_id, user_id, content, client_id, reply_to, mentions, g)
                     ON CONFLICT (user_id, client_id) DO NOTHING
                     RETURNING id, room_id, user_id)
                 INSERT INTO events (seq, kind, room_id, user_id, actor_id, created_at)
                 SELECT id, 'message', room_id, user_id, user_id, $5 FROM m
                 RETURNING seq",
                &[
                    &seqs, &rooms, &users, &contents, &tx.now, &cids, &replies, &mentions, &grams,
                ],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    insert_mentions(&tx, sends, &verdicts, &seqs, &inserted).await?;
    let mut attached = attach_files(&tx, sends, &verdicts, &seqs, &inserted).await?;
    let wrote = !inserted.is_empty();
    let now = tx.now;
    // The earlier copies of repeats (and of sends refused access now, whose
    // retry still gets its ack), in one query.
    let mut seq_of = seqs.iter().copied();
    let inserted: std::collections::HashSet<i64> = inserted.into_iter().collect();
    let mut answers: Vec<Option<StoreResult<Stored>>> = Vec::with_capacity(sends.len());
    let mut lookups: Vec<(i64, &str)> = Vec::new();
    for (send, verdict) in sends.iter().map(|s| &s.message).zip(&verdicts) {
        match verdict {
            Ok((room, reply_to)) => {
                let seq = seq_of.next().unwrap_or_default();
                if inserted.contains(&seq) {
                    answers.push(Some(Ok(Stored {
                        message: Message {
                            id: seq,
                            room: room.clone(),
                            room_id: send.room_id,
                            user_id: send.sender.id,
                            username: send.sender.username.clone(),
                            content: send.body.as_str().to_owned(),
                            created_at: now,
                            client_id: send.client_id.as_str().to_owned(),
                            mentions: send.mentions.users.clone(),
                            mention_everyone: send.mentions.everyone,
                            reply_to: reply_to.clone(),
                            files: attached.remove(&seq).unwrap_or_default(),
                            has_files: !send.files.is_empty(),
                            ..Message::default()
                        },
                        created: true,
                    })));
                } else {
                    answers.push(None);
                    lookups.push((send.sender.id, send.client_id.as_str()));
                }
            }
            Err(_) => {
                answers.push(None);
                lookups.push((send.sender.id, send.client_id.as_str()));
            }
        }
    }
    let earlier = earlier_copies(&tx, &lookups).await?;
    tx.commit().await?;
    let answers = sends
        .iter()
        .map(|s| &s.message)
        .zip(answers)
        .zip(&verdicts)
        .map(|((send, answer), verdict)| {
            answer.unwrap_or_else(|| {
                match earlier.get(&(send.sender.id, send.client_id.as_str().to_owned())) {
                    Some(message) => Ok(Stored {
                        message: message.clone(),
                        created: false,
                    }),
                    None => Err(match verdict {
                        Err(e) => copy_refusal(e),
                        Ok(_) => StoreError::NotFound,
                    }),
                }
            })
        })
        .collect();
    Ok((answers, wrote))
}

/// The preview of message `id` if it is a message of `room_id` that is not deleted.
async fn reply_preview(tx: &PgTx<'_>, room_id: i64, id: i64) -> StoreResult<Option<ReplyPreview>> {
    Ok(tx
        .tx
        .opt(
            "SELECT m.user_id, u.username, m.content FROM messages m
             JOIN users u ON u.id = m.user_id
             WHERE m.id = $1 AND m.room_id = $2 AND m.deleted_at IS NULL",
            &[&id, &room_id],
        )
        .await?
        .map(|r| ReplyPreview::new(id, r.get(0), r.get(1), r.get(2), false)))
}

/// The `mentions` rows of the messages this batch inserted, in one insert.
async fn insert_mentions(
    tx: &PgTx<'_>,
    sends: &[Send],
    verdicts: &[Result<(String, Option<ReplyPreview>), StoreError>],
    seqs: &[i64],
    inserted: &[i64],
) -> StoreResult<()> {
    let (mut users, mut rooms, mut ids, mut authors) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (send, seq) in stored(sends, verdicts, seqs, inserted) {
        if send.mentions == Default::default() {
            continue;
        }
        for user in send.mentions.rows() {
            users.push(user);
            rooms.push(send.room_id);
            ids.push(*seq);
            authors.push(send.sender.id);
        }
    }
    if !users.is_empty() {
        tx.tx
            .exec(
                "INSERT INTO mentions (user_id, room_id, message_id, author_id)
                 SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[])
                 ON CONFLICT DO NOTHING",
                &[&users, &rooms, &ids, &authors],
            )
            .await?;
    }
    Ok(())
}

/// The sends this batch inserted, with their seqs (`seqs` holds one per
/// allowed send, in order; a repeat's seq was not inserted).
fn stored<'a>(
    sends: &'a [Send],
    verdicts: &'a [Result<(String, Option<ReplyPreview>), StoreError>],
    seqs: &'a [i64],
    inserted: &'a [i64],
) -> impl Iterator<Item = (&'a NewMessage, &'a i64)> {
    sends
        .iter()
        .map(|s| &s.message)
        .zip(verdicts)
        .filter(|(_, v)| v.is_ok())
        .zip(seqs)
        .map(|((send, _), seq)| (send, seq))
        .filter(|(_, seq)| inserted.contains(seq))
}

/// Attaches the files of the messages this batch inserted; by message.
async fn attach_files(
    tx: &PgTx<'_>,
    sends: &[Send],
    verdicts: &[Result<(String, Option<ReplyPreview>), StoreError>],
    seqs: &[i64],
    inserted: &[i64],
) -> StoreResult<HashMap<i64, Vec<FileInfo>>> {
    let mut out = HashMap::new();
    for (send, seq) in stored(sends, verdicts, seqs, inserted) {
        if !send.files.is_empty() {
            out.insert(*seq, files::attach(&tx.tx, *seq, &send.files).await?);
        }
    }
    Ok(out)
}

/// A refusal, for each send it applies to.
fn copy_refusal(e: &StoreError) -> StoreError {
    match e {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Archived => StoreError::Archived,
        StoreError::Forbidden(why) => StoreError::Forbidden(why),
        StoreError::Invalid(why) => StoreError::Invalid(why),
        other => copy(other),
    }
}

/// Stored messages by (sender, client id).
async fn earlier_copies(
    tx: &PgTx<'_>,
    keys: &[(i64, &str)],
) -> StoreResult<HashMap<(i64, String), Message>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let users: Vec<i64> = keys.iter().map(|k| k.0).collect();
    let cids: Vec<&str> = keys.iter().map(|k| k.1).collect();
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM}
         JOIN unnest($1::BIGINT[], $2::TEXT[]) AS k (user_id, client_id)
           ON m.user_id = k.user_id AND m.client_id = k.client_id"
    );
    let mut found: Vec<Message> = tx
        .tx
        .rows(&sql, &[&users, &cids])
        .await?
        .iter()
        .map(message_from_row)
        .collect();
    add_reactions(&tx.tx, &mut found).await?;
    Ok(found
        .into_iter()
        .map(|m| ((m.user_id, m.client_id.clone()), m))
        .collect())
}
