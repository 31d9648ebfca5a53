//! `GET /api/chat/ws`: the WebSocket upgrade, done by hand so each
//! connection gets small buffers (warp's `ws()` preallocates a 128 KiB read
//! buffer per connection). Authentication, the `Origin` check and the caps
//! happen before the 101; the session itself is [`crate::session`]'s.

use super::{ApiError, limit_key, origin};
use crate::auth::AuthUser;
use crate::limits::Refusal;
use crate::server::{ClientAddr, ConnectionTicket, refusal_response};
use crate::session::{Held, Version};
use crate::state::AppState;
use crate::telemetry::names;
use serde::Deserialize;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::header::{AUTHORIZATION, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY};
use warp::http::header::{SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE};
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::hyper::upgrade::OnUpgrade;
use warp::reply::{Reply, Response};

/// The subprotocol browsers offer (with `bearer.<token>` beside it).
pub const SUBPROTOCOL: &str = "hearth.v1";
const BEARER_PREFIX: &str = "bearer.";

#[derive(Debug, Deserialize)]
struct WsQuery {
    after: Option<i64>,
    /// `2`: the rooms stream (docs/PROTOCOL.md §3); absent: the seed's lobby stream.
    v: Option<u8>,
}

/// `GET /api/chat/ws`.
pub fn route(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "chat" / "ws")
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::ext::optional::<OnUpgrade>())
        .and(warp::ext::optional::<ClientAddr>())
        .and(warp::ext::optional::<ConnectionTicket>())
        .map(
            move |headers: HeaderMap,
                  query: String,
                  on_upgrade: Option<OnUpgrade>,
                  peer: Option<ClientAddr>,
                  ticket: Option<ConnectionTicket>| {
                let request = Request {
                    headers: &headers,
                    query: &query,
                    peer,
                    ticket,
                };
                match upgrade(&state, request, on_upgrade) {
                    Ok(response) => response,
                    Err(Refused::Invalid(e)) => e.into_response(),
                    Err(Refused::Capped(r)) => {
                        metrics::counter!(names::CONNECTIONS_REFUSED).increment(1);
                        refusal_response(r)
                    }
                }
            },
        )
        .boxed()
}

/// Why an upgrade was refused.
enum Refused {
    /// The request is wrong (bad query, auth, origin…).
    Invalid(ApiError),
    /// A connection cap is reached.
    Capped(Refusal),
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        Self::Invalid(e)
    }
}

/// What the upgrade looks at.
struct Request<'a> {
    headers: &'a HeaderMap,
    query: &'a str,
    peer: Option<ClientAddr>,
    ticket: Option<ConnectionTicket>,
}

fn upgrade(
    state: &Arc<AppState>,
    request: Request<'_>,
    on_upgrade: Option<OnUpgrade>,
) -> Result<Response, Refused> {
    let headers = request.headers;
    if !state.config.websocket {
        return Err(ApiError::unavailable(
            "WebSocket is turned off on this server: use the polling API",
        )
        .into());
    }
    if state.shutdown.is_cancelled() {
        return Err(ApiError::unavailable("the server is shutting down").into());
    }
    let query: WsQuery = serde_urlencoded::from_str(request.query)
        .map_err(|_| ApiError::bad_request("after must be a message id (an integer)"))?;
    let version = match query.v {
        None | Some(1) => Version::V1,
        Some(2) => Version::V2,
        Some(_) => return Err(ApiError::bad_request("v must be 1 or 2").into()),
    };
    let key = websocket_key(headers)?;
    if !origin::allowed(headers, &state.config.allowed_origins) {
        return Err(ApiError::forbidden(
            "this Origin may not open a WebSocket here (see --allowed-origins)",
        )
        .into());
    }
    let (user, offered_subprotocol) = authenticate(state, headers)?;
    // "Last seen" of the login session (written at most every few minutes).
    let (team_state, sid) = (state.clone(), user.session_id.clone());
    tokio::spawn(async move { team_state.team.touch_session(&sid).await });
    let on_upgrade =
        on_upgrade.ok_or_else(|| ApiError::bad_request("this connection cannot be upgraded"))?;

    // The caps, before the 101: the per-account cap, the WebSocket share of
    // the connection cap, and (through a trusted proxy, whose own connection
    // was not counted per address) the client address's cap.
    let registration = state
        .registry
        .register(user.session_key(), &state.shutdown)
        .map_err(Refused::Capped)?;
    let forwarded = request
        .peer
        .filter(|p| state.config.limits.trusted_proxies.contains(p.0.ip()))
        .and_then(|_| limit_key(state, headers, request.peer));
    let websocket = state
        .connections
        .websocket(forwarded)
        .map_err(Refused::Capped)?;
    let held = Held {
        registration,
        websocket,
        tcp: request.ticket,
    };

    let after = query.after.map(|a| a.max(0));
    crate::session::start(state, on_upgrade, user, after, version, held);
    Ok(switching_protocols(&key, offered_subprotocol)?)
}

/// The `101 Switching Protocols` answer for a checked handshake `key`,
/// echoing [`SUBPROTOCOL`] when the client offered it.
pub fn switching_protocols(key: &str, offered_subprotocol: bool) -> Result<Response, ApiError> {
    let mut response = Response::default();
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    let accept = derive_accept_key(key.as_bytes());
    h.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).map_err(|_| ApiError::bad_request("bad key"))?,
    );
    if offered_subprotocol {
        h.insert(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    Ok(response)
}

/// Checks the handshake headers and returns `Sec-WebSocket-Key`.
pub fn websocket_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let has_token = |name, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token(UPGRADE, "websocket") || !has_token(CONNECTION, "upgrade") {
        return Err(ApiError::bad_request(
            "expected a WebSocket upgrade request",
        ));
    }
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        != Some("13")
    {
        return Err(ApiError::bad_request(
            "unsupported WebSocket version (need 13)",
        ));
    }
    headers
        .get(SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::bad_request("missing Sec-WebSocket-Key"))
}

/// The token from `Authorization: Bearer` or from the `bearer.<token>`
/// subprotocol; also says whether `hearth.v1` was offered (and must be echoed).
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<(AuthUser, bool), ApiError> {
    let offered: Vec<&str> = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let offered_subprotocol = offered.contains(&SUBPROTOCOL);
    let user = if let Some(header) = headers.get(AUTHORIZATION) {
        state.auth.authenticate_header(header.to_str().ok())?
    } else if let Some(token) = offered.iter().find_map(|p| p.strip_prefix(BEARER_PREFIX)) {
        state.auth.authenticate(token)?
    } else {
        return Err(ApiError::unauthorized(
            "missing token: send Authorization: Bearer <token> or the subprotocols hearth.v1, bearer.<token>",
        ));
    };
    Ok((user, offered_subprotocol))
}
