use super::ValidationError;

/// The name a file is shown and downloaded with: the last path component of
/// what the client sent, without control characters, at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    /// Longest name kept, in characters (longer ones are shortened, keeping
    /// the extension).
    pub const MAX_CHARS: usize = 200;

    /// Cleans a client-supplied name; refuses one with nothing left.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
        let clean: String = base
            .chars()
            .filter(|c| !c.is_control())
            .collect::<String>()
            .trim()
            .trim_start_matches('.')
            .to_owned();
        if clean.is_empty() {
            return Err(ValidationError::new("the file needs a name"));
        }
        Ok(Self(shorten(&clean)))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Cuts a long name in the middle, keeping a short extension.
fn shorten(name: &str) -> String {
    if name.chars().count() <= FileName::MAX_CHARS {
        return name.to_owned();
    }
    let ext: String = match name.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() && ext.chars().count() <= 10 => format!(".{ext}"),
        _ => String::new(),
    };
    let keep = FileName::MAX_CHARS - ext.chars().count();
    name.chars().take(keep).chain(ext.chars()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_control_characters_are_dropped() {
        assert_eq!(
            FileName::parse("../../etc/passwd").unwrap().as_str(),
            "passwd"
        );
        assert_eq!(
            FileName::parse("C:\\x\\报告.pdf").unwrap().as_str(),
            "报告.pdf"
        );
        assert_eq!(FileName::parse("a\u{0}b\n.txt").unwrap().as_str(), "ab.txt");
        assert_eq!(FileName::parse(".bashrc").unwrap().as_str(), "bashrc");
        assert!(FileName::parse(" / ").is_err());
        assert!(FileName::parse("..").is_err());
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.png", "长".repeat(300));
        let name = FileName::parse(&long).unwrap();
        assert_eq!(name.as_str().chars().count(), FileName::MAX_CHARS);
        assert!(name.as_str().ends_with(".png"));
    }
}
