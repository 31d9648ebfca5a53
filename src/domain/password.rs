use super::ValidationError;

/// A password as typed: 8–128 characters. Never logged or serialized.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Shortest allowed password, in characters.
    pub const MIN_CHARS: usize = 8;
    /// Longest allowed password, in characters (bounds hashing cost).
    pub const MAX_CHARS: usize = 128;

    /// Checks the length rules of a new password.
    pub fn parse(raw: String) -> Result<Self, ValidationError> {
        let len = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&len) {
            return Err(ValidationError::new(format!(
                "密码长度须为 {}–{} 个字符 (password must be {}–{} characters)",
                Self::MIN_CHARS,
                Self::MAX_CHARS,
                Self::MIN_CHARS,
                Self::MAX_CHARS
            )));
        }
        Ok(Self(raw))
    }

    /// The secret itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds() {
        assert!(Password::parse("1234567".into()).is_err());
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("密".repeat(128)).is_ok());
        assert!(Password::parse("x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret-pw".into()).unwrap()),
            "Password(***)"
        );
    }
}
