//! The Lambda handler: parse → transform → publish → record in the email history, with
//! PII-free logs and named errors.
//!
//! The history write comes after the emails: a failed write never costs the customer an email.
//! It fails the invocation (`HistoryWriteFailed`), so Lambda retries the event; the retry puts
//! the emails on the bus again and send-email drops them as duplicates by their `dedupe_key`
//! (`<log_id>:<kind>`, the same on every delivery), then writes the history.

use crate::{
    config::Config,
    history::{self, NotRecorded},
    outcome::Outcome,
    transform::{self, SkipReason},
};
use auth0_events::{Auth0Event, MalformedEvent};
use email_bus::{PublishError, Publisher};
use email_history::{EmailHistory, HistoryError, Recorded};
use lambda_runtime::{Diagnostic, LambdaEvent};
use lambda_support::retry::Deadline;
use serde_json::Value;
use std::time::Duration;

/// Kept free at the end of an invocation for reporting its result.
const DEADLINE_MARGIN: Duration = Duration::from_millis(300);

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event is not an Auth0 log in the shape Auth0 sends: retried, then lands in the DLQ
    /// where an operator can look at it.
    #[error("malformed event: {0}")]
    Malformed(#[from] MalformedEvent),
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The log had only a `user_id` and Auth0 could not be asked for the address: retried
    /// like any failure, so the email is late rather than lost.
    #[error("log {log_id}: looking the address up in Auth0 failed: {source}")]
    Auth0Lookup {
        log_id: String,
        #[source]
        source: auth0_client::Error,
    },
    /// The `sce`'s emails are on the bus, but its record could not be written to the email
    /// history: retried, and the retry's emails are dropped by send-email's dedupe.
    #[error(
        "log {log_id}: the emails were published, but recording the address change in the email history failed: {source}"
    )]
    HistoryWrite {
        log_id: String,
        #[source]
        source: HistoryWriteError,
    },
}

/// Why a history write failed. Names the operation and the store's error code, never an
/// address or a key.
#[derive(Debug, thiserror::Error)]
pub enum HistoryWriteError {
    #[error(transparent)]
    Store(#[from] HistoryError),
    #[error("no answer before the invocation's deadline")]
    Deadline,
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        let error_type = match e {
            HandlerError::Malformed(_) => "MalformedEvent",
            HandlerError::Publish(_) => "PublishFailed",
            HandlerError::Auth0Lookup { .. } => "Auth0LookupFailed",
            HandlerError::HistoryWrite { .. } => "HistoryWriteFailed",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: e.to_string(),
        }
    }
}

pub struct Handler {
    config: Config,
    publisher: Publisher,
    /// Set when Auth0 is configured: resolves logs that carry only a `user_id`.
    auth0: Option<auth0_client::Auth0Client>,
    /// Set when `EMAIL_HISTORY_TABLE` is: every `sce` is recorded there.
    history: Option<EmailHistory>,
}

impl Handler {
    pub fn new(
        config: Config,
        client: aws_sdk_eventbridge::Client,
        auth0: Option<auth0_client::Auth0Client>,
    ) -> Self {
        let publisher = Publisher::new(client, &config.email_bus, config.publish_backoff);
        Self {
            config,
            publisher,
            auth0,
            history: None,
        }
    }

    /// Records every `sce` in `history` (none when `None`).
    pub fn with_history(mut self, history: Option<EmailHistory>) -> Self {
        self.history = history;
        self
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Outcome, HandlerError> {
        let deadline = Deadline::from_epoch_millis(event.context.deadline, DEADLINE_MARGIN);
        self.process(event.payload, &deadline).await
    }

    /// The handler's work without the Lambda context (used by the local runner too).
    pub async fn process(
        &self,
        payload: Value,
        deadline: &Deadline,
    ) -> Result<Outcome, HandlerError> {
        let event = Auth0Event::from_value(payload).inspect_err(|e| {
            tracing::error!(error = %e, "event is not an Auth0 log; failing it for retry/DLQ");
        })?;
        let log_id = event.log_id.as_str();
        let log_type = event.log.log_type.code();
        if !event.is_from_auth0() {
            // Still processed: the rule decides what reaches us, this only flags a surprise.
            tracing::warn!(
                log_id,
                log_type,
                "event envelope is not the Auth0 partner source"
            );
        }

        let sce = self.config.sce_old_field;
        let support = self.config.support_client_id.as_deref();
        let mut out = transform::support_change(&event, support)
            .unwrap_or_else(|| transform::transform(&event, sce, None));
        if let (Some(auth0), Some(user_id)) = (&self.auth0, transform::lookup_user_id(&event, &out))
        {
            match auth0.get_user(user_id, deadline).await {
                Ok(Some(user)) => match user.email {
                    Some(email) => {
                        tracing::info!(log_id, log_type, "address looked up in Auth0 by user_id");
                        out = transform::transform(&event, sce, Some(&email));
                    }
                    None => tracing::warn!(
                        log_id,
                        log_type,
                        reason = "auth0_user_has_no_email",
                        "look-up found no address"
                    ),
                },
                Ok(None) => tracing::warn!(
                    log_id,
                    log_type,
                    reason = "auth0_user_not_found",
                    "look-up found no user"
                ),
                Err(source) => {
                    tracing::error!(log_id, log_type, error = %source, "Auth0 look-up failed");
                    return Err(HandlerError::Auth0Lookup {
                        log_id: log_id.to_owned(),
                        source,
                    });
                }
            }
        }
        for skip in &out.skipped {
            let kind = skip.kind.map(|k| k.as_str());
            if skip.reason == SkipReason::UnhandledType {
                tracing::info!(
                    log_id,
                    log_type,
                    reason = skip.reason.as_str(),
                    "log type not emailed"
                );
            } else {
                tracing::warn!(
                    log_id,
                    log_type,
                    email_kind = kind,
                    reason = skip.reason.as_str(),
                    "email skipped"
                );
            }
        }

        let attempts = self
            .publisher
            .publish_details(&out.emails, deadline)
            .await
            .inspect_err(|e| {
                tracing::error!(log_id, log_type, error = %e, "publishing SendEmail events failed");
            })?;
        if !out.emails.is_empty() {
            let kinds: Vec<&str> = out.emails.iter().map(|e| e.kind.as_str()).collect();
            tracing::info!(log_id, log_type, emails = ?kinds, attempts, "SendEmail events published");
        }
        // Only once the emails are on the bus: see the module doc.
        if let Some(history) = &self.history {
            self.record(history, &event, deadline).await?;
        }
        Ok(Outcome {
            log_id: event.log_id.clone(),
            log_type: event.log.log_type.clone(),
            published: out.emails.iter().map(|e| e.kind).collect(),
            skipped: out.skipped.iter().map(|s| s.reason).collect(),
        })
    }

    /// Writes the `sce`'s record to the email history (nothing for another log type, or an
    /// `sce` the history cannot take: logged by reason). The write is cut at the deadline.
    async fn record(
        &self,
        history: &EmailHistory,
        event: &Auth0Event,
        deadline: &Deadline,
    ) -> Result<(), HandlerError> {
        let log_id = event.log_id.as_str();
        let log_type = event.log.log_type.code();
        let by_support =
            transform::is_support_change(event, self.config.support_client_id.as_deref());
        let change = match history::sce_change(
            event,
            self.config.sce_old_field,
            by_support,
            history.key(),
        ) {
            None => return Ok(()),
            Some(Ok(change)) => change,
            Some(Err(reason)) => {
                let detail = match reason {
                    NotRecorded::Invalid(what) => Some(what),
                    _ => None,
                };
                tracing::warn!(
                    log_id,
                    log_type,
                    reason = reason.as_str(),
                    detail,
                    "address change not recorded in the email history"
                );
                return Ok(());
            }
        };
        let changed_by = history::changed_by(&change.by);
        let written = tokio::time::timeout(deadline.remaining(), history.record(&change)).await;
        let failure = match written {
            Ok(Ok(Recorded::Written)) => {
                tracing::info!(
                    log_id,
                    log_type,
                    changed_by,
                    "address change recorded in the email history"
                );
                return Ok(());
            }
            Ok(Ok(Recorded::AlreadyExpired)) => {
                tracing::info!(
                    log_id,
                    log_type,
                    changed_by,
                    reason = "already_expired",
                    "address change older than the email history's retention: not recorded"
                );
                return Ok(());
            }
            Ok(Err(e)) => HistoryWriteError::Store(e),
            Err(_elapsed) => HistoryWriteError::Deadline,
        };
        tracing::error!(
            log_id,
            log_type,
            error = %failure,
            "recording the address change in the email history failed; failing the invocation for a retry"
        );
        Err(HandlerError::HistoryWrite {
            log_id: log_id.to_owned(),
            source: failure,
        })
    }
}
