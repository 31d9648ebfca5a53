//! `/api/auth/*`: register, login, logout, me.

use super::{ApiError, authorization, content_length, extract, limit_key, respond, with_state};
use crate::auth::LoginSession;
use crate::server::ClientAddr;
use crate::state::AppState;
use crate::team::sessions::NewLogin;
use futures_util::Stream;
use serde::Deserialize;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::{Reply, Response};
use warp::{Buf, Filter};

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
    /// The invitation link's secret (invite-only registration).
    invite: Option<String>,
}

pub(super) fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let register = warp::path!("api" / "auth" / "register")
        .and(warp::post())
        .and(with_state(state.clone()))
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<ClientAddr>())
        .and(warp::body::stream())
        .then(|state, headers, peer, body| async move {
            respond(register(state, headers, peer, body).await)
        });
    let login = warp::path!("api" / "auth" / "login")
        .and(warp::post())
        .and(with_state(state.clone()))
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<ClientAddr>())
        .and(warp::body::stream())
        .then(|state, headers, peer, body| async move {
            respond(login(state, headers, peer, body).await)
        });
    let logout = warp::path!("api" / "auth" / "logout")
        .and(warp::post())
        .and(with_state(state.clone()))
        .and(warp::header::headers_cloned())
        .then(|state, headers| async move { respond(logout(state, headers).await) });
    let me = warp::path!("api" / "auth" / "me")
        .and(warp::get())
        .and(with_state(state))
        .and(warp::header::headers_cloned())
        .then(|state, headers| async move { respond(me(state, headers).await) });
    register
        .or(login)
        .unify()
        .or(logout)
        .unify()
        .or(me)
        .unify()
        .boxed()
}

async fn register(
    state: Arc<AppState>,
    headers: HeaderMap,
    peer: Option<ClientAddr>,
    body: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Result<Response, ApiError> {
    let deadline = state.config.limits.body_timeout;
    let creds: Credentials = extract::json(content_length(&headers), body, deadline).await?;
    let addr = limit_key(&state, &headers, peer);
    let session =
        register_with(&state, &creds.username, creds.password, creds.invite, addr).await?;
    record_login(&state, &headers, peer, &session).await;
    Ok(warp::reply::with_status(warp::reply::json(&session), StatusCode::CREATED).into_response())
}

/// Registers within the registration mode: an invitation's use is taken
/// first and given back when the account cannot be created.
pub(super) async fn register_with(
    state: &AppState,
    username: &str,
    password: String,
    invite: Option<String>,
    addr: Option<crate::limits::AddrKey>,
) -> Result<LoginSession, ApiError> {
    let admitted = state.team.admit(invite.as_deref()).await?;
    let created = state.auth.register(username, password, addr).await;
    if created.is_err()
        && let Some(id) = admitted
    {
        state.team.refund_invite(id).await;
    }
    let session = created?;
    if state.team.settings().needs_setup {
        let _ = state.team.refresh().await;
    }
    Ok(session)
}

/// Records a login for the sessions list (device and address).
pub(super) async fn record_login(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<ClientAddr>,
    session: &LoginSession,
) {
    let agent = headers
        .get(warp::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let ip = peer
        .map(|p| crate::limits::client_ip(&state.config.limits.trusted_proxies, headers, p.0.ip()))
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let claims = &session.claims;
    state
        .team
        .record_login(NewLogin {
            user_id: session.user.id,
            session_id: claims.sid.as_deref().unwrap_or_default(),
            issued_at: claims.iat,
            expires_at: claims.exp,
            agent,
            ip: &ip,
        })
        .await;
}

async fn login(
    state: Arc<AppState>,
    headers: HeaderMap,
    peer: Option<ClientAddr>,
    body: impl Stream<Item = Result<impl Buf, warp::Error>>,
) -> Result<Response, ApiError> {
    let deadline = state.config.limits.body_timeout;
    let creds: Credentials = extract::json(content_length(&headers), body, deadline).await?;
    let addr = limit_key(&state, &headers, peer);
    let session = state
        .auth
        .login(&creds.username, creds.password, addr)
        .await?;
    record_login(&state, &headers, peer, &session).await;
    Ok(warp::reply::json(&session).into_response())
}

/// Revokes the presented token and closes the sockets opened with it (4001).
async fn logout(state: Arc<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let user = state.auth.authenticate_header(authorization(&headers))?;
    state.auth.logout(&user).await?;
    state.registry.stop_session(user.id, &user.session_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn me(state: Arc<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let user = state.auth.authenticate_header(authorization(&headers))?;
    state.team.touch_session(&user.session_id).await;
    let user = match state.store.user_by_id(user.id).await {
        Ok(user) => user,
        Err(crate::store::StoreError::NotFound) => {
            return Err(ApiError::unauthorized("this account no longer exists"));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(warp::reply::json(&user).into_response())
}
