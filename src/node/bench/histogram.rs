//! A latency histogram of fixed size: log-linear buckets (exact below 128 µs,
//! then 64 sub-buckets per power of two, so about 1.6% resolution), as in
//! HdrHistogram. A long run costs no more memory than a short one, and no
//! sample is ever dropped.

use std::time::Duration;

/// Sub-buckets per power of two, as a shift.
const SUB_BITS: u32 = 6;
/// Values below this are their own bucket.
const LINEAR: u64 = 2 << SUB_BITS;
/// Buckets: the linear range, then 64 per power of two up to 2^64.
const BUCKETS: usize = LINEAR as usize + (64 - (SUB_BITS as usize + 1)) * (1 << SUB_BITS);

/// Counts of latencies in microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max_us: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max_us: 0,
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if us < LINEAR {
        return us as usize;
    }
    let exp = 63 - us.leading_zeros(); // >= SUB_BITS + 1
    let shift = exp - SUB_BITS;
    let sub = (us >> shift) & ((1 << SUB_BITS) - 1);
    LINEAR as usize + (exp - SUB_BITS - 1) as usize * (1 << SUB_BITS) + sub as usize
}

/// The largest value that falls in bucket `b`.
fn bucket_high(b: usize) -> u64 {
    if (b as u64) < LINEAR {
        return b as u64;
    }
    let rest = b - LINEAR as usize;
    let exp = (rest >> SUB_BITS) as u32 + SUB_BITS + 1;
    let sub = (rest & ((1 << SUB_BITS) - 1)) as u64;
    let shift = exp - SUB_BITS;
    let low = ((1u64 << SUB_BITS) | sub) << shift;
    low.saturating_add((1u64 << shift) - 1)
}

impl Histogram {
    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.counts[bucket_of(us)] += 1;
        self.total += 1;
        self.max_us = self.max_us.max(us);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max_us = self.max_us.max(other.max_us);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The latency at quantile `q` (clamped to 0..=1): the upper bound of the
    /// bucket holding the sample of that rank (never above the maximum seen),
    /// so a reported percentile errs high, never low. Zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0u64;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_micros(bucket_high(b).min(self.max_us));
            }
        }
        Duration::from_micros(self.max_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_in_order_within_resolution() {
        let mut last = 0;
        for us in (0..5000u64).chain([1 << 20, 123_456_789, u64::MAX]) {
            let b = bucket_of(us);
            assert!(b < BUCKETS, "{us} -> bucket {b}");
            assert!(b >= last, "buckets must not go backwards at {us}");
            last = b;
            let high = bucket_high(b);
            assert!(high >= us, "{us} above its bucket's high {high}");
            assert!(
                high - us <= us / 64 + 1,
                "{us}: bucket high {high} off by more than 1/64"
            );
        }
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let mut h = Histogram::default();
        for ms in 1..=1000u64 {
            h.record(Duration::from_micros(ms * 100));
        }
        assert_eq!(h.count(), 1000);
        let p50 = h.quantile(0.5).as_micros() as u64;
        assert!((50_000..=50_000 + 50_000 / 64 + 1).contains(&p50), "{p50}");
        let p99 = h.quantile(0.99).as_micros() as u64;
        assert!((99_000..=99_000 + 99_000 / 64 + 1).contains(&p99), "{p99}");
        assert_eq!(h.quantile(1.0), Duration::from_micros(100_000));
        assert_eq!(Histogram::default().quantile(0.5), Duration::ZERO);
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        a.record(Duration::from_micros(10));
        b.record(Duration::from_micros(1000));
        a.merge(&b);
        assert_eq!(a.count(), 2);
        assert_eq!(a.quantile(1.0), Duration::from_micros(1000));
        assert_eq!(a.quantile(0.5), Duration::from_micros(10));
    }
}
