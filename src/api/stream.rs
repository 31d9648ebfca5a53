//! `/api/stream` (the v2 stream for polling clients) and `/api/users` (the
//! user picker).

use super::chat::{MAX_POLL_BATCH, charge_read};
use super::rooms::{json_reply, user};
use super::{ApiError, extract, raw_query, respond, with_state};
use crate::protocol::stream_frame;
use crate::state::AppState;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

/// Most users one `GET /api/users` lists.
const MAX_USER_SEARCH: usize = 50;

#[derive(Deserialize)]
struct StreamQuery {
    after: Option<i64>,
}

#[derive(Deserialize)]
struct UsersQuery {
    q: Option<String>,
    limit: Option<usize>,
}

pub(super) fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let s = || with_state(state.clone());
    let h = warp::header::headers_cloned;
    let stream = warp::path!("api" / "stream")
        .and(warp::get())
        .and(s())
        .and(h())
        .and(raw_query())
        .then(|st, hd, q| async move { respond(stream(st, hd, q).await) });
    let users = warp::path!("api" / "users")
        .and(warp::get())
        .and(s())
        .and(h())
        .and(raw_query())
        .then(|st, hd, q| async move { respond(users(st, hd, q).await) });
    stream.or(users).unify().boxed()
}

/// The v2 stream for polling clients: the same events, in the same order,
/// with the same cursor as the WebSocket.
async fn stream(
    state: Arc<AppState>,
    headers: HeaderMap,
    query: String,
) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let q: StreamQuery = extract::query(&query)?;
    charge_read(&state, user.id)?;
    state.hub.presence().polled(user.id, &user.username);
    let head = state.hub.head().max(state.store.head_seq().await?);
    // Without a cursor: where to start (history comes from the REST API).
    let Some(after) = q.after.map(|a| a.max(0)) else {
        return Ok(json_reply(
            &json!({ "events": [], "has_more": false, "last_seq": head }),
            StatusCode::OK,
        ));
    };
    if after > head {
        return Ok(json_reply(
            &json!({ "events": [], "has_more": false, "last_seq": head, "reset": true }),
            StatusCode::OK,
        ));
    }
    let page = state.rooms.stream(&user, after, MAX_POLL_BATCH).await?;
    let newest = page.changes.last().map_or(after, |c| c.seq);
    // Nothing more for this user up to the head: the cursor skips what they
    // may not see (a change committed after `head` was read is in the page).
    let last_seq = if page.has_more {
        newest
    } else {
        newest.max(head)
    };
    let events: Vec<Value> = page
        .changes
        .iter()
        .filter_map(|c| serde_json::from_str(&stream_frame(c)).ok())
        .collect();
    Ok(json_reply(
        &json!({ "events": events, "has_more": page.has_more, "last_seq": last_seq }),
        StatusCode::OK,
    ))
}

async fn users(
    state: Arc<AppState>,
    headers: HeaderMap,
    query: String,
) -> Result<Response, ApiError> {
    user(&state, &headers)?;
    let q: UsersQuery = extract::query(&query)?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=MAX_USER_SEARCH).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be 1–{MAX_USER_SEARCH}"
        )));
    }
    let found = state
        .store
        .search_users(q.q.unwrap_or_default().trim().to_owned(), limit)
        .await?;
    Ok(json_reply(&json!({ "users": found }), StatusCode::OK))
}
