//! Connection caps. Each open file costs a descriptor and the process has a
//! fixed number, so the server counts what it holds and refuses the excess
//! with a clear answer instead of running out (when `/healthz` and login
//! would stop answering too).
//!
//! - every TCP connection (HTTP or WebSocket) counts against `max_total`;
//! - WebSockets may fill it only up to a headroom kept for plain HTTP (5 %), so a
//!   server full of sockets still answers `/healthz`, login and polling;
//! - each client address holds at most `max_per_addr` connections.

use super::AddrKey;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server holds as many connections as it may.
    ServerFull,
    /// This client address holds as many as it may.
    TooManyFromAddress,
    /// This account holds as many WebSockets as it may.
    TooManyForUser,
}

impl Refusal {
    /// The machine-readable error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::ServerFull => "server_full",
            Self::TooManyFromAddress | Self::TooManyForUser => "too_many_connections",
        }
    }

    /// A sentence for the user.
    pub fn message(self) -> &'static str {
        match self {
            Self::ServerFull => {
                "服务器连接已满，请稍后再试 (the server is at its connection limit)"
            }
            Self::TooManyFromAddress => {
                "来自此地址的连接过多 (too many connections from this address)"
            }
            Self::TooManyForUser => {
                "此账号打开的连接过多，请关闭一些标签页 (too many open connections for this account)"
            }
        }
    }
}

/// The counters behind the caps.
#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: usize,
    max_websockets: usize,
    max_per_addr: usize,
    total: AtomicUsize,
    websockets: AtomicUsize,
    per_addr: Mutex<HashMap<AddrKey, usize>>,
}

/// One counted connection (or address slot); dropping it frees the slot.
#[derive(Debug)]
pub struct ConnectionSlot {
    limits: Arc<ConnectionLimits>,
    kind: Kind,
    addr: Option<AddrKey>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Tcp,
    WebSocket,
}

impl ConnectionLimits {
    /// Caps of `max_total` connections, `max_per_addr` per client address.
    /// WebSockets leave a twentieth of `max_total` (2 to 500) to plain HTTP.
    pub fn new(max_total: usize, max_per_addr: usize) -> Arc<Self> {
        let headroom = (max_total / 20).clamp(2, 500);
        Arc::new(Self {
            max_total,
            max_websockets: max_total.saturating_sub(headroom).max(1),
            max_per_addr: max_per_addr.max(1),
            total: AtomicUsize::new(0),
            websockets: AtomicUsize::new(0),
            per_addr: Mutex::new(HashMap::new()),
        })
    }

    /// Most connections in all.
    pub fn max_total(&self) -> usize {
        self.max_total
    }

    /// Most WebSockets.
    pub fn max_websockets(&self) -> usize {
        self.max_websockets
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Counts a new TCP connection from `addr` (`None`: exempt from the
    /// per-address cap, e.g. loopback or a trusted proxy).
    pub fn accept(self: &Arc<Self>, addr: Option<AddrKey>) -> Result<ConnectionSlot, Refusal> {
        self.take(Kind::Tcp, addr)
    }

    /// Counts a WebSocket (its TCP connection is already counted) and, when it
    /// came through a trusted proxy, its client address.
    pub fn websocket(
        self: &Arc<Self>,
        forwarded_addr: Option<AddrKey>,
    ) -> Result<ConnectionSlot, Refusal> {
        self.take(Kind::WebSocket, forwarded_addr)
    }

    fn take(
        self: &Arc<Self>,
        kind: Kind,
        addr: Option<AddrKey>,
    ) -> Result<ConnectionSlot, Refusal> {
        let (counter, max) = match kind {
            Kind::Tcp => (&self.total, self.max_total),
            Kind::WebSocket => (&self.websockets, self.max_websockets),
        };
        if !reserve(counter, max) {
            return Err(Refusal::ServerFull);
        }
        // From here on the slot gives the unit back if the address is refused.
        let slot = ConnectionSlot {
            limits: self.clone(),
            kind,
            addr: None,
        };
        self.with_address(slot, addr)
    }

    fn with_address(
        &self,
        mut slot: ConnectionSlot,
        addr: Option<AddrKey>,
    ) -> Result<ConnectionSlot, Refusal> {
        let Some(addr) = addr else {
            return Ok(slot);
        };
        let mut map = self.per_addr.lock().unwrap_or_else(PoisonError::into_inner);
        let count = map.entry(addr).or_insert(0);
        if *count >= self.max_per_addr {
            return Err(Refusal::TooManyFromAddress);
        }
        *count += 1;
        slot.addr = Some(addr);
        Ok(slot)
    }

    fn release_address(&self, addr: AddrKey) {
        let mut map = self.per_addr.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = map.get_mut(&addr) {
            *count -= 1;
            if *count == 0 {
                map.remove(&addr);
            }
        }
    }
}

/// Takes one unit of `counter` unless it is at `max`.
fn reserve(counter: &AtomicUsize, max: usize) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .is_ok()
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        match self.kind {
            Kind::Tcp => {
                self.limits.total.fetch_sub(1, Ordering::AcqRel);
            }
            Kind::WebSocket => {
                self.limits.websockets.fetch_sub(1, Ordering::AcqRel);
            }
        }
        if let Some(addr) = self.addr {
            self.limits.release_address(addr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Option<AddrKey> {
        Some(AddrKey::of(s.parse().unwrap()))
    }

    #[test]
    fn caps_total_and_per_address_and_frees_on_drop() {
        let limits = ConnectionLimits::new(4, 2);
        let a1 = limits.accept(key("10.0.0.1")).unwrap();
        let _a2 = limits.accept(key("10.0.0.1")).unwrap();
        assert_eq!(
            limits.accept(key("10.0.0.1")).unwrap_err(),
            Refusal::TooManyFromAddress
        );
        let _b = limits.accept(key("10.0.0.2")).unwrap();
        let _exempt = limits.accept(None).unwrap();
        assert_eq!(limits.accept(None).unwrap_err(), Refusal::ServerFull);
        assert_eq!(limits.open_connections(), 4);
        drop(a1);
        assert_eq!(limits.open_connections(), 3);
        limits.accept(key("10.0.0.1")).unwrap();
    }

    #[test]
    fn websockets_leave_headroom_for_http() {
        let limits = ConnectionLimits::new(100, 1000);
        assert_eq!(limits.max_websockets(), 95);
        let held: Vec<_> = (0..95).map(|_| limits.websocket(None).unwrap()).collect();
        assert_eq!(limits.websocket(None).unwrap_err(), Refusal::ServerFull);
        drop(held);
        assert!(limits.websocket(None).is_ok());
    }
}
