use super::ValidationError;
use serde::Serialize;

/// A login name: 2–32 characters of letters (CJK included), digits, `_`, `-`, `.`.
/// Uniqueness ignores case; that is enforced by the store (`COLLATE NOCASE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Shortest allowed name, in characters.
    pub const MIN_CHARS: usize = 2;
    /// Longest allowed name, in characters.
    pub const MAX_CHARS: usize = 32;

    /// Validates a name as typed by a user (surrounding spaces are removed).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        let len = name.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&len) {
            return Err(ValidationError::new(format!(
                "用户名长度须为 {}–{} 个字符 (username must be {}–{} characters)",
                Self::MIN_CHARS,
                Self::MAX_CHARS,
                Self::MIN_CHARS,
                Self::MAX_CHARS
            )));
        }
        // `char::is_alphanumeric` covers CJK ideographs, kana and hangul as well as
        // Latin letters; marks and symbols stay out so names cannot impersonate.
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            return Err(ValidationError::new(format!(
                "用户名只能包含字母、数字、_ - . (invalid character {bad:?})"
            )));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_latin_cjk_and_punctuation() {
        for ok in [
            "al",
            "alice_01",
            "a.b-c",
            "张三",
            "テスト",
            "x".repeat(32).as_str(),
        ] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Username::parse("  bob  ").unwrap().as_str(), "bob");
    }

    #[test]
    fn refuses_bad_lengths_and_characters() {
        for bad in [
            "",
            "a",
            "  a ",
            &"x".repeat(33),
            "a b",
            "a<b",
            "a\u{0}b",
            "bob!",
            "a\u{200b}b",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }
}
