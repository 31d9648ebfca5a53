//! The HTTP routes: REST API, WebSocket upgrade, health, metrics and the
//! embedded web UI. Filters only match paths and methods; handlers parse and
//! validate, so bad input always gets a precise JSON error.

mod account;
mod admin;
mod auth;
mod chat;
mod error;
mod extract;
mod files;
mod messages;
mod onboarding;
mod origin;
mod rooms;
mod search;
mod stream;
mod system;
pub mod ws;

pub use error::{ApiError, respond};
pub use extract::MAX_BODY;

use crate::limits::{AddrKey, client_ip};
use crate::server::ClientAddr;
use crate::state::AppState;
use std::convert::Infallible;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::header::{self, HeaderMap, HeaderValue};
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

/// Content Security Policy of every answer: scripts only from this origin,
/// connections (fetch and WebSocket: CSP 3 lets `'self'` match `ws:`/`wss:`
/// on the page's own host) only to it, nothing framed. Element Plus needs
/// inline styles.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; \
    object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'";

/// Every route of the server.
pub fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let api = auth::routes(state.clone())
        .or(onboarding::routes(state.clone()))
        .unify()
        .or(account::routes(state.clone()))
        .unify()
        .or(admin::routes(state.clone()))
        .unify()
        .or(chat::routes(state.clone()))
        .unify()
        // Before `rooms`: its catch-all `/api/rooms/{id}/{action}` would answer first.
        .or(files::routes(state.clone()))
        .unify()
        .or(search::routes(state.clone()))
        .unify()
        .or(rooms::routes(state.clone()))
        .unify()
        .or(messages::routes(state.clone()))
        .unify()
        .or(stream::routes(state.clone()))
        .unify()
        .or(ws::route(state.clone()))
        .unify()
        .or(system::routes(state))
        .unify()
        .or(api_fallback())
        .unify();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    api.or(crate::assets::route())
        .unify()
        .recover(|rejection: Rejection| async move {
            Ok::<_, Infallible>(rejection_response(&rejection))
        })
        .unify()
        .map(move |mut res: Response| {
            // Defaults: a file download brings its own, stricter CSP.
            for (name, value) in &headers {
                if !res.headers().contains_key(name) {
                    res.headers_mut().insert(name, value.clone());
                }
            }
            res
        })
        .boxed()
}

/// Paths of the API and the methods each takes, for 404 versus 405.
const API_PATHS: &[(&str, &str)] = &[
    ("/api/auth/register", "POST"),
    ("/api/auth/login", "POST"),
    ("/api/auth/me", "GET"),
    ("/api/auth/logout", "POST"),
    ("/api/chat/messages", "GET, POST"),
    ("/api/chat/messages/new", "GET"),
    ("/api/chat/online-users", "GET"),
    ("/api/chat/ws", "GET"),
    ("/api/config", "GET"),
    ("/api/rooms", "GET, POST"),
    ("/api/rooms/direct", "POST"),
    ("/api/rooms/{id}", "GET, PATCH"),
    ("/api/rooms/{id}/join", "POST"),
    ("/api/rooms/{id}/leave", "POST"),
    ("/api/rooms/{id}/archive", "POST"),
    ("/api/rooms/{id}/unarchive", "POST"),
    ("/api/rooms/{id}/read", "POST"),
    ("/api/rooms/{id}/members", "GET, POST"),
    ("/api/rooms/{id}/members/{id}", "DELETE"),
    ("/api/rooms/{id}/messages", "GET, POST"),
    ("/api/rooms/{id}/notify", "PUT"),
    ("/api/rooms/{id}/typing", "POST"),
    ("/api/rooms/{id}/files", "POST"),
    ("/api/files/{id}", "GET"),
    ("/api/files/{id}/thumb", "GET"),
    ("/api/search", "GET"),
    ("/api/messages/{id}", "PATCH, DELETE"),
    ("/api/messages/{id}/reactions/{emoji}", "PUT, DELETE"),
    ("/api/stream", "GET"),
    ("/api/users", "GET"),
    ("/api/users/{id}/avatar", "GET"),
    ("/api/people", "GET"),
    ("/api/me", "GET, PATCH"),
    ("/api/me/avatar", "PUT, DELETE"),
    ("/api/me/password", "POST"),
    ("/api/me/sessions", "GET"),
    ("/api/me/sessions/sign-out-others", "POST"),
    ("/api/setup", "POST"),
    ("/api/invites", "GET, POST"),
    ("/api/invites/{id}", "DELETE"),
    ("/api/admin/users", "GET, POST"),
    ("/api/admin/users/{id}", "PATCH"),
    ("/api/admin/users/{id}/password-link", "POST"),
    ("/api/admin/rooms", "GET"),
    ("/api/admin/rooms/{id}", "DELETE"),
    ("/api/admin/rooms/{id}/archive", "POST"),
    ("/api/admin/settings", "GET, PATCH"),
    ("/api/admin/stats", "GET"),
    ("/api/admin/audit", "GET"),
    ("/api/admin/retention", "POST"),
];

/// Anything under `/api` no route took: 405 for a known path, else 404.
fn api_fallback() -> BoxedFilter<(Response,)> {
    warp::path("api")
        .and(warp::path::full())
        .map(|path: warp::path::FullPath| {
            let path = path.as_str().trim_end_matches('/');
            // Ids become `{id}` so `/api/rooms/7` finds its pattern.
            let pattern = path
                .split('/')
                .map(|seg| {
                    if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                        "{id}"
                    } else {
                        seg
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            match API_PATHS.iter().find(|(p, _)| *p == pattern) {
                Some((_, allow)) => {
                    let mut res = ApiError::method_not_allowed(format!("{path} accepts {allow}"))
                        .into_response();
                    res.headers_mut()
                        .insert(header::ALLOW, HeaderValue::from_static(allow));
                    res
                }
                None => ApiError::not_found(format!("no API endpoint {path}")).into_response(),
            }
        })
        .boxed()
}

fn rejection_response(rejection: &Rejection) -> Response {
    let error = if rejection.is_not_found() {
        ApiError::not_found("not found")
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::method_not_allowed("method not allowed")
    } else {
        ApiError::bad_request(format!("bad request: {rejection:?}"))
    };
    error.into_response()
}

/// The shared state, for handlers.
fn with_state(
    state: Arc<AppState>,
) -> impl Filter<Extract = (Arc<AppState>,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// The raw query string, empty when there is none.
fn raw_query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

/// The key per-address limits count this request under: the client's
/// address (behind a trusted proxy, the one it forwarded), or `None` when it
/// is exempt (loopback, unless `--loopback-exempt false`).
pub(crate) fn limit_key(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<ClientAddr>,
) -> Option<AddrKey> {
    let limits = &state.config.limits;
    let ip = client_ip(&limits.trusted_proxies, headers, peer?.0.ip());
    (!(limits.loopback_exempt && ip.is_loopback())).then(|| AddrKey::of(ip))
}

/// The declared `Content-Length`, if it parses.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The `Authorization` header as text.
fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}
