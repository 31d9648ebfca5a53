//! Cluster mode against real servers: a throw-away PostgreSQL (started by
//! scripts/postgres.sh, found in `HEARTH_TEST_PG`), three `hearth` nodes as
//! child processes and Debian's nginx with the seed's upstream block
//! (`packaging/nginx/cluster.conf`). Counts every message: zero lost, zero
//! duplicated.

#[path = "../api/child.rs"]
#[allow(dead_code)]
mod child;
#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

mod cluster;
mod failover;
mod harness;
mod migrate;
