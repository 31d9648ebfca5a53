//! The open-file limit. Every connection is a descriptor; the soft limit is
//! often far below what the system allows, so it is raised to the hard limit
//! at start, and the connection cap is derived from what is then in force.

/// Descriptors kept back from connections: the database (writer, readers,
/// WAL, shared memory), the lock file, logs, the runtime's own, and the
/// sockets being refused while the server is full.
fn reserve(limit: u64) -> u64 {
    200 + limit / 100
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit
/// in force afterwards (`None` where it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return None;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                } else {
                    tracing::warn!(
                        soft = lim.rlim_cur,
                        hard = lim.rlim_max,
                        "cannot raise the open-file limit"
                    );
                }
            }
        }
        #[allow(clippy::useless_conversion)] // rlim_t is u64 on Linux, not on every Unix
        Some(u64::try_from(lim.rlim_cur).unwrap_or(u64::MAX))
    }
    #[cfg(not(unix))]
    None
}

/// The connection cap that `limit` descriptors allow.
pub fn connections_for(limit: u64) -> usize {
    let cap = limit.saturating_sub(reserve(limit)).max(16);
    usize::try_from(cap).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_reserve() {
        assert_eq!(connections_for(20_000), 19_600);
        assert_eq!(connections_for(1024), 814);
        assert_eq!(connections_for(100), 16);
        assert!(raise_open_file_limit().is_some());
    }
}
