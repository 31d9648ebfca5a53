//! `GET /api/search?q=&room_id=&from=&before=&order=&limit=`: messages of
//! the caller's rooms (docs/PROTOCOL.md §5).

use super::rooms::{json_reply, user};
use super::{ApiError, raw_query, respond, with_state};
use crate::domain::search_query::QueryError;
use crate::search::{SearchError, SearchParams};
use crate::state::AppState;
use crate::store::search::SearchOrder;
use serde::Deserialize;
use std::sync::Arc;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;

#[derive(Deserialize)]
struct Query {
    #[serde(default)]
    q: String,
    room_id: Option<i64>,
    from: Option<String>,
    before: Option<i64>,
    order: Option<String>,
    limit: Option<usize>,
}

pub(super) fn routes(state: Arc<AppState>) -> BoxedFilter<(Response,)> {
    warp::path!("api" / "search")
        .and(warp::get())
        .and(with_state(state))
        .and(warp::header::headers_cloned())
        .and(raw_query())
        .then(|st, hd, q: String| async move { respond(search(st, hd, &q).await) })
        .boxed()
}

async fn search(
    state: Arc<AppState>,
    headers: HeaderMap,
    query: &str,
) -> Result<Response, ApiError> {
    let user = user(&state, &headers)?;
    let q: Query = super::extract::query(query)?;
    let order = match q.order.as_deref() {
        None | Some("newest") => SearchOrder::Newest,
        Some("relevance") => SearchOrder::Relevance,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "order must be newest or relevance, not {other:?}"
            )));
        }
    };
    super::chat::charge_read(&state, user.id)?;
    let results = state
        .search
        .search(
            &user,
            SearchParams {
                q: q.q,
                room_id: q.room_id,
                from: q.from,
                before: q.before,
                order,
                limit: q.limit,
            },
        )
        .await?;
    Ok(json_reply(&results, StatusCode::OK))
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Query(QueryError::Empty) => ApiError::with_code(
                StatusCode::BAD_REQUEST,
                "query_empty",
                "请输入要搜索的内容 (type something to search for)",
            ),
            SearchError::Query(QueryError::TooShort) => ApiError::with_code(
                StatusCode::BAD_REQUEST,
                "query_too_short",
                "请至少输入 2 个字符 (search for at least 2 characters)",
            ),
            SearchError::Query(QueryError::Invalid(why)) => ApiError::bad_request(why.0),
            SearchError::Unknown(why) => ApiError::bad_request(why),
            SearchError::Store(e) => e.into(),
        }
    }
}
