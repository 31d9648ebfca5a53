//! `docker compose -f packaging/docker-compose.cluster.yml up -d`, with
//! podman-compose: PostgreSQL, two nodes of the image and nginx with the
//! seed's upstream block, reached only through nginx's published port.

use crate::checks::*;
use crate::helpers::*;
use crate::podman::*;
use std::time::Instant;

const FILE: &str = "docker-compose.cluster.yml";

/// Whether `node` holds amy's WebSocket: an established connection on port
/// 3001 (nginx opens one per request otherwise, and none is in flight now).
async fn holds_socket(node: &str) -> bool {
    let table = podman(&["exec", node, "cat", "/proc/net/tcp"]).await;
    // Columns: sl local_address rem_address st …; 0BB9 = 3001, 01 = ESTABLISHED.
    table
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            Some((*cols.get(1)?, *cols.get(3)?))
        })
        .any(|(local, state)| local.ends_with(":0BB9") && state == "01")
}

#[tokio::test]
#[ignore = "needs root, podman and the image: scripts/test.sh builds it (packaging/podman-build.sh)"]
async fn docker_compose_cluster_yml_serves_one_team_from_two_nodes_behind_nginx() {
    let project = unique("cluster");
    let name = |service: &str| format!("{project}_{service}_1");
    let (node1, node2) = (name("hearth1"), name("hearth2"));
    let _cleanup = Cleanup::new(&[
        &["rm", "-f", "-t", "0", &name("nginx")],
        &["rm", "-f", "-t", "0", &node1],
        &["rm", "-f", "-t", "0", &node2],
        &["rm", "-f", "-t", "0", &name("postgres")],
        &["pod", "rm", "-f", &format!("pod_{project}")],
        &["volume", "rm", "-f", &format!("{project}_hearth-pg")],
        &["network", "rm", "-f", &format!("{project}_default")],
    ]);
    let port = free_port();
    let env = [
        ("HEARTH_HOST_PORT", port.to_string()),
        ("HEARTH_PG_PASSWORD", format!("pw{}", std::process::id())),
    ];

    compose(FILE, &project, &env, &["up", "-d"]).await;
    let site = Site::answering(loopback(port)).await;
    assert_eq!(site.database().await, "postgres");
    for node in [&node1, &node2] {
        healthy(node).await;
        runs_unprivileged(node).await;
    }
    let mut team = Team::start(&site).await;
    team.chat(&site, "cluster").await;

    // The node holding amy's socket stops: she gets 1001, reconnects
    // through nginx to the other node, and the team goes on chatting.
    let (holding, other) = if holds_socket(&node1).await {
        (&node1, &node2)
    } else {
        (&node2, &node1)
    };
    assert!(holds_socket(other).await != holds_socket(holding).await);
    podman(&["stop", holding]).await;
    let close = team.ws.closed().await;
    assert_eq!(
        close.map(|c| u16::from(c.code)),
        Some(1001),
        "through nginx"
    );
    let reconnecting = Instant::now();
    team.ws = site.ws(&team.amy).await;
    println!(
        "cluster: {holding} stopped; amy back on {other} through nginx in {} ms",
        reconnecting.elapsed().as_millis()
    );
    assert!(
        holds_socket(other).await,
        "amy is on the node still running"
    );
    team.chat(&site, "one node stopped").await;

    // New containers on the same PostgreSQL volume: every message is there.
    compose(FILE, &project, &env, &["down"]).await;
    compose(FILE, &project, &env, &["up", "-d"]).await;
    let site = Site::answering(loopback(port)).await;
    team.carries_on(&site, "cluster again").await;

    // Stopping both nodes closes amy's socket (on whichever) with 1001.
    let took = team
        .stopped_by(compose(
            FILE,
            &project,
            &env,
            &["stop", "hearth1", "hearth2"],
        ))
        .await;
    println!(
        "docker-compose.cluster.yml: SIGTERM to close 1001 in {} ms",
        took.as_millis()
    );
    for node in [&node1, &node2] {
        assert_eq!(exit_code(node).await, "0", "{node} exits cleanly");
    }
    compose(FILE, &project, &env, &["down"]).await;
}
