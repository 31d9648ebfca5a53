//! `/api/rooms/*`: rooms, direct messages, members, read positions,
//! per-room history and sending. Access is decided in [`crate::rooms`] and
//! the store (docs/PROTOCOL.md §3).

use super::chat::{charge_read, history_limit, stored_reply};
use super::{ApiError, authorization, content_length, extract, raw_query, respond, with_state};
use crate::auth::AuthUser;
use crate::chat::RoomTarget;
use crate::domain::{RoomName, Topic};
use crate::state::AppState;
use crate::store::{NotifyLevel, RoomKind};
use futures_util::Stream;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::{Reply, Response};
use warp::{Buf, Filter};

#[derive(Deserialize)]
struct CreateRoom {
    name: String,
    kind: String,
    topic: Option<String>,
    member_ids: Option<Vec<i64>>,
}

#[derive(Deserialize)]
struct UserIds {
    user_ids: Vec<i64>,
}

#[derive(Deserialize)]
struct UpdateRoom {
    name: Option<String>,
    topic: Option<String>,
}

#[derive(Deserialize)]
struct ReadBody {
    last_read_id: i64,
}

#[derive(Deserialize)]
struct SendBody {
    #[serde(default)]
    content: String,
    client_id: Option<String>,
    reply_to: Option<i64>,
    #[serde(default)]
    files: Vec<i64>,
}

#[derive(Deserialize)]
struct NotifyBody {
    level: String,
}

#[derive(Deserialize)]
struct ListQuery {
    archived: Option<bool>,
}

#[derive(Deserialize)]
struct HistoryQuery {
    before: Option<i64>,
    around: Option<i64>,
    limit: Option<usize>,
}

pub(super) fn user(state: &AppState, headers: &HeaderMap) -> Result<AuthUser, ApiError> {
    Ok(state.auth.authenticate_header(authorization(headers))?)
}

/// A request's JSON body, within the body deadline.
pub(super) async fn body<T: DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Result<T, ApiError> {
    let deadline = state.config.limits.body_timeout;
    extract::json(content_length(headers), body, deadline).await
}

pub(super) fn json_reply(value: &impl serde::Serialize, status: StatusCode) -> Response {
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}

pub(super) fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let s = || with_state(state.clone());
    let h = warp::header::headers_cloned;
    let list = warp::path!("api" / "rooms")
        .and(warp::get())
        .and(s())
        .and(h())
        .and(raw_query())
        .then(|st, hd, q| async move { respond(list(st, hd, q).await) });
    let create = warp::path!("api" / "rooms")
        .and(warp::post())
        .and(s())
        .and(h())
        .and(warp::body::stream())
        .then(|st, hd, b| async move { respond(create(st, hd, b).await) });
    let direct = warp::path!("api" / "rooms" / "direct")
        .and(warp::post())
        .and(s())
        .and(h())
        .and(warp::body::stream())
        .then(|st, hd, b| async move { respond(direct(st, hd, b).await) });
    let get = warp::path!("api" / "rooms" / i64)
        .and(warp::get())
        .and(s())
        .and(h())
        .then(|id, st, hd| async move { respond(get(st, hd, id).await) });
    let update = warp::path!("api" / "rooms" / i64)
        .and(warp::patch())
        .and(s())
        .and(h())
        .and(warp::body::stream())
        .then(|id, st, hd, b| async move { respond(update(st, hd, id, b).await) });
    let action =
        warp::path!("api" / "rooms" / i64 / String)
            .and(warp::post())
            .and(s())
            .and(h())
            .and(warp::body::stream())
            .then(|id, what: String, st, hd, b| async move {
                respond(action(st, hd, id, &what, b).await)
            });
    let members = warp::path!("api" / "rooms" / i64 / "members")
        .and(warp::get())
        .and(s())
        .and(h())
        .then(|id, st, hd| async move { respond(members(st, hd, id).await) });
    let remove = warp::path!("api" / "rooms" / i64 / "members" / i64)
        .and(warp::delete())
        .and(s())
        .and(h())
        .then(|id, target, st, hd| async move { respond(remove(st, hd, id, target).await) });
    let history = warp::path!("api" / "rooms" / i64 / "messages")
        .and(warp::get())
        .and(s())
        .and(h())
        .and(raw_query())
        .then(|id, st, hd, q| async move { respond(history(st, hd, id, q).await) });
    let notify = warp::path!("api" / "rooms" / i64 / "notify")
        .and(warp::put())
        .and(s())
        .and(h())
        .and(warp::body::stream())
        .then(|id, st, hd, b| async move { respond(notify(st, hd, id, b).await) });
    list.or(create)
        .unify()
        .or(notify)
        .unify()
        .or(direct)
        .unify()
        .or(get)
        .unify()
        .or(update)
        .unify()
        .or(action)
        .unify()
        .or(members)
        .unify()
        .or(remove)
        .unify()
        .or(history)
        .unify()
        .boxed()
}

async fn list(
    state: Arc<AppState>,
    headers: HeaderMap,
    query: String,
) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let q: ListQuery = extract::query(&query)?;
    let rooms = state.rooms.list(&user, q.archived.unwrap_or(false)).await?;
    Ok(json_reply(&json!({ "rooms": rooms }), StatusCode::OK))
}

async fn create(
    state: Arc<AppState>,
    headers: HeaderMap,
    raw: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let req: CreateRoom = body(&state, &headers, raw).await?;
    if !state.team.may_create_rooms(user.id).await? {
        return Err(ApiError::with_code(
            StatusCode::FORBIDDEN,
            "room_creation_admins",
            "only admins may create rooms on this server",
        ));
    }
    let name = RoomName::parse(&req.name).map_err(|e| ApiError::bad_request(e.0))?;
    let topic = Topic::parse(req.topic.as_deref().unwrap_or_default())
        .map_err(|e| ApiError::bad_request(e.0))?;
    let kind = match req.kind.as_str() {
        "open" => RoomKind::Open,
        "closed" => RoomKind::Closed,
        _ => return Err(ApiError::bad_request("kind must be \"open\" or \"closed\"")),
    };
    let members = req.member_ids.unwrap_or_default();
    let room = state
        .rooms
        .create(&user, name, kind, topic, members)
        .await?;
    Ok(json_reply(&room, StatusCode::CREATED))
}

async fn direct(
    state: Arc<AppState>,
    headers: HeaderMap,
    raw: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let req: UserIds = body(&state, &headers, raw).await?;
    let (room, created) = state.rooms.direct(&user, req.user_ids).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_reply(&room, status))
}

async fn get(state: Arc<AppState>, headers: HeaderMap, id: i64) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    Ok(json_reply(
        &state.rooms.get(&user, id).await?,
        StatusCode::OK,
    ))
}

async fn update(
    state: Arc<AppState>,
    headers: HeaderMap,
    id: i64,
    raw: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let req: UpdateRoom = body(&state, &headers, raw).await?;
    let invalid = |e: crate::domain::ValidationError| ApiError::bad_request(e.0);
    let name = req
        .name
        .as_deref()
        .map(RoomName::parse)
        .transpose()
        .map_err(invalid)?;
    let topic = req
        .topic
        .as_deref()
        .map(Topic::parse)
        .transpose()
        .map_err(invalid)?;
    if name.is_none() && topic.is_none() {
        return Err(ApiError::bad_request(
            "nothing to change: give name or topic",
        ));
    }
    Ok(json_reply(
        &state.rooms.update(&user, id, name, topic).await?,
        StatusCode::OK,
    ))
}

/// `POST /api/rooms/{id}/{join|leave|members|archive|unarchive|read|messages|typing}`.
async fn action(
    state: Arc<AppState>,
    headers: HeaderMap,
    id: i64,
    what: &str,
    raw: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let rooms = &state.rooms;
    Ok(match what {
        "join" => json_reply(&rooms.join(&user, id).await?, StatusCode::OK),
        "leave" => {
            rooms.remove(&user, id, user.id).await?;
            StatusCode::NO_CONTENT.into_response()
        }
        "archive" | "unarchive" => {
            let room = rooms.set_archived(&user, id, what == "archive").await?;
            json_reply(&room, StatusCode::OK)
        }
        "members" => {
            let req: UserIds = body(&state, &headers, raw).await?;
            let added = rooms.add_members(&user, id, req.user_ids).await?;
            json_reply(&json!({ "added": added }), StatusCode::OK)
        }
        "read" => {
            let req: ReadBody = body(&state, &headers, raw).await?;
            rooms.mark_read(&user, id, req.last_read_id).await?;
            StatusCode::NO_CONTENT.into_response()
        }
        "messages" => {
            let req: SendBody = body(&state, &headers, raw).await?;
            let stored = state
                .chat
                .send(
                    &user,
                    RoomTarget::Id(id),
                    &req.content,
                    req.client_id.as_deref(),
                    req.reply_to,
                    &req.files,
                )
                .await?;
            stored_reply(&stored)
        }
        "typing" => {
            state.conversation.typing(&user, id).await?;
            StatusCode::NO_CONTENT.into_response()
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no API endpoint /api/rooms/{id}/{other}"
            )));
        }
    })
}

async fn members(state: Arc<AppState>, headers: HeaderMap, id: i64) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let members = state.rooms.members(&user, id).await?;
    Ok(json_reply(&json!({ "members": members }), StatusCode::OK))
}

async fn remove(
    state: Arc<AppState>,
    headers: HeaderMap,
    id: i64,
    target: i64,
) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    state.rooms.remove(&user, id, target).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn history(
    state: Arc<AppState>,
    headers: HeaderMap,
    id: i64,
    query: String,
) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let q: HistoryQuery = extract::query(&query)?;
    let limit = history_limit(q.limit)?;
    charge_read(&state, user.id)?;
    if let Some(around) = q.around {
        if q.before.is_some() {
            return Err(ApiError::bad_request("give before or around, not both"));
        }
        let (page, has_more_after) = state.rooms.around(&user, id, around, limit).await?;
        return Ok(json_reply(
            &json!({ "messages": page.messages, "has_more": page.has_more,
                     "has_more_after": has_more_after }),
            StatusCode::OK,
        ));
    }
    let page = state.rooms.history(&user, id, q.before, limit).await?;
    Ok(json_reply(
        &json!({ "messages": page.messages, "has_more": page.has_more }),
        StatusCode::OK,
    ))
}

/// `PUT /api/rooms/{id}/notify {"level"}`: how loudly the room notifies the caller.
async fn notify(
    state: Arc<AppState>,
    headers: HeaderMap,
    id: i64,
    raw: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let req: NotifyBody = body(&state, &headers, raw).await?;
    let level = NotifyLevel::parse(&req.level)
        .ok_or_else(|| ApiError::bad_request("level must be \"all\", \"mentions\" or \"none\""))?;
    state.rooms.set_notify(&user, id, level).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
