//! The history's rules over any [`HistoryStore`]: how long a record is kept, and what counts
//! as expired, by one clock.

use crate::{AddressKey, Change, HistoryError, HistoryKey, HistoryStore};
use auth0_events::EmailAddress;
use lambda_support::time::Clock;
use std::sync::Arc;

const DAY_S: i64 = 86_400;

/// What [`EmailHistory::record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The record is in the store (written, or written over by the same record on a replay).
    Written,
    /// The change is older than the retention (a late replay): nothing was written.
    AlreadyExpired,
}

/// The email history of one function: its store, the key the addresses are hashed with, the
/// retention (`EMAIL_HISTORY_DAYS`) and the clock expiry is read from.
#[derive(Debug, Clone)]
pub struct EmailHistory {
    store: Arc<dyn HistoryStore>,
    key: HistoryKey,
    keep_days: u32,
    clock: Clock,
}

impl EmailHistory {
    /// Records kept `keep_days` days from the change.
    pub fn new(store: Arc<dyn HistoryStore>, key: HistoryKey, keep_days: u32) -> Self {
        Self {
            store,
            key,
            keep_days,
            clock: Clock::default(),
        }
    }

    /// Reads the time from `clock` (tests move it instead of sleeping).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The key addresses are hashed with, for building a [`Change`].
    pub fn key(&self) -> &HistoryKey {
        &self.key
    }

    pub fn keep_days(&self) -> u32 {
        self.keep_days
    }

    /// When `change`'s record expires: `changed_at` + the retention, epoch seconds.
    pub fn expires_at(&self, change: &Change) -> i64 {
        change
            .changed_at
            .saturating_add(i64::from(self.keep_days).saturating_mul(DAY_S))
    }

    /// Records `change`. The record is a function of the change alone (its time included, not
    /// the time it is recorded), so a redelivery or a replay writes the same item again. A
    /// change already past the retention writes nothing.
    pub async fn record(&self, change: &Change) -> Result<Recorded, HistoryError> {
        change.check()?;
        let expires_at = self.expires_at(change);
        if expires_at <= self.clock.now_s() {
            return Ok(Recorded::AlreadyExpired);
        }
        self.store.record(change, expires_at).await?;
        Ok(Recorded::Written)
    }

    /// Up to `limit` unexpired changes away from the address `previous` stands for, newest
    /// first.
    pub async fn changes_of(
        &self,
        previous: &AddressKey,
        limit: usize,
    ) -> Result<Vec<Change>, HistoryError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.store
            .changes_of(previous, limit, self.clock.now_s())
            .await
    }

    /// [`EmailHistory::changes_of`] the keyed hash of `previous`: which accounts had this
    /// address before.
    pub async fn changes_from(
        &self,
        previous: &EmailAddress,
        limit: usize,
    ) -> Result<Vec<Change>, HistoryError> {
        self.changes_of(&self.key.address_key(previous), limit)
            .await
    }
}
