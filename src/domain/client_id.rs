use super::ValidationError;
use serde::Serialize;

/// The sender's idempotency key for one message: 1–64 of `A–Z a–z 0–9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// Longest allowed id.
    pub const MAX_LEN: usize = 64;

    /// Validates a client-supplied id.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new(
                "client_id must be 1–64 characters of A-Z a-z 0-9 _ -",
            ))
        }
    }

    /// A fresh random id, for senders (old polling clients) that give none.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(ClientId::parse("0b5a3c4e-1111-4a2b-9c3d-123456789abc").is_ok());
        assert!(ClientId::parse(&"a".repeat(64)).is_ok());
        assert!(ClientId::parse(&"a".repeat(65)).is_err());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("a b").is_err());
        assert!(ClientId::parse("ü").is_err());
        assert!(ClientId::parse(ClientId::generate().as_str()).is_ok());
    }
}
