//! A container's own pace towards a rate-limited provider: calls spaced evenly at no more than
//! N a second. The template sets N per container so that N × the function's concurrency cap
//! stays under the provider's limit (docs/operations.md, *Bursts*): the provider then sees a
//! steady rate instead of a burst answered with 429s.

use std::{
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::time::Instant;

/// Hands out call slots `1/N` s apart. Clones share the slots (one pace per container).
#[derive(Debug, Clone)]
pub struct Pacer {
    interval: Duration,
    next: Arc<Mutex<Option<Instant>>>,
}

impl Pacer {
    pub fn per_second(n: NonZeroU32) -> Self {
        Self {
            interval: Duration::from_secs(1) / n.get(),
            next: Arc::default(),
        }
    }

    /// Takes the next slot: how long to wait before the call. A caller that then gives up
    /// (its deadline) leaves the slot unused, which only slows the pace.
    pub fn reserve(&self) -> Duration {
        let now = Instant::now();
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let slot = next.map_or(now, |n| n.max(now));
        *next = Some(slot + self.interval);
        slot - now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_evenly_and_idle_time_is_not_saved_up() {
        let p = Pacer::per_second(NonZeroU32::new(4).unwrap());
        let waits: Vec<Duration> = (0..4).map(|_| p.reserve()).collect();
        assert_eq!(
            waits,
            [0, 250, 500, 750].map(Duration::from_millis),
            "four at once: spread over the second"
        );
        // After a quiet spell no burst is allowed: the next call goes now, the one after
        // waits a full interval.
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(p.reserve(), Duration::ZERO);
        assert_eq!(p.reserve(), Duration::from_millis(250));
        // Clones share the pace.
        let q = p.clone();
        assert_eq!(q.reserve(), Duration::from_millis(500));
    }
}
