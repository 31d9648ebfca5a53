//! `/api/chat/*` over HTTP: history, send, the polling endpoint and online users.

use super::{ApiError, authorization, content_length, extract, raw_query, respond, with_state};
use crate::chat::RoomTarget;
use crate::state::AppState;
use crate::store::LOBBY_ID;
use crate::telemetry::names;
use futures_util::Stream;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::{Reply, Response};
use warp::{Buf, Filter};

/// Largest history page.
pub const MAX_HISTORY_LIMIT: usize = 200;
/// Default history page.
const DEFAULT_HISTORY_LIMIT: usize = 50;
/// Most users `GET /api/chat/online-users` lists (`count` is exact).
const MAX_ONLINE_LIST: usize = 5000;
/// Most messages one poll returns.
pub const MAX_POLL_BATCH: usize = 500;

#[derive(Deserialize)]
struct HistoryQuery {
    before: Option<i64>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct PollQuery {
    after_id: Option<i64>,
}

#[derive(Deserialize)]
struct SendBody {
    content: String,
    client_id: Option<String>,
    room: Option<String>,
    reply_to: Option<i64>,
}

pub(super) fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let history = warp::path!("api" / "chat" / "messages")
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(warp::header::headers_cloned())
        .and(raw_query())
        .then(|state, headers, query| async move { respond(history(state, headers, query).await) });
    let send = warp::path!("api" / "chat" / "messages")
        .and(warp::post())
        .and(with_state(state.clone()))
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(|state, headers, body| async move { respond(send(state, headers, body).await) });
    let poll = warp::path!("api" / "chat" / "messages" / "new")
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(warp::header::headers_cloned())
        .and(raw_query())
        .then(|state, headers, query| async move { respond(poll(state, headers, query).await) });
    let online = warp::path!("api" / "chat" / "online-users")
        .and(warp::get())
        .and(with_state(state))
        .and(warp::header::headers_cloned())
        .then(|state, headers| async move { respond(online(state, headers)) });
    history
        .or(send)
        .unify()
        .or(poll)
        .unify()
        .or(online)
        .unify()
        .boxed()
}

/// The answer to a send: 201 with the message, or 200 with the earlier one
/// when the client id was used before.
pub(super) fn stored_reply(stored: &crate::store::Stored) -> Response {
    let status = if stored.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    warp::reply::with_status(warp::reply::json(&stored.message), status).into_response()
}

/// A history page size: the default, or 1–[`MAX_HISTORY_LIMIT`].
pub(super) fn history_limit(asked: Option<usize>) -> Result<usize, ApiError> {
    let limit = asked.unwrap_or(DEFAULT_HISTORY_LIMIT);
    if !(1..=MAX_HISTORY_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be 1–{MAX_HISTORY_LIMIT}"
        )));
    }
    Ok(limit)
}

/// Charges one heavy read to `user_id`'s budget.
pub(super) fn charge_read(state: &AppState, user_id: i64) -> Result<(), ApiError> {
    state.reads.check(&user_id).map_err(|wait| {
        metrics::counter!(names::READS_LIMITED).increment(1);
        ApiError::rate_limited(
            "读取过于频繁，请稍后再试 (too many reads, retry later)",
            wait,
        )
    })
}

async fn history(
    state: Arc<AppState>,
    headers: HeaderMap,
    query: String,
) -> Result<Response, ApiError> {
    let user = state.auth.authenticate_header(authorization(&headers))?;
    let q: HistoryQuery = extract::query(&query)?;
    let limit = history_limit(q.limit)?;
    charge_read(&state, user.id)?;
    let mut page = state.store.history(LOBBY_ID, q.before, limit).await?;
    // The seed's lobby API knows nothing of deletions: leave them out.
    page.messages.retain(|m| !m.deleted);
    Ok(
        warp::reply::json(&json!({ "messages": page.messages, "has_more": page.has_more }))
            .into_response(),
    )
}

async fn send(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Result<Response, ApiError> {
    let user = state.auth.authenticate_header(authorization(&headers))?;
    let deadline = state.config.limits.body_timeout;
    let req: SendBody = extract::json(content_length(&headers), body, deadline).await?;
    let stored = state
        .chat
        .send(
            &user,
            RoomTarget::Name(req.room.as_deref()),
            &req.content,
            req.client_id.as_deref(),
            req.reply_to,
            &[],
        )
        .await?;
    Ok(stored_reply(&stored))
}

async fn poll(
    state: Arc<AppState>,
    headers: HeaderMap,
    query: String,
) -> Result<Response, ApiError> {
    let user = state.auth.authenticate_header(authorization(&headers))?;
    state.hub.presence().polled(user.id, &user.username);
    let q: PollQuery = extract::query(&query)?;
    charge_read(&state, user.id)?;
    let after = q.after_id.unwrap_or(0).max(0);
    // A cursor above the newest message comes from another timeline (a
    // restored backup, a rolled-back database): say so, and hand out the head.
    if after > state.hub.head() {
        let head = state.store.head_seq().await?;
        if after > head {
            return Ok(warp::reply::json(&json!({
                "messages": [], "has_more": false, "last_id": head, "reset": true
            }))
            .into_response());
        }
    }
    let mut page = state.store.after(LOBBY_ID, after, MAX_POLL_BATCH).await?;
    let last_id = page.messages.last().map_or(after, |m| m.id);
    page.messages.retain(|m| !m.deleted);
    Ok(warp::reply::json(
        &json!({ "messages": page.messages, "has_more": page.has_more, "last_id": last_id }),
    )
    .into_response())
}

fn online(state: Arc<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    state.auth.authenticate_header(authorization(&headers))?;
    Ok(warp::reply::json(&state.hub.presence().snapshot(MAX_ONLINE_LIST)).into_response())
}
