//! `/api/admin/*`: accounts, rooms, server settings, figures and the audit
//! log. Every handler starts with [`admin`]: 401 without a valid token, 403
//! for anyone but an active admin.

use super::rooms::{body, json_reply, user};
use super::{ApiError, extract, raw_query, respond, with_state};
use crate::state::AppState;
use crate::team::{Actor, SettingsPatch};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

#[derive(Deserialize)]
struct Search {
    q: Option<String>,
}

#[derive(Deserialize)]
struct Page {
    before: Option<i64>,
}

#[derive(Deserialize)]
struct NewAccount {
    username: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountPatch {
    admin: Option<bool>,
    active: Option<bool>,
}

#[derive(Deserialize)]
struct Archive {
    archived: bool,
}

/// The caller, if an active admin: the one check of every admin route.
async fn admin(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(crate::auth::AuthUser, Actor), ApiError> {
    let me = user(state, headers)?;
    let actor = state.team.require_admin(me.id).await?;
    Ok((me, actor))
}

fn ok(value: &impl serde::Serialize) -> Response {
    json_reply(value, StatusCode::OK)
}

pub(super) fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    let s = || with_state(state.clone());
    let h = warp::header::headers_cloned;
    let users = warp::path!("api" / "admin" / "users")
        .and(warp::get())
        .and(s())
        .and(h())
        .and(raw_query())
        .then(|st: Arc<AppState>, hd: HeaderMap, q: String| async move {
            respond(
                async {
                    admin(&st, &hd).await?;
                    let q: Search = extract::query(&q)?;
                    let users = st.team.accounts(q.q.as_deref().unwrap_or("")).await?;
                    Ok::<_, ApiError>(ok(&json!({ "users": users })))
                }
                .await,
            )
        });
    let create_user = warp::path!("api" / "admin" / "users")
        .and(warp::post())
        .and(s())
        .and(h())
        .and(warp::body::stream())
        .then(|st: Arc<AppState>, hd: HeaderMap, b| async move {
            respond(
                async {
                    let (_, actor) = admin(&st, &hd).await?;
                    let req: NewAccount = body(&st, &hd, b).await?;
                    let account = st.auth.create_account(&req.username).await?;
                    st.team
                        .record(&actor, "user.create", &account.username, "")
                        .await?;
                    let token = st.team.create_password_link(&actor, account.id).await?;
                    Ok::<_, ApiError>(json_reply(
                        &json!({ "user": account, "path": format!("/#/password/{token}") }),
                        StatusCode::CREATED,
                    ))
                }
                .await,
            )
        });
    let patch_user = warp::path!("api" / "admin" / "users" / i64)
        .and(warp::patch())
        .and(s())
        .and(h())
        .and(warp::body::stream())
        .then(|id: i64, st: Arc<AppState>, hd: HeaderMap, b| async move {
            respond(
                async {
                    let (_, actor) = admin(&st, &hd).await?;
                    let req: AccountPatch = body(&st, &hd, b).await?;
                    if let Some(on) = req.admin {
                        st.team.set_admin(&actor, id, on).await?;
                    }
                    if let Some(active) = req.active {
                        st.team.set_active(&actor, id, active).await?;
                        // Deactivated: every socket closes with 4001 now.
                        st.enforce_revocations().await;
                    }
                    Ok::<_, ApiError>(ok(&st.team.person(id).await?))
                }
                .await,
            )
        });
    let reset_link = warp::path!("api" / "admin" / "users" / i64 / "password-link")
        .and(warp::post())
        .and(s())
        .and(h())
        .then(|id: i64, st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    let (_, actor) = admin(&st, &hd).await?;
                    let token = st.team.create_password_link(&actor, id).await?;
                    Ok::<_, ApiError>(json_reply(
                        &json!({ "path": format!("/#/password/{token}"), "expires_in_hours": crate::team::links::LINK_HOURS }),
                        StatusCode::CREATED,
                    ))
                }
                .await,
            )
        });
    let rooms = warp::path!("api" / "admin" / "rooms")
        .and(warp::get())
        .and(s())
        .and(h())
        .then(|st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    admin(&st, &hd).await?;
                    Ok::<_, ApiError>(ok(&json!({ "rooms": st.team.all_rooms().await? })))
                }
                .await,
            )
        });
    let archive = warp::path!("api" / "admin" / "rooms" / i64 / "archive")
        .and(warp::post())
        .and(s())
        .and(h())
        .and(warp::body::stream())
        .then(|id: i64, st: Arc<AppState>, hd: HeaderMap, b| async move {
            respond(
                async {
                    let (me, actor) = admin(&st, &hd).await?;
                    let req: Archive = body(&st, &hd, b).await?;
                    let room = st.rooms.set_archived(&me, id, req.archived).await?;
                    let action = if req.archived {
                        "room.archive"
                    } else {
                        "room.unarchive"
                    };
                    st.team.record(&actor, action, &room.room.name, "").await?;
                    Ok::<_, ApiError>(ok(&room))
                }
                .await,
            )
        });
    let delete_room = warp::path!("api" / "admin" / "rooms" / i64)
        .and(warp::delete())
        .and(s())
        .and(h())
        .then(|id: i64, st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    let (me, actor) = admin(&st, &hd).await?;
                    let deleted = st.team.delete_room(&me, &actor, id).await?;
                    Ok::<_, ApiError>(ok(&json!({ "deleted_messages": deleted })))
                }
                .await,
            )
        });
    let settings = warp::path!("api" / "admin" / "settings")
        .and(warp::get())
        .and(s())
        .and(h())
        .then(|st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    admin(&st, &hd).await?;
                    Ok::<_, ApiError>(ok(&st.team.settings()))
                }
                .await,
            )
        });
    let update_settings = warp::path!("api" / "admin" / "settings")
        .and(warp::patch())
        .and(s())
        .and(h())
        .and(warp::body::stream())
        .then(|st: Arc<AppState>, hd: HeaderMap, b| async move {
            respond(
                async {
                    let (_, actor) = admin(&st, &hd).await?;
                    let patch: SettingsPatch = body(&st, &hd, b).await?;
                    let settings = st.team.update_settings(&actor, &patch).await?;
                    st.apply_settings(&settings);
                    Ok::<_, ApiError>(ok(&settings))
                }
                .await,
            )
        });
    let stats = warp::path!("api" / "admin" / "stats")
        .and(warp::get())
        .and(s())
        .and(h())
        .then(|st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    admin(&st, &hd).await?;
                    // Today's row exists from the first look on.
                    st.team.sample(st.stats.connections()).await?;
                    let days = st.team.daily_figures().await?;
                    let size = st.team.data_size(&st.config.data_dir).await?;
                    Ok::<_, ApiError>(ok(&json!({
                        "connections": st.stats.connections(),
                        "online_users": st.hub.presence().count(),
                        "messages": st.store.message_count().await?,
                        "data_bytes": size,
                        "store": st.store.kind(),
                        "days": days,
                    })))
                }
                .await,
            )
        });
    let audit = warp::path!("api" / "admin" / "audit")
        .and(warp::get())
        .and(s())
        .and(h())
        .and(raw_query())
        .then(|st: Arc<AppState>, hd: HeaderMap, q: String| async move {
            respond(
                async {
                    admin(&st, &hd).await?;
                    let page: Page = extract::query(&q)?;
                    Ok::<_, ApiError>(ok(
                        &json!({ "entries": st.team.audit_log(page.before).await? }),
                    ))
                }
                .await,
            )
        });
    let retention = warp::path!("api" / "admin" / "retention")
        .and(warp::post())
        .and(s())
        .and(h())
        .then(|st: Arc<AppState>, hd: HeaderMap| async move {
            respond(
                async {
                    admin(&st, &hd).await?;
                    let deleted = st.team.apply_retention().await?;
                    Ok::<_, ApiError>(ok(&json!({ "deleted": deleted })))
                }
                .await,
            )
        });
    users
        .or(create_user)
        .unify()
        .or(patch_user)
        .unify()
        .or(reset_link)
        .unify()
        .or(rooms)
        .unify()
        .or(archive)
        .unify()
        .or(delete_room)
        .unify()
        .or(settings)
        .unify()
        .or(update_settings)
        .unify()
        .or(stats)
        .unify()
        .or(audit)
        .unify()
        .or(retention)
        .unify()
        .boxed()
}
