//! Messages, accounts and sign-outs on the cluster store.

use super::conn::Conn;
use super::room_writes::join_lobby;
use super::rows::{MESSAGE_COLUMNS, message_from_row, room_name};
use super::tx::PgTx;
use crate::domain::access::Action;
use crate::domain::{ClientId, MessageBody, Username};
use crate::store::{LOBBY_ID, LOBBY_NAME, Message, StoreError, StoreResult, Stored, User, UserRef};

/// Stores a message in a room the sender may post to, or finds the earlier
/// one with the same client id.
pub(super) async fn insert_message(
    tx: &mut PgTx<'_>,
    room_id: i64,
    sender: &UserRef,
    body: &MessageBody,
    client_id: &ClientId,
) -> StoreResult<Stored> {
    let room = if room_id == LOBBY_ID {
        LOBBY_NAME.to_owned()
    } else {
        if let Err(denied) = tx.allow(room_id, sender.id, Action::Post).await {
            // A retry of a message stored before the sender lost access
            // still gets its ack.
            return repeat(tx, sender, client_id).await?.ok_or(denied);
        }
        room_name(&tx.tx, room_id).await?
    };
    // The message and its event in one statement; on a repeat neither is
    // written and the seq is not used.
    let seq = tx.next_seq();
    let inserted = tx
        .tx
        .exec(
            "WITH m AS (
                 INSERT INTO messages (id, room_id, user_id, content, created_at, client_id)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (user_id, client_id) DO NOTHING RETURNING id)
             INSERT INTO events (seq, kind, room_id, user_id, actor_id, created_at)
             SELECT id, 'message', $2, $3, $3, $5 FROM m",
            &[
                &seq,
                &room_id,
                &sender.id,
                &body.as_str(),
                &tx.now,
                &client_id.as_str(),
            ],
        )
        .await?;
    if inserted == 0 {
        return repeat(tx, sender, client_id)
            .await?
            .ok_or(StoreError::NotFound);
    }
    tx.take_seq();
    Ok(Stored {
        message: Message {
            id: seq,
            room,
            room_id,
            user_id: sender.id,
            username: sender.username.clone(),
            content: body.as_str().to_owned(),
            created_at: tx.now,
            client_id: client_id.as_str().to_owned(),
        },
        created: true,
    })
}

/// The earlier message with this client id, as a repeat.
async fn repeat(
    tx: &PgTx<'_>,
    sender: &UserRef,
    client_id: &ClientId,
) -> StoreResult<Option<Stored>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m
         JOIN users u ON u.id = m.user_id JOIN rooms r ON r.id = m.room_id
         WHERE m.user_id = $1 AND m.client_id = $2"
    );
    let row = tx.tx.opt(&sql, &[&sender.id, &client_id.as_str()]).await?;
    Ok(row.map(|r| Stored {
        message: message_from_row(&r),
        created: false,
    }))
}

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
