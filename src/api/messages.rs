//! `/api/messages/{id}`: edit, delete and react to one message
//! (docs/PROTOCOL.md §4). Access is decided by the store with the room's rule.

use super::rooms::{body, json_reply, user};
use super::{ApiError, respond, with_state};
use crate::state::AppState;
use crate::store::MessageDone;
use futures_util::Stream;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::{Reply, Response};
use warp::{Buf, Filter};

#[derive(Deserialize)]
struct EditBody {
    content: String,
}

pub(super) fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let s = || with_state(state.clone());
    let h = warp::header::headers_cloned;
    let edit = warp::path!("api" / "messages" / i64)
        .and(warp::patch())
        .and(s())
        .and(h())
        .and(warp::body::stream())
        .then(|id, st, hd, b| async move { respond(edit(st, hd, id, b).await) });
    let delete = warp::path!("api" / "messages" / i64)
        .and(warp::delete())
        .and(s())
        .and(h())
        .then(|id, st, hd| async move { respond(delete(st, hd, id).await) });
    let react = warp::path!("api" / "messages" / i64 / "reactions" / String)
        .and(
            warp::put()
                .map(|| true)
                .or(warp::delete().map(|| false))
                .unify(),
        )
        .and(s())
        .and(h())
        .then(|id, emoji: String, on, st, hd| async move {
            respond(react(st, hd, id, &emoji, on).await)
        });
    edit.or(delete).unify().or(react).unify().boxed()
}

async fn edit(
    state: Arc<AppState>,
    headers: HeaderMap,
    id: i64,
    raw: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let req: EditBody = body(&state, &headers, raw).await?;
    match state.conversation.edit(&user, id, &req.content).await? {
        MessageDone::Edited { message, .. } => Ok(json_reply(&message, StatusCode::OK)),
        _ => Err(ApiError::internal("an edit answered as something else")),
    }
}

async fn delete(state: Arc<AppState>, headers: HeaderMap, id: i64) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    state.conversation.delete(&user, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn react(
    state: Arc<AppState>,
    headers: HeaderMap,
    id: i64,
    raw_emoji: &str,
    on: bool,
) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let emoji = percent_encoding::percent_decode_str(raw_emoji)
        .decode_utf8()
        .map_err(|_| ApiError::bad_request("the emoji is not UTF-8"))?;
    match state.conversation.react(&user, id, &emoji, on).await? {
        MessageDone::Reactions {
            room_id, reactions, ..
        } => Ok(json_reply(
            &json!({ "message_id": id, "room_id": room_id, "reactions": reactions }),
            StatusCode::OK,
        )),
        _ => Err(ApiError::internal("a reaction answered as something else")),
    }
}
