//! The HTTP error type: one JSON shape, `{"error":{"code","message"}}`, with
//! the matching status, for every failure of the REST API.

use crate::auth::AuthError;
use crate::chat::ChatError;
use crate::store::StoreError;
use crate::team::TeamError;
use serde_json::json;
use std::time::Duration;
use warp::http::{HeaderValue, StatusCode, header::RETRY_AFTER};
use warp::reply::{Reply, Response};

/// An HTTP error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<Duration>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Any status with its own machine code.
    pub fn with_code(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(status, code, message)
    }

    /// 400: the request is malformed or a field is invalid.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: no valid credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: not allowed from here.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404: no such resource.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 405: the path exists, the method does not.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            message,
        )
    }

    /// 408: the request did not arrive in time (the connection is closed).
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(StatusCode::REQUEST_TIMEOUT, "timeout", message)
    }

    /// 409: a unique value is taken.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413: the body is over the limit.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 429: slow down; retry after `wait`.
    pub fn rate_limited(message: impl Into<String>, wait: Duration) -> Self {
        Self {
            retry_after: Some(wait),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }

    /// 429 with another code (e.g. `busy`): slow down; retry after `wait`.
    pub fn too_many(code: &'static str, message: impl Into<String>, wait: Duration) -> Self {
        Self {
            retry_after: Some(wait),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        }
    }

    /// 500: a fault of ours; the detail is logged, not sent.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误 (internal server error)",
        )
    }

    /// 503: not available now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 503 that says when to try again.
    pub fn unavailable_for(message: impl Into<String>, wait: Duration) -> Self {
        Self {
            retry_after: Some(wait),
            ..Self::unavailable(message)
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut res =
            warp::reply::with_status(warp::reply::json(&body), self.status).into_response();
        if let Some(wait) = self.retry_after {
            // Round up: "retry after 0 seconds" would invite a hot loop.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            res.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        res
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Invalid(v) => Self::bad_request(v.0),
            AuthError::UsernameTaken => Self::conflict(e.to_string()),
            AuthError::BadCredentials | AuthError::InvalidToken => {
                Self::unauthorized(e.to_string())
            }
            AuthError::Throttled(wait) | AuthError::RegistrationThrottled(wait) => {
                Self::rate_limited(e.to_string(), wait)
            }
            AuthError::Deactivated => {
                Self::new(StatusCode::FORBIDDEN, "account_deactivated", e.to_string())
            }
            AuthError::WrongPassword => {
                Self::new(StatusCode::FORBIDDEN, "wrong_password", e.to_string())
            }
            AuthError::Busy => Self::too_many("busy", e.to_string(), Duration::from_secs(1)),
            AuthError::Unavailable(_) => StoreError::Unavailable(String::new()).into(),
            AuthError::Internal(detail) => Self::internal(detail),
        }
    }
}

impl From<TeamError> for ApiError {
    fn from(e: TeamError) -> Self {
        let (status, code) = match e {
            TeamError::Invalid(v) => return Self::bad_request(v.0),
            TeamError::Store(s) => return s.into(),
            TeamError::NotFound => return Self::not_found("not found"),
            TeamError::Invite(code, _) if code == "invite_not_found" => {
                (StatusCode::NOT_FOUND, code)
            }
            TeamError::Invite(code, _) => (StatusCode::GONE, code),
            TeamError::LinkInvalid => (StatusCode::GONE, "link_invalid"),
            TeamError::LastAdmin => (StatusCode::CONFLICT, "last_admin"),
            TeamError::AlreadySetUp => (StatusCode::CONFLICT, "already_set_up"),
            TeamError::RegistrationClosed => (StatusCode::FORBIDDEN, "registration_closed"),
            TeamError::InviteRequired => (StatusCode::FORBIDDEN, "invite_required"),
            TeamError::Deactivated => (StatusCode::FORBIDDEN, "account_deactivated"),
            TeamError::AdminOnly => (StatusCode::FORBIDDEN, "admin_only"),
            TeamError::WrongPassword => (StatusCode::FORBIDDEN, "wrong_password"),
            TeamError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        };
        Self::new(status, code, e.to_string())
    }
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::InvalidContent(v) | ChatError::BadRequest(v) => Self::bad_request(v.0),
            ChatError::RateLimited(wait) => Self::rate_limited(e.to_string(), wait),
            ChatError::NotFound => StoreError::NotFound.into(),
            ChatError::Archived => StoreError::Archived.into(),
            ChatError::Forbidden(why) => StoreError::Forbidden(why).into(),
            ChatError::Limit { code, message } => StoreError::Limit { code, message }.into(),
            ChatError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Closed => Self::unavailable("the server is shutting down"),
            // The same answer for "no such room" and "not yours to know".
            StoreError::NotFound => Self::not_found("房间不存在或你无权访问 (no such room)"),
            StoreError::Archived => Self::new(
                StatusCode::FORBIDDEN,
                "archived",
                "房间已归档，只读 (the room is archived and read-only)",
            ),
            StoreError::Forbidden(why) => Self::forbidden(why),
            StoreError::Invalid(why) => Self::bad_request(why),
            StoreError::Limit { code, message } => Self::new(StatusCode::FORBIDDEN, code, message),
            StoreError::Conflict => Self::conflict("名称已被占用 (that name is taken)"),
            // Logged (rate-limited) by the writer; nothing was stored.
            StoreError::Unavailable(_) => Self::unavailable_for(
                "暂时无法保存，请稍后用同一 client_id 重试 (could not store now: retry with the same client_id)",
                Duration::from_secs(1),
            ),
            other => Self::internal(other),
        }
    }
}

/// Turns a handler result into a response.
pub fn respond<T: Reply>(result: Result<T, ApiError>) -> Response {
    match result {
        Ok(reply) => reply.into_response(),
        Err(e) => e.into_response(),
    }
}
