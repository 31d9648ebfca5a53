//! `/api/me/*` and the people directory: one's profile and avatar, password
//! change, the list of one's sessions and signing them out.

use super::rooms::{body, json_reply, user};
use super::{ApiError, respond, with_state};
use crate::domain::{DisplayName, StatusText};
use crate::state::AppState;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::{Reply, Response};

/// Largest avatar upload.
const MAX_AVATAR_BYTES: u64 = 5 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfilePatch {
    display_name: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

pub(super) fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let s = || with_state(state.clone());
    let h = warp::header::headers_cloned;
    let me = warp::path!("api" / "me")
        .and(warp::get())
        .and(s())
        .and(h())
        .then(|st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    let me = user(&st, &hd)?;
                    Ok::<_, ApiError>(json_reply(&st.team.person(me.id).await?, StatusCode::OK))
                }
                .await,
            )
        });
    let patch = warp::path!("api" / "me")
        .and(warp::patch())
        .and(s())
        .and(h())
        .and(warp::body::stream())
        .then(|st: Arc<AppState>, hd: HeaderMap, b| async move {
            respond(
                async {
                    let me = user(&st, &hd)?;
                    let req: ProfilePatch = body(&st, &hd, b).await?;
                    let name = req
                        .display_name
                        .as_deref()
                        .map(DisplayName::parse)
                        .transpose();
                    let status = req.status.as_deref().map(StatusText::parse).transpose();
                    let person = st
                        .team
                        .update_profile(
                            me.id,
                            name.map_err(|e| ApiError::bad_request(e.0))?,
                            status.map_err(|e| ApiError::bad_request(e.0))?,
                        )
                        .await?;
                    Ok::<_, ApiError>(json_reply(&person, StatusCode::OK))
                }
                .await,
            )
        });
    let set_avatar = warp::path!("api" / "me" / "avatar")
        .and(warp::put())
        .and(s())
        .and(h())
        .and(warp::body::content_length_limit(MAX_AVATAR_BYTES))
        .and(warp::body::bytes())
        .then(
            |st: Arc<AppState>, hd: HeaderMap, bytes: Bytes| async move {
                respond(
                    async {
                        let me = user(&st, &hd)?;
                        let image = st.files.avatar_image(bytes.to_vec()).await?;
                        let person = st.team.set_avatar(me.id, Some(image)).await?;
                        Ok::<_, ApiError>(json_reply(&person, StatusCode::OK))
                    }
                    .await,
                )
            },
        );
    let clear_avatar = warp::path!("api" / "me" / "avatar")
        .and(warp::delete())
        .and(s())
        .and(h())
        .then(|st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    let me = user(&st, &hd)?;
                    let person = st.team.set_avatar(me.id, None).await?;
                    Ok::<_, ApiError>(json_reply(&person, StatusCode::OK))
                }
                .await,
            )
        });
    let avatar = warp::path!("api" / "users" / i64 / "avatar")
        .and(warp::get())
        .and(s())
        .and(h())
        .then(|id: i64, st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    user(&st, &hd)?;
                    let (bytes, mime) = st.team.avatar(id).await?;
                    let mut res = Response::new(bytes.into());
                    let headers = res.headers_mut();
                    headers.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_str(&mime)
                            .unwrap_or(HeaderValue::from_static("image/png")),
                    );
                    // The URL carries the avatar's version (`?v=`).
                    headers.insert(
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("private, max-age=86400"),
                    );
                    Ok::<_, ApiError>(res)
                }
                .await,
            )
        });
    let people = warp::path!("api" / "people")
        .and(warp::get())
        .and(s())
        .and(h())
        .then(|st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    user(&st, &hd)?;
                    let people = st.team.directory().await?;
                    Ok::<_, ApiError>(json_reply(&json!({ "people": people }), StatusCode::OK))
                }
                .await,
            )
        });
    let password = warp::path!("api" / "me" / "password")
        .and(warp::post())
        .and(s())
        .and(h())
        .and(warp::body::stream())
        .then(|st: Arc<AppState>, hd: HeaderMap, b| async move {
            respond(
                async {
                    let me = user(&st, &hd)?;
                    let req: PasswordChange = body(&st, &hd, b).await?;
                    let hash = st
                        .auth
                        .check_and_hash(&me, req.current_password, req.new_password)
                        .await?;
                    st.team
                        .revoke_other_sessions(me.id, Some(&me.session_id), Some(hash))
                        .await?;
                    st.enforce_revocations().await;
                    Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
                }
                .await,
            )
        });
    let sessions = warp::path!("api" / "me" / "sessions")
        .and(warp::get())
        .and(s())
        .and(h())
        .then(|st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    let me = user(&st, &hd)?;
                    let list = st
                        .team
                        .sessions(me.id, &me.session_id, |s| {
                            st.auth.is_revoked(&crate::auth::AuthUser {
                                id: me.id,
                                username: me.username.clone(),
                                session_id: Arc::from(s.id.as_str()),
                                issued_at: s.issued_at,
                                expires_at: s.expires_at,
                            })
                        })
                        .await?;
                    Ok::<_, ApiError>(json_reply(&json!({ "sessions": list }), StatusCode::OK))
                }
                .await,
            )
        });
    let sign_out = warp::path!("api" / "me" / "sessions" / String)
        .and(warp::delete())
        .and(s())
        .and(h())
        .then(|sid: String, st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    let me = user(&st, &hd)?;
                    let expires = st
                        .team
                        .session_expiry(me.id, &sid)
                        .await?
                        .ok_or_else(|| ApiError::not_found("no such session"))?;
                    st.auth.revoke(me.id, &sid, expires).await?;
                    st.registry.stop_session(me.id, &sid);
                    Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
                }
                .await,
            )
        });
    let sign_out_others = warp::path!("api" / "me" / "sessions" / "sign-out-others")
        .and(warp::post())
        .and(s())
        .and(h())
        .then(|st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    let me = user(&st, &hd)?;
                    st.team
                        .revoke_other_sessions(me.id, Some(&me.session_id), None)
                        .await?;
                    st.enforce_revocations().await;
                    Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
                }
                .await,
            )
        });
    me.or(patch)
        .unify()
        .or(set_avatar)
        .unify()
        .or(clear_avatar)
        .unify()
        .or(avatar)
        .unify()
        .or(people)
        .unify()
        .or(password)
        .unify()
        .or(sign_out_others)
        .unify()
        .or(sessions)
        .unify()
        .or(sign_out)
        .unify()
        .boxed()
}
