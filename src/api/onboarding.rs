//! Joining a team: the first-run setup, invitation links (made by admins or,
//! when allowed, members) and one-time password links (docs/PROTOCOL.md §7).

use super::auth::{record_login, register_with};
use super::rooms::{body, json_reply, user};
use super::{ApiError, limit_key, respond, with_state};
use crate::server::ClientAddr;
use crate::state::AppState;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

#[derive(Deserialize)]
struct SetUp {
    team_name: String,
    username: String,
    password: String,
}

#[derive(Deserialize)]
struct NewInvite {
    /// Hours it lasts (default a week).
    hours: Option<u32>,
    /// People it admits (default 1).
    uses: Option<u32>,
}

#[derive(Deserialize)]
struct NewPassword {
    password: String,
}

pub(super) fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let s = || with_state(state.clone());
    let h = warp::header::headers_cloned;
    let peer = warp::ext::optional::<ClientAddr>;
    let setup = warp::path!("api" / "setup")
        .and(warp::post())
        .and(s())
        .and(h())
        .and(peer())
        .and(warp::body::stream())
        .then(|st: Arc<AppState>, hd: HeaderMap, p, b| async move {
            respond(
                async {
                    let req: SetUp = body(&st, &hd, b).await?;
                    st.team.set_up(&req.team_name).await?;
                    let addr = limit_key(&st, &hd, p);
                    let session =
                        register_with(&st, &req.username, req.password, None, addr).await?;
                    record_login(&st, &hd, p, &session).await;
                    Ok::<_, ApiError>(json_reply(&session, StatusCode::CREATED))
                }
                .await,
            )
        });
    let invite_info = warp::path!("api" / "auth" / "invite" / String)
        .and(warp::get())
        .and(s())
        .then(|token: String, st: Arc<AppState>| async move {
            respond(
                async {
                    Ok::<_, ApiError>(json_reply(
                        &st.team.invite_info(&token).await?,
                        StatusCode::OK,
                    ))
                }
                .await,
            )
        });
    let list = warp::path!("api" / "invites")
        .and(warp::get())
        .and(s())
        .and(h())
        .then(|st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    let me = user(&st, &hd)?;
                    let invites = st.team.invites(me.id).await?;
                    Ok::<_, ApiError>(json_reply(&json!({ "invites": invites }), StatusCode::OK))
                }
                .await,
            )
        });
    let create = warp::path!("api" / "invites")
        .and(warp::post())
        .and(s())
        .and(h())
        .and(warp::body::stream())
        .then(|st: Arc<AppState>, hd: HeaderMap, b| async move {
            respond(
                async {
                    let me = user(&st, &hd)?;
                    let req: NewInvite = body(&st, &hd, b).await?;
                    let invite = st
                        .team
                        .create_invite(me.id, req.hours.unwrap_or(7 * 24), req.uses.unwrap_or(1))
                        .await?;
                    let path = format!("/#/invite/{}", invite.token.as_deref().unwrap_or_default());
                    Ok::<_, ApiError>(json_reply(
                        &json!({ "invite": invite, "path": path }),
                        StatusCode::CREATED,
                    ))
                }
                .await,
            )
        });
    let revoke = warp::path!("api" / "invites" / i64)
        .and(warp::delete())
        .and(s())
        .and(h())
        .then(|id: i64, st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    let me = user(&st, &hd)?;
                    st.team.revoke_invite(me.id, id).await?;
                    Ok::<_, ApiError>(json_reply(&json!({}), StatusCode::OK))
                }
                .await,
            )
        });
    let link_info = warp::path!("api" / "auth" / "password-link" / String)
        .and(warp::get())
        .and(s())
        .then(|token: String, st: Arc<AppState>| async move {
            respond(
                async {
                    Ok::<_, ApiError>(json_reply(
                        &st.team.password_link(&token).await?,
                        StatusCode::OK,
                    ))
                }
                .await,
            )
        });
    let use_link = warp::path!("api" / "auth" / "password-link" / String)
        .and(warp::post())
        .and(s())
        .and(h())
        .and(peer())
        .and(warp::body::stream())
        .then(
            |token: String, st: Arc<AppState>, hd: HeaderMap, p, b| async move {
                respond(
                    async {
                        let req: NewPassword = body(&st, &hd, b).await?;
                        // Checked before the (slow) hash, and again when used.
                        st.team.password_link(&token).await?;
                        let hash = st.auth.hash_new(req.password).await?;
                        let user_id = st.team.use_password_link(&token, hash).await?;
                        st.enforce_revocations().await;
                        if st.auth.is_deactivated(user_id).await? {
                            return Err(crate::team::TeamError::Deactivated.into());
                        }
                        let session = st.auth.login_by_id(user_id).await?;
                        record_login(&st, &hd, p, &session).await;
                        Ok::<_, ApiError>(json_reply(&session, StatusCode::OK))
                    }
                    .await,
                )
            },
        );
    setup
        .or(invite_info)
        .unify()
        .or(list)
        .unify()
        .or(create)
        .unify()
        .or(revoke)
        .unify()
        .or(link_info)
        .unify()
        .or(use_link)
        .unify()
        .boxed()
}
