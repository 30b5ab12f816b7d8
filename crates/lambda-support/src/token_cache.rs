//! A cached OAuth access token (client-credentials grant), shared by the API clients.
//!
//! One `tokio::sync::Mutex` slot per client: concurrent callers on a cold or stale cache wait
//! for one fetch instead of each hitting the token endpoint (itself rate-limited). A token is
//! used for its lifetime less a margin, but at least half its lifetime, so a short-lived token
//! is still reused. After a 401 the refused token is dropped (unless a concurrent caller has
//! already replaced it) and the next caller fetches a new one.

use crate::{ExposeSecret, SecretString, retry::Deadline};
use std::{
    future::Future,
    time::{Duration, Instant},
};
use tokio::sync::Mutex;

/// How long a start-up token prefetch (`warm_up` of the API clients) may take.
pub const WARM_UP_BUDGET: Duration = Duration::from_secs(5);

/// How long a token that lives `expires_in` is used: its lifetime less `margin`, but at least
/// half its lifetime.
pub fn use_for(expires_in: Duration, margin: Duration) -> Duration {
    expires_in.saturating_sub(margin.min(expires_in / 2))
}

/// A fetched token and its lifetime (`expires_in`).
pub struct Fetched {
    pub token: SecretString,
    pub expires_in: Duration,
}

struct Entry {
    token: SecretString,
    refresh_at: Instant,
}

pub struct TokenCache {
    slot: Mutex<Option<Entry>>,
    margin: Duration,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub fn new(margin: Duration) -> Self {
        Self {
            slot: Mutex::new(None),
            margin,
        }
    }

    /// The cached token, or the result of `fetch` if there is none or it is due for refresh.
    /// Waiting for another caller's fetch is bounded by `deadline` (then `on_timeout()`).
    pub async fn get<E, Fut>(
        &self,
        deadline: &Deadline,
        on_timeout: impl FnOnce() -> E,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<SecretString, E>
    where
        Fut: Future<Output = Result<Fetched, E>>,
    {
        let Ok(mut slot) = tokio::time::timeout(deadline.remaining(), self.slot.lock()).await
        else {
            return Err(on_timeout());
        };
        if let Some(entry) = slot.as_ref()
            && Instant::now() < entry.refresh_at
        {
            return Ok(entry.token.clone());
        }
        // Counted from the request, not the reply: errs on the early side.
        let started = Instant::now();
        let fetched = fetch().await?;
        *slot = Some(Entry {
            token: fetched.token.clone(),
            refresh_at: started + use_for(fetched.expires_in, self.margin),
        });
        Ok(fetched.token)
    }

    /// Drops `refused` if it is still the cached token.
    pub async fn invalidate(&self, refused: &SecretString) {
        let mut slot = self.slot.lock().await;
        if slot
            .as_ref()
            .is_some_and(|e| e.token.expose_secret() == refused.expose_secret())
        {
            *slot = None;
        }
    }

    /// Marks the cached token as due (tests of refresh behaviour).
    pub async fn expire_now(&self) {
        if let Some(entry) = self.slot.lock().await.as_mut() {
            entry.refresh_at = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn lifetime_less_margin_but_at_least_half() {
        assert_eq!(use_for(s(86_400), s(300)), s(86_100));
        assert_eq!(use_for(s(600), s(300)), s(300));
        assert_eq!(use_for(s(120), s(300)), s(60));
        assert_eq!(use_for(s(0), s(300)), s(0));
    }

    #[tokio::test]
    async fn fetches_once_refreshes_when_due_and_after_invalidate() {
        let cache = TokenCache::new(s(300));
        let fetches = AtomicU32::new(0);
        let deadline = Deadline::after(s(5));
        let get = || {
            cache.get(
                &deadline,
                || "timeout",
                || async {
                    let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                    Ok::<_, &str>(Fetched {
                        token: SecretString::from(format!("t{n}")),
                        expires_in: s(3_600),
                    })
                },
            )
        };
        assert_eq!(get().await.unwrap().expose_secret(), "t1");
        assert_eq!(get().await.unwrap().expose_secret(), "t1");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        cache.expire_now().await;
        assert_eq!(get().await.unwrap().expose_secret(), "t2");

        // Invalidating a token that was already replaced keeps the current one.
        cache.invalidate(&SecretString::from("t1".to_owned())).await;
        assert_eq!(get().await.unwrap().expose_secret(), "t2");
        cache.invalidate(&SecretString::from("t2".to_owned())).await;
        assert_eq!(get().await.unwrap().expose_secret(), "t3");
    }

    #[tokio::test]
    async fn a_failed_fetch_caches_nothing() {
        let cache = TokenCache::new(s(300));
        let deadline = Deadline::after(s(5));
        let err = cache
            .get(
                &deadline,
                || "timeout",
                || async { Err::<Fetched, _>("refused") },
            )
            .await
            .unwrap_err();
        assert_eq!(err, "refused");
        let ok = cache
            .get(
                &deadline,
                || "timeout",
                || async {
                    Ok::<_, &str>(Fetched {
                        token: SecretString::from("t".to_owned()),
                        expires_in: s(60),
                    })
                },
            )
            .await
            .unwrap();
        assert_eq!(ok.expose_secret(), "t");
    }
}
