//! The records in this process's memory: the local run's store (one per table name, shared by
//! every container through [`lambda_support::MemoryStores`]).

use crate::{AddressKey, Change, HistoryStore, StoreFuture, store::live};
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Mutex, MutexGuard},
};

/// Records by partition key, then sort key, as in the table; expired ones stay until
/// [`MemoryHistory::len`] counts them, as in a table before TTL runs.
type Records = HashMap<AddressKey, BTreeMap<String, (Change, i64)>>;

/// The history in memory, with the same keys, overwrites and order as
/// [`DynamoDbHistory`](crate::DynamoDbHistory).
#[derive(Debug, Default)]
pub struct MemoryHistory {
    records: Mutex<Records>,
}

impl MemoryHistory {
    fn records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many records there are, expired ones included.
    pub fn len(&self) -> usize {
        self.records().values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl HistoryStore for MemoryHistory {
    fn record(&self, change: &Change, expires_at: i64) -> StoreFuture<'_, ()> {
        let result = change.check().map(|()| {
            self.records()
                .entry(change.previous.clone())
                .or_default()
                .insert(change.change_id(), (change.clone(), expires_at));
        });
        Box::pin(std::future::ready(result))
    }

    fn changes_of(
        &self,
        previous: &AddressKey,
        limit: usize,
        now: i64,
    ) -> StoreFuture<'_, Vec<Change>> {
        let changes = self
            .records()
            .get(previous)
            .map(|records| {
                records
                    .values()
                    .rev()
                    .filter(|(_, expires_at)| live(*expires_at, now))
                    .take(limit)
                    .map(|(change, _)| change.clone())
                    .collect()
            })
            .unwrap_or_default();
        Box::pin(std::future::ready(Ok(changes)))
    }
}
