//! One address change as the history records it.

use crate::{AddressKey, HistoryError, HistoryKey};
use auth0_events::EmailAddress;
use std::fmt;

/// The latest [`Change::changed_at`] a record can carry (the sort key holds it in 12 digits):
/// year 33658.
pub const MAX_CHANGED_AT: i64 = 999_999_999_999;

/// The longest [`Change::source_id`], in bytes (DynamoDB allows 1 KiB for a sort key).
pub const MAX_SOURCE_ID_BYTES: usize = 512;

/// Who changed the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangedBy {
    /// The customer, in their account (an Auth0 `sce` log).
    Customer,
    /// A support agent, from the Dixa card.
    Agent {
        /// The Dixa conversation the change was made in (`csid`).
        conversation_id: String,
    },
}

/// One change of a user's address: the previous address as its keyed hash, the new one masked.
/// No address is held in clear, and `Debug` shows neither the masked address nor anything
/// else an address could be read from.
#[derive(Clone, PartialEq, Eq)]
pub struct Change {
    /// The address the account had before: the history's partition key.
    pub previous: AddressKey,
    /// The Auth0 user whose address changed.
    pub user_id: String,
    /// When, epoch seconds: the change's own time (the `sce` log's `date`, the agent request's
    /// time), never the time it is recorded, so a replay writes the same record.
    pub changed_at: i64,
    pub by: ChangedBy,
    /// The address the account has now, as [`EmailAddress::masked`] gives it (`j***@example.org`).
    pub new_address_masked: String,
    /// What identifies the change across deliveries: the `sce` log's `log_id`, or for an
    /// agent's change a stable id from the caller ([`HistoryKey::agent_source_id`]).
    pub source_id: String,
}

impl Change {
    /// The change of `user_id`'s address from `previous` to `new`.
    pub fn new(
        key: &HistoryKey,
        previous: &EmailAddress,
        new: &EmailAddress,
        user_id: impl Into<String>,
        changed_at: i64,
        by: ChangedBy,
        source_id: impl Into<String>,
    ) -> Self {
        Self {
            previous: key.address_key(previous),
            user_id: user_id.into(),
            changed_at,
            by,
            new_address_masked: new.masked(),
            source_id: source_id.into(),
        }
    }

    /// The record's sort key: `changed_at` in 12 digits, `#`, `source_id`. Ordered by time
    /// (a query in reverse gives the newest first), and the same for the same change.
    pub fn change_id(&self) -> String {
        format!("{:012}#{}", self.changed_at, self.source_id)
    }

    /// Refuses what would make a bad record, naming the field, never its value.
    pub fn check(&self) -> Result<(), HistoryError> {
        if !(0..=MAX_CHANGED_AT).contains(&self.changed_at) {
            return Err(HistoryError::Invalid("changed_at is out of range"));
        }
        let no_control = |s: &str| !s.chars().any(char::is_control);
        if self.source_id.is_empty()
            || self.source_id.len() > MAX_SOURCE_ID_BYTES
            || !no_control(&self.source_id)
        {
            return Err(HistoryError::Invalid(
                "source_id is empty, too long or has control characters",
            ));
        }
        if self.user_id.is_empty() || !no_control(&self.user_id) {
            return Err(HistoryError::Invalid(
                "user_id is empty or has control characters",
            ));
        }
        if let ChangedBy::Agent { conversation_id } = &self.by
            && (conversation_id.is_empty() || !no_control(conversation_id))
        {
            return Err(HistoryError::Invalid(
                "conversation_id is empty or has control characters",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Change")
            .field("previous", &self.previous)
            .field("user_id", &self.user_id)
            .field("changed_at", &self.changed_at)
            .field("by", &self.by)
            .field("new_address_masked", &"<redacted>")
            .field("source_id", &self.source_id)
            .finish()
    }
}
