//! The login throttle across a cluster: the same counts and back-off as
//! [`super::throttle`], kept in the cluster database, so attempts made on
//! every node add up. Each node's own throttle still runs first (it also
//! keeps parallel checks of one key to one at a time).

use super::throttle::{FORGET_AFTER, Policy};
use super::{ACCOUNT_POLICY, ADDRESS_POLICY};
use crate::store::postgres::PgStore;
use crate::store::{Store, StoreResult};
use std::time::Duration;

/// Attempts counted in the cluster database for one login.
pub(super) struct SharedAttempts<'a> {
    store: &'a PgStore,
    account: (String, i64),
    address: Option<(String, i64)>,
}

/// Counts the attempt for the account and the address: `Ok(Err(wait))`
/// while either is blocked; `None` on a single node (nothing to share).
pub(super) async fn begin<'a>(
    store: &'a Store,
    account: &str,
    address: Option<&str>,
) -> StoreResult<Result<Option<SharedAttempts<'a>>, Duration>> {
    let Some(pg) = store.cluster() else {
        return Ok(Ok(None));
    };
    // PostgreSQL text cannot hold the NUL of the key of impossible names;
    // theirs gets a key no account key can be.
    let account_key = if account.contains('\0') {
        "invalid-name".to_owned()
    } else {
        format!("account:{account}")
    };
    let account_block = match count(pg, &account_key, ACCOUNT_POLICY).await? {
        Ok(block) => block,
        Err(wait) => return Ok(Err(wait)),
    };
    let mut attempts = SharedAttempts {
        store: pg,
        account: (account_key, account_block),
        address: None,
    };
    if let Some(address) = address {
        let key = format!("address:{address}");
        match count(pg, &key, ADDRESS_POLICY).await {
            Ok(Ok(block)) => attempts.address = Some((key, block)),
            Ok(Err(wait)) => {
                attempts.refund().await;
                return Ok(Err(wait));
            }
            Err(e) => {
                attempts.refund().await;
                return Err(e);
            }
        }
    }
    Ok(Ok(Some(attempts)))
}

async fn count(pg: &PgStore, key: &str, policy: Policy) -> StoreResult<Result<i64, Duration>> {
    pg.count_attempt(key, FORGET_AFTER, move |n| policy.wait_after(n))
        .await
}

impl SharedAttempts<'_> {
    /// The login succeeded: the account's attempts are forgotten, the
    /// address keeps its count but not this attempt.
    pub(super) async fn succeed(self) {
        if let Err(e) = self.store.forget_attempts(&self.account.0).await {
            tracing::warn!(error = %e, "cannot clear the cluster's login attempts");
        }
        if let Some((key, block)) = &self.address {
            let _ = self.store.refund_attempt(key, *block).await;
        }
    }

    /// The attempt should not count (its check never ran).
    pub(super) async fn refund(self) {
        for (key, block) in std::iter::once(&self.account).chain(self.address.as_ref()) {
            if let Err(e) = self.store.refund_attempt(key, *block).await {
                tracing::warn!(error = %e, "cannot refund a login attempt in the cluster");
            }
        }
    }
}
