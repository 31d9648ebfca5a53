//! `docker compose -f packaging/docker-compose.yml up -d --build`, with
//! podman-compose.

use crate::checks::*;
use crate::podman::*;

const FILE: &str = "docker-compose.yml";

/// What `podman build` needs on the test machines, as packaging/podman-build.sh
/// passes them.
fn build_args() -> String {
    let ignore = root().join("packaging/Dockerfile.dockerignore");
    format!(
        "--pull=never --network host --format docker --ignorefile {}",
        ignore.display()
    )
}

/// The id of the compose files' image.
pub async fn image_id() -> String {
    podman(&["image", "inspect", "--format", "{{.Id}}", &image()]).await
}

#[tokio::test]
#[ignore = "needs root, podman and the image: scripts/test.sh builds it (packaging/podman-build.sh)"]
async fn docker_compose_yml_builds_serves_chat_stops_cleanly_and_keeps_its_volume() {
    let project = unique("compose");
    let container = format!("{project}_hearth_1");
    let volume = format!("{project}_hearth-data");
    let _cleanup = Cleanup::new(&[
        &["rm", "-f", "-t", "0", &container],
        &["pod", "rm", "-f", &format!("pod_{project}")],
        &["volume", "rm", "-f", &volume],
        &["network", "rm", "-f", &format!("{project}_default")],
    ]);
    let port = free_port();
    let env = [("HEARTH_HOST_PORT", port.to_string())];

    // The compose file's build section builds the very image
    // podman-build.sh built from the same sources: every layer cached.
    let built = image_id().await;
    compose(
        FILE,
        &project,
        &env,
        &["--podman-build-args", &build_args(), "build"],
    )
    .await;
    assert_eq!(image_id().await, built, "compose builds the same image");

    compose(FILE, &project, &env, &["up", "-d"]).await;
    let site = Site::answering(loopback(port)).await;
    healthy(&container).await;
    runs_unprivileged(&container).await;
    let mut team = Team::start(&site).await;
    team.chat(&site, "compose up").await;

    let took = team
        .stopped_by(compose(FILE, &project, &env, &["stop"]))
        .await;
    println!(
        "docker-compose.yml: SIGTERM to close 1001 in {} ms",
        took.as_millis()
    );
    assert!(took.as_secs() < 20, "1001 within stop_grace_period");
    assert_eq!(exit_code(&container).await, "0", "a clean exit, not a kill");

    // down removes the container, not the named volume; up makes a new one.
    compose(FILE, &project, &env, &["down"]).await;
    compose(FILE, &project, &env, &["up", "-d"]).await;
    let site = Site::answering(loopback(port)).await;
    team.carries_on(&site, "compose up again").await;
    compose(FILE, &project, &env, &["down"]).await;
}
