//! The Lambda handler: `fcpr` log → Hybris look-up → Hybris reset → Auth0 unblock.
//!
//! The steps run in that order so that a Hybris failure never leaves an Auth0 unblock behind
//! without a reset email, and an unknown customer changes nothing anywhere. Before them, with a
//! reset window ([`crate::window`]), a repeat for the same identifier stops there.
//!
//! What each failure answers (outcome or `errorType`) and the state it leaves:
//! [docs/operations.md, Customers not yet in Auth0](../../../docs/operations.md#customers-not-yet-in-auth0-fcpr).
//!
//! Every step is safe to repeat: a retry at worst sends the customer a second reset email.

use crate::{
    config::Config,
    hybris::{HybrisClient, HybrisError},
    outcome::{Outcome, SkipReason},
    window::ResetWindow,
};
use auth0_client::Auth0Client;
use auth0_events::EmailAddress;
use auth0_events::{AddressProblem, Auth0Event, LogId, LogType, MalformedEvent};
use dedupe_store::DedupeError;
use lambda_runtime::{Diagnostic, LambdaEvent};
use lambda_support::retry::Deadline;
use serde_json::Value;
use std::time::Duration;

const DEADLINE_MARGIN: Duration = Duration::from_millis(300);

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("malformed event: {0}")]
    Malformed(#[from] MalformedEvent),
    #[error("log {log_id}: {source}")]
    Hybris {
        log_id: String,
        #[source]
        source: HybrisError,
    },
    #[error("log {log_id}: {source}")]
    Window {
        log_id: String,
        #[source]
        source: DedupeError,
    },
    #[error(
        "log {log_id}: Hybris reset email sent, but clearing Auth0 brute-force blocks failed: {source}"
    )]
    Auth0 {
        log_id: String,
        #[source]
        source: auth0_client::Error,
    },
}

impl HandlerError {
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Malformed(_) => "MalformedEvent",
            HandlerError::Window { .. } => "DedupeStoreFailed",
            HandlerError::Hybris { source, .. } if source.is_transient() => "HybrisUnavailable",
            HandlerError::Hybris { .. } => "HybrisRefused",
            HandlerError::Auth0 { source, .. } if source.is_transient() => "Auth0Unavailable",
            HandlerError::Auth0 { .. } => "Auth0Refused",
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        Diagnostic {
            error_type: e.error_type().to_owned(),
            // Names the log, the call and the class; never data.
            error_message: e.to_string(),
        }
    }
}

pub struct Handler {
    hybris: HybrisClient,
    auth0: Auth0Client,
    window: Option<ResetWindow>,
}

impl Handler {
    /// Both OAuth tokens, fetched side by side while the runtime polls for the first event: a
    /// cold start then makes three calls in a row, not five. Failures are only logged.
    pub async fn warm_up(&self) {
        tokio::join!(self.hybris.warm_up(), self.auth0.warm_up());
    }

    pub fn new(config: Config) -> Result<Self, String> {
        Ok(Self {
            hybris: HybrisClient::new(config.hybris)
                .map_err(|_| "could not build the Hybris HTTP client".to_owned())?,
            auth0: Auth0Client::new(config.auth0).map_err(|e| e.to_string())?,
            window: None,
        })
    }

    /// One reset per identifier per window (see [`crate::window`]).
    pub fn with_window(mut self, window: ResetWindow) -> Self {
        self.window = Some(window);
        self
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Outcome, HandlerError> {
        let deadline = Deadline::from_epoch_millis(event.context.deadline, DEADLINE_MARGIN);
        self.process(event.payload, &deadline).await
    }

    pub async fn process(
        &self,
        payload: Value,
        deadline: &Deadline,
    ) -> Result<Outcome, HandlerError> {
        let event = Auth0Event::from_value(payload).inspect_err(|e| {
            tracing::error!(error = %e, "event is not an Auth0 log; failing it for retry/DLQ");
        })?;
        let log_id = event.log_id.as_str();
        let log = &event.log;
        let skipped = |reason: SkipReason| {
            tracing::info!(
                log_id,
                log_type = log.log_type.code(),
                reason = reason.as_str(),
                "fcpr skipped"
            );
            Ok(Outcome::Skipped {
                log_id: event.log_id.clone(),
                reason,
            })
        };
        if log.log_type != LogType::Fcpr {
            return skipped(SkipReason::UnhandledType);
        }
        let candidates = [
            log.details_str(&["body", "email"]),
            log.user_name.as_deref(),
        ];
        let email = match log.find_address(&candidates) {
            Ok(email) => email,
            // fcpr means Auth0 has no such user: a user_id cannot help here.
            Err(AddressProblem::Invalid(_)) => return skipped(SkipReason::InvalidAddress),
            Err(_) => return skipped(SkipReason::NoAddress),
        };

        let Some(window) = &self.window else {
            return self.reset(&event.log_id, &email, deadline).await;
        };
        let key = ResetWindow::key(&email);
        let free = window
            .claim(&key)
            .await
            .map_err(|source| HandlerError::Window {
                log_id: log_id.to_owned(),
                source,
            })
            .inspect_err(|e| tracing::error!(log_id, error = %e, "reset window store failed"))?;
        if !free {
            return skipped(SkipReason::RepeatWithinWindow);
        }
        let result = self.reset(&event.log_id, &email, deadline).await;
        // The retry of this event must find the window free, or nobody would do the work.
        if result.is_err()
            && let Err(e) = window.release(&key).await
        {
            tracing::warn!(log_id, error = %e, "could not give the reset window back");
        }
        result
    }

    /// Look-up, reset, unblock: the work the window guards.
    async fn reset(
        &self,
        log_id: &LogId,
        email: &EmailAddress,
        deadline: &Deadline,
    ) -> Result<Outcome, HandlerError> {
        let log_id_str = log_id.as_str();
        let hybris_err = |source| HandlerError::Hybris {
            log_id: log_id_str.to_owned(),
            source,
        };
        let exists = self.hybris.customer_exists(email, deadline).await.map_err(hybris_err)
            .inspect_err(|e| tracing::error!(log_id = log_id_str, error_type = e.error_type(), error = %e, "Hybris look-up failed"))?;
        if !exists {
            tracing::info!(
                log_id = log_id_str,
                outcome = "not_in_hybris",
                "customer in neither Auth0 nor Hybris; nothing sent"
            );
            return Ok(Outcome::NotInHybris {
                log_id: log_id.clone(),
            });
        }
        self.hybris.start_reset(email, deadline).await.map_err(hybris_err)
            .inspect_err(|e| tracing::error!(log_id = log_id_str, error_type = e.error_type(), error = %e, "Hybris reset failed"))?;
        tracing::info!(log_id = log_id_str, "Hybris reset email requested");
        self.auth0
            .delete_user_blocks_by_identifier(email.as_str(), deadline)
            .await
            .map_err(|source| HandlerError::Auth0 { log_id: log_id_str.to_owned(), source })
            .inspect_err(|e| tracing::error!(log_id = log_id_str, error_type = e.error_type(), error = %e, "clearing Auth0 blocks failed"))?;
        tracing::info!(
            log_id = log_id_str,
            outcome = "reset_started",
            "Hybris reset started and Auth0 brute-force blocks cleared"
        );
        Ok(Outcome::ResetStarted {
            log_id: log_id.clone(),
            auth0_blocks_cleared: true,
        })
    }
}
