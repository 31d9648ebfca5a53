//! Integration tests: each starts the real server on port 0 with a temporary
//! data dir and talks to it over real HTTP and WebSocket.

mod child;
mod helpers;

mod auth;
mod bad_input;
mod messages;
mod nginx;
mod packaging;
mod process;
mod realtime;
mod resume;
mod ship;
mod slow_consumer;
