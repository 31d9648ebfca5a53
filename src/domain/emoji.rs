use super::ValidationError;

/// One emoji as a reaction: 1–32 bytes with at least one pictographic
/// character and no letters, digits, spaces or control characters of
/// ASCII (so `+1` or `lol` are refused, `👍`, `❤️`, `👨‍👩‍👧` and `1️⃣` are not).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Emoji(String);

impl Emoji {
    /// Longest emoji, in bytes (a family with skin tones fits).
    pub const MAX_BYTES: usize = 32;

    /// Validates a reaction's emoji.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let bad = || ValidationError::new("a reaction is one emoji, such as 👍");
        if raw.is_empty() || raw.len() > Self::MAX_BYTES {
            return Err(bad());
        }
        let mut pictographic = false;
        for c in raw.chars() {
            if c.is_control() || c.is_whitespace() {
                return Err(bad());
            }
            // Keycaps (`1️⃣`) start with an ASCII digit or `#`/`*`.
            if c.is_ascii() && !matches!(c, '0'..='9' | '#' | '*') {
                return Err(bad());
            }
            if u32::from(c) >= 0x00A9 && !matches!(c, '\u{200D}' | '\u{FE0F}' | '\u{20E3}') {
                pictographic = true;
            }
        }
        if pictographic || raw.contains('\u{20E3}') {
            Ok(Self(raw.to_owned()))
        } else {
            Err(bad())
        }
    }

    /// The emoji as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_rules() {
        for ok in ["👍", "❤️", "👨‍👩‍👧", "1️⃣", "🇨🇳", "👍🏽", "🎉"]
        {
            assert!(Emoji::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "+1",
            "lol",
            "1",
            "👍 ",
            "a👍",
            "\u{200D}",
            "\u{0}",
            &"👍".repeat(9),
        ] {
            assert!(Emoji::parse(bad).is_err(), "{bad:?}");
        }
    }
}
