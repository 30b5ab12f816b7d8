//! Rate limits for the sandboxes, so that a load scenario can show the system stays within a
//! provider's cap: a token bucket per sandbox (the Auth0 sandbox is one tenant, so one bucket
//! for the tenant), unlimited unless [`Limiter::set_limit`] sets one.
//!
//! - **Bucket.** It holds at most `burst` tokens (by default `burst` = the rate: Auth0's
//!   documented buckets differ by plan, e.g. Enterprise production burst 50 then 16/s, reference
//!   auth0.md §5, and none of them is the sandbox's to copy), refills `per_second` tokens a
//!   second, continuously, and starts full. A request takes one token or is refused. So in any
//!   one second at most `burst + per_second` requests pass (a full bucket, then its refill).
//! - **Refusals** have no side effect: the provider's handler never runs. Each provider writes
//!   its own 429 (`auth0`, `bloomreach`, `hybris` modules) from the [`Quota`].
//! - **Counters** ([`RateStats`], `GET /_local/stats` on each sandbox): requests accepted,
//!   requests refused, and the most accepted within one second, counted in fixed one-second
//!   windows of the wall clock (`[s, s + 1)` for each whole Unix second `s`). They count with
//!   or without a limit, so an unlimited run reports its peak too. The `/_local` routes are not
//!   counted nor limited.
//! - **Time** is a [`RateClock`]: the wall clock (Auth0's reset header is Unix epoch seconds),
//!   or a manual one a test moves.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use serde::{Deserialize, Serialize};
use std::{
    num::NonZeroU32,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Bucket levels are kept in nanotokens: integer arithmetic, so that "N in a second, then the
/// next second N again" holds exactly.
const NANOS: u128 = 1_000_000_000;

/// A sandbox's limit: `per_second` requests a second, bursts up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// `per_second` a second with a burst of the same size (the `--*-rps` flags).
    pub fn per_second(per_second: NonZeroU32) -> Self {
        Self {
            per_second,
            burst: per_second,
        }
    }
}

/// The time the limiter reads: since the Unix epoch.
#[derive(Debug, Clone, Default)]
pub struct RateClock {
    /// `None`: the wall clock. `Some`: a manual time that only [`RateClock::advance`] moves.
    manual: Option<Arc<Mutex<Duration>>>,
}

impl RateClock {
    /// A clock standing at `since_epoch` until advanced (tests).
    pub fn manual(since_epoch: Duration) -> Self {
        Self {
            manual: Some(Arc::new(Mutex::new(since_epoch))),
        }
    }

    /// Moves a manual clock (and its clones) forward; the wall clock is not moved.
    pub fn advance(&self, by: Duration) {
        if let Some(at) = &self.manual {
            let mut at = at.lock().unwrap_or_else(|e| e.into_inner());
            *at += by;
        }
    }

    pub fn now(&self) -> Duration {
        match &self.manual {
            Some(at) => *at.lock().unwrap_or_else(|e| e.into_inner()),
            // A clock before 1970 reads the epoch.
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
        }
    }
}

/// Where a limited request stands, for the provider's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// The bucket's size (`x-ratelimit-limit`).
    pub limit: u32,
    /// Whole tokens left after this request (`x-ratelimit-remaining`).
    pub remaining: u32,
    /// Unix epoch seconds, rounded up: accepted, when the bucket is full again; refused, when
    /// the next request will be accepted (`x-ratelimit-reset`).
    pub reset: u64,
    /// Refused: whole seconds until the next request will be accepted, at least 1
    /// (`Retry-After`); accepted: 0.
    pub retry_after: u64,
}

/// The limiter's answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No limit set: passes, nothing to tell the caller.
    Unlimited,
    Accepted(Quota),
    Refused(Quota),
}

/// The counters for a load report (`GET /_local/stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateStats {
    /// Requests a second; `None`: unlimited.
    pub limit_per_second: Option<u32>,
    /// The bucket's size; `None`: unlimited.
    pub burst: Option<u32>,
    /// Requests let through to the provider's handler.
    pub accepted: u64,
    /// Requests answered 429.
    pub refused: u64,
    /// The most requests accepted within one fixed one-second window of the wall clock.
    pub peak_accepted_per_second: u64,
}

#[derive(Debug, Default)]
struct Bucket {
    limit: Option<RateLimit>,
    /// Nanotokens in the bucket at `at`.
    level: u128,
    at: Duration,
    stats: RateStats,
    /// The whole Unix second being counted, and how many it accepted so far.
    window: (u64, u64),
}

impl Bucket {
    /// Refills up to `now` (a clock that went back refills nothing).
    fn refill(&mut self, limit: RateLimit, now: Duration) {
        let elapsed = now.saturating_sub(self.at).as_nanos();
        let full = u128::from(limit.burst.get()) * NANOS;
        self.level = full.min(self.level + elapsed * u128::from(limit.per_second.get()));
        self.at = self.at.max(now);
    }

    fn count_accepted(&mut self, now: Duration) {
        let second = now.as_secs();
        if self.window.0 != second {
            self.window = (second, 0);
        }
        self.window.1 += 1;
        self.stats.accepted += 1;
        self.stats.peak_accepted_per_second =
            self.stats.peak_accepted_per_second.max(self.window.1);
    }
}

/// `now + nanos` in Unix epoch seconds, rounded up.
fn epoch_secs_after(now: Duration, nanos: u128) -> u64 {
    let at = now.as_nanos() + nanos;
    u64::try_from(at.div_ceil(NANOS)).unwrap_or(u64::MAX)
}

/// A sandbox's rate limit and counters. Clones share them.
#[derive(Debug, Clone, Default)]
pub struct Limiter {
    bucket: Arc<Mutex<Bucket>>,
    clock: Arc<Mutex<RateClock>>,
}

impl Limiter {
    fn bucket(&self) -> MutexGuard<'_, Bucket> {
        self.bucket.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> Duration {
        self.clock.lock().unwrap_or_else(|e| e.into_inner()).now()
    }

    /// Sets the limit (`None`: unlimited, the default); the bucket starts full. The counters
    /// are kept.
    pub fn set_limit(&self, limit: Option<RateLimit>) {
        let now = self.now();
        let mut bucket = self.bucket();
        bucket.limit = limit;
        bucket.level = limit.map_or(0, |l| u128::from(l.burst.get()) * NANOS);
        bucket.at = now;
        bucket.stats.limit_per_second = limit.map(|l| l.per_second.get());
        bucket.stats.burst = limit.map(|l| l.burst.get());
    }

    /// The time it reads from now on (tests: a [`RateClock::manual`]).
    pub fn set_clock(&self, clock: RateClock) {
        *self.clock.lock().unwrap_or_else(|e| e.into_inner()) = clock;
    }

    pub fn stats(&self) -> RateStats {
        self.bucket().stats.clone()
    }

    /// Takes a token for one request, or refuses it; counts either way.
    pub fn check(&self) -> Decision {
        let now = self.now();
        let mut bucket = self.bucket();
        let Some(limit) = bucket.limit else {
            bucket.count_accepted(now);
            return Decision::Unlimited;
        };
        bucket.refill(limit, now);
        let rate = u128::from(limit.per_second.get());
        if bucket.level >= NANOS {
            bucket.level -= NANOS;
            bucket.count_accepted(now);
            let full = u128::from(limit.burst.get()) * NANOS;
            let to_full = (full - bucket.level).div_ceil(rate);
            return Decision::Accepted(Quota {
                limit: limit.burst.get(),
                remaining: u32::try_from(bucket.level / NANOS).unwrap_or(u32::MAX),
                reset: epoch_secs_after(now, to_full),
                retry_after: 0,
            });
        }
        bucket.stats.refused += 1;
        let to_next = (NANOS - bucket.level).div_ceil(rate);
        Decision::Refused(Quota {
            limit: limit.burst.get(),
            remaining: 0,
            reset: epoch_secs_after(now, to_next),
            retry_after: u64::try_from(to_next.div_ceil(NANOS))
                .unwrap_or(u64::MAX)
                .max(1),
        })
    }
}

/// How a provider answers around its limit.
#[derive(Clone, Copy)]
pub(crate) struct Provider {
    /// The provider's 429.
    pub refused: fn(&Quota) -> Response,
    /// Headers the provider puts on an accepted answer, if any.
    pub accepted: Option<fn(&Quota, &mut Response)>,
}

/// Middleware for a sandbox's API routes (not its `/_local` ones): refuses beyond the limit
/// before the handler runs, so a 429 changes nothing.
async fn limit(
    State((limiter, provider)): State<(Limiter, Provider)>,
    request: Request,
    next: Next,
) -> Response {
    match limiter.check() {
        Decision::Unlimited => next.run(request).await,
        Decision::Refused(quota) => (provider.refused)(&quota),
        Decision::Accepted(quota) => {
            let mut response = next.run(request).await;
            if let Some(stamp) = provider.accepted {
                stamp(&quota, &mut response);
            }
            response
        }
    }
}

/// `GET /_local/stats`: the counters, as JSON.
pub(crate) fn stats_route<S: Clone + Send + Sync + 'static>(
    limiter: &Limiter,
) -> axum::routing::MethodRouter<S> {
    let limiter = limiter.clone();
    axum::routing::get(move || async move { axum::Json(limiter.stats()) })
}

/// `routes` (a sandbox's API, not its `/_local` routes) behind `limiter`, answering as
/// `provider` does around it.
pub(crate) fn limited<S: Clone + Send + Sync + 'static>(
    routes: axum::Router<S>,
    limiter: &Limiter,
    provider: Provider,
) -> axum::Router<S> {
    routes.route_layer(axum::middleware::from_fn_with_state(
        (limiter.clone(), provider),
        limit,
    ))
}

/// `Retry-After: <seconds>` on a response.
pub(crate) fn retry_after(response: &mut Response, quota: &Quota) {
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(quota.retry_after),
    );
}

#[cfg(test)]
mod tests;
