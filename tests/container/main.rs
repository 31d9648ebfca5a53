//! Hearth's image run as users run it (docs/DEPLOY.md, "Docker"): built from
//! `packaging/Dockerfile` by `packaging/podman-build.sh` (with stand-ins for
//! the base images), then started with Podman as `docker run`, as
//! `docker-compose.yml` and as `docker-compose.cluster.yml`, and reached
//! only through the published port.
//!
//! A plain `cargo test` skips these (they need root, Podman and the image);
//! `scripts/test.sh` builds the image and runs them with `--ignored`.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

mod checks;
mod cluster;
mod compose;
mod image;
mod podman;
