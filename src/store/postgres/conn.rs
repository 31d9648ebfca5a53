//! Queries through the statement cache, the same way on a pooled connection
//! and inside a transaction, with the futures `Send` (request handlers run
//! on any runtime thread).

use crate::store::StoreError;
use deadpool_postgres::{Client, Transaction};
use std::future::Future;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

/// Query parameters.
pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A connection or a transaction.
pub(super) trait Conn: Sync {
    /// Every row.
    fn rows(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + Send;

    /// Rows changed.
    fn exec(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<u64, tokio_postgres::Error>> + Send;

    /// The first row, if any.
    fn opt(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Option<Row>, tokio_postgres::Error>> + Send {
        async move { Ok(self.rows(sql, params).await?.into_iter().next()) }
    }

    /// The one row a query always returns (an aggregate, a RETURNING).
    fn one(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Row, StoreError>> + Send {
        async move {
            self.opt(sql, params)
                .await?
                .ok_or_else(|| StoreError::Postgres(format!("no row from: {sql}")))
        }
    }
}

impl Conn for Client {
    async fn rows(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query(&statement, params).await
    }

    async fn exec(&self, sql: &str, params: Params<'_>) -> Result<u64, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.execute(&statement, params).await
    }
}

impl Conn for Transaction<'_> {
    async fn rows(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query(&statement, params).await
    }

    async fn exec(&self, sql: &str, params: Params<'_>) -> Result<u64, tokio_postgres::Error> {
        let statement = self.prepare_cached(sql).await?;
        self.execute(&statement, params).await
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            Some(code) if *code == SqlState::UNIQUE_VIOLATION => StoreError::Conflict,
            // A query the database answered: ours to report, with its reason
            // (the plain text of the error is only "db error").
            Some(_) => StoreError::Postgres(
                e.as_db_error()
                    .map_or_else(|| e.to_string(), ToString::to_string),
            ),
            // No answer: the connection broke or the server is down.
            None => StoreError::Unavailable(e.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Unavailable(format!("no database connection: {e}"))
    }
}
