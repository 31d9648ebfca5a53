use super::ValidationError;

/// The name of an open or closed room: 1–64 characters after trimming, no
/// control characters. Unique ignoring case (enforced by the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomName(String);

impl RoomName {
    /// Longest allowed name, in characters.
    pub const MAX_CHARS: usize = 64;

    /// Validates and trims a room name.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        let len = name.chars().count();
        if !(1..=Self::MAX_CHARS).contains(&len) {
            return Err(ValidationError::new(format!(
                "房间名须为 1–{0} 个字符 (room name must be 1–{0} characters)",
                Self::MAX_CHARS
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "房间名不能包含控制字符 (control characters are not allowed)",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A room's topic: up to 250 characters after trimming, line breaks and tabs
/// allowed, other control characters not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Topic(String);

impl Topic {
    /// Longest allowed topic, in characters.
    pub const MAX_CHARS: usize = 250;

    /// Validates and trims a topic (empty clears it).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let topic = raw.trim();
        if topic.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(format!(
                "话题最多 {0} 个字符 (topic must be at most {0} characters)",
                Self::MAX_CHARS
            )));
        }
        if topic
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        {
            return Err(ValidationError::new(
                "话题不能包含控制字符 (control characters are not allowed)",
            ));
        }
        Ok(Self(topic.to_owned()))
    }

    /// The topic.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_topics() {
        assert_eq!(RoomName::parse("  设计 ").unwrap().as_str(), "设计");
        assert!(RoomName::parse("   ").is_err());
        assert!(RoomName::parse(&"x".repeat(65)).is_err());
        assert!(RoomName::parse(&"房".repeat(64)).is_ok());
        assert!(RoomName::parse("a\nb").is_err());
        assert_eq!(Topic::parse("").unwrap().as_str(), "");
        assert!(Topic::parse("line one\nline two").is_ok());
        assert!(Topic::parse(&"t".repeat(251)).is_err());
        assert!(Topic::parse("bell\u{7}").is_err());
    }
}
