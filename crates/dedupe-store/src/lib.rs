//! Records with an expiry, written under a condition: the store behind send-email's dedupe
//! (one email per `dedupe_key`, one `account_blocked` email per recipient per window) and
//! hybris-reset-password's reset window (one Hybris reset per identifier per window). Both
//! use the one DynamoDB table (`DEDUPE_TABLE_NAME`: partition key `dedupe_key` (S), TTL on
//! `expires_at`), each with its own key prefix.
//!
//! The store only writes, reads and deletes under a condition; the rules (what a key means,
//! how long a record lives) belong to its callers, so the two worlds follow the same ones:
//! [`DynamoDbStore`] on AWS, [`MemoryStore`] in the local run (one per table name, shared by
//! every container through `lambda_support::Platform::memory`).
//!
//! Expiry is checked in each condition, not left to DynamoDB's TTL (which can lag up to 48 h);
//! `expires_at` is still the table's TTL attribute so old records get cleaned up.

use aws_sdk_dynamodb::{Client, error::DisplayErrorContext, types::AttributeValue};
use sha2::{Digest, Sha256};
use std::{collections::HashMap, future::Future, pin::Pin, sync::Mutex, time::Duration};

const KEY: &str = "dedupe_key";
const STATUS: &str = "status";
const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETE: &str = "COMPLETE";
const WINDOW: &str = "WINDOW";

/// The key of a per-address window record: `window:<scope>:<first 32 hex digits of
/// SHA-256(address)>`. The address itself is never stored, and the key stays the same for
/// every event about that address (pass it normalised: trimmed, lower-cased).
pub fn window_key(scope: &str, address: &str) -> String {
    let digest = Sha256::digest(address.as_bytes());
    format!("window:{scope}:{}", hex::encode(&digest[..16]))
}

/// Whole seconds of `d`, saturating: for epoch-second arithmetic.
pub fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// A store call failed. Carries the SDK's error code, never an item (keys are log ids).
#[derive(Debug, thiserror::Error)]
#[error("dedupe store {operation} failed: {reason}")]
pub struct DedupeError {
    operation: &'static str,
    reason: String,
}

/// A record's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InProgress,
    Complete,
    Window,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => IN_PROGRESS,
            Self::Complete => COMPLETE,
            Self::Window => WINDOW,
        }
    }
}

/// One record: `expires_at` and `lock_until` in epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub status: Status,
    pub expires_at: i64,
    pub lock_until: Option<i64>,
}

impl Record {
    /// Whether a new record may replace this one at `now`: it expired, or (when `or_lock_ran_out`)
    /// it is an in-progress lock that ran out.
    fn replaceable(&self, now: i64, or_lock_ran_out: bool) -> bool {
        self.expires_at < now
            || (or_lock_ran_out
                && self.status == Status::InProgress
                && self.lock_until.is_some_and(|l| l < now))
    }
}

pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DedupeError>> + Send + 'a>>;

/// Where the records live. Conditional writes only; [`Dedupe`] holds the rules.
pub trait DedupeStore: Send + Sync + std::fmt::Debug {
    /// Writes `record` under `key` if there is none, or the one there is replaceable at `now`
    /// (see [`Record`]). `Ok(false)`: a live record stands and nothing was written.
    fn put_if_free(
        &self,
        key: &str,
        record: Record,
        now: i64,
        or_lock_ran_out: bool,
    ) -> StoreFuture<'_, bool>;
    /// The status of the record under `key` (a strongly consistent read).
    fn status(&self, key: &str) -> StoreFuture<'_, Option<Status>>;
    /// Marks `key` sent, kept until `expires_at`, without a lock.
    fn complete(&self, key: &str, expires_at: i64) -> StoreFuture<'_, ()>;
    /// Deletes `key`; with `only` set, only a record in that state.
    fn delete(&self, key: &str, only: Option<Status>) -> StoreFuture<'_, ()>;
}

/// The records in a DynamoDB table (partition key `dedupe_key`), every condition checked by
/// DynamoDB in the same request as the write.
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
}

impl DynamoDbStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn condition_failed<E>(e: &aws_sdk_dynamodb::error::SdkError<E>) -> bool
where
    E: ConditionalCheck,
{
    e.as_service_error()
        .is_some_and(ConditionalCheck::is_conditional_check_failed)
}

/// The service errors of the conditional operations, which all know this one case.
trait ConditionalCheck {
    fn is_conditional_check_failed(&self) -> bool;
}

impl ConditionalCheck for aws_sdk_dynamodb::operation::put_item::PutItemError {
    fn is_conditional_check_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl ConditionalCheck for aws_sdk_dynamodb::operation::delete_item::DeleteItemError {
    fn is_conditional_check_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl DedupeStore for DynamoDbStore {
    fn put_if_free(
        &self,
        key: &str,
        record: Record,
        now: i64,
        or_lock_ran_out: bool,
    ) -> StoreFuture<'_, bool> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(key))
            .item(STATUS, s(record.status.as_str()))
            .item("expires_at", n(record.expires_at))
            .expression_attribute_names("#k", KEY)
            .expression_attribute_values(":now", n(now));
        if let Some(lock_until) = record.lock_until {
            put = put.item("lock_until", n(lock_until));
        }
        put = if or_lock_ran_out {
            put.condition_expression(
                "attribute_not_exists(#k) OR expires_at < :now OR (#s = :in_progress AND lock_until < :now)",
            )
            .expression_attribute_names("#s", STATUS)
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
        } else {
            put.condition_expression("attribute_not_exists(#k) OR expires_at < :now")
        };
        Box::pin(async move {
            match put.send().await {
                Ok(_) => Ok(true),
                Err(e) if condition_failed(&e) => Ok(false),
                Err(e) => Err(error("PutItem", e)),
            }
        })
    }

    fn status(&self, key: &str) -> StoreFuture<'_, Option<Status>> {
        let get = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(key))
            .consistent_read(true);
        Box::pin(async move {
            let out = get.send().await.map_err(|e| error("GetItem", e))?;
            let status = out
                .item()
                .and_then(|i| i.get(STATUS))
                .and_then(|v| v.as_s().ok());
            Ok(status.and_then(|s| match s.as_str() {
                IN_PROGRESS => Some(Status::InProgress),
                COMPLETE => Some(Status::Complete),
                WINDOW => Some(Status::Window),
                _ => None,
            }))
        })
    }

    fn complete(&self, key: &str, expires_at: i64) -> StoreFuture<'_, ()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(key))
            .update_expression("SET #s = :complete, expires_at = :expires REMOVE lock_until")
            .expression_attribute_names("#s", STATUS)
            .expression_attribute_values(":complete", s(COMPLETE))
            .expression_attribute_values(":expires", n(expires_at));
        Box::pin(async move {
            update.send().await.map_err(|e| error("UpdateItem", e))?;
            Ok(())
        })
    }

    fn delete(&self, key: &str, only: Option<Status>) -> StoreFuture<'_, ()> {
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, s(key));
        if let Some(status) = only {
            delete = delete
                .condition_expression("#s = :only")
                .expression_attribute_names("#s", STATUS)
                .expression_attribute_values(":only", s(status.as_str()));
        }
        Box::pin(async move {
            match delete.send().await {
                // Not in that state any more: nothing of ours to delete.
                Ok(_) => Ok(()),
                Err(e) if condition_failed(&e) => Ok(()),
                Err(e) => Err(error("DeleteItem", e)),
            }
        })
    }
}

fn error<E: std::error::Error + 'static>(operation: &'static str, e: E) -> DedupeError {
    DedupeError {
        operation,
        reason: DisplayErrorContext(e).to_string(),
    }
}

/// The records in this process's memory, with the same conditions as [`DynamoDbStore`]: the
/// local run's store (one per table name, shared by every container).
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<String, Record>>,
}

impl MemoryStore {
    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many records there are (expired ones included, as in a table before TTL runs).
    pub fn len(&self) -> usize {
        self.records().len()
    }

    pub fn is_empty(&self) -> bool {
        self.records().is_empty()
    }
}

impl DedupeStore for MemoryStore {
    fn put_if_free(
        &self,
        key: &str,
        record: Record,
        now: i64,
        or_lock_ran_out: bool,
    ) -> StoreFuture<'_, bool> {
        let mut records = self.records();
        let free = records
            .get(key)
            .is_none_or(|old| old.replaceable(now, or_lock_ran_out));
        if free {
            records.insert(key.to_owned(), record);
        }
        Box::pin(std::future::ready(Ok(free)))
    }

    fn status(&self, key: &str) -> StoreFuture<'_, Option<Status>> {
        let status = self.records().get(key).map(|r| r.status);
        Box::pin(std::future::ready(Ok(status)))
    }

    fn complete(&self, key: &str, expires_at: i64) -> StoreFuture<'_, ()> {
        // As DynamoDB's UpdateItem: creates the record when there is none.
        self.records().insert(
            key.to_owned(),
            Record {
                status: Status::Complete,
                expires_at,
                lock_until: None,
            },
        );
        Box::pin(std::future::ready(Ok(())))
    }

    fn delete(&self, key: &str, only: Option<Status>) -> StoreFuture<'_, ()> {
        let mut records = self.records();
        if only.is_none_or(|status| records.get(key).is_some_and(|r| r.status == status)) {
            records.remove(key);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}
