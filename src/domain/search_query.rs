//! A search as the user typed it: words to find, and the `in:room` and
//! `from:user` filters, checked when parsed.

use super::ValidationError;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most words in one query.
pub const MAX_TERMS: usize = 8;

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Nothing to search for.
    #[error("type something to search for")]
    Empty,
    /// Every word is one character: too common to search for.
    #[error("search for at least 2 characters")]
    TooShort,
    /// Malformed (too long, too many words, an empty filter).
    #[error("{0}")]
    Invalid(ValidationError),
}

/// A parsed search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The words, each at least 2 characters; a message must contain all.
    pub terms: Vec<String>,
    /// `in:NAME`: a room's name.
    pub room: Option<String>,
    /// `from:NAME`: an author's username.
    pub from: Option<String>,
}

impl SearchQuery {
    /// Splits `q` at white space; `"quoted words"` stay one term. One-character
    /// words are dropped (they would match nearly everything).
    pub fn parse(q: &str) -> Result<Self, QueryError> {
        let q = q.trim();
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::Invalid(ValidationError(format!(
                "a search is at most {MAX_QUERY_CHARS} characters"
            ))));
        }
        let mut query = Self {
            terms: Vec::new(),
            room: None,
            from: None,
        };
        let mut dropped = false;
        for word in split(q) {
            let filter = |prefix: &str| {
                word.strip_prefix(prefix)
                    .or_else(|| word.strip_prefix(&prefix.to_uppercase()))
            };
            if let Some(room) = filter("in:") {
                query.room = Some(non_empty(room.trim_start_matches('#'), "in:")?);
            } else if let Some(from) = filter("from:") {
                query.from = Some(non_empty(from.trim_start_matches('@'), "from:")?);
            } else if word.chars().count() < 2 {
                dropped = true;
            } else if !query.terms.contains(&word) {
                query.terms.push(word);
            }
        }
        if query.terms.len() > MAX_TERMS {
            return Err(QueryError::Invalid(ValidationError(format!(
                "a search has at most {MAX_TERMS} words"
            ))));
        }
        if query.terms.is_empty() {
            return Err(if dropped {
                QueryError::TooShort
            } else {
                QueryError::Empty
            });
        }
        Ok(query)
    }
}

fn non_empty(value: &str, what: &str) -> Result<String, QueryError> {
    if value.is_empty() {
        return Err(QueryError::Invalid(ValidationError(format!(
            "{what} needs a name after it"
        ))));
    }
    Ok(value.to_owned())
}

/// White-space separated words; a double-quoted run is one word.
fn split(q: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in q.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                if !quoted && !current.trim().is_empty() {
                    words.push(current.trim().to_owned());
                    current.clear();
                }
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        words.push(current.trim().to_owned());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_filters_and_quotes() {
        let q = SearchQuery::parse(r#"会议 in:#dev from:@amy "deploy now" x"#).unwrap();
        assert_eq!(q.terms, vec!["会议", "deploy now"]);
        assert_eq!(q.room.as_deref(), Some("dev"));
        assert_eq!(q.from.as_deref(), Some("amy"));
    }

    #[test]
    fn empty_and_short_queries_are_refused() {
        assert_eq!(SearchQuery::parse("  "), Err(QueryError::Empty));
        assert_eq!(SearchQuery::parse("in:dev"), Err(QueryError::Empty));
        assert_eq!(SearchQuery::parse("会 a"), Err(QueryError::TooShort));
        assert!(matches!(
            SearchQuery::parse("from:"),
            Err(QueryError::Invalid(_))
        ));
        assert!(SearchQuery::parse(&"x".repeat(201)).is_err());
    }
}
