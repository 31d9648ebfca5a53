//! What a person sees at start: where Hearth is reachable (this machine and
//! every LAN address), a QR code of the LAN link on a terminal, the data
//! directory; then the browser opens on the chat.

use crate::config::Config;
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use std::io::{IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};

/// The URLs Hearth answers on: the local one first, then LAN addresses.
pub fn urls(addr: SocketAddr) -> (String, Vec<String>) {
    let port = addr.port();
    let url = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => format!("http://{v4}:{port}"),
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}"),
    };
    if !addr.ip().is_unspecified() {
        let own = url(addr.ip());
        let local = if addr.ip().is_loopback() {
            format!("http://localhost:{port}")
        } else {
            own.clone()
        };
        return (
            local,
            if addr.ip().is_loopback() {
                vec![]
            } else {
                vec![own]
            },
        );
    }
    let mut lan: Vec<String> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip())
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
        // An IPv4 listener (the default) is not reachable on IPv6 addresses;
        // link-local IPv6 addresses need a zone and are no use in a link.
        .filter(|ip| {
            ip.is_ipv4() == addr.is_ipv4()
                && !matches!(ip, IpAddr::V6(v6) if v6.is_unicast_link_local())
        })
        .map(url)
        .collect();
    lan.sort();
    lan.dedup();
    (format!("http://localhost:{port}"), lan)
}

/// Prints the start-up lines. The `listening on` line comes first: scripts
/// and tests wait for it.
pub fn print(
    config: &Config,
    addr: SocketAddr,
    busy_port: Option<u16>,
    team: &crate::team::Settings,
) -> String {
    let (local, lan) = urls(addr);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Hearth {} listening on http://{addr}",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(busy) = busy_port {
        let _ = writeln!(
            out,
            "端口 {busy} 已被占用，改用 {} (port {busy} is in use; using {})",
            addr.port(),
            addr.port()
        );
    }
    let _ = writeln!(out, "打开 {local}");
    for url in &lan {
        let _ = writeln!(out, "局域网 (LAN): {url}");
    }
    if let Some(first) = lan.first()
        && std::io::stdout().is_terminal()
        && let Ok(code) = QrCode::new(first.as_bytes())
    {
        // Light modules drawn as blocks: readable on the usual dark terminal.
        let qr = code
            .render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .build();
        let _ = writeln!(out, "扫码加入 (scan to join) {first}\n{qr}");
    }
    if team.needs_setup {
        let _ = writeln!(
            out,
            "首次使用：在浏览器中创建团队和管理员账号 (first run: set up the team and its admin in the browser)"
        );
    } else {
        match team.registration {
            crate::domain::Registration::Open => {}
            crate::domain::Registration::Invite => {
                let _ = writeln!(
                    out,
                    "仅凭邀请注册：在网页菜单「邀请成员」或运行 `hearth invite create` 生成邀请链接
(invitation only: invite people from the web menu, or run `hearth invite create`)"
                );
            }
            crate::domain::Registration::Closed => {
                let _ = writeln!(
                    out,
                    "注册已关闭：管理员在「管理」页面创建账号 (registration closed: admins create accounts on the admin page)"
                );
            }
        }
    }
    let _ = writeln!(out, "数据目录 (data dir): {}", config.data_dir.display());
    let _ = writeln!(out, "按 Ctrl+C 停止 (press Ctrl+C to stop)");
    let _ = out.flush();
    local
}

/// Opens the default browser on `url`, unless told not to or there is no desktop.
pub fn open_browser(config: &Config, url: &str) {
    if !config.open_browser {
        return;
    }
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        tracing::debug!("no desktop session: not opening a browser");
        return;
    }
    let url = url.to_owned();
    // Launching a browser can block for a moment; keep it off the server.
    std::thread::spawn(move || {
        if let Err(e) = webbrowser::open(&url) {
            tracing::info!(error = %e, "could not open a browser; open {url} yourself");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_specific_addresses() {
        let (local, lan) = urls("127.0.0.1:3001".parse().unwrap());
        assert_eq!(local, "http://localhost:3001");
        assert!(lan.is_empty());
        let (local, lan) = urls("192.168.1.5:8080".parse().unwrap());
        assert_eq!(local, "http://192.168.1.5:8080");
        assert_eq!(lan, vec!["http://192.168.1.5:8080"]);
        let (local, lan) = urls("0.0.0.0:3001".parse().unwrap());
        assert_eq!(local, "http://localhost:3001");
        assert!(
            lan.iter().all(|u| u.starts_with("http://")
                && u.ends_with(":3001")
                && !u.contains("127.0.0.1"))
        );
    }
}
