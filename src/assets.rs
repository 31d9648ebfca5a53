//! The web UI compiled into the executable (`web/dist`, embedded by
//! rust-embed; debug builds read it from disk). Unknown paths without a file
//! extension get `index.html`, so client-side routes survive a reload.

use rust_embed::RustEmbed;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use warp::http::{HeaderValue, StatusCode};
use warp::path::FullPath;
use warp::reply::{Reply, Response};

#[derive(RustEmbed)]
#[folder = "web/dist/"]
struct WebAssets;

/// `GET`/`HEAD` of any path not taken by another route.
pub fn route() -> BoxedFilter<(Response,)> {
    warp::get()
        .or(warp::head())
        .unify()
        .and(warp::path::full())
        .and(warp::header::optional::<String>("if-none-match"))
        .map(|path: FullPath, if_none_match: Option<String>| {
            serve(path.as_str(), if_none_match.as_deref())
        })
        .boxed()
}

fn serve(path: &str, if_none_match: Option<&str>) -> Response {
    let path = path.trim_start_matches('/');
    let (name, file) = match WebAssets::get(path).filter(|_| !path.is_empty()) {
        Some(file) => (path, file),
        // A missing file (has an extension) is a 404; anything else is a client route.
        None if path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.')) =>
        {
            return plain(StatusCode::NOT_FOUND, "404 not found");
        }
        None => match WebAssets::get("index.html") {
            Some(file) => ("index.html", file),
            None => {
                return plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the web UI was not built into this binary",
                );
            }
        },
    };
    let hash = file.metadata.sha256_hash();
    let etag = format!(
        "\"{}\"",
        hash[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let cache = if name.starts_with("assets/") {
        // Vite puts a content hash in these names, so they never change.
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut res = if if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        let mut res = Response::default();
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        res
    } else {
        let mut res = Response::new(file.data.into_owned().into());
        if let Ok(mime) = HeaderValue::from_str(file.metadata.mimetype()) {
            res.headers_mut().insert(CONTENT_TYPE, mime);
        }
        res
    };
    let h = res.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        h.insert(ETAG, etag);
    }
    h.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    warp::reply::with_status(text, status).into_response()
}
