//! HS256 JSON Web Tokens. Only HS256 is accepted, `exp` is required and the
//! leeway is small, so `alg: none`, other algorithms and expired tokens fail.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a token says about its holder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string (JWT convention).
    pub sub: String,
    /// The username when the token was issued.
    pub name: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds.
    pub exp: u64,
    /// The login session (revoked by logout). Absent in tokens issued before
    /// sessions existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Signs and checks tokens with one secret.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
}

/// Clock skew tolerated when checking `exp`.
pub const LEEWAY_SECS: u64 = 5;

impl TokenKeys {
    /// Keys for `secret` (at least 32 bytes; checked by the config) issuing
    /// tokens valid for `lifetime`.
    pub fn new(secret: &[u8], lifetime: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            lifetime,
        }
    }

    /// Issues a token for a user, stamped issued at `not_before` when the
    /// clock is behind it (at most the second of a password reset).
    pub fn issue(
        &self,
        user_id: i64,
        username: &str,
        not_before: u64,
    ) -> anyhow::Result<(String, Claims)> {
        let iat = jsonwebtoken::get_current_timestamp().max(not_before);
        let claims = Claims {
            sub: user_id.to_string(),
            name: username.to_owned(),
            iat,
            exp: iat + self.lifetime.as_secs(),
            sid: Some(uuid::Uuid::new_v4().simple().to_string()),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// Checks signature, algorithm and expiry; returns the claims.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let keys = TokenKeys::new(&[7u8; 32], Duration::from_secs(60));
        let (t, issued) = keys.issue(42, "alice", 0).unwrap();
        let c = keys.verify(&t).unwrap();
        assert_eq!(c.sid, issued.sid);
        assert_eq!((c.sub.as_str(), c.name.as_str()), ("42", "alice"));
        let again = keys.verify(&keys.issue(42, "alice", 0).unwrap().0).unwrap();
        assert_ne!(c.sid, again.sid, "every login is its own session");
        let other = TokenKeys::new(&[8u8; 32], Duration::from_secs(60));
        assert!(other.verify(&t).is_none());
        assert!(keys.verify("garbage").is_none());
        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &c,
            &EncodingKey::from_secret(&[7u8; 32]),
        )
        .unwrap();
        assert!(keys.verify(&hs512).is_none());
    }
}
