//! Limits that keep one client from taking the server down: who the client
//! is behind a reverse proxy ([`addr`]), how many connections it may hold
//! ([`connections`]) and how fast it may send, read or register ([`rates`]).
//! docs/SECURITY.md lists each limit with its default and its test.

pub mod addr;
pub mod connections;
pub mod nofile;
pub mod rates;

pub use addr::{AddrKey, TrustedProxies, client_ip};
pub use connections::{ConnectionLimits, ConnectionSlot, Refusal};
pub use rates::{KeyedRate, ReadBudget, RegistrationLimiter, SendLimiter};
