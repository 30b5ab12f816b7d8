//! Capped exponential backoff with full jitter, bounded by the invocation's deadline.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Upper bound of the first retry's delay; doubles each retry.
    pub base: Duration,
    /// No single delay exceeds this.
    pub cap: Duration,
}

impl Backoff {
    /// The delay before retry number `retry` (1 = first retry): uniformly random in
    /// `[0, min(cap, base * 2^(retry-1))]` ("full jitter"), so concurrent Lambdas spread out.
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = self.base.saturating_mul(
            1u32.checked_shl(retry.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        let ceiling = exp.min(self.cap);
        ceiling.mul_f64(rand::random::<f64>())
    }
}

/// A response's `Retry-After` in whole seconds (the form Bloomreach and SAP Commerce send; an
/// HTTP date is not read and counts as absent).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The point in time by which the invocation must have answered, less a safety margin.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Instant);

impl Deadline {
    /// From Lambda's deadline (`Context::deadline`, epoch milliseconds), keeping `margin` spare
    /// for reporting the result.
    pub fn from_epoch_millis(deadline_ms: u64, margin: Duration) -> Self {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        Self(Instant::now() + left.saturating_sub(margin))
    }

    pub fn after(d: Duration) -> Self {
        Self(Instant::now() + d)
    }

    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// Whether waiting `wait` and then running for up to `work` still ends before the deadline.
    pub fn allows(&self, wait: Duration, work: Duration) -> bool {
        wait + work <= self.remaining()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_under_the_cap() {
        let b = Backoff {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(800),
        };
        for retry in 1..=20 {
            let ceiling = Duration::from_millis(100 * 2u64.pow(retry.min(10) - 1)).min(b.cap);
            for _ in 0..50 {
                assert!(b.delay(retry) <= ceiling, "retry {retry}");
            }
        }
        // Jitter: not every delay is the same.
        let samples: std::collections::HashSet<_> = (0..20).map(|_| b.delay(3)).collect();
        assert!(samples.len() > 1);
    }

    #[test]
    fn retry_after_reads_whole_seconds_only() {
        use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, HeaderValue::from_static(v));
            retry_after(&h)
        };
        assert_eq!(with(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(with("Wed, 21 Oct 2026 07:28:00 GMT"), None);
        assert_eq!(with("-1"), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn deadline_accounts_for_margin() {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let d = Deadline::from_epoch_millis(now_ms + 3_000, Duration::from_millis(500));
        assert!(d.remaining() <= Duration::from_millis(2_500));
        assert!(d.remaining() > Duration::from_millis(2_000));
        assert!(d.allows(Duration::from_millis(1_000), Duration::from_millis(1_000)));
        assert!(!d.allows(Duration::from_millis(2_000), Duration::from_millis(1_000)));
        let past = Deadline::from_epoch_millis(now_ms.saturating_sub(10), Duration::ZERO);
        assert_eq!(past.remaining(), Duration::ZERO);
    }
}
