//! Accounts and tokens: registration, login (throttled, one answer for unknown
//! user and wrong password) and bearer-token checks.

pub mod password;
pub mod revocation;
mod shared_throttle;
pub mod throttle;
pub mod token;

use crate::domain::{Password, Username, ValidationError};
use crate::limits::{AddrKey, RegistrationLimiter};
use crate::store::{Store, StoreError, User};
use crate::telemetry::names;
use password::{HashError, Hasher};
use revocation::{Revocations, Stamp};
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
    /// The login session this token belongs to (revoked by logout).
    pub session_id: Arc<str>,
    /// Token issue time, Unix seconds (a password reset revokes older ones).
    pub issued_at: u64,
    /// Token expiry, Unix seconds (a WebSocket is closed with 4001 then).
    pub expires_at: u64,
}

impl AuthUser {
    /// What the session registry keeps of this token.
    pub fn session_key(&self) -> crate::hub::SessionKey {
        crate::hub::SessionKey {
            user_id: self.id,
            session_id: self.session_id.clone(),
            issued_at: self.issued_at,
        }
    }
}

/// A token and the account it belongs to, as returned by register and login.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoginSession {
    /// Bearer token.
    pub token: String,
    /// The account.
    pub user: User,
    /// The token's session id, issue and expiry times (for the sessions list).
    #[serde(skip)]
    pub claims: token::Claims,
}

/// Errors of the auth layer.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A field failed validation.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The username (or one that looks the same) is taken.
    #[error("用户名已被占用 (username is taken)")]
    UsernameTaken,
    /// Unknown user or wrong password: deliberately the same error.
    #[error("用户名或密码错误 (wrong username or password)")]
    BadCredentials,
    /// Too many login attempts for this account or address; retry after the duration.
    #[error("登录尝试过多，请稍后再试 (too many attempts, retry later)")]
    Throttled(Duration),
    /// Too many registrations from this address; retry after the duration.
    #[error("注册过于频繁，请稍后再试 (too many registrations from this address)")]
    RegistrationThrottled(Duration),
    /// The password-check queue is full.
    #[error("服务器繁忙，请稍后再试 (the server is busy checking passwords)")]
    Busy,
    /// Missing, malformed, expired, revoked or foreign token.
    #[error("未授权：令牌无效或已过期 (invalid or expired token)")]
    InvalidToken,
    /// Right password, but the account is deactivated.
    #[error("this account is deactivated")]
    Deactivated,
    /// The current password given with a change is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// The database cannot store this now (locked, full): retry later.
    #[error("the database cannot store this now: {0}")]
    Unavailable(String),
    /// Storage or hashing failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => Self::UsernameTaken,
            StoreError::Unavailable(m) => Self::Unavailable(m),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<HashError> for AuthError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Busy,
            HashError::Failed(detail) => Self::Internal(detail),
        }
    }
}

/// Limits of the auth layer (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct AuthLimits {
    /// Token lifetime.
    pub token_lifetime: Duration,
    /// Password checks running or waiting at once.
    pub hash_queue: usize,
    /// Registrations per client address per hour.
    pub register_per_hour: std::num::NonZeroU32,
    /// Registrations per client address in a burst.
    pub register_burst: std::num::NonZeroU32,
}

/// Login attempts per account: five, then waits of 1 s, 2 s, 4 s … up to 15 min.
pub const ACCOUNT_POLICY: Policy = Policy {
    free_attempts: 5,
    base: Duration::from_secs(1),
    max: Duration::from_secs(15 * 60),
};

/// Login attempts per address: many people may share one (NAT), so more slack.
pub const ADDRESS_POLICY: Policy = Policy {
    free_attempts: 20,
    base: Duration::from_secs(1),
    max: Duration::from_secs(15 * 60),
};

/// Throttle key shared by every name that cannot exist.
const INVALID_NAME_KEY: &str = "\u{0}invalid";

/// Registration, login and token checks.
pub struct AuthService {
    store: Store,
    tokens: TokenKeys,
    hasher: Hasher,
    accounts: LoginThrottle,
    addresses: LoginThrottle,
    registrations: RegistrationLimiter,
    revocations: Revocations,
}

impl AuthService {
    /// Tokens signed with `secret`; limits from `limits`.
    pub fn new(store: Store, secret: &[u8], limits: AuthLimits) -> Self {
        Self {
            store,
            tokens: TokenKeys::new(secret, limits.token_lifetime),
            hasher: Hasher::new(limits.hash_queue),
            accounts: LoginThrottle::new(ACCOUNT_POLICY),
            addresses: LoginThrottle::new(ADDRESS_POLICY),
            registrations: RegistrationLimiter::per_hour(
                limits.register_per_hour,
                limits.register_burst,
            ),
            revocations: Revocations::default(),
        }
    }

    /// Frees rate-limit state of idle addresses (call periodically).
    pub fn sweep(&self) {
        self.registrations.sweep();
    }

    /// argon2 runs so far (for tests: how many guesses reached the hash).
    pub fn password_checks(&self) -> u64 {
        self.hasher.runs()
    }

    /// Creates an account and logs it in. `addr` is the client's address
    /// (`None` when exempt from per-address limits).
    pub async fn register(
        &self,
        username: &str,
        password: String,
        addr: Option<AddrKey>,
    ) -> Result<LoginSession, AuthError> {
        let username = Username::parse(username)?;
        let password = Password::parse(password)?;
        if let Some(addr) = addr {
            self.registrations
                .check(&addr)
                .map_err(AuthError::RegistrationThrottled)?;
        }
        // A taken name costs no hash (the writer checks again, atomically).
        if self.store.name_key_taken(username.key()).await? {
            return Err(AuthError::UsernameTaken);
        }
        let hash = self.hasher.hash(password.expose().to_owned()).await?;
        let user = self.store.create_user(&username, hash).await?;
        tracing::info!(user = %user.username, id = user.id, "account created");
        self.session_for(user, 0)
    }

    /// Checks a username and password, throttled per account (its canonical
    /// name) and per address. The attempt counts before the hash runs.
    pub async fn login(
        &self,
        username: &str,
        password: String,
        addr: Option<AddrKey>,
    ) -> Result<LoginSession, AuthError> {
        let name = Username::parse(username).ok();
        let account_key = name
            .as_ref()
            .map_or_else(|| INVALID_NAME_KEY.to_owned(), |n| n.key().to_owned());
        let address_key = addr.map(|a| a.to_string());
        let throttled = |wait| {
            metrics::counter!(names::AUTH_FAILURES).increment(1);
            AuthError::Throttled(wait)
        };
        let account = self.accounts.begin(&account_key).map_err(throttled)?;
        let address = match &address_key {
            Some(key) => match self.addresses.begin(key) {
                Ok(attempt) => Some(attempt),
                Err(wait) => {
                    account.refund();
                    return Err(throttled(wait));
                }
            },
            None => None,
        };
        let shared =
            match shared_throttle::begin(&self.store, &account_key, address_key.as_deref()).await {
                Ok(Ok(shared)) => shared,
                Ok(Err(wait)) => {
                    refund(account, address);
                    return Err(throttled(wait));
                }
                Err(e) => {
                    refund(account, address);
                    return Err(e.into());
                }
            };
        // Names that cannot exist and over-long passwords still cost one hash,
        // so timing does not tell them apart from a wrong password.
        let creds = match &name {
            Some(name) => match self.store.credentials(name.as_str().to_owned()).await {
                Ok(creds) => creds,
                Err(e) => {
                    refund(account, address);
                    if let Some(shared) = shared {
                        shared.refund().await;
                    }
                    return Err(e.into());
                }
            },
            None => None,
        };
        let password = if password.chars().count() > Password::MAX_CHARS {
            String::new()
        } else {
            password
        };
        let phc = creds.as_ref().map(|c| c.password_hash.clone());
        let ok = match self.hasher.verify(password, phc).await {
            Ok(ok) => ok,
            Err(e) => {
                refund(account, address);
                if let Some(shared) = shared {
                    shared.refund().await;
                }
                return Err(e.into());
            }
        };
        match creds {
            Some(creds) if ok => {
                if let Some(shared) = shared {
                    shared.succeed().await;
                }
                account.succeed();
                if let Some(a) = address {
                    a.refund();
                }
                if self.is_deactivated(creds.user.id).await? {
                    return Err(AuthError::Deactivated);
                }
                self.session_for(creds.user, creds.tokens_valid_after)
            }
            _ => {
                metrics::counter!(names::AUTH_FAILURES).increment(1);
                Err(AuthError::BadCredentials)
            }
        }
    }

    /// Signs a token out for good: its session is revoked (here at once, on
    /// other processes at their next refresh).
    pub async fn logout(&self, user: &AuthUser) -> Result<(), AuthError> {
        self.revoke(user.id, &user.session_id, user.expires_at)
            .await?;
        tracing::info!(user = %user.username, "signed out");
        Ok(())
    }

    /// Signs one session of `user_id` out (the sessions list's "sign out").
    pub async fn revoke(
        &self,
        user_id: i64,
        session_id: &str,
        expires_at: u64,
    ) -> Result<(), AuthError> {
        self.store
            .revoke_session(session_id.to_owned(), user_id, expires_at)
            .await?;
        self.revocations.revoke_session(session_id);
        Ok(())
    }

    /// Checks a bearer token.
    pub fn authenticate(&self, token: &str) -> Result<AuthUser, AuthError> {
        let claims = self.tokens.verify(token).ok_or_else(|| {
            metrics::counter!(names::AUTH_FAILURES).increment(1);
            AuthError::InvalidToken
        })?;
        let id = claims.sub.parse().map_err(|_| AuthError::InvalidToken)?;
        // Tokens from before logout existed carry no session id: their
        // signature names them just as uniquely.
        let session_id = claims.sid.map_or_else(
            || {
                Arc::from(format!(
                    "sig:{}",
                    token.rsplit('.').next().unwrap_or_default()
                ))
            },
            Arc::from,
        );
        let user = AuthUser {
            id,
            username: Arc::from(claims.name),
            session_id,
            issued_at: claims.iat,
            expires_at: claims.exp,
        };
        if self.is_revoked(&user) {
            metrics::counter!(names::AUTH_FAILURES).increment(1);
            return Err(AuthError::InvalidToken);
        }
        Ok(user)
    }

    /// Whether this token was signed out, or issued before a password reset.
    pub fn is_revoked(&self, user: &AuthUser) -> bool {
        self.revocations
            .is_revoked(user.id, user.issued_at, &user.session_id)
    }

    /// [`Self::is_revoked`] for a live session's key.
    pub fn is_key_revoked(&self, key: &crate::hub::SessionKey) -> bool {
        self.revocations
            .is_revoked(key.user_id, key.issued_at, &key.session_id)
    }

    /// Re-reads the password-reset stamps and signed-out sessions
    /// (`hearth user reset-password` writes from another process). True when
    /// something new was revoked.
    pub async fn refresh_revocations(&self) -> Result<bool, StoreError> {
        let rows = self
            .store
            .sql_read(crate::stmt!(
                "SELECT id, tokens_valid_after, keep_session, deactivated_at FROM users
                 WHERE tokens_valid_after > 0 OR deactivated_at IS NOT NULL"
            ))
            .await?;
        let stamps = rows
            .iter()
            .map(|r| {
                let stamp = if r.opt_int(3).is_some() {
                    Stamp::at(u64::MAX)
                } else {
                    Stamp {
                        after: r.int(1).try_into().unwrap_or(0),
                        keep: r.opt_text(2),
                    }
                };
                (r.int(0), stamp)
            })
            .collect();
        let sessions = self.store.revoked_sessions().await?;
        Ok(self.revocations.replace(stamps, sessions))
    }

    /// Whether the account is deactivated (read from the store: login must
    /// not wait for the next refresh).
    pub async fn is_deactivated(&self, user_id: i64) -> Result<bool, AuthError> {
        let rows = self
            .store
            .sql_read(crate::stmt!(
                "SELECT deactivated_at FROM users WHERE id = $1",
                user_id
            ))
            .await?;
        Ok(rows.first().is_some_and(|r| r.opt_int(0).is_some()))
    }

    /// Checks `user`'s current password, then hashes the new one (validated).
    pub async fn check_and_hash(
        &self,
        user: &AuthUser,
        current: String,
        new: String,
    ) -> Result<String, AuthError> {
        let new = Password::parse(new)?;
        let creds = self
            .store
            .credentials(user.username.to_string())
            .await?
            .filter(|c| c.user.id == user.id)
            .ok_or(AuthError::InvalidToken)?;
        if !self
            .hasher
            .verify(current, Some(creds.password_hash))
            .await?
        {
            return Err(AuthError::WrongPassword);
        }
        Ok(self.hasher.hash(new.expose().to_owned()).await?)
    }

    /// Hashes a new password (validated).
    pub async fn hash_new(&self, password: String) -> Result<String, AuthError> {
        let password = Password::parse(password)?;
        Ok(self.hasher.hash(password.expose().to_owned()).await?)
    }

    /// Creates an account nobody can log in to until a password link sets
    /// its password (an admin making an account in closed registration).
    pub async fn create_account(&self, username: &str) -> Result<User, AuthError> {
        let username = Username::parse(username)?;
        if self.store.name_key_taken(username.key()).await? {
            return Err(AuthError::UsernameTaken);
        }
        // A random password nobody knows.
        let secret: [u8; 24] = rand::random();
        let hash = self.hasher.hash(format!("{secret:?}")).await?;
        let user = self.store.create_user(&username, hash).await?;
        tracing::info!(user = %user.username, id = user.id, "account created by an admin");
        Ok(user)
    }

    /// Logs `user_id` in without a password (after a password link set one).
    pub async fn login_by_id(&self, user_id: i64) -> Result<LoginSession, AuthError> {
        let user = self.store.user_by_id(user_id).await?;
        let creds = self
            .store
            .credentials(user.username.clone())
            .await?
            .ok_or(AuthError::InvalidToken)?;
        self.session_for(creds.user, creds.tokens_valid_after)
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
        let (token, claims) = self
            .tokens
            .issue(user.id, &user.username, not_before)
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        Ok(LoginSession {
            token,
            user,
            claims,
        })
    }
}

/// Takes back the attempts of a check that never ran.
fn refund(account: throttle::Attempt<'_>, address: Option<throttle::Attempt<'_>>) {
    account.refund();
    if let Some(a) = address {
        a.refund();
    }
}
