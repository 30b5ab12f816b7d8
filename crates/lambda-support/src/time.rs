//! Wall-clock time as the contracts write it.

use aws_smithy_types::{DateTime, date_time::Format};
use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The wall clock, plus an offset that only tests and the local run move: an expiry of
/// minutes is then tested in milliseconds, with no sleeping. Clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_s: Arc<AtomicI64>,
}

impl Clock {
    /// Seconds since the Unix epoch.
    pub fn now_s(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        i64::try_from(wall)
            .unwrap_or(i64::MAX)
            .saturating_add(self.offset_s.load(Ordering::Relaxed))
    }

    /// Seconds since the Unix epoch, unsigned (a clock before 1970 reads 0).
    pub fn unix_s(&self) -> u64 {
        u64::try_from(self.now_s()).unwrap_or(0)
    }

    /// Moves this clock (and its clones) forward.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.offset_s.fetch_add(by, Ordering::Relaxed);
    }
}

/// Epoch seconds → `2026-11-20T09:58:12Z` (RFC 3339, UTC, whole seconds: EventBridge's `time`
/// format and what the email templates read), by the AWS SDK's own formatter. A year it cannot
/// write (beyond 9999) gives the epoch rather than a panic.
pub fn rfc3339(epoch_secs: i64) -> String {
    DateTime::from_secs(epoch_secs)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// Now, as [`rfc3339`].
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // 2026-11-20T09:58:12Z, EventBridge's time of the sce sample.
        assert_eq!(rfc3339(1_795_168_692), "2026-11-20T09:58:12Z");
        // A leap day and the last second of a year.
        assert_eq!(rfc3339(1_709_164_800), "2024-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
        let clock = Clock::default();
        let shared = clock.clone();
        let before = clock.now_s();
        shared.advance(Duration::from_secs(90));
        assert!((90..=91).contains(&(clock.now_s() - before)));
        let now = now_rfc3339();
        assert!(
            now.len() == 20 && now.ends_with('Z') && now.starts_with("20"),
            "{now}"
        );
    }
}
