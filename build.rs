//! Build script: embeds the migrations and makes sure `web/dist` exists for
//! rust-embed. Release builds run the web build (`npm ci` when the lock file
//! changed, then `npm run build`) so `cargo run --release` ships the current UI.
//! Set `HEARTH_SKIP_WEB_BUILD=1` to use whatever is in `web/dist`.

use std::path::Path;
use std::process::Command;

const PLACEHOLDER: &str = "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<title>Hearth</title></head><body><h1>Hearth</h1><p>The web UI was not built into this binary \
(Node.js 20 and npm are needed: run <code>cargo build --release</code> again once they are \
installed). The API at <code>/api</code> works.</p></body></html>\n";

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-env-changed=HEARTH_SKIP_WEB_BUILD");
    for path in [
        "web/src",
        "web/public",
        "web/index.html",
        "web/.env",
        "web/package.json",
        "web/package-lock.json",
        "web/vite.config.ts",
        "web/tsconfig.json",
        "web/tsconfig.app.json",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let skip = std::env::var("HEARTH_SKIP_WEB_BUILD").is_ok_and(|v| !v.is_empty() && v != "0");
    if release
        && !skip
        && Path::new("web/package.json").exists()
        && let Err(e) = build_web()
    {
        println!("cargo:warning=web UI not rebuilt: {e}");
    }
    let index = Path::new("web/dist/index.html");
    if !index.exists() {
        let _ = std::fs::create_dir_all("web/dist");
        if let Err(e) = std::fs::write(index, PLACEHOLDER) {
            println!("cargo:warning=cannot write the placeholder web/dist/index.html: {e}");
        }
    }
}

fn build_web() -> Result<(), String> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        return Err("npm is not installed (install Node.js 20 to build the web UI)".into());
    }
    let lock = Path::new("web/package-lock.json");
    let installed = Path::new("web/node_modules/.package-lock.json");
    let stale = match (modified(lock), modified(installed)) {
        (Some(l), Some(i)) => l > i,
        _ => true,
    };
    if stale {
        run(Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir("web"))?;
    }
    run(Command::new(npm).args(["run", "build"]).current_dir("web"))
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
