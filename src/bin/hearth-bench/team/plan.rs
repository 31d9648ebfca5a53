//! The shape of a `team` run: how many rooms of which size, which pairs of
//! users share a DM, and the random numbers that spread them.

use std::collections::HashSet;

/// A small xorshift64* generator: reproducible enough, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// Shuffles `v` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// How many rooms of each size: `rooms` rooms whose sizes add up to about
/// `users × per_user` memberships, fewer rooms the larger they are (counts
/// ∝ size^-a, `a` chosen so the mean size fits).
pub fn room_counts(
    rooms: usize,
    users: usize,
    per_user: usize,
    sizes: &[usize],
) -> Vec<(usize, usize)> {
    let mut sizes: Vec<usize> = sizes
        .iter()
        .copied()
        .filter(|&s| (2..=users).contains(&s))
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.is_empty() {
        sizes.push(users.clamp(1, 10));
    }
    if rooms == 0 {
        return Vec::new();
    }
    let want = (users * per_user) as f64 / rooms as f64;
    let shares = |a: f64| -> Vec<f64> {
        let w: Vec<f64> = sizes.iter().map(|&s| (s as f64).powf(-a)).collect();
        let total: f64 = w.iter().sum();
        w.into_iter().map(|x| x / total).collect()
    };
    let mean = |a: f64| -> f64 {
        shares(a)
            .iter()
            .zip(&sizes)
            .map(|(p, &s)| p * s as f64)
            .sum()
    };
    // The mean falls as `a` grows: bisect.
    let (mut lo, mut hi) = (-8.0_f64, 8.0_f64);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if mean(mid) > want {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let p = shares((lo + hi) / 2.0);
    let mut counts: Vec<usize> = p
        .iter()
        .map(|p| (p * rooms as f64).round() as usize)
        .collect();
    // Make the counts add up to `rooms`: adjust the most common class.
    let total: usize = counts.iter().sum();
    let most = (0..counts.len()).max_by_key(|&i| counts[i]).unwrap_or(0);
    counts[most] = (counts[most] + rooms).saturating_sub(total);
    sizes
        .into_iter()
        .zip(counts)
        .filter(|&(_, n)| n > 0)
        .collect()
}

/// The pairs of users in DMs: user i with i±1, i±2, … (and with i + users/2
/// for an odd count), so that each user is in `per_user` DMs.
pub fn dm_pairs(users: usize, per_user: usize) -> Vec<(usize, usize)> {
    let mut pairs = HashSet::new();
    for d in 1..=per_user / 2 {
        for i in 0..users {
            let j = (i + d) % users;
            if i != j {
                pairs.insert((i.min(j), i.max(j)));
            }
        }
    }
    if per_user % 2 == 1 && users >= 2 {
        let half = users / 2;
        for i in 0..half {
            pairs.insert((i, i + half));
        }
    }
    let mut pairs: Vec<_> = pairs.into_iter().collect();
    pairs.sort_unstable();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_counts_fit_the_memberships() {
        let counts = room_counts(200, 2_000, 5, &[10, 50, 200, 500]);
        assert_eq!(counts.iter().map(|c| c.1).sum::<usize>(), 200);
        let members: usize = counts.iter().map(|(s, n)| s * n).sum();
        assert!((9_000..=11_000).contains(&members), "{counts:?}");
        let quick = room_counts(20, 200, 5, &[10, 50, 200, 500]);
        assert!(quick.iter().all(|&(s, _)| s <= 200), "{quick:?}");
        assert_eq!(quick.iter().map(|c| c.1).sum::<usize>(), 20);
    }

    #[test]
    fn every_user_is_in_the_asked_number_of_dms() {
        for (users, per) in [(2_000, 5), (200, 5), (201, 4)] {
            let mut degree = vec![0; users];
            for (a, b) in dm_pairs(users, per) {
                assert_ne!(a, b);
                degree[a] += 1;
                degree[b] += 1;
            }
            assert!(
                degree.iter().all(|&d| d == per),
                "{users} users, {per} each"
            );
        }
    }
}
