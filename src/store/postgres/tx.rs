//! A writing transaction of the cluster store. It starts by locking the one
//! row of `stream_head` and takes the next seqs from it, so writers on every
//! node commit one at a time, in seq order: a client whose cursor passed a
//! seq can never miss a lower one committed later. The commit moves the head
//! and sends `NOTIFY hearth_events` (delivered only if it commits).

use super::conn::Conn;
use super::rows::room_facts;
use crate::domain::access::{self, Action, RoomFacts};
use crate::store::{StoreError, StoreResult, now_ms};
use deadpool_postgres::{Client, Transaction};

/// The channel nodes listen on; the payload is the new head seq.
pub(super) const EVENTS_CHANNEL: &str = "hearth_events";

/// An open writing transaction holding the stream lock.
pub(super) struct PgTx<'a> {
    /// The transaction.
    pub tx: Transaction<'a>,
    /// Its commit time (Unix epoch milliseconds).
    pub now: i64,
    head: i64,
    next: i64,
}

impl<'a> PgTx<'a> {
    /// Begins and takes the stream lock.
    pub(super) async fn begin(client: &'a mut Client) -> StoreResult<Self> {
        let tx = client.transaction().await?;
        let head: i64 = tx
            .one("SELECT seq FROM stream_head FOR UPDATE", &[])
            .await?
            .get(0);
        Ok(Self {
            tx,
            now: now_ms(),
            head,
            next: head + 1,
        })
    }

    /// Records an event and returns its seq.
    pub(super) async fn event(
        &mut self,
        kind: &str,
        room_id: i64,
        user_id: Option<i64>,
        actor_id: Option<i64>,
        value: Option<i64>,
    ) -> StoreResult<i64> {
        let seq = self.next;
        self.tx
            .exec(
                "INSERT INTO events (seq, kind, room_id, user_id, actor_id, value, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &seq, &kind, &room_id, &user_id, &actor_id, &value, &self.now,
                ],
            )
            .await?;
        self.next += 1;
        Ok(seq)
    }

    /// Takes the next seq for a row written directly (messages and their
    /// events in one statement).
    pub(super) fn take_seq(&mut self) -> i64 {
        self.next += 1;
        self.next - 1
    }

    /// The facts the access rule needs, or `NotFound` for no such room.
    pub(super) async fn facts(&self, room_id: i64, user_id: i64) -> StoreResult<RoomFacts> {
        room_facts(&self.tx, room_id, user_id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The facts, after the access rule allowed `action`.
    pub(super) async fn allow(
        &self,
        room_id: i64,
        user_id: i64,
        action: Action,
    ) -> StoreResult<RoomFacts> {
        let facts = self.facts(room_id, user_id).await?;
        access::decide(&facts, action)?;
        Ok(facts)
    }

    /// Moves the head past the events written and commits; returns the
    /// last seq written, if any (the caller then wakes this node's publisher).
    pub(super) async fn commit(self) -> StoreResult<Option<i64>> {
        let last = self.next - 1;
        let wrote = last > self.head;
        if wrote {
            self.tx
                .exec(
                    "WITH h AS (UPDATE stream_head SET seq = $1 RETURNING seq)
                     SELECT pg_notify($2, seq::text) FROM h",
                    &[&last, &EVENTS_CHANNEL],
                )
                .await?;
        }
        self.tx.commit().await?;
        Ok(wrote.then_some(last))
    }
}
