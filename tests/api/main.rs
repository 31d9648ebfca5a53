//! Integration tests: each starts the real server on port 0 with a temporary
//! data dir and talks to it over real HTTP and WebSocket.

mod child;
mod helpers;

mod auth;
mod backup;
mod bad_input;
mod conversation;
mod conversation_stream;
mod cursor;
mod faults;
mod files;
mod limits;
mod messages;
mod nginx;
mod packaging;
mod process;
mod properties;
mod realtime;
mod resume;
mod rooms;
mod search;
mod ship;
mod signout;
mod slow_consumer;
mod stream;
mod team;
mod throttle;
mod upgrade;
