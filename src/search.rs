//! Searching messages: the query parsed, its filters resolved against the
//! user's own rooms, the store asked for matches in the rooms the user is a
//! member of (the store's query applies that rule itself), and each hit
//! given a snippet with its matches marked.

use crate::auth::AuthUser;
use crate::domain::access::{self, Action};
use crate::domain::search_query::{QueryError, SearchQuery};
use crate::store::search::{SearchOrder, SearchRequest, term_gram};
use crate::store::{Message, Store, StoreError};
use serde::Serialize;

/// Results per page unless asked otherwise; and the most.
pub const DEFAULT_LIMIT: usize = 20;
/// The most results one request returns.
pub const MAX_LIMIT: usize = 50;
/// Characters of context before the first match in a snippet.
const BEFORE: usize = 30;
/// Characters of a snippet.
const SNIPPET: usize = 140;

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query is empty, too short or malformed.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// `in:` names no room of the user's, or `from:` no account.
    #[error("{0}")]
    Unknown(String),
    /// The store refused (a room the user is not in) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A search as the API receives it.
#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    /// The query text (words, `in:room`, `from:user`).
    pub q: String,
    /// Only this room.
    pub room_id: Option<i64>,
    /// Only this author (a username).
    pub from: Option<String>,
    /// Only messages older than this id (the next page).
    pub before: Option<i64>,
    /// The order.
    pub order: SearchOrder,
    /// Results wanted.
    pub limit: Option<usize>,
}

/// A piece of a snippet; `hit` pieces are what matched.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Segment {
    /// The text.
    pub text: String,
    /// It matched the query.
    pub hit: bool,
}

/// One result.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// The message.
    pub message: Message,
    /// Its room's name (empty for direct messages).
    pub room_name: String,
    /// Its room's kind.
    pub room_kind: String,
    /// Its text around the first match, with the matches marked.
    pub snippet: Vec<Segment>,
}

/// A page of results.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// The hits.
    pub results: Vec<Hit>,
    /// Pass as `before` for the next page (newest order), when there is one.
    pub next_before: Option<i64>,
}

/// Search over the user's rooms.
#[derive(Clone)]
pub struct SearchService {
    store: Store,
}

impl SearchService {
    /// A service over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Runs a search for `user`.
    pub async fn search(
        &self,
        user: &AuthUser,
        params: SearchParams,
    ) -> Result<Results, SearchError> {
        let query = SearchQuery::parse(&params.q)?;
        let mut long_terms = Vec::new();
        let mut grams = Vec::new();
        for term in &query.terms {
            if term.chars().count() >= 3 {
                long_terms.push(term.clone());
            } else if let Some(gram) = term_gram(term) {
                grams.push(gram);
            }
        }
        if long_terms.is_empty() && grams.is_empty() {
            return Err(QueryError::TooShort.into());
        }
        let room_id = match (params.room_id, &query.room) {
            (Some(id), _) => {
                let facts = self
                    .store
                    .room_facts(id, user.id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                access::decide(&facts, Action::SeeFiles).map_err(StoreError::from)?;
                Some(id)
            }
            (None, Some(name)) => Some(self.room_named(user.id, name).await?),
            (None, None) => None,
        };
        let author_id = match params.from.as_ref().or(query.from.as_ref()) {
            Some(name) => Some(
                self.store
                    .credentials(name.clone())
                    .await?
                    .map(|c| c.user.id)
                    .ok_or_else(|| SearchError::Unknown(format!("no user is called {name:?}")))?,
            ),
            None => None,
        };
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let req = SearchRequest {
            user_id: user.id,
            long_terms,
            grams,
            room_id,
            author_id,
            before: params.before,
            order: params.order,
            limit: limit + 1,
        };
        let mut hits = self.store.search(req).await?;
        let more = hits.len() > limit;
        hits.truncate(limit);
        let next_before = match params.order {
            SearchOrder::Newest if more => hits.last().map(|h| h.message.id),
            _ => None,
        };
        let results = hits
            .into_iter()
            .map(|h| Hit {
                snippet: snippet(&h.message.content, &query.terms),
                room_name: h.message.room.clone(),
                room_kind: h.room_kind,
                message: h.message,
            })
            .collect();
        Ok(Results {
            results,
            next_before,
        })
    }

    /// The id of the user's room called `name` (any letter case), or of a
    /// direct conversation with the person called `name`.
    async fn room_named(&self, user_id: i64, name: &str) -> Result<i64, SearchError> {
        let rooms = self.store.rooms_for(user_id, true).await?;
        let name = name.to_lowercase();
        let named = rooms
            .iter()
            .filter(|r| r.member)
            .find(|r| r.room.name.to_lowercase() == name)
            .or_else(|| {
                rooms.iter().filter(|r| r.member).find(|r| {
                    r.room.name.is_empty()
                        && r.room
                            .members
                            .iter()
                            .flatten()
                            .any(|m| m.id != user_id && m.username.to_lowercase() == name)
                })
            });
        named
            .map(|r| r.room.id)
            .ok_or_else(|| SearchError::Unknown(format!("you are in no room called {name:?}")))
    }
}

/// `text` around its first match of any of `terms`, at most [`SNIPPET`]
/// characters, every match within marked.
pub fn snippet(text: &str, terms: &[String]) -> Vec<Segment> {
    let chars: Vec<char> = text.chars().collect();
    let lower: Vec<char> = chars.iter().map(|c| fold(*c)).collect();
    let needles: Vec<Vec<char>> = terms
        .iter()
        .map(|t| t.chars().map(fold).collect())
        .collect();
    let mut marked = vec![false; chars.len()];
    let mut first = None;
    for start in 0..lower.len() {
        for needle in &needles {
            if !needle.is_empty() && lower[start..].starts_with(needle) {
                first.get_or_insert(start);
                for m in &mut marked[start..start + needle.len()] {
                    *m = true;
                }
            }
        }
    }
    let from = first.map_or(0, |f| f.saturating_sub(BEFORE));
    let to = (from + SNIPPET).min(chars.len());
    let mut out: Vec<Segment> = Vec::new();
    if from > 0 {
        out.push(Segment {
            text: "…".into(),
            hit: false,
        });
    }
    for i in from..to {
        match out.last_mut() {
            Some(last) if last.hit == marked[i] && !(i == from && from > 0) => {
                last.text.push(chars[i])
            }
            _ => out.push(Segment {
                text: chars[i].to_string(),
                hit: marked[i],
            }),
        }
    }
    if to < chars.len() {
        out.push(Segment {
            text: "…".into(),
            hit: false,
        });
    }
    out
}

/// One character's lower case (a character whose lower case is several
/// characters keeps its first, so positions stay one-to-one).
fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(segments: &[Segment]) -> String {
        segments
            .iter()
            .map(|s| {
                if s.hit {
                    format!("[{}]", s.text)
                } else {
                    s.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn matches_are_marked_in_any_case_and_script() {
        let terms = vec!["会议".to_owned(), "deploy".to_owned()];
        assert_eq!(
            render(&snippet("明天的会议 Deploy 到生产, deploy!", &terms)),
            "明天的[会议] [Deploy] 到生产, [deploy]!"
        );
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let text = format!("{}needle{}", "a".repeat(200), "b".repeat(200));
        let s = render(&snippet(&text, &["needle".to_owned()]));
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("[needle]"));
        assert!(s.chars().count() <= SNIPPET + 4);
    }

    #[test]
    fn no_match_shows_the_start() {
        assert_eq!(render(&snippet("hello", &["zz".to_owned()])), "hello");
    }
}
