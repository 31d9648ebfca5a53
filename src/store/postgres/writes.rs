//! Accounts on the cluster store (messages: `batch`).

use super::conn::Conn;
use super::room_writes::join_lobby;
use super::tx::PgTx;
use crate::domain::Username;
use crate::store::{StoreError, StoreResult, User, UserRef};

/// Creates an account (in the lobby) unless its name, or one that looks the
/// same, is taken. The first account becomes an admin.
pub(super) async fn create_user(
    tx: &mut PgTx<'_>,
    username: &Username,
    password_hash: &str,
) -> StoreResult<User> {
    // The stream lock serializes writers, so check-then-insert cannot race.
    let look_alike: bool = tx
        .tx
        .one(
            "SELECT EXISTS (SELECT 1 FROM users WHERE name_key = $1 OR lower(username) = lower($2))",
            &[&username.key(), &username.as_str()],
        )
        .await?
        .get(0);
    if look_alike {
        return Err(StoreError::Conflict);
    }
    let row = tx
        .tx
        .one(
            "INSERT INTO users (username, password_hash, created_at, is_admin, name_key)
             VALUES ($1, $2, $3, NOT EXISTS (SELECT 1 FROM users), $4)
             RETURNING id, is_admin",
            &[&username.as_str(), &password_hash, &tx.now, &username.key()],
        )
        .await?;
    let user = User {
        id: row.get(0),
        username: username.as_str().to_owned(),
        is_admin: row.get(1),
        created_at: tx.now,
    };
    let member = UserRef {
        id: user.id,
        username: user.username.clone(),
    };
    join_lobby(tx, &member).await?;
    Ok(user)
}
