use super::ValidationError;
use unicode_security::confusable_detection::skeleton;

/// A login name: 2–32 characters of letters (CJK included), digits, `_`, `-`, `.`.
/// Uniqueness ignores case and look-alike letters: two names with the same
/// [`key`](Self::key) cannot both exist (enforced by the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username {
    name: String,
    key: String,
}

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
        Ok(Self {
            name: name.to_owned(),
            key: name_key(name),
        })
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// What uniqueness compares: the name with letter case folded and
    /// look-alike characters (UTS #39 confusables, e.g. Cyrillic `а` for
    /// Latin `a`) mapped to one representative. Not for display.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// The uniqueness key of a name (see [`Username::key`]).
pub fn name_key(name: &str) -> String {
    // Case first: the skeleton maps some capitals to other letters
    // (`I` → `l`), so `ALICE` and `alice` would differ.
    skeleton(&name.to_lowercase()).collect()
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
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
    fn look_alikes_share_a_key_and_mixed_scripts_stay_valid() {
        let key = |s: &str| Username::parse(s).unwrap().key().to_owned();
        assert_eq!(key("\u{430}lice"), key("alice"), "Cyrillic а");
        assert_eq!(key("ALICE"), key("alice"), "letter case");
        assert_eq!(key("ｂｏｂ"), key("bob"), "full-width letters");
        assert_eq!(key("paypa1"), key("paypal"), "digit one and letter l");
        assert_ne!(key("alice"), key("alicia"));
        assert_ne!(key("张三"), key("张四"));
        for mixed in ["张三abc", "王_wang", "テストuser", "李.li-2"] {
            assert!(Username::parse(mixed).is_ok(), "{mixed}");
        }
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
