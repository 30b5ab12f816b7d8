//! One Hybris reset per identifier per window (`RESET_WINDOW_MINUTES`, default 15; 0 turns it
//! off). Customers who get no email press "forgot password" again and again, and a
//! credential-stuffing run asks for resets of thousands of unknown addresses: without a window
//! every `fcpr` costs a Hybris look-up and, for a known customer, another reset email.
//!
//! The first `fcpr` for an identifier takes the window (a record under
//! `window:hybris_reset:<first 32 hex digits of SHA-256(address)>` in the dedupe table,
//! `DEDUPE_TABLE_NAME`, that expires with the window) and goes on to Hybris and the Auth0
//! unblock; the later ones within the window answer `skipped` / `repeat_within_window` and call
//! nobody. The window is given back when the first one fails, so Lambda's retry of that event
//! can do the work. An identifier Hybris does not know keeps its window too: its repeats make
//! no look-ups.
//!
//! The record lives in a [`DedupeStore`]: DynamoDB on AWS, memory in the local run.

use auth0_events::EmailAddress;
use dedupe_store::{DedupeError, DedupeStore, Record, Status, secs};
use lambda_support::time::Clock;
use std::{sync::Arc, time::Duration};

/// The key prefix's scope: one namespace in the table shared with send-email.
const SCOPE: &str = "hybris_reset";

#[derive(Debug, Clone)]
pub struct ResetWindow {
    store: Arc<dyn DedupeStore>,
    window: Duration,
    clock: Clock,
}

impl ResetWindow {
    pub fn new(store: Arc<dyn DedupeStore>, window: Duration) -> Self {
        Self {
            store,
            window,
            clock: Clock::default(),
        }
    }

    /// Reads the time from `clock` (tests and the local run move it instead of sleeping).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The window record's key for an identifier: a hash, never the address.
    pub fn key(address: &EmailAddress) -> String {
        dedupe_store::window_key(SCOPE, address.as_str())
    }

    /// Takes the window for `key`: `true` when no reset for that identifier started within the
    /// window (this one may go on), `false` otherwise.
    pub async fn claim(&self, key: &str) -> Result<bool, DedupeError> {
        let now = self.clock.now_s();
        let record = Record {
            status: Status::Window,
            expires_at: now.saturating_add(secs(self.window)),
            lock_until: None,
        };
        self.store.put_if_free(key, record, now, false).await
    }

    /// Gives the window back after a failure, so the retry of that event can reset.
    pub async fn release(&self, key: &str) -> Result<(), DedupeError> {
        self.store.delete(key, Some(Status::Window)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dedupe_store::MemoryStore;

    fn address(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    #[tokio::test]
    async fn one_claim_per_identifier_per_window_and_a_release_frees_it() {
        let clock = Clock::default();
        let store = Arc::new(MemoryStore::default());
        let window =
            ResetWindow::new(store.clone(), Duration::from_secs(15 * 60)).with_clock(clock.clone());
        let key = ResetWindow::key(&address("jane@example.com"));
        let other = ResetWindow::key(&address("john@example.com"));
        assert!(!key.contains("jane"), "{key}");
        assert!(key.starts_with("window:hybris_reset:"), "{key}");

        assert!(window.claim(&key).await.unwrap());
        assert!(
            !window.claim(&key).await.unwrap(),
            "a repeat within the window"
        );
        assert!(window.claim(&other).await.unwrap(), "another identifier");

        window.release(&key).await.unwrap();
        assert!(
            window.claim(&key).await.unwrap(),
            "released after a failure"
        );

        clock.advance(Duration::from_secs(15 * 60 - 1));
        assert!(
            !window.claim(&key).await.unwrap(),
            "still within the window"
        );
        clock.advance(Duration::from_secs(2));
        assert!(window.claim(&key).await.unwrap(), "the window is over");
        assert_eq!(store.len(), 2);
    }
}
