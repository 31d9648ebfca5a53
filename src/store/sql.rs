//! Portable SQL for the team data written now and then (settings, invites,
//! login sessions, password links, the audit log, daily figures, profiles):
//! one statement text runs on both stores, so it is written once. Rules for
//! the text: placeholders `$1, $2, …` numbered in order of first use (SQLite
//! binds `$N` by position), integers and text only (PostgreSQL booleans and
//! `INTEGER` columns are converted), and `CAST(… AS BIGINT)` around sums.

use super::{Backend, Store, StoreResult};

/// A value bound to a placeholder or read from a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// SQL NULL.
    Null,
    /// An integer (also a boolean: 0 or 1).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Self::Int(i64::from(v))
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}

impl From<String> for Val {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

impl From<Vec<u8>> for Val {
    fn from(v: Vec<u8>) -> Self {
        Self::Blob(v)
    }
}

impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// One row of a result.
#[derive(Debug, Clone, Default)]
pub struct Row(pub Vec<Val>);

impl Row {
    /// Column `i` as an integer (NULL and text: 0).
    pub fn int(&self, i: usize) -> i64 {
        self.opt_int(i).unwrap_or(0)
    }

    /// Column `i` as an integer, `None` when NULL.
    pub fn opt_int(&self, i: usize) -> Option<i64> {
        match self.0.get(i) {
            Some(Val::Int(v)) => Some(*v),
            _ => None,
        }
    }

    /// Column `i` as a boolean.
    pub fn bool(&self, i: usize) -> bool {
        self.int(i) != 0
    }

    /// Column `i` as text (NULL: empty).
    pub fn text(&self, i: usize) -> String {
        self.opt_text(i).unwrap_or_default()
    }

    /// Column `i` as text, `None` when NULL.
    pub fn opt_text(&self, i: usize) -> Option<String> {
        match self.0.get(i) {
            Some(Val::Text(v)) => Some(v.clone()),
            Some(Val::Int(v)) => Some(v.to_string()),
            _ => None,
        }
    }

    /// Column `i` as bytes (NULL: empty).
    pub fn blob(&self, i: usize) -> Vec<u8> {
        match self.0.get(i) {
            Some(Val::Blob(v)) => v.clone(),
            Some(Val::Text(v)) => v.clone().into_bytes(),
            _ => Vec::new(),
        }
    }
}

/// A statement and its values.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// The SQL, with `$N` placeholders.
    pub sql: &'static str,
    /// The values, `$1` first.
    pub params: Vec<Val>,
}

impl Stmt {
    /// `sql` with `params`.
    pub fn new(sql: &'static str, params: Vec<Val>) -> Self {
        Self { sql, params }
    }
}

/// Builds a [`Stmt`]: `stmt!("… $1 … $2", a, b)`.
#[macro_export]
macro_rules! stmt {
    ($sql:expr $(, $p:expr)* $(,)?) => {
        $crate::store::sql::Stmt::new($sql, vec![$($crate::store::sql::Val::from($p)),*])
    };
}

impl Store {
    /// Runs one reading statement.
    pub async fn sql_read(&self, stmt: Stmt) -> StoreResult<Vec<Row>> {
        match &*self.backend {
            Backend::Sqlite(s) => s.reader.with(move |c| sqlite::run(c, &stmt)).await,
            Backend::Postgres(pg) => Box::pin(pg.sql(vec![stmt], false))
                .await
                .map(|mut r| r.pop().unwrap_or_default()),
        }
    }

    /// Runs writing statements in one transaction; the rows of each.
    pub async fn sql_write(&self, stmts: Vec<Stmt>) -> StoreResult<Vec<Vec<Row>>> {
        match &*self.backend {
            Backend::Sqlite(s) => s.writer.sql(stmts).await,
            Backend::Postgres(pg) => Box::pin(pg.sql(stmts, true)).await,
        }
    }

    /// [`Self::sql_write`] of one statement; its rows.
    pub async fn sql_write_one(&self, stmt: Stmt) -> StoreResult<Vec<Row>> {
        let mut rows = self.sql_write(vec![stmt]).await?;
        Ok(rows.pop().unwrap_or_default())
    }
}

/// The SQLite side.
pub(crate) mod sqlite {
    use super::{Row, Stmt, Val};
    use crate::store::StoreError;
    use rusqlite::types::{ToSqlOutput, ValueRef};
    use rusqlite::{Connection, ToSql};

    impl ToSql for Val {
        fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
            Ok(match self {
                Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
                Val::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
                Val::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
                Val::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            })
        }
    }

    /// Runs `stmt` on `c`: its rows.
    pub(crate) fn run(c: &Connection, stmt: &Stmt) -> rusqlite::Result<Vec<Row>> {
        let mut prepared = c.prepare_cached(stmt.sql)?;
        let columns = prepared.column_count();
        let mut rows = prepared.query(rusqlite::params_from_iter(stmt.params.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(columns);
            for i in 0..columns {
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => Val::Null,
                    ValueRef::Integer(v) => Val::Int(v),
                    // Truncated: the portable statements never use reals.
                    #[allow(clippy::cast_possible_truncation)]
                    ValueRef::Real(v) => Val::Int(v as i64),
                    ValueRef::Text(v) => Val::Text(String::from_utf8_lossy(v).into_owned()),
                    ValueRef::Blob(v) => Val::Blob(v.to_vec()),
                });
            }
            out.push(Row(row));
        }
        Ok(out)
    }

    /// Runs `stmts` in order (the caller holds the transaction); a unique
    /// key taken is a `Conflict`.
    pub(crate) fn run_all(c: &Connection, stmts: &[Stmt]) -> Result<Vec<Vec<Row>>, StoreError> {
        stmts
            .iter()
            .map(|s| {
                run(c, s).map_err(|e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Conflict,
                    _ => StoreError::Sqlite(e),
                })
            })
            .collect()
    }
}

/// The PostgreSQL side.
pub(crate) mod postgres {
    use super::{Row, Val};
    use bytes::BytesMut;
    use std::error::Error;
    use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

    type BoxError = Box<dyn Error + Sync + Send>;

    impl ToSql for Val {
        fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
            match self {
                Val::Null => Ok(IsNull::Yes),
                Val::Int(v) => match *ty {
                    Type::BOOL => (*v != 0).to_sql(ty, out),
                    Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                    Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                    Type::TEXT | Type::VARCHAR => v.to_string().to_sql(ty, out),
                    _ => v.to_sql(ty, out),
                },
                Val::Text(v) => v.to_sql(ty, out),
                Val::Blob(v) => v.to_sql(ty, out),
            }
        }

        fn accepts(_: &Type) -> bool {
            true
        }

        to_sql_checked!();
    }

    /// A PostgreSQL row as portable values.
    pub(crate) fn row(r: &tokio_postgres::Row) -> Result<Row, tokio_postgres::Error> {
        let mut out = Vec::with_capacity(r.len());
        for (i, column) in r.columns().iter().enumerate() {
            let v = match *column.type_() {
                Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(Val::Int),
                Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map(|v| Val::Int(v.into())),
                Type::INT2 => r.try_get::<_, Option<i16>>(i)?.map(|v| Val::Int(v.into())),
                Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map(|v| Val::Int(v.into())),
                Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i)?.map(Val::Blob),
                _ => r.try_get::<_, Option<String>>(i)?.map(Val::Text),
            };
            out.push(v.unwrap_or(Val::Null));
        }
        Ok(Row(out))
    }
}
