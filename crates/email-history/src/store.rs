//! Where the records live: [`HistoryStore`], with [`DynamoDbHistory`](crate::DynamoDbHistory)
//! on AWS and [`MemoryHistory`](crate::MemoryHistory) in the local run.
//!
//! # Table
//!
//! | attribute | type | |
//! |---|---|---|
//! | `address_key` | S | partition key: the previous address's keyed hash ([`AddressKey`]) |
//! | `change_id` | S | sort key: `<changed_at, 12 digits>#<source_id>` ([`Change::change_id`]) |
//! | `user_id` | S | |
//! | `changed_at` | N | epoch seconds |
//! | `changed_by` | S | `customer` or `agent` |
//! | `conversation_id` | S | agent changes only |
//! | `new_address_masked` | S | `j***@example.org` |
//! | `source_id` | S | the `sce` log's `log_id`, or the agent change's id |
//! | `expires_at` | N | the table's TTL attribute: `changed_at` + the retention |

use crate::{AddressKey, Change, ChangedBy};
use std::{future::Future, pin::Pin};

pub const ADDRESS_KEY: &str = "address_key";
pub const CHANGE_ID: &str = "change_id";
pub const USER_ID: &str = "user_id";
pub const CHANGED_AT: &str = "changed_at";
pub const CHANGED_BY: &str = "changed_by";
pub const CONVERSATION_ID: &str = "conversation_id";
pub const NEW_ADDRESS_MASKED: &str = "new_address_masked";
pub const SOURCE_ID: &str = "source_id";
pub const EXPIRES_AT: &str = "expires_at";

const CUSTOMER: &str = "customer";
const AGENT: &str = "agent";

/// A store call failed, or a change was refused. Carries the operation and the SDK's error
/// code (or the kind of failure when the service did not answer), never an item, a key or an
/// address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("email history {operation} failed: {code}")]
    Store {
        operation: &'static str,
        code: String,
    },
    #[error("email history change refused: {0}")]
    Invalid(&'static str),
}

pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, HistoryError>> + Send + 'a>>;

/// Where the records live. The store writes and reads; the retention and the clock are
/// [`EmailHistory`](crate::EmailHistory)'s, so both worlds follow the same rules.
pub trait HistoryStore: Send + Sync + std::fmt::Debug {
    /// Writes `change`'s record, kept until `expires_at` (epoch seconds): a plain put, so the
    /// same change recorded again (a redelivery, a replay) writes the same item over itself.
    fn record(&self, change: &Change, expires_at: i64) -> StoreFuture<'_, ()>;

    /// Up to `limit` changes away from `previous`, newest first, leaving out records expired at
    /// `now` (`expires_at <= now`): DynamoDB's TTL deletes them up to days late.
    fn changes_of(
        &self,
        previous: &AddressKey,
        limit: usize,
        now: i64,
    ) -> StoreFuture<'_, Vec<Change>>;
}

/// Whether a record kept until `expires_at` still counts at `now`.
pub(crate) fn live(expires_at: i64, now: i64) -> bool {
    now < expires_at
}

/// `changed_by` and `conversation_id` of `by`.
pub(crate) fn by_attributes(by: &ChangedBy) -> (&'static str, Option<&str>) {
    match by {
        ChangedBy::Customer => (CUSTOMER, None),
        ChangedBy::Agent { conversation_id } => (AGENT, Some(conversation_id)),
    }
}

/// [`ChangedBy`] from `changed_by` and `conversation_id`.
pub(crate) fn by_from_attributes(
    changed_by: &str,
    conversation_id: Option<&str>,
) -> Option<ChangedBy> {
    match (changed_by, conversation_id) {
        (CUSTOMER, _) => Some(ChangedBy::Customer),
        (AGENT, Some(id)) if !id.is_empty() => Some(ChangedBy::Agent {
            conversation_id: id.to_owned(),
        }),
        _ => None,
    }
}
