use super::ValidationError;

/// Checks a one-line profile text: at most `max` characters after trimming,
/// no control characters.
fn one_line(raw: &str, max: usize, what: &str) -> Result<String, ValidationError> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(ValidationError::new(format!(
            "{what} must be at most {max} characters"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(ValidationError::new(format!(
            "{what} cannot contain control characters"
        )));
    }
    Ok(text.to_owned())
}

/// The name shown for a person: any script, up to 64 characters, separate
/// from the username they log in with (empty: show the username).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisplayName(String);

impl DisplayName {
    /// Longest allowed display name, in characters.
    pub const MAX_CHARS: usize = 64;

    /// Validates and trims a display name.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        one_line(raw, Self::MAX_CHARS, "display name").map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's status line ("in a meeting until 3"), up to 140 characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusText(String);

impl StatusText {
    /// Longest allowed status, in characters.
    pub const MAX_CHARS: usize = 140;

    /// Validates and trims a status line (empty clears it).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        one_line(raw, Self::MAX_CHARS, "status").map(Self)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The team's name, shown on the login, setup and invitation pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamName(String);

impl TeamName {
    /// Longest allowed team name, in characters.
    pub const MAX_CHARS: usize = 64;

    /// Validates and trims a team name (1–64 characters).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = one_line(raw, Self::MAX_CHARS, "team name")?;
        if name.is_empty() {
            return Err(ValidationError::new("team name cannot be empty"));
        }
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone who reaches the server.
    Open,
    /// Only with an invitation link.
    Invite,
    /// Nobody: admins create accounts.
    Closed,
}

impl Registration {
    /// The name used in settings, flags and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Invite => "invite",
            Self::Closed => "closed",
        }
    }
}

impl std::str::FromStr for Registration {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(Self::Open),
            "invite" => Ok(Self::Invite),
            "closed" => Ok(Self::Closed),
            _ => Err(ValidationError::new(
                "registration must be open, invite or closed",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_texts_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  王小明 ").unwrap().as_str(), "王小明");
        assert!(DisplayName::parse(&"名".repeat(65)).is_err());
        assert!(DisplayName::parse("a\u{7}b").is_err());
        assert_eq!(StatusText::parse("").unwrap().as_str(), "");
        assert!(StatusText::parse(&"x".repeat(141)).is_err());
        assert!(TeamName::parse("   ").is_err());
        assert_eq!(
            "Invite".parse::<Registration>().unwrap(),
            Registration::Invite
        );
        assert!("maybe".parse::<Registration>().is_err());
    }
}
