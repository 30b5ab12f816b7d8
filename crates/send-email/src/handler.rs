//! One invocation, in three steps: admit (read the SendEmail event, claim its dedupe record and
//! block window), send (compose the request, send it with bounded retries) and record (settle
//! the dedupe record and window, report a classified [`Outcome`]).

use crate::{
    bloomreach::{self, BuildError, Email, EmailContent, Recipient, SendError, TransientCause},
    config::{Config, MessageConfig},
    dedupe::{Claim, Dedupe, DedupeError},
    outcome::{Outcome, SkipReason},
};
use auth0_events::{
    LogId,
    send_email::{ContractError, DETAIL_TYPE, SendEmailDetail},
};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use lambda_support::retry::{Backoff, Deadline};
use serde_json::Value;
use std::{collections::BTreeMap, time::Duration};

/// Time kept spare before Lambda's deadline for reporting the outcome.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// Why an invocation failed. Messages name classes, kinds, log ids and status codes only:
/// never the address, the params, a response body or a serde message (which can quote values).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("event is not an EventBridge event")]
    NotEventBridge,
    #[error("event detail-type is not {DETAIL_TYPE}")]
    WrongDetailType,
    /// `ContractError` messages never quote a value from the event.
    #[error(transparent)]
    Contract(ContractError),
    #[error(
        "{kind} email for log {log_id} not sent after {attempts} attempt(s){}: {source}",
        if *.deadline_reached { ", deadline reached" } else { "" }
    )]
    Send {
        kind: &'static str,
        log_id: LogId,
        attempts: u32,
        /// Retries stopped because another attempt could not finish before the deadline.
        deadline_reached: bool,
        #[source]
        source: SendError,
    },
    /// Another invocation holds this email's dedupe lock: retried later by Lambda.
    #[error("{kind} email for log {log_id} is being sent by another invocation")]
    InProgress { kind: &'static str, log_id: LogId },
    #[error("log {log_id}: {source}")]
    Dedupe {
        log_id: LogId,
        #[source]
        source: DedupeError,
    },
}

impl HandlerError {
    /// The `errorType` Lambda records (and the OnFailure destination carries).
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::NotEventBridge | HandlerError::WrongDetailType => "MalformedEvent",
            HandlerError::Contract(ContractError::UnsupportedVersion(_)) => {
                "UnsupportedContractVersion"
            }
            HandlerError::Contract(_) => "MalformedEvent",
            HandlerError::InProgress { .. } => "DuplicateInProgress",
            HandlerError::Dedupe { .. } => "DedupeStoreFailed",
            HandlerError::Send { source, .. } => match source {
                SendError::Transient { .. } => "TransientSendFailure",
                SendError::Suppressed => "EmailSuppressed",
                SendError::TemplateNotFound => "TemplateNotFound",
                SendError::Unauthorized { .. } => "BloomreachUnauthorized",
                SendError::Rejected { .. } => "EmailRejected",
            },
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        Diagnostic {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// What [`Handler::admit`] decided.
enum Admission {
    /// Handled without a call to Bloomreach: the invocation's answer.
    Answered(Outcome),
    /// Cleared to send.
    Send(Permit),
}

/// Leave to send one email: its detail and what [`Handler::record`] settles after the send.
struct Permit {
    detail: SendEmailDetail,
    /// The block window this invocation took (given back if the send fails).
    window_key: Option<String>,
}

/// What the function keeps between invocations: the client (and its connection pool) and the
/// checked settings.
#[derive(Debug, Clone)]
pub struct Handler {
    client: bloomreach::Client,
    message: MessageConfig,
    backoff: Backoff,
    dedupe: Option<Dedupe>,
}

impl Handler {
    pub fn new(config: Config) -> Result<Self, BuildError> {
        Ok(Self {
            client: bloomreach::Client::new(&config.api)?,
            message: config.message,
            backoff: config.backoff,
            dedupe: None,
        })
    }

    /// Sends each `dedupe_key` at most once (see [`crate::dedupe`]).
    pub fn with_dedupe(mut self, dedupe: Dedupe) -> Self {
        self.dedupe = Some(dedupe);
        self
    }

    /// One invocation in three steps: `admit` (read the event, claim its dedupe record and
    /// block window), `send` (the Bloomreach call with retries) and `record` (settle the dedupe
    /// record and window, log the outcome).
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Outcome, HandlerError> {
        let deadline = Deadline::from_epoch_millis(event.context.deadline, DEADLINE_MARGIN);
        let permit = match self.admit(event.payload, deadline).await? {
            Admission::Answered(outcome) => return Ok(outcome),
            Admission::Send(permit) => permit,
        };
        let result = self.send(&permit.detail, deadline).await;
        self.record(permit, result).await
    }

    /// Reads the event and, with a dedupe store, claims the email's dedupe record and then its
    /// block window: either an outcome that needs no call (duplicate, skipped) or a permit to
    /// send. Whatever it claimed and then could not use is given back before it returns.
    async fn admit(&self, payload: Value, deadline: Deadline) -> Result<Admission, HandlerError> {
        let detail = match read_event(payload) {
            Ok(detail) => detail,
            Err(e) => {
                tracing::error!(
                    error_type = e.error_type(),
                    error = %e,
                    "refused SendEmail event"
                );
                return Err(e);
            }
        };
        let Some(dedupe) = &self.dedupe else {
            return Ok(Admission::Send(Permit {
                detail,
                window_key: None,
            }));
        };
        let kind = detail.kind.as_str();
        let log_id = detail.log_id.as_str();
        let key = detail.dedupe_key.as_str();
        let claim = dedupe
            .claim(key, deadline.remaining() + DEADLINE_MARGIN)
            .await
            .map_err(|source| HandlerError::Dedupe {
                log_id: detail.log_id.clone(),
                source,
            })
            .inspect_err(|e| tracing::error!(kind, log_id, error = %e, "dedupe store failed"))?;
        match claim {
            Claim::Acquired => {}
            Claim::AlreadySent => {
                tracing::info!(
                    kind,
                    log_id,
                    dedupe_key = key,
                    "already sent; not sending again"
                );
                return Ok(Admission::Answered(Outcome::Duplicate {
                    kind: detail.kind,
                    log_id: detail.log_id.clone(),
                    dedupe_key: detail.dedupe_key.clone(),
                }));
            }
            Claim::InProgress => {
                let e = HandlerError::InProgress {
                    kind,
                    log_id: detail.log_id.clone(),
                };
                tracing::warn!(kind, log_id, dedupe_key = key, error = %e, "email in progress elsewhere");
                return Err(e);
            }
        }
        let Some(window_key) = dedupe.window_key(detail.kind, &detail.recipient) else {
            return Ok(Admission::Send(Permit {
                detail,
                window_key: None,
            }));
        };
        match dedupe.claim_window(&window_key).await {
            Ok(true) => {}
            Ok(false) => {
                // Handled: a redelivery of this event is a duplicate, not a new chance to send.
                if let Err(e) = dedupe.complete(key).await {
                    tracing::warn!(kind, log_id, dedupe_key = key, error = %e, "could not update the dedupe record");
                }
                let reason = SkipReason::RepeatWithinWindow;
                tracing::info!(
                    kind,
                    log_id,
                    dedupe_key = key,
                    reason = reason.as_str(),
                    "this kind of email went to this recipient within the window; not sending"
                );
                return Ok(Admission::Answered(Outcome::Skipped {
                    reason,
                    kind: detail.kind,
                    log_id: detail.log_id.clone(),
                    dedupe_key: detail.dedupe_key.clone(),
                }));
            }
            Err(source) => {
                let e = HandlerError::Dedupe {
                    log_id: detail.log_id.clone(),
                    source,
                };
                tracing::error!(kind, log_id, error = %e, "dedupe store failed");
                if let Err(e) = dedupe.release(key).await {
                    tracing::warn!(kind, log_id, dedupe_key = key, error = %e, "could not update the dedupe record");
                }
                return Err(e);
            }
        }
        Ok(Admission::Send(Permit {
            detail,
            window_key: Some(window_key),
        }))
    }

    /// After the send: marks the dedupe record sent (or releases it, and the block window, so
    /// Lambda's retry can send), logs the outcome, and answers it.
    async fn record(
        &self,
        permit: Permit,
        result: Result<u32, HandlerError>,
    ) -> Result<Outcome, HandlerError> {
        let Permit { detail, window_key } = permit;
        let kind = detail.kind.as_str();
        let log_id = detail.log_id.as_str();
        let key = detail.dedupe_key.as_str();
        if let Some(dedupe) = &self.dedupe {
            // Failures here are logged only: the email's own outcome is what the caller needs.
            let recorded = match result {
                Ok(_) => dedupe.complete(key).await,
                Err(_) => dedupe.release(key).await,
            };
            if let Err(e) = recorded {
                tracing::warn!(kind, log_id, dedupe_key = key, error = %e, "could not update the dedupe record");
            }
        }
        if let (Some(dedupe), Some(window_key), Err(_)) = (&self.dedupe, &window_key, &result)
            && let Err(e) = dedupe.release_window(window_key).await
        {
            tracing::warn!(kind, log_id, error = %e, "could not release the block window");
        }
        match &result {
            Ok(attempts) => tracing::info!(
                kind,
                log_id = %detail.log_id,
                event_type = detail.log_type.code(),
                dedupe_key = %detail.dedupe_key,
                attempts,
                "email sent"
            ),
            Err(e) => {
                let attempts = match e {
                    HandlerError::Send { attempts, .. } => *attempts,
                    _ => 0,
                };
                // Transient failures are retried by Lambda and a suppressed address is the
                // recipient's state: warnings. The rest need a person.
                let expected = matches!(
                    e,
                    HandlerError::Send { source, .. }
                        if source.is_transient() || *source == SendError::Suppressed
                );
                if expected {
                    tracing::warn!(
                        kind,
                        log_id = %detail.log_id,
                        event_type = detail.log_type.code(),
                        dedupe_key = %detail.dedupe_key,
                        attempts,
                        error_type = e.error_type(),
                        error = %e,
                        "email not sent"
                    );
                } else {
                    tracing::error!(
                        kind,
                        log_id = %detail.log_id,
                        event_type = detail.log_type.code(),
                        dedupe_key = %detail.dedupe_key,
                        attempts,
                        error_type = e.error_type(),
                        error = %e,
                        "email not sent"
                    );
                }
            }
        }
        let attempts = result?;
        Ok(Outcome::Sent {
            kind: detail.kind,
            log_id: detail.log_id,
            dedupe_key: detail.dedupe_key,
            attempts,
        })
    }

    /// Sends, retrying transient failures while attempts and time allow. Returns the attempts made.
    async fn send(
        &self,
        detail: &SendEmailDetail,
        deadline: Deadline,
    ) -> Result<u32, HandlerError> {
        let email = compose(&self.message, detail)?;
        let mut attempt = 0;
        loop {
            // The container's pace towards Bloomreach comes first; a wait that leaves no time
            // for the call hands the email back instead.
            let pace = self.client.pace();
            if !pace.is_zero() {
                if !deadline.allows(pace, self.client.timeout()) {
                    return Err(out_of_time(detail, attempt));
                }
                tokio::time::sleep(pace).await;
            }
            // Every call, the first included, ends before the deadline: an answer that comes
            // after Lambda has given up would be retried and send the email twice.
            let budget = deadline.remaining();
            if budget.is_zero() {
                return Err(out_of_time(detail, attempt));
            }
            let cut_short = budget < self.client.timeout();
            attempt += 1;
            let result = self
                .client
                .send_within(&email, budget.min(self.client.timeout()))
                .await;
            let err = match result {
                Ok(()) => return Ok(attempt),
                Err(e) => e,
            };
            let give_up = |deadline_reached| HandlerError::Send {
                kind: detail.kind.as_str(),
                log_id: detail.log_id.clone(),
                attempts: attempt,
                deadline_reached,
                source: err,
            };
            let SendError::Transient { cause, retry_after } = err else {
                return Err(give_up(false));
            };
            if cut_short && cause == TransientCause::Timeout {
                return Err(give_up(true));
            }
            if attempt >= self.backoff.max_attempts {
                return Err(give_up(false));
            }
            let mut delay = self.backoff.delay(attempt);
            if let Some(hint) = retry_after {
                delay = delay.max(hint.min(self.backoff.cap));
            }
            if !deadline.allows(delay, self.client.timeout()) {
                return Err(give_up(true));
            }
            tracing::warn!(
                kind = detail.kind.as_str(),
                log_id = %detail.log_id,
                attempt,
                cause = %cause,
                delay_ms = delay.as_millis() as u64,
                "transient Bloomreach failure, retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

/// No time left in the invocation for another call: a transient timeout, so the email goes
/// back for a later attempt.
fn out_of_time(detail: &SendEmailDetail, attempts: u32) -> HandlerError {
    HandlerError::Send {
        kind: detail.kind.as_str(),
        log_id: detail.log_id.clone(),
        attempts,
        deadline_reached: true,
        source: SendError::Transient {
            cause: TransientCause::Timeout,
            retry_after: None,
        },
    }
}

/// The SendEmail detail of an EventBridge event.
fn read_event(payload: Value) -> Result<SendEmailDetail, HandlerError> {
    // The serde error is dropped: it can quote a value from the event.
    let envelope: EventBridgeEvent<Value> =
        serde_json::from_value(payload).map_err(|_| HandlerError::NotEventBridge)?;
    if envelope.detail_type != DETAIL_TYPE {
        return Err(HandlerError::WrongDetailType);
    }
    SendEmailDetail::from_value(envelope.detail).map_err(HandlerError::Contract)
}

/// The request for one detail: see the crate docs for the params.
pub fn compose<'a>(
    message: &'a MessageConfig,
    detail: &'a SendEmailDetail,
) -> Result<Email<'a>, HandlerError> {
    let template = message.templates.for_kind(detail.kind);
    let address = detail.recipient.as_str();
    let params = crate::params::build(message, detail);
    Ok(Email {
        campaign_name: &template.campaign_name,
        recipient: Recipient {
            customer_ids: BTreeMap::from([(message.customer_id_key.as_str(), address)]),
            email: address,
            language: message.language.as_deref(),
        },
        email_content: EmailContent {
            template_id: &template.template_id,
            params,
            sender_address: message.sender_address.as_deref(),
            sender_name: message.sender_name.as_deref(),
        },
        integration_id: message.integration_id.as_deref(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth0_events::{EmailAddress, EmailKind, LogType, send_email::TemplateParams};
    use base64::Engine;
    use lambda_runtime::Context;
    use lambda_support::Env;
    use serde_json::json;
    use std::time::{Instant, SystemTime, UNIX_EPOCH};
    use test_support::logs::{Capture, assert_no_email_addresses};
    use wiremock::{
        Mock, MockServer, ResponseTemplate,
        matchers::{any, body_json, header, method, path},
    };

    const ADDRESS: &str = "jane.doe+shop@example.com";
    const PATH: &str = "/email/v2/projects/project-token-1/sync";

    struct Settings {
        timeout_ms: u64,
        max_attempts: u32,
        base_ms: u64,
        cap_ms: u64,
        extra: Vec<(&'static str, &'static str)>,
    }

    impl Default for Settings {
        fn default() -> Self {
            Self {
                timeout_ms: 2_000,
                max_attempts: 4,
                base_ms: 10,
                cap_ms: 50,
                extra: vec![],
            }
        }
    }

    async fn handler(server: &MockServer, s: Settings) -> Handler {
        let mut pairs: Vec<(String, String)> = vec![
            ("BLOOMREACH_API_BASE".into(), server.uri()),
            ("BLOOMREACH_PROJECT_TOKEN".into(), "project-token-1".into()),
            ("BLOOMREACH_API_KEY_ID".into(), "key-id-1".into()),
            ("BLOOMREACH_API_SECRET".into(), "secret-1".into()),
            ("BLOOMREACH_TIMEOUT_MS".into(), s.timeout_ms.to_string()),
            ("SEND_MAX_ATTEMPTS".into(), s.max_attempts.to_string()),
            ("SEND_BACKOFF_BASE_MS".into(), s.base_ms.to_string()),
            ("SEND_BACKOFF_CAP_MS".into(), s.cap_ms.to_string()),
        ];
        for kind in EmailKind::ALL {
            pairs.push((
                crate::config::template_var(kind),
                format!("tpl-{}", kind.as_str()),
            ));
        }
        pairs.extend(s.extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = Config::from_env(&Env::from_pairs(pairs), async || unreachable!())
            .await
            .unwrap();
        Handler::new(config).unwrap()
    }

    fn now_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    }

    fn invocation(payload: Value, deadline_in: Duration) -> LambdaEvent<Value> {
        let mut ctx = Context::default();
        ctx.request_id = "req-1".into();
        ctx.deadline = now_ms() + deadline_in.as_millis() as u64;
        LambdaEvent::new(payload, ctx)
    }

    fn detail(kind: EmailKind) -> SendEmailDetail {
        SendEmailDetail::new(
            kind,
            EmailAddress::parse(ADDRESS).unwrap(),
            TemplateParams {
                occurred_at: Some("2026-11-20T10:00:00.000Z".into()),
                new_email_masked: (kind == EmailKind::EmailChangedOldAddress)
                    .then(|| "j***@example.org".into()),
            },
            &LogId::parse("90020261120100000123").unwrap(),
            LogType::Sce,
        )
    }

    fn event_for(detail: Value) -> Value {
        json!({
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "SendEmail",
            "source": "security-emails.email-transform",
            "account": "123456789012",
            "time": "2026-11-20T10:00:01Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": detail
        })
    }

    fn event() -> Value {
        event_for(serde_json::to_value(detail(EmailKind::PasswordChanged)).unwrap())
    }

    fn basic() -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("key-id-1:secret-1")
        )
    }

    fn suppression_body() -> Value {
        json!({"errors": [format!("Email address or domain {ADDRESS} is on the suppression list")]})
    }

    /// Runs the handler with log capture; checks that neither the logs nor the result hold an address.
    async fn run(
        h: &Handler,
        payload: Value,
        deadline_in: Duration,
    ) -> (Result<Outcome, HandlerError>, String) {
        let (capture, _guard) = Capture::install();
        let result = h.handle(invocation(payload, deadline_in)).await;
        let logs = capture.text();
        assert_no_email_addresses(&logs);
        match &result {
            Ok(v) => assert_no_email_addresses(&serde_json::to_string(v).unwrap()),
            Err(e) => assert_no_email_addresses(&format!("{e} {e:?}")),
        }
        (result, logs)
    }

    #[tokio::test]
    async fn sends_the_documented_body_with_every_setting() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH))
            .and(header("authorization", basic().as_str()))
            .and(body_json(json!({
                "campaign_name": "br-campaign-old",
                "recipient": {
                    "customer_ids": {"email_id": ADDRESS},
                    "email": ADDRESS,
                    "language": "de"
                },
                "email_content": {
                    "template_id": "tpl-email_changed_old_address",
                    "params": {
                        "occurred_at": "2026-11-20T10:00:00.000Z",
                        "new_email_masked": "j***@example.org",
                        "email_kind": "email_changed_old_address",
                        "event_type": "sce",
                        "reset_password_url": "https://shop.example/reset",
                        "support_url": "https://shop.example/help"
                    },
                    "sender_address": "security@shop.example",
                    "sender_name": "Shop Security"
                },
                "integration_id": "integration-1"
            })))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let h = handler(
            &server,
            Settings {
                extra: vec![
                    (
                        "BLOOMREACH_CAMPAIGN_EMAIL_CHANGED_OLD_ADDRESS",
                        "br-campaign-old",
                    ),
                    ("BLOOMREACH_CUSTOMER_ID_KEY", "email_id"),
                    ("BLOOMREACH_LANGUAGE", "de"),
                    ("BLOOMREACH_SENDER_ADDRESS", "security@shop.example"),
                    ("BLOOMREACH_SENDER_NAME", "Shop Security"),
                    ("BLOOMREACH_INTEGRATION_ID", "integration-1"),
                    ("RESET_PASSWORD_URL", "https://shop.example/reset"),
                    ("SUPPORT_URL", "https://shop.example/help"),
                ],
                ..Settings::default()
            },
        )
        .await;
        let payload =
            event_for(serde_json::to_value(detail(EmailKind::EmailChangedOldAddress)).unwrap());
        let (result, logs) = run(&h, payload, Duration::from_secs(10)).await;
        assert_eq!(
            serde_json::to_value(result.unwrap()).unwrap(),
            json!({
                "status": "sent",
                "kind": "email_changed_old_address",
                "log_id": "90020261120100000123",
                "dedupe_key": "90020261120100000123:email_changed_old_address",
                "attempts": 1
            })
        );
        assert!(logs.contains("email sent"), "{logs}");
        assert!(
            logs.contains("90020261120100000123:email_changed_old_address"),
            "{logs}"
        );
    }

    #[tokio::test]
    async fn sends_the_minimal_body_with_defaults() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH))
            .and(body_json(json!({
                "campaign_name": "security-password-changed",
                "recipient": {"customer_ids": {"registered": ADDRESS}, "email": ADDRESS},
                "email_content": {
                    "template_id": "tpl-password_changed",
                    "params": {
                        "occurred_at": "2026-11-20T10:00:00.000Z",
                        "email_kind": "password_changed",
                        "event_type": "sce"
                    }
                }
            })))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let h = handler(&server, Settings::default()).await;
        let (result, _) = run(&h, event(), Duration::from_secs(10)).await;
        assert!(
            matches!(result.unwrap(), Outcome::Sent { attempts: 1, .. }),
            "sent in one call"
        );
    }

    /// One failure answered with `failure`, then success: two calls in all.
    async fn retries_then_sends(failure: ResponseTemplate, settings: Settings) {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH))
            .respond_with(failure)
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(PATH))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let h = handler(&server, settings).await;
        let (result, logs) = run(&h, event(), Duration::from_secs(10)).await;
        let response = result.unwrap();
        assert!(
            matches!(response, Outcome::Sent { attempts: 2, .. }),
            "{response:?}"
        );
        assert!(logs.contains("retrying"), "{logs}");
    }

    #[tokio::test]
    async fn retries_a_429_then_sends() {
        retries_then_sends(
            ResponseTemplate::new(429).set_body_json(suppression_free_echo()),
            Settings::default(),
        )
        .await;
    }

    #[tokio::test]
    async fn retries_a_502_then_sends() {
        retries_then_sends(ResponseTemplate::new(502), Settings::default()).await;
    }

    #[tokio::test]
    async fn retries_a_503_then_sends() {
        retries_then_sends(ResponseTemplate::new(503), Settings::default()).await;
    }

    #[tokio::test]
    async fn retries_a_render_timeout_400_then_sends() {
        retries_then_sends(
            ResponseTemplate::new(400).set_body_json(json!({"errors": [
                "Failed to render the template: context deadline exceeded"
            ]})),
            Settings::default(),
        )
        .await;
    }

    #[tokio::test]
    async fn retries_a_timeout_then_sends() {
        retries_then_sends(
            ResponseTemplate::new(200).set_delay(Duration::from_millis(1_500)),
            Settings {
                timeout_ms: 200,
                ..Settings::default()
            },
        )
        .await;
    }

    fn suppression_free_echo() -> Value {
        json!({"errors": [format!("rate limited for {ADDRESS}")]})
    }

    #[tokio::test]
    async fn honours_retry_after_on_429() {
        let started = Instant::now();
        retries_then_sends(
            ResponseTemplate::new(429).insert_header("Retry-After", "1"),
            Settings {
                base_ms: 1,
                cap_ms: 3_000,
                ..Settings::default()
            },
        )
        .await;
        assert!(started.elapsed() >= Duration::from_secs(1));
    }

    #[tokio::test]
    async fn retry_after_is_capped() {
        let started = Instant::now();
        retries_then_sends(
            ResponseTemplate::new(429).insert_header("Retry-After", "3600"),
            Settings {
                base_ms: 1,
                cap_ms: 100,
                ..Settings::default()
            },
        )
        .await;
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    /// A permanent refusal: exactly one call, the named error type.
    async fn not_retried(response: ResponseTemplate, error_type: &str) -> String {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let h = handler(&server, Settings::default()).await;
        let (result, logs) = run(&h, event(), Duration::from_secs(10)).await;
        let err = result.unwrap_err();
        let diagnostic = Diagnostic::from(err);
        assert_eq!(diagnostic.error_type, error_type);
        assert!(
            diagnostic.error_message.contains("password_changed")
                && diagnostic.error_message.contains("90020261120100000123"),
            "{}",
            diagnostic.error_message
        );
        assert!(!logs.contains("retrying"), "{logs}");
        assert!(logs.contains(error_type), "{logs}");
        diagnostic.error_message
    }

    #[tokio::test]
    async fn suppression_is_not_retried() {
        not_retried(
            ResponseTemplate::new(400).set_body_json(suppression_body()),
            "EmailSuppressed",
        )
        .await;
    }

    #[tokio::test]
    async fn template_not_found_is_not_retried() {
        not_retried(
            ResponseTemplate::new(400).set_body_json(json!({"errors": {
                "email_content": {"template_id": ["The template you have asked for is NOT FOUND!"]}
            }})),
            "TemplateNotFound",
        )
        .await;
    }

    #[tokio::test]
    async fn unauthorized_is_not_retried() {
        not_retried(ResponseTemplate::new(401), "BloomreachUnauthorized").await;
        not_retried(ResponseTemplate::new(403), "BloomreachUnauthorized").await;
    }

    #[tokio::test]
    async fn other_client_errors_are_rejected_without_retry() {
        let message = not_retried(
            ResponseTemplate::new(400).set_body_json(json!({"errors": {
                "recipient": [format!("{ADDRESS} bodytext")]
            }})),
            "EmailRejected",
        )
        .await;
        assert!(
            message.contains("HTTP 400") && !message.contains("bodytext"),
            "{message}"
        );
        not_retried(ResponseTemplate::new(422), "EmailRejected").await;
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH))
            .respond_with(ResponseTemplate::new(503))
            .expect(3)
            .mount(&server)
            .await;
        let h = handler(
            &server,
            Settings {
                max_attempts: 3,
                ..Settings::default()
            },
        )
        .await;
        let (result, _) = run(&h, event(), Duration::from_secs(10)).await;
        let err = result.unwrap_err();
        assert!(
            matches!(
                err,
                HandlerError::Send {
                    attempts: 3,
                    deadline_reached: false,
                    ..
                }
            ),
            "{err:?}"
        );
        let d = Diagnostic::from(err);
        assert_eq!(d.error_type, "TransientSendFailure");
        assert!(
            d.error_message.contains("3 attempt(s)"),
            "{}",
            d.error_message
        );
    }

    #[tokio::test]
    async fn gives_up_before_the_deadline() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let max_attempts = 50;
        let h = handler(
            &server,
            Settings {
                timeout_ms: 300,
                max_attempts,
                base_ms: 200,
                cap_ms: 400,
                extra: vec![],
            },
        )
        .await;
        let deadline_in = Duration::from_millis(1_500);
        let started = Instant::now();
        let (result, _) = run(&h, event(), deadline_in).await;
        let elapsed = started.elapsed();
        let err = result.unwrap_err();
        assert!(
            matches!(
                err,
                HandlerError::Send {
                    deadline_reached: true,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(Diagnostic::from(err).error_type, "TransientSendFailure");
        assert!(elapsed < deadline_in, "took {elapsed:?}");
        let calls = server.received_requests().await.unwrap_or_default().len();
        // The first retry always fits (delay <= 200 ms + timeout 300 ms < 1 s left after the margin).
        assert!(calls >= 2 && calls < max_attempts as usize, "{calls} calls");
    }

    #[tokio::test]
    async fn malformed_events_are_refused_without_a_call() {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let h = handler(&server, Settings::default()).await;
        let good = serde_json::to_value(detail(EmailKind::PasswordChanged)).unwrap();

        let mut wrong_type = event();
        wrong_type["detail-type"] = json!("Auth0 log");
        let mut no_detail_type = event();
        no_detail_type
            .as_object_mut()
            .unwrap()
            .remove("detail-type");
        let mut v2 = good.clone();
        v2["version"] = json!(2);
        let mut no_version = good.clone();
        no_version.as_object_mut().unwrap().remove("version");
        let mut bad_recipient = good.clone();
        bad_recipient["recipient"] = json!(format!("not an address {ADDRESS}"));
        let mut bad_kind = good.clone();
        bad_kind["kind"] = json!(ADDRESS);
        let mut no_log_id = good.clone();
        no_log_id.as_object_mut().unwrap().remove("log_id");
        let mut wrong_type_field = good.clone();
        wrong_type_field["log_id"] = json!([ADDRESS]);

        // Producer-set ids of the wrong shape: refused, and neither logged nor echoed.
        let mut id_cases = vec![];
        for field in ["log_id", "dedupe_key", "log_type"] {
            for value in [ADDRESS.to_owned(), "9".repeat(100_000)] {
                let mut d = good.clone();
                d[field] = json!(value);
                id_cases.push((event_for(d), "MalformedEvent"));
            }
        }

        let cases = [
            (json!(format!("just a string {ADDRESS}")), "MalformedEvent"),
            (json!({"detail": {"recipient": ADDRESS}}), "MalformedEvent"),
            (no_detail_type, "MalformedEvent"),
            (wrong_type, "MalformedEvent"),
            (event_for(v2), "UnsupportedContractVersion"),
            (event_for(no_version), "MalformedEvent"),
            (event_for(bad_recipient), "MalformedEvent"),
            (event_for(bad_kind), "MalformedEvent"),
            (event_for(no_log_id), "MalformedEvent"),
            (event_for(wrong_type_field), "MalformedEvent"),
        ];
        for (payload, error_type) in cases.into_iter().chain(id_cases) {
            let (result, logs) = run(&h, payload.clone(), Duration::from_secs(10)).await;
            let err = result.unwrap_err();
            assert_eq!(err.error_type(), error_type, "{payload:.300}: {err}");
            assert!(logs.contains(error_type), "{logs}");
            // Bounded: nothing of a 100 KB id reaches the log or the error.
            assert!(logs.len() < 2_000, "{} bytes of logs", logs.len());
            assert!(!logs.contains("99999999"), "{logs:.300}");
            assert!(err.to_string().len() < 200, "{err}");
        }
        // The version is named so an operator can tell a deploy-order problem.
        let mut v2 = good;
        v2["version"] = json!(2);
        let (result, _) = run(&h, event_for(v2), Duration::from_secs(10)).await;
        assert!(result.unwrap_err().to_string().contains("version 2"));
    }
}
