//! Search on the cluster store: `ILIKE` per term of 3+ characters (served
//! by pg_trgm's GIN index where the extension could be created) and the
//! short-gram array for 2-character terms, both rechecked exactly by the
//! query itself. Relevance is ranked here, over the newest matches.

use super::PgStore;
use super::conn::Conn;
use super::rows::{MESSAGE_COLUMNS, MESSAGE_FROM, add_reactions, message_from_row};
use crate::store::StoreResult;
use crate::store::search::{RANK_POOL, SearchHit, SearchOrder, SearchRequest};
use tokio_postgres::types::ToSql;

/// `%term%` for ILIKE, its wildcards escaped.
fn like_pattern(term: &str) -> String {
    let escaped = term
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A BM25-like score: term frequency saturating, shorter messages first.
fn score(content: &str, terms: &[String]) -> f64 {
    let text = content.to_lowercase();
    let len = text.chars().count() as f64;
    terms
        .iter()
        .map(|t| {
            let tf = text.matches(&t.to_lowercase()).count() as f64;
            tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len / 80.0))
        })
        .sum()
}

impl PgStore {
    /// The messages matching `req` in the rooms its user is a member of now.
    pub async fn search(&self, req: SearchRequest) -> StoreResult<Vec<SearchHit>> {
        let c = self.client().await?;
        let before = req.before.unwrap_or(i64::MAX);
        let limit = match req.order {
            SearchOrder::Newest => req.limit as i64,
            SearchOrder::Relevance => RANK_POOL as i64,
        };
        let patterns: Vec<String> = req.long_terms.iter().map(|t| like_pattern(t)).collect();
        let mut params: Vec<&(dyn ToSql + Sync)> =
            vec![&before, &req.user_id, &req.room_id, &req.author_id, &limit];
        let mut conditions = String::new();
        for p in &patterns {
            params.push(p);
            conditions.push_str(&format!(" AND m.content ILIKE ${}", params.len()));
        }
        if !req.grams.is_empty() {
            params.push(&req.grams);
            conditions.push_str(&format!(" AND m.grams @> ${}::TEXT[]", params.len()));
        }
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS}, r.kind FROM {MESSAGE_FROM}
             WHERE m.deleted_at IS NULL AND m.id < $1
               AND m.room_id IN (SELECT room_id FROM memberships
                                 WHERE user_id = $2 AND left_seq IS NULL)
               AND ($3::BIGINT IS NULL OR m.room_id = $3)
               AND ($4::BIGINT IS NULL OR m.user_id = $4){conditions}
             ORDER BY m.id DESC LIMIT $5"
        );
        let rows = c.rows(&sql, &params).await?;
        let mut hits: Vec<SearchHit> = rows
            .iter()
            .map(|r| SearchHit {
                message: message_from_row(r),
                room_kind: r.get(17),
            })
            .collect();
        if req.order == SearchOrder::Relevance {
            let terms: Vec<String> = req.long_terms.iter().chain(&req.grams).cloned().collect();
            let mut scored: Vec<(f64, SearchHit)> = hits
                .into_iter()
                .map(|h| (score(&h.message.content, &terms), h))
                .collect();
            // Stable: equal scores stay newest first.
            scored.sort_by(|a, b| b.0.total_cmp(&a.0));
            hits = scored.into_iter().take(req.limit).map(|(_, h)| h).collect();
        }
        add_reactions(&c, hits.iter_mut().map(|h| &mut h.message)).await?;
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_literal() {
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn more_and_denser_matches_score_higher() {
        let terms = vec!["deploy".to_owned()];
        assert!(score("deploy deploy", &terms) > score("deploy", &terms));
        assert!(score("deploy", &terms) > score(&format!("deploy {}", "x".repeat(300)), &terms));
        assert_eq!(score("nothing", &terms), 0.0);
    }
}
