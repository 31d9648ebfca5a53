use super::ValidationError;

/// Chat text: 1–2000 characters after trimming, no control characters except
/// `\n` and `\t`. Stored raw; clients render it as text (never as HTML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    /// Longest allowed message, in characters after trimming.
    pub const MAX_CHARS: usize = 2000;

    /// Validates and trims a message.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(ValidationError::new("消息不能为空 (message is empty)"));
        }
        let len = text.chars().count();
        if len > Self::MAX_CHARS {
            return Err(ValidationError::new(format!(
                "消息过长：{len} 个字符，最多 {} (message too long)",
                Self::MAX_CHARS
            )));
        }
        if let Some(c) = text
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        {
            return Err(ValidationError::new(format!(
                "消息包含控制字符 U+{:04X} (control characters are not allowed)",
                c as u32
            )));
        }
        Ok(Self(text.to_owned()))
    }

    /// The caption of a message with files: like [`parse`](Self::parse),
    /// but it may be empty.
    pub fn caption(raw: &str) -> Result<Self, ValidationError> {
        if raw.trim().is_empty() {
            return Ok(Self(String::new()));
        }
        Self::parse(raw)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Gives up the text.
    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(MessageBody::parse("  hi \n").unwrap().as_str(), "hi");
        assert!(MessageBody::parse("   \n\t").is_err());
        assert!(MessageBody::parse(&"字".repeat(2000)).is_ok());
        assert!(MessageBody::parse(&"字".repeat(2001)).is_err());
        assert!(MessageBody::parse(&format!("  {}  ", "a".repeat(2000))).is_ok());
        assert_eq!(MessageBody::caption(" \n ").unwrap().as_str(), "");
        assert!(MessageBody::caption("a\u{7}").is_err());
    }

    #[test]
    fn control_characters() {
        assert!(MessageBody::parse("a\nb\tc").is_ok());
        assert!(MessageBody::parse("a\u{7}b").is_err());
        assert!(MessageBody::parse("a\rb").is_err());
        assert!(MessageBody::parse("a\u{0}b").is_err());
        // Markup is just text.
        assert!(MessageBody::parse("<img src=x onerror=alert(1)>").is_ok());
    }
}
