//! Admin commands that work on the data directory directly: accounts and
//! rooms. They run beside a live server (SQLite locking keeps them
//! consistent). Backup, restore and check are in `backup`.

use crate::auth::password;
use crate::cli::{RoomCommand, UserCommand};
use crate::domain::{Password, RoomName, Topic, Username};
use crate::store::{DB_FILE, RoomKind, StoreError, offline, open_db};
use anyhow::{Context, bail};
use rusqlite::params;
use std::io::{BufRead, IsTerminal};
use std::path::Path;

/// `hearth user …`.
pub fn user(action: UserCommand, data_dir: &Path) -> anyhow::Result<()> {
    let db = open_db(&data_dir.join(DB_FILE)).context("cannot open the database")?;
    let mut conn = db.conn;
    match action {
        UserCommand::Add {
            username,
            admin,
            password_stdin,
        } => {
            let name = Username::parse(&username)?;
            let (password, generated) = read_password(password_stdin)?;
            let hash = password::hash_blocking(password.expose())?;
            let user = match offline::create_user(&mut conn, &name, &hash, admin) {
                Err(StoreError::Conflict) => {
                    bail!("用户名 {name} 已被占用 (username, or one that looks the same, is taken)")
                }
                other => other?,
            };
            println!(
                "created user {name}{}",
                if user.is_admin { " (admin)" } else { "" }
            );
            if generated {
                println!("password: {}", password.expose());
            }
        }
        UserCommand::List => {
            let mut stmt =
                conn.prepare("SELECT id, username, is_admin, created_at FROM users ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            println!("{:>6}  {:<32}  {:<5}  created", "id", "username", "admin");
            for row in rows {
                let (id, name, admin, created) = row?;
                let when = std::time::UNIX_EPOCH
                    + std::time::Duration::from_millis(created.max(0).unsigned_abs());
                println!(
                    "{id:>6}  {name:<32}  {:<5}  {}",
                    if admin { "yes" } else { "" },
                    humantime::format_rfc3339_seconds(when)
                );
            }
        }
        UserCommand::ResetPassword {
            username,
            password_stdin: false,
            url,
        } => {
            let link = crate::team::offline::password_link(&mut conn, &username, &url.url)?;
            println!(
                "one-time link to set a new password for {} (valid 24 hours):",
                username.trim()
            );
            println!("{link}");
        }
        UserCommand::ResetPassword {
            username,
            password_stdin: true,
            ..
        } => {
            let (password, _) = read_password(true)?;
            let hash = password::hash_blocking(password.expose())?;
            let n = conn.execute(
                // Signs the account out everywhere: tokens issued up to this
                // second are refused; logins after it get `iat` past the stamp.
                "UPDATE users SET password_hash = ?1, tokens_valid_after = unixepoch() + 1,
                        keep_session = NULL WHERE username = ?2",
                params![hash, username.trim()],
            )?;
            if n == 0 {
                bail!("no user named {username:?}");
            }
            println!(
                "password of {} changed; its sessions are signed out",
                username.trim()
            );
        }
        UserCommand::SetAdmin { username, revoke } => {
            crate::team::offline::set_admin(&mut conn, &username, !revoke)?;
            println!(
                "{} is {}an admin",
                username.trim(),
                if revoke { "no longer " } else { "now " }
            );
        }
    }
    Ok(())
}

/// `hearth room …`.
pub fn room(action: RoomCommand, data_dir: &Path) -> anyhow::Result<()> {
    let db = open_db(&data_dir.join(DB_FILE)).context("cannot open the database")?;
    let mut conn = db.conn;
    let describe = |e: StoreError| match e {
        StoreError::NotFound => anyhow::anyhow!("no such room"),
        StoreError::Conflict => anyhow::anyhow!("a room with that name exists"),
        StoreError::Invalid(why) | StoreError::Forbidden(why) => anyhow::anyhow!("{why}"),
        other => anyhow::anyhow!(other),
    };
    match action {
        RoomCommand::List => {
            let rooms = offline::rooms(&conn).map_err(describe)?;
            println!(
                "{:>6}  {:<7}  {:<32}  {:>7}  {:>8}  archived",
                "id", "kind", "name", "members", "messages"
            );
            for (room, messages) in rooms {
                let name = match &room.members {
                    Some(members) => members
                        .iter()
                        .map(|m| m.username.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    None => room.name.clone(),
                };
                println!(
                    "{:>6}  {:<7}  {:<32}  {:>7}  {:>8}  {}",
                    room.id,
                    room.kind.as_str(),
                    name,
                    room.members_count,
                    messages,
                    if room.archived { "yes" } else { "" }
                );
            }
        }
        RoomCommand::Create {
            name,
            closed,
            topic,
            members,
        } => {
            let name = RoomName::parse(&name)?;
            let topic = Topic::parse(&topic)?;
            let kind = if closed {
                RoomKind::Closed
            } else {
                RoomKind::Open
            };
            let room =
                offline::create_room(&mut conn, &name, kind, &topic, &members).map_err(describe)?;
            println!(
                "created {} room {} (id {}, {} members)",
                kind.as_str(),
                room.name,
                room.id,
                room.members_count
            );
        }
        RoomCommand::Archive { room, undo } => {
            let room = offline::set_archived(&mut conn, &room, !undo).map_err(describe)?;
            let what = if undo { "unarchived" } else { "archived" };
            println!("{what} room {} (id {})", room.name, room.id);
        }
        RoomCommand::AddMember { room, users } => {
            let added = offline::add_members(&mut conn, &room, &users).map_err(describe)?;
            let names: Vec<&str> = added.iter().map(|u| u.username.as_str()).collect();
            if names.is_empty() {
                println!("everyone named is a member already");
            } else {
                println!("added {}", names.join(", "));
            }
        }
    }
    Ok(())
}

/// The new password: from stdin (`--password-stdin`), typed twice on a
/// terminal, or generated (returned with `true`) when neither is possible.
fn read_password(from_stdin: bool) -> anyhow::Result<(Password, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok((
            Password::parse(line.trim_end_matches(['\r', '\n']).to_owned())?,
            false,
        ));
    }
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("新密码 (new password): ")?;
        let second = rpassword::prompt_password("再输入一次 (again): ")?;
        if first != second {
            bail!("the two passwords differ");
        }
        return Ok((Password::parse(first)?, false));
    }
    let alphabet = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes: [u8; 16] = rand::random();
    let generated: String = bytes
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()] as char)
        .collect();
    Ok((Password::parse(generated)?, true))
}

/// `hearth healthcheck`: GET /healthz on the local server; fails unless 200.
pub fn healthcheck(addr: Option<&str>) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
    use std::time::Duration;
    let target = match addr {
        Some(a) => a.to_owned(),
        None => {
            let bind = std::env::var("HEARTH_BIND")
                .unwrap_or_else(|_| crate::config::DEFAULT_BIND.to_owned());
            let port = bind.rsplit(':').next().unwrap_or("3001").to_owned();
            format!("127.0.0.1:{port}")
        }
    };
    let addr: SocketAddr = target
        .to_socket_addrs()?
        .next()
        .with_context(|| format!("cannot resolve {target}"))?;
    let timeout = Duration::from_secs(3);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("no server on {addr}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut response = String::new();
    stream.take(64 * 1024).read_to_string(&mut response)?;
    let status = response.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) == Some("200") {
        println!("ok");
        Ok(())
    } else {
        bail!("unhealthy: {status}")
    }
}
