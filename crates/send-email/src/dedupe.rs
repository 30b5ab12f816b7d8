//! At most one email per `dedupe_key`: an idempotency record in DynamoDB (optional,
//! `DEDUPE_TABLE_NAME`), after Powertools for AWS Lambda's idempotency design.
//!
//! Bloomreach sends during the request and has no idempotency key, while EventBridge and
//! Lambda deliver at least once and Auth0 replays its stream: without a record the same log
//! can email a customer twice. Per email:
//!
//! 1. [`Dedupe::claim`]: a conditional `PutItem` writes `IN_PROGRESS` with a lock that ends
//!    with the invocation. It succeeds if there is no record, the record has expired, or an
//!    earlier attempt's lock ran out (it timed out mid-send). Otherwise the record says
//!    `COMPLETE` (already sent: skip) or someone else holds the lock (in progress: retry later).
//! 2. After a send, [`Dedupe::complete`] marks it `COMPLETE`, kept for `DEDUPE_KEEP_HOURS`.
//! 3. After a failed send, [`Dedupe::release`] deletes the `IN_PROGRESS` record so a retry or a
//!    redrive can send.
//!
//! Repeated blocks: a credential-stuffing attack logs many `limit_wc` / `limit_sul` for one
//! account within minutes, each with its own `log_id`. With a block window set
//! (`BLOCKED_EMAIL_WINDOW_MINUTES`), [`Dedupe::claim_window`] writes a second record per
//! kind + recipient (`window:account_blocked:<first 32 hex digits of SHA-256(address)>`, never
//! the address itself) that lives for the window: the first block in a window sends, the
//! others are skipped. The window slides from the email that was sent, so a burst across a
//! clock boundary still sends one. A failed send deletes the record ([`Dedupe::release_window`])
//! so Lambda's retry of that event can send.
//!
//! Expiry is checked in the condition, not left to DynamoDB's TTL (which can lag up to 48 h);
//! `expires_at` is still the table's TTL attribute so old records get cleaned up.
//! Table: partition key `dedupe_key` (S); TTL on `expires_at`.
//!
//! The records live in a [`DedupeStore`] (crate `dedupe-store`, shared with
//! hybris-reset-password's reset window): [`DynamoDbStore`] on AWS, [`MemoryStore`] in the
//! local run. The store only writes, reads and deletes under a condition; the rules above are
//! [`Dedupe`]'s, so both worlds follow the same ones.

use auth0_events::{EmailAddress, EmailKind};
use dedupe_store::secs;
pub use dedupe_store::{
    DedupeError, DedupeStore, DynamoDbStore, MemoryStore, Record, Status, StoreFuture,
};
use lambda_support::time::Clock;
use std::{sync::Arc, time::Duration};

/// What [`Dedupe::claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This invocation holds the lock: send.
    Acquired,
    /// Sent before: do not send again.
    AlreadySent,
    /// Another invocation is sending it now.
    InProgress,
}

#[derive(Debug, Clone)]
pub struct Dedupe {
    store: Arc<dyn DedupeStore>,
    keep_for: Duration,
    /// At most one `account_blocked` email per recipient per this long; `None`: no limit.
    block_window: Option<Duration>,
    clock: Clock,
}

impl Dedupe {
    pub fn new(store: Arc<dyn DedupeStore>, keep_for: Duration) -> Self {
        Self {
            store,
            keep_for,
            block_window: None,
            clock: Clock::default(),
        }
    }

    /// One `account_blocked` email per recipient per `window` (zero: no limit).
    pub fn with_block_window(mut self, window: Duration) -> Self {
        self.block_window = (!window.is_zero()).then_some(window);
        self
    }

    /// Reads the time from `clock` (tests move it instead of sleeping).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The window record's key for an email, when its kind is limited per window.
    pub fn window_key(&self, kind: EmailKind, recipient: &EmailAddress) -> Option<String> {
        self.block_window?;
        (kind == EmailKind::AccountBlocked)
            .then(|| dedupe_store::window_key(kind.as_str(), recipient.as_str()))
    }

    /// Takes the window for `key` ([`Dedupe::window_key`]): `true` when no email of that kind
    /// went to that recipient within the window (this one may send), `false` otherwise.
    pub async fn claim_window(&self, key: &str) -> Result<bool, DedupeError> {
        let Some(window) = self.block_window else {
            return Ok(true);
        };
        let now = self.clock.now_s();
        let record = Record {
            status: Status::Window,
            expires_at: now.saturating_add(secs(window)),
            lock_until: None,
        };
        self.store.put_if_free(key, record, now, false).await
    }

    /// Gives the window back after a failed send, so a retry can send.
    pub async fn release_window(&self, key: &str) -> Result<(), DedupeError> {
        self.store.delete(key, None).await
    }

    /// Takes the lock for `key` for `lock_for` (the rest of the invocation).
    pub async fn claim(&self, key: &str, lock_for: Duration) -> Result<Claim, DedupeError> {
        let now = self.clock.now_s();
        let record = Record {
            status: Status::InProgress,
            expires_at: now.saturating_add(secs(self.keep_for)),
            lock_until: Some(now.saturating_add(secs(lock_for)).saturating_add(1)),
        };
        if self.store.put_if_free(key, record, now, true).await? {
            return Ok(Claim::Acquired);
        }
        Ok(match self.store.status(key).await? {
            Some(Status::Complete) => Claim::AlreadySent,
            _ => Claim::InProgress,
        })
    }

    /// Marks `key` as sent.
    pub async fn complete(&self, key: &str) -> Result<(), DedupeError> {
        let expires_at = self.clock.now_s().saturating_add(secs(self.keep_for));
        self.store.complete(key, expires_at).await
    }

    /// Drops this invocation's lock after a failed send, so a retry can send. A record that is
    /// no longer in progress (completed by another invocation) stays.
    pub async fn release(&self, key: &str) -> Result<(), DedupeError> {
        self.store.delete(key, Some(Status::InProgress)).await
    }
}
