//! Accounts and tokens: registration, login (throttled, one answer for unknown
//! user and wrong password) and bearer-token checks.

pub mod password;
pub mod revocation;
pub mod throttle;
pub mod token;

use crate::domain::{Password, Username, ValidationError};
use crate::store::{Store, StoreError, User};
use crate::telemetry::names;
use revocation::Revocations;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use throttle::{LoginThrottle, Policy};
use token::TokenKeys;

/// The holder of a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// User id.
    pub id: i64,
    /// Username when the token was issued.
    pub username: Arc<str>,
    /// Token issue time, Unix seconds (a password reset revokes older ones).
    pub issued_at: u64,
    /// Token expiry, Unix seconds (a WebSocket is closed with 4001 then).
    pub expires_at: u64,
}

/// A token and the account it belongs to, as returned by register and login.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoginSession {
    /// Bearer token.
    pub token: String,
    /// The account.
    pub user: User,
}

/// Errors of the auth layer.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A field failed validation.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The username is taken (in any letter case).
    #[error("用户名已被占用 (username is taken)")]
    UsernameTaken,
    /// Unknown user or wrong password: deliberately the same error.
    #[error("用户名或密码错误 (wrong username or password)")]
    BadCredentials,
    /// Too many failed logins; retry after the duration.
    #[error("登录尝试过多，请稍后再试 (too many attempts, retry later)")]
    Throttled(Duration),
    /// Missing, malformed, expired or foreign token.
    #[error("未授权：令牌无效或已过期 (invalid or expired token)")]
    InvalidToken,
    /// Storage or hashing failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => Self::UsernameTaken,
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Registration, login and token checks.
pub struct AuthService {
    store: Store,
    tokens: TokenKeys,
    accounts: LoginThrottle,
    addresses: LoginThrottle,
    revocations: Revocations,
}

impl AuthService {
    /// Tokens signed with `secret`, valid for `token_lifetime`.
    pub fn new(store: Store, secret: &[u8], token_lifetime: Duration) -> Self {
        Self {
            store,
            tokens: TokenKeys::new(secret, token_lifetime),
            accounts: LoginThrottle::new(Policy {
                free_failures: 5,
                base: Duration::from_secs(1),
                max: Duration::from_secs(15 * 60),
            }),
            // Many people may share one address (NAT), so it gets more slack.
            addresses: LoginThrottle::new(Policy {
                free_failures: 20,
                base: Duration::from_secs(1),
                max: Duration::from_secs(15 * 60),
            }),
            revocations: Revocations::default(),
        }
    }

    /// Creates an account and logs it in.
    pub async fn register(
        &self,
        username: &str,
        password: String,
    ) -> Result<LoginSession, AuthError> {
        let username = Username::parse(username)?;
        let password = Password::parse(password)?;
        let hash = password::hash(password.expose().to_owned())
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        let user = self.store.create_user(&username, hash).await?;
        tracing::info!(user = %user.username, id = user.id, "account created");
        self.session_for(user, 0)
    }

    /// Checks a username and password; throttled per account and per address.
    pub async fn login(
        &self,
        username: &str,
        password: String,
        addr: Option<IpAddr>,
    ) -> Result<LoginSession, AuthError> {
        let account_key = username.trim().to_lowercase();
        let addr_key = addr.map(|a| a.to_string());
        let wait = [
            self.accounts.check(&account_key),
            addr_key
                .as_deref()
                .map_or(Ok(()), |k| self.addresses.check(k)),
        ];
        if let Some(wait) = wait.into_iter().filter_map(Result::err).max() {
            metrics::counter!(names::AUTH_FAILURES).increment(1);
            return Err(AuthError::Throttled(wait));
        }
        // Names that cannot exist and over-long passwords still cost one hash,
        // so timing does not tell them apart from a wrong password.
        let creds = match Username::parse(username) {
            Ok(name) => {
                self.store
                    .reader()
                    .credentials(name.as_str().to_owned())
                    .await?
            }
            Err(_) => None,
        };
        let password = if password.chars().count() > Password::MAX_CHARS {
            String::new()
        } else {
            password
        };
        let phc = creds.as_ref().map(|c| c.password_hash.clone());
        let ok = password::verify(password, phc)
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        match creds {
            Some(creds) if ok => {
                self.accounts.succeed(&account_key);
                self.session_for(creds.user, creds.tokens_valid_after)
            }
            _ => {
                self.accounts.fail(&account_key);
                if let Some(k) = &addr_key {
                    self.addresses.fail(k);
                }
                metrics::counter!(names::AUTH_FAILURES).increment(1);
                Err(AuthError::BadCredentials)
            }
        }
    }

    /// Checks a bearer token.
    pub fn authenticate(&self, token: &str) -> Result<AuthUser, AuthError> {
        let claims = self.tokens.verify(token).ok_or_else(|| {
            metrics::counter!(names::AUTH_FAILURES).increment(1);
            AuthError::InvalidToken
        })?;
        let id = claims.sub.parse().map_err(|_| AuthError::InvalidToken)?;
        let user = AuthUser {
            id,
            username: Arc::from(claims.name),
            issued_at: claims.iat,
            expires_at: claims.exp,
        };
        if self.is_revoked(&user) {
            metrics::counter!(names::AUTH_FAILURES).increment(1);
            return Err(AuthError::InvalidToken);
        }
        Ok(user)
    }

    /// Whether the user's password was reset after this token was issued.
    pub fn is_revoked(&self, user: &AuthUser) -> bool {
        self.revocations.is_revoked(user.id, user.issued_at)
    }

    /// Re-reads the password-reset stamps (`hearth user reset-password` writes
    /// them from another process).
    pub async fn refresh_revocations(&self) -> Result<(), StoreError> {
        let stamps = self.store.reader().token_stamps().await?;
        self.revocations.replace(stamps);
        Ok(())
    }

    /// Checks an `Authorization` header value (`Bearer <token>`).
    pub fn authenticate_header(&self, header: Option<&str>) -> Result<AuthUser, AuthError> {
        let token = header
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::InvalidToken)?;
        self.authenticate(token)
    }

    /// A token issued no earlier than `not_before` (a password-reset stamp),
    /// so a login right after a reset is not caught by the revocation.
    fn session_for(&self, user: User, not_before: u64) -> Result<LoginSession, AuthError> {
        let token = self
            .tokens
            .issue(user.id, &user.username, not_before)
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        Ok(LoginSession { token, user })
    }
}
