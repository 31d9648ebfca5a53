//! Hearth: a real-time team chat server that ships as one file.
//!
//! Layout (see DESIGN.md §2): [`api`] routes HTTP to [`auth`] and [`chat`];
//! [`session`] runs one task per WebSocket, fed by the [`hub`]; the [`store`]
//! commits through one writer thread and publishes to the hub after commit.

pub mod admin;
pub mod announce;
pub mod api;
pub mod app;
pub mod assets;
pub mod auth;
pub mod backup;
pub mod chat;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod conversation;
pub mod domain;
pub mod files;
pub mod hub;
pub mod limits;
pub mod migrate;
pub mod progress;
pub mod protocol;
pub mod rooms;
pub mod run;
pub mod search;
pub mod server;
pub mod session;
pub mod state;
pub mod store;
pub mod team;
pub mod telemetry;

pub use app::Application;
pub use config::Config;
