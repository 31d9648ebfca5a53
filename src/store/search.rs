//! Search requests and results, and the short grams: the index entries that
//! answer 2-character queries (trigram indexes need 3), written by Hearth
//! so both stores agree on them.

use super::models::Message;
use unicode_script::{Script, UnicodeScript};

/// Relevance ranks the newest this many matches (both stores): ranking all
/// matches of a common word would read every one of them.
pub const RANK_POOL: usize = 1000;

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchOrder {
    /// Newest first (pages with `before`).
    #[default]
    Newest,
    /// Best match first (one page).
    Relevance,
}

/// A search, resolved: what to match and where to look.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// Whose rooms to search (the rooms they are a member of now).
    pub user_id: i64,
    /// Substrings of 3+ characters every result contains (trigram path).
    pub long_terms: Vec<String>,
    /// Short grams every result has (see [`term_gram`]).
    pub grams: Vec<String>,
    /// Only this room.
    pub room_id: Option<i64>,
    /// Only messages by this user.
    pub author_id: Option<i64>,
    /// Only messages with a smaller id.
    pub before: Option<i64>,
    /// The order.
    pub order: SearchOrder,
    /// At most this many results.
    pub limit: usize,
}

/// One result: the message and its room's kind (`open`, `closed`, `direct`).
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// The message as clients see it.
    pub message: Message,
    /// Its room's kind.
    pub room_kind: String,
}

/// Chinese, Japanese and Korean script: no spaces between words, so any two
/// neighbouring characters may be a word.
fn is_cjk(c: char) -> bool {
    matches!(
        c.script(),
        Script::Han | Script::Hiragana | Script::Katakana | Script::Hangul | Script::Bopomofo
    )
}

/// The short grams of a text, space-separated: every pair of neighbouring
/// CJK characters, and every 2-character word of other scripts, lower-case.
/// Empty when there are none.
pub fn short_grams(text: &str) -> String {
    let mut out = String::new();
    let mut push = |gram: &str| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(gram);
    };
    let mut prev_cjk: Option<char> = None;
    let mut word = String::new();
    let mut word_len = 0;
    let flush_word = |word: &mut String, len: &mut usize, push: &mut dyn FnMut(&str)| {
        if *len == 2 {
            push(&word.to_lowercase());
        }
        word.clear();
        *len = 0;
    };
    for c in text.chars() {
        if is_cjk(c) {
            flush_word(&mut word, &mut word_len, &mut push);
            if let Some(p) = prev_cjk {
                let mut gram = String::with_capacity(8);
                gram.push(p);
                gram.push(c);
                push(&gram);
            }
            prev_cjk = Some(c);
        } else if c.is_alphanumeric() {
            prev_cjk = None;
            word.push(c);
            word_len += 1;
        } else {
            prev_cjk = None;
            flush_word(&mut word, &mut word_len, &mut push);
        }
    }
    flush_word(&mut word, &mut word_len, &mut push);
    out
}

/// The short gram that finds a 2-character search term: the pair itself
/// when both are CJK, the lower-cased word when both are letters or digits
/// of other scripts (so `go` finds the word "go", not "going"); `None` for
/// anything else.
pub fn term_gram(term: &str) -> Option<String> {
    let mut chars = term.chars();
    let (a, b) = (chars.next()?, chars.next()?);
    if chars.next().is_some() {
        return None;
    }
    if is_cjk(a) && is_cjk(b) {
        Some(term.to_owned())
    } else if a.is_alphanumeric() && b.is_alphanumeric() && !is_cjk(a) && !is_cjk(b) {
        Some(term.to_lowercase())
    } else {
        None
    }
}

/// A string as one FTS5 phrase (`"…"`, quotes doubled).
pub fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_runs_give_bigrams_and_short_words_give_themselves() {
        assert_eq!(short_grams("明天的会议"), "明天 天的 的会 会议");
        assert_eq!(short_grams("Go to 部署 now"), "go to 部署");
        assert_eq!(short_grams("a 会 b"), "");
        assert_eq!(short_grams("QQ群"), "qq");
        assert_eq!(short_grams("ログイン画面"), "ログ グイ イン ン画 画面");
    }

    #[test]
    fn terms_map_to_the_gram_that_finds_them() {
        assert_eq!(term_gram("会议").as_deref(), Some("会议"));
        assert_eq!(term_gram("Go").as_deref(), Some("go"));
        assert_eq!(term_gram("Q群"), None);
        assert_eq!(term_gram("c#"), None);
        assert_eq!(term_gram("abc"), None);
        // Every gram a term maps to is among the grams of a text holding it.
        for (text, term) in [("明天的会议改到三点", "会议"), ("let's go now", "go")] {
            let gram = term_gram(term).unwrap();
            assert!(short_grams(text).split(' ').any(|g| g == gram));
        }
    }

    #[test]
    fn phrases_are_quoted() {
        assert_eq!(fts_phrase(r#"say "hi""#), r#""say ""hi""""#);
    }
}
