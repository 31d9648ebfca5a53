//! The team commands of the `hearth` CLI, on the data directory's SQLite
//! file (beside a running server: it re-reads settings and revocations
//! every couple of seconds). They run the same statements as the server.

use super::audit::{self, Actor};
use super::{invites, links, settings};
use crate::cli::{InviteCommand, RegistrationCommand};
use crate::domain::Registration;
use crate::stmt;
use crate::store::sql::{Row, Stmt, sqlite::run_all};
use crate::store::{DB_FILE, open_db};
use anyhow::{Context, bail};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

fn open(data_dir: &Path) -> anyhow::Result<Connection> {
    Ok(open_db(&data_dir.join(DB_FILE))
        .context("cannot open the database")?
        .conn)
}

/// Runs `stmts` in one transaction.
fn run(conn: &mut Connection, stmts: &[Stmt]) -> anyhow::Result<Vec<Vec<Row>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows = run_all(&tx, stmts)?;
    tx.commit()?;
    Ok(rows)
}

/// A link for people: `url` plus the app's route.
fn link(url: &str, route: &str, secret: &str) -> String {
    format!("{}/#/{route}/{secret}", url.trim_end_matches('/'))
}

/// `hearth registration …`.
pub fn registration(action: RegistrationCommand, data_dir: &Path) -> anyhow::Result<()> {
    let mut conn = open(data_dir)?;
    match action {
        RegistrationCommand::Show => {
            let rows = run(
                &mut conn,
                &[stmt!(
                    "SELECT value FROM settings WHERE key = $1",
                    "registration"
                )],
            )?;
            match rows.first().and_then(|r| r.first()) {
                Some(r) => println!("registration: {}", r.text(0)),
                None => println!(
                    "registration: not set (invite once an admin exists and the server listens beyond loopback, else open)"
                ),
            }
        }
        RegistrationCommand::Set { mode } => {
            let mode: Registration = mode
                .parse()
                .map_err(|e: crate::domain::ValidationError| anyhow::anyhow!(e.0))?;
            run(
                &mut conn,
                &[
                    settings::upsert("registration", mode.as_str().to_owned()),
                    audit::entry(
                        &Actor::cli(),
                        "settings.update",
                        "",
                        &format!("registration={}", mode.as_str()),
                    ),
                ],
            )?;
            println!("registration is now {}", mode.as_str());
        }
    }
    Ok(())
}

/// `hearth invite …`.
pub fn invite(action: InviteCommand, data_dir: &Path) -> anyhow::Result<()> {
    let mut conn = open(data_dir)?;
    match action {
        InviteCommand::Create { uses, hours, url } => {
            if !(1..=invites::MAX_HOURS).contains(&hours)
                || !(1..=invites::MAX_USES).contains(&uses)
            {
                bail!(
                    "an invitation lasts 1 to {} hours and admits 1 to {} people",
                    invites::MAX_HOURS,
                    invites::MAX_USES
                );
            }
            // Invitations are made in an admin's name.
            let rows = run(
                &mut conn,
                &[stmt!(
                    "SELECT id FROM users WHERE is_admin = $1 AND deactivated_at IS NULL ORDER BY id LIMIT 1",
                    true
                )],
            )?;
            let Some(admin) = rows.first().and_then(|r| r.first()).map(|r| r.int(0)) else {
                bail!("there is no admin yet: open Hearth in a browser to set it up first");
            };
            let (secret, _, _, stmts) = invites::new_invite(&Actor::cli(), admin, hours, uses);
            run(&mut conn, &stmts)?;
            println!("{}", link(&url.url, "invite", &secret));
            println!("valid for {hours} hours, {uses} registration(s)");
        }
    }
    Ok(())
}

/// `hearth user reset-password NAME` without a password: a one-time link.
pub fn password_link(conn: &mut Connection, username: &str, url: &str) -> anyhow::Result<String> {
    let rows = run(
        conn,
        &[stmt!(
            "SELECT id, username FROM users WHERE username = $1",
            username.trim()
        )],
    )?;
    let Some(user) = rows.first().and_then(|r| r.first()) else {
        bail!("no user named {username:?}");
    };
    let (secret, stmts) = links::new_link(&Actor::cli(), user.int(0), &user.text(1));
    run(conn, &stmts)?;
    Ok(link(url, "password", &secret))
}

/// `hearth user set-admin NAME [--revoke]`: never the last active admin.
pub fn set_admin(conn: &mut Connection, username: &str, admin: bool) -> anyhow::Result<()> {
    let rows = run(
        conn,
        &[
            stmt!(
                "UPDATE users SET is_admin = $1 WHERE username = $2 AND ($3 = 1 OR
                   (SELECT COUNT(*) FROM users WHERE is_admin = $4 AND deactivated_at IS NULL AND username <> $2) > 0)
                 RETURNING id",
                admin,
                username.trim(),
                admin,
                true
            ),
        ],
    )?;
    if rows.first().is_none_or(Vec::is_empty) {
        let exists = run(
            conn,
            &[stmt!(
                "SELECT id FROM users WHERE username = $1",
                username.trim()
            )],
        )?;
        if exists.first().is_none_or(Vec::is_empty) {
            bail!("no user named {username:?}");
        }
        bail!(
            "{} is the last active admin: make another admin first",
            username.trim()
        );
    }
    let action = if admin {
        "user.make_admin"
    } else {
        "user.remove_admin"
    };
    run(
        conn,
        &[audit::entry(&Actor::cli(), action, username.trim(), "")],
    )?;
    Ok(())
}
