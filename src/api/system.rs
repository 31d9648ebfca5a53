//! `/healthz`, `/api/config` and `/metrics`.

use super::{ApiError, authorization, respond, with_state};
use crate::domain::MessageBody;
use crate::server::ClientAddr;
use crate::state::AppState;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header::CONTENT_TYPE};
use warp::reply::{Reply, Response};

pub(super) fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let health = warp::path!("healthz")
        .and(warp::get())
        .and(with_state(state.clone()))
        .then(|state: Arc<AppState>| async move {
            // Reads answer and the writer can take the lock (and, after a
            // failed write, grow the file): a locked or full database, or an
            // unreachable PostgreSQL, is 503. `database` names the store.
            match tokio::time::timeout(Duration::from_secs(2), state.store.health()).await {
                Ok(Ok(())) => {
                    warp::reply::json(&json!({ "status": "ok", "database": state.store.kind() }))
                        .into_response()
                }
                Ok(Err(e)) => ApiError::unavailable(format!("database: {e}")).into_response(),
                Err(_) => ApiError::unavailable("database did not answer in time").into_response(),
            }
        });
    let config = warp::path!("api" / "config")
        .and(warp::get())
        .and(with_state(state.clone()))
        .map(|state: Arc<AppState>| {
            let conversation = &state.config.conversation;
            let team = state.team.settings();
            warp::reply::json(&json!({
                "websocket": state.config.websocket,
                "epoch": state.store.epoch(),
                "version": env!("CARGO_PKG_VERSION"),
                "max_message_chars": MessageBody::MAX_CHARS,
                "max_frame_bytes": state.config.ws.max_frame,
                "everyone_max_members": conversation.everyone_max_members,
                "edit_window_secs": conversation.edit_window.map_or(0, |w| w.as_secs()),
                "max_reactions": conversation.max_reactions,
                "typing_interval_ms": crate::conversation::TYPING_INTERVAL.as_millis() as u64,
                "max_file_bytes": state.files.settings().max_file_bytes,
                "team_name": team.team_name,
                "registration": team.registration,
                "needs_setup": team.needs_setup,
                "members_invite": team.members_invite,
                "room_creation": team.room_creation,
                "max_files_per_message": crate::store::files::MAX_FILES_PER_MESSAGE,
            }))
            .into_response()
        });
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(with_state(state))
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<ClientAddr>())
        .map(
            |state: Arc<AppState>, headers: HeaderMap, peer: Option<ClientAddr>| {
                respond(metrics(&state, &headers, peer))
            },
        );
    health.or(config).unify().or(metrics).unify().boxed()
}

/// Prometheus text. With `--metrics-token` it needs that bearer token;
/// without, only loopback clients may read it.
fn metrics(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<ClientAddr>,
) -> Result<Response, ApiError> {
    match &state.config.metrics_token {
        Some(token) => {
            let given = authorization(headers)
                .and_then(|h| h.strip_prefix("Bearer "))
                .unwrap_or_default();
            // Constant time: the comparison must not tell how much of a guess was right.
            if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
                return Err(ApiError::unauthorized(
                    "metrics need the bearer token set by --metrics-token",
                ));
            }
        }
        // A reverse proxy on this host makes every client look local, so a
        // forwarded request is not treated as local.
        None if !peer.is_some_and(|p| p.0.ip().is_loopback()) || is_forwarded(headers) => {
            return Err(ApiError::forbidden(
                "metrics are served to loopback clients only (or set --metrics-token)",
            ));
        }
        None => {}
    }
    let body = state
        .metrics
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    let mut res = warp::reply::with_status(body, StatusCode::OK).into_response();
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(res)
}

/// Whether a reverse proxy forwarded this request.
fn is_forwarded(headers: &HeaderMap) -> bool {
    ["x-forwarded-for", "x-real-ip", "forwarded"]
        .iter()
        .any(|h| headers.contains_key(*h))
}
