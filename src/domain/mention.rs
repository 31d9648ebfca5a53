//! Finding `@name` mentions in a message. The server resolves them against
//! the room's members: the longest member name that follows an `@` wins, so
//! `@张三你好` (Chinese needs no space) mentions `张三`.

use super::Username;

/// The words that mention everyone in the room.
pub const EVERYONE: [&str; 2] = ["everyone", "所有人"];

/// Most `@` marks of one message that are looked at.
const MAX_MARKS: usize = 20;

/// The `@` marks of a message: the names they could be, and `@everyone`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MentionScan {
    /// Every prefix (2 characters or longer) of the name-like text after each
    /// `@`: the candidates to look up among the members.
    pub candidates: Vec<String>,
    /// `@everyone` or `@所有人` appears (as a whole word).
    pub everyone: bool,
}

fn name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// The text after each `@` (up to a name's length), for the first marks.
/// An `@` inside a word (`alice@example.org`) is not a mark.
fn marks(text: &str) -> impl Iterator<Item = Vec<char>> + '_ {
    let starts_word = |i: usize| !text[..i].chars().next_back().is_some_and(name_char);
    let marks = text
        .match_indices('@')
        .filter(move |(i, _)| starts_word(*i));
    marks.take(MAX_MARKS).map(|(i, _)| {
        text[i + 1..]
            .chars()
            .take_while(|&c| name_char(c))
            .take(Username::MAX_CHARS)
            .collect()
    })
}

/// Scans `text` for mentions. Cheap when there is no `@`.
pub fn scan(text: &str) -> MentionScan {
    let mut out = MentionScan::default();
    if !text.contains('@') {
        return out;
    }
    for word in marks(text) {
        let whole: String = word.iter().collect();
        if EVERYONE.iter().any(|e| whole.eq_ignore_ascii_case(e)) {
            out.everyone = true;
        }
        for len in (Username::MIN_CHARS..=word.len()).rev() {
            let candidate: String = word[..len].iter().collect();
            if !out.candidates.contains(&candidate) {
                out.candidates.push(candidate);
            }
        }
    }
    out
}

/// The ids of `members` that `text` mentions: for each `@`, the member with
/// the longest name (ignoring case) that the text after it starts with.
pub fn resolve<'a>(text: &str, members: impl IntoIterator<Item = (i64, &'a str)>) -> Vec<i64> {
    let members: Vec<(i64, Vec<char>)> = members
        .into_iter()
        .map(|(id, name)| (id, name.to_lowercase().chars().collect()))
        .collect();
    let mut ids = Vec::new();
    for word in marks(text) {
        let word: Vec<char> = word
            .iter()
            .collect::<String>()
            .to_lowercase()
            .chars()
            .collect();
        let best = members
            .iter()
            .filter(|(_, name)| word.starts_with(name))
            .max_by_key(|(_, name)| name.len());
        if let Some((id, _)) = best {
            ids.push(*id);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_names_and_everyone() {
        assert_eq!(scan("no marks"), MentionScan::default());
        let s = scan("hi @bob, and @所有人");
        assert!(s.everyone);
        assert!(s.candidates.contains(&"bob".to_owned()));
        assert!(scan("mail a@everyone.org").everyone.not());
        assert!(scan("@Everyone look").everyone);
    }

    #[test]
    fn the_longest_member_name_wins() {
        let members = [(1, "张三"), (2, "张三丰"), (3, "Bob")];
        assert_eq!(resolve("@张三你好", members), vec![1]);
        assert_eq!(resolve("@张三丰来了 @bob", members), vec![2, 3]);
        assert_eq!(resolve("@nobody @ @", members), Vec::<i64>::new());
        assert_eq!(resolve("email@bob.example", members), Vec::<i64>::new());
        assert_eq!(resolve("(@bob)", members), vec![3]);
    }

    use std::ops::Not;
}
