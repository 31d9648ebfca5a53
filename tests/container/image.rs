//! `docker run -d -p 3001:3001 -v hearth:/data hearth`, as docs/DEPLOY.md has it.

use crate::checks::*;
use crate::podman::*;

/// Stop timeout given to `podman stop` (Docker's default is 10 s).
const STOP_SECS: u64 = 20;

async fn run_container(name: &str, volume: &str, port: u16) {
    podman(&[
        "run",
        "-d",
        "--name",
        name,
        "-p",
        &format!("127.0.0.1:{port}:3001"),
        "-v",
        &format!("{volume}:/data"),
        &image(),
    ])
    .await;
}

#[tokio::test]
#[ignore = "needs root, podman and the image: scripts/test.sh builds it (packaging/podman-build.sh)"]
async fn the_image_serves_chat_stops_cleanly_and_keeps_its_data_in_the_volume() {
    let (first, second, volume) = (unique("first"), unique("second"), unique("data"));
    let _cleanup = Cleanup::new(&[
        &["rm", "-f", "-t", "0", &first],
        &["rm", "-f", "-t", "0", &second],
        &["volume", "rm", "-f", &volume],
    ]);
    podman(&["volume", "create", &volume]).await;

    let port = free_port();
    run_container(&first, &volume, port).await;
    let site = Site::answering(loopback(port)).await;
    assert_eq!(site.database().await, "sqlite");
    healthy(&first).await;
    runs_unprivileged(&first).await;

    let mut team = Team::start(&site).await;
    team.chat(&site, "first container").await;
    let took = team
        .stopped_by(podman(&["stop", "-t", &STOP_SECS.to_string(), &first]))
        .await;
    println!(
        "docker run: SIGTERM to close 1001 in {} ms",
        took.as_millis()
    );
    assert!(took.as_secs() < STOP_SECS, "1001 within the stop timeout");
    assert_eq!(exit_code(&first).await, "0", "a clean exit, not a kill");

    // A new container (as after pulling a new image) on the same volume.
    let port = free_port();
    run_container(&second, &volume, port).await;
    let site = Site::answering(loopback(port)).await;
    team.carries_on(&site, "second container").await;

    let size: f64 = podman(&["image", "inspect", "--format", "{{.Size}}", &image()])
        .await
        .parse()
        .expect("image size");
    let base: f64 = podman(&[
        "image",
        "inspect",
        "--format",
        "{{.Size}}",
        "docker.io/library/debian:bookworm-slim",
    ])
    .await
    .parse()
    .expect("base image size");
    let own = (size - base) / 1e6;
    println!(
        "image: {:.1} MB, of which {own:.1} MB on top of debian:bookworm-slim",
        size / 1e6
    );
    // The runtime stage adds the binary and a user, nothing else.
    assert!(
        own < 40.0,
        "the runtime image stays lean: {own:.1} MB added"
    );
}
