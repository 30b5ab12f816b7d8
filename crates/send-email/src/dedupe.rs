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

use auth0_events::{EmailAddress, EmailKind};
use aws_sdk_dynamodb::{Client, error::DisplayErrorContext, types::AttributeValue};
use sha2::{Digest, Sha256};
use std::time::Duration;

const KEY: &str = "dedupe_key";
const STATUS: &str = "status";
const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETE: &str = "COMPLETE";
const WINDOW: &str = "WINDOW";

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

/// A DynamoDB call failed. Carries the SDK's error code, never an item (keys are log ids).
#[derive(Debug, thiserror::Error)]
#[error("dedupe store {operation} failed: {reason}")]
pub struct DedupeError {
    operation: &'static str,
    reason: String,
}

#[derive(Debug, Clone)]
pub struct Dedupe {
    client: Client,
    table: String,
    keep_for: Duration,
    /// At most one `account_blocked` email per recipient per this long; `None`: no limit.
    block_window: Option<Duration>,
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

impl Dedupe {
    pub fn new(client: Client, table: impl Into<String>, keep_for: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            keep_for,
            block_window: None,
        }
    }

    /// One `account_blocked` email per recipient per `window` (zero: no limit).
    pub fn with_block_window(mut self, window: Duration) -> Self {
        self.block_window = (!window.is_zero()).then_some(window);
        self
    }

    /// The window record's key for an email, when its kind is limited per window.
    pub fn window_key(&self, kind: EmailKind, recipient: &EmailAddress) -> Option<String> {
        self.block_window?;
        (kind == EmailKind::AccountBlocked).then(|| {
            let digest = Sha256::digest(recipient.as_str().as_bytes());
            let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            format!("window:{}:{hex}", kind.as_str())
        })
    }

    /// Takes the window for `key` ([`Dedupe::window_key`]): `true` when no email of that kind
    /// went to that recipient within the window (this one may send), `false` otherwise.
    pub async fn claim_window(&self, key: &str) -> Result<bool, DedupeError> {
        let Some(window) = self.block_window else {
            return Ok(true);
        };
        let now = now_s();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(key))
            .item(STATUS, s(WINDOW))
            .item("expires_at", n(now + window.as_secs() as i64))
            .condition_expression("attribute_not_exists(#k) OR expires_at < :now")
            .expression_attribute_names("#k", KEY)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(error("PutItem", e)),
        }
    }

    /// Gives the window back after a failed send, so a retry can send.
    pub async fn release_window(&self, key: &str) -> Result<(), DedupeError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, s(key))
            .send()
            .await
            .map_err(|e| error("DeleteItem", e))?;
        Ok(())
    }

    /// Takes the lock for `key` for `lock_for` (the rest of the invocation).
    pub async fn claim(&self, key: &str, lock_for: Duration) -> Result<Claim, DedupeError> {
        let now = now_s();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(key))
            .item(STATUS, s(IN_PROGRESS))
            .item("lock_until", n(now + lock_for.as_secs() as i64 + 1))
            .item("expires_at", n(now + self.keep_for.as_secs() as i64))
            .condition_expression(
                "attribute_not_exists(#k) OR expires_at < :now OR (#s = :in_progress AND lock_until < :now)",
            )
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#s", STATUS)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Acquired),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                let item = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key(KEY, s(key))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| error("GetItem", e))?;
                let status = item
                    .item()
                    .and_then(|i| i.get(STATUS))
                    .and_then(|v| v.as_s().ok());
                Ok(match status.map(String::as_str) {
                    Some(COMPLETE) => Claim::AlreadySent,
                    _ => Claim::InProgress,
                })
            }
            Err(e) => Err(error("PutItem", e)),
        }
    }

    /// Marks `key` as sent.
    pub async fn complete(&self, key: &str) -> Result<(), DedupeError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(key))
            .update_expression("SET #s = :complete, expires_at = :expires REMOVE lock_until")
            .expression_attribute_names("#s", STATUS)
            .expression_attribute_values(":complete", s(COMPLETE))
            .expression_attribute_values(":expires", n(now_s() + self.keep_for.as_secs() as i64))
            .send()
            .await
            .map_err(|e| error("UpdateItem", e))?;
        Ok(())
    }

    /// Drops this invocation's lock after a failed send, so a retry can send.
    pub async fn release(&self, key: &str) -> Result<(), DedupeError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, s(key))
            .condition_expression("#s = :in_progress")
            .expression_attribute_names("#s", STATUS)
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Not ours any more (completed by another invocation): nothing to release.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(error("DeleteItem", e)),
        }
    }
}

fn error<E: std::error::Error + 'static>(operation: &'static str, e: E) -> DedupeError {
    DedupeError {
        operation,
        reason: DisplayErrorContext(e).to_string(),
    }
}
