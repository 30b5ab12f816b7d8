//! Puts SendEmail events on the Email bus: the one PutEvents client of the SendEmail contract
//! ([`auth0_events::send_email`]), shared by its two producers, email-transform (emails for an
//! Auth0 log) and dixa-patch-user (the emails of an email change an agent made).
//!
//! A PutEvents reply of 200 can still hold failed entries (`FailedEntryCount`, per-entry
//! `ErrorCode` in request order) and the SDK's own retry only covers whole-request failures, so
//! the failed entries, and only those, are re-sent here with backoff. Entries that still fail
//! make [`Publisher::publish`] return an error (email-transform fails the invocation so Lambda
//! retries it; dixa-patch-user reports it to the card). A retry may re-send entries that already
//! went through; send-email's dedupe key covers that.
//!
//! Every attempt is bounded by the invocation's deadline: one that has not answered by then is
//! abandoned ([`PublishError::Deadline`]) and no retry starts that would not fit before it.

use auth0_events::{SendEmailDetail, send_email};
use aws_sdk_eventbridge::{Client, types::PutEventsRequestEntry};
use lambda_support::retry::{Backoff, Deadline};
use std::{collections::BTreeSet, time::Duration};

/// PutEvents accepts at most 10 entries per call.
const MAX_ENTRIES_PER_CALL: usize = 10;
/// Time one PutEvents attempt may take, for deciding whether another attempt fits the deadline.
const ATTEMPT_BUDGET: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("PutEvents request failed: {0}")]
    Request(String),
    #[error(
        "{failed} of {total} SendEmail entries still failed after {attempts} attempts (error codes: {codes})"
    )]
    EntriesFailed {
        failed: usize,
        total: usize,
        attempts: u32,
        codes: String,
    },
    #[error("could not serialize a SendEmail detail")]
    Serialize,
    #[error("PutEvents did not answer before the invocation's deadline (attempt {attempt})")]
    Deadline { attempt: u32 },
}

#[derive(Debug, Clone)]
pub struct Publisher {
    client: Client,
    bus: String,
    backoff: Backoff,
}

impl Publisher {
    pub fn new(client: Client, bus: impl Into<String>, backoff: Backoff) -> Self {
        Self {
            client,
            bus: bus.into(),
            backoff,
        }
    }

    /// The PutEvents entry for one SendEmail detail.
    pub fn entry(&self, detail: &SendEmailDetail) -> Result<PutEventsRequestEntry, PublishError> {
        let json = serde_json::to_string(detail).map_err(|_| PublishError::Serialize)?;
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(send_email::SOURCE)
            .detail_type(send_email::DETAIL_TYPE)
            .detail(json)
            .build())
    }

    /// One entry per detail, published as [`Publisher::publish`] does. Nothing to publish is
    /// no call and 0 attempts.
    pub async fn publish_details(
        &self,
        details: &[SendEmailDetail],
        deadline: &Deadline,
    ) -> Result<u32, PublishError> {
        let entries = details
            .iter()
            .map(|d| self.entry(d))
            .collect::<Result<Vec<_>, _>>()?;
        if entries.is_empty() {
            return Ok(0);
        }
        self.publish(entries, deadline).await
    }

    /// Publishes all entries, re-sending failed ones until they succeed, the attempts run out
    /// or the next attempt would not fit before `deadline`. Returns the attempts made.
    pub async fn publish(
        &self,
        entries: Vec<PutEventsRequestEntry>,
        deadline: &Deadline,
    ) -> Result<u32, PublishError> {
        let mut most_attempts = 0;
        for chunk in entries.chunks(MAX_ENTRIES_PER_CALL) {
            most_attempts = most_attempts.max(self.publish_chunk(chunk.to_vec(), deadline).await?);
        }
        Ok(most_attempts)
    }

    async fn publish_chunk(
        &self,
        mut pending: Vec<PutEventsRequestEntry>,
        deadline: &Deadline,
    ) -> Result<u32, PublishError> {
        let total = pending.len();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let send = self
                .client
                .put_events()
                .set_entries(Some(pending.clone()))
                .send();
            let out = tokio::time::timeout(deadline.remaining(), send)
                .await
                .map_err(|_| PublishError::Deadline { attempt })?
                .map_err(|e| {
                    PublishError::Request(
                        aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string(),
                    )
                })?;
            if out.failed_entry_count() == 0 {
                return Ok(attempt);
            }
            let results = out.entries();
            let mut codes = BTreeSet::new();
            pending = if results.len() == pending.len() {
                pending
                    .into_iter()
                    .zip(results)
                    .filter_map(|(entry, result)| {
                        let code = result.error_code()?;
                        codes.insert(code.to_owned());
                        Some(entry)
                    })
                    .collect()
            } else {
                // Results not aligned with the request: no way to tell which went through, so
                // re-send all (at least once beats at most once here).
                codes.insert("UnalignedResult".to_owned());
                pending
            };
            if pending.is_empty() {
                return Ok(attempt);
            }
            let delay = self.backoff.delay(attempt);
            if attempt >= self.backoff.max_attempts || !deadline.allows(delay, ATTEMPT_BUDGET) {
                return Err(PublishError::EntriesFailed {
                    failed: pending.len(),
                    total,
                    attempts: attempt,
                    codes: codes.into_iter().collect::<Vec<_>>().join(","),
                });
            }
            tracing::warn!(
                attempt,
                failed = pending.len(),
                codes = ?codes,
                "PutEvents entries failed; re-sending only those"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn backoff(max_attempts: u32) -> Backoff {
        Backoff {
            max_attempts,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(5),
        }
    }

    fn entry(n: u32) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .source("s")
            .detail_type("SendEmail")
            .detail(format!("{{\"n\":{n}}}"))
            .build()
    }

    fn ok() -> PutEventsResultEntry {
        PutEventsResultEntry::builder().event_id("id").build()
    }

    fn failed() -> PutEventsResultEntry {
        PutEventsResultEntry::builder()
            .error_code("ThrottlingException")
            .error_message("Rate exceeded")
            .build()
    }

    #[tokio::test]
    async fn resends_only_the_failed_entries() {
        let first = mock!(Client::put_events)
            .match_requests(|r| r.entries().len() == 3)
            .then_output(|| {
                PutEventsOutput::builder()
                    .failed_entry_count(1)
                    .entries(ok())
                    .entries(failed())
                    .entries(ok())
                    .build()
            });
        // The retry must carry exactly the second entry.
        let retry = mock!(Client::put_events)
            .match_requests(|r| {
                r.entries().len() == 1 && r.entries()[0].detail() == Some("{\"n\":2}")
            })
            .then_output(|| {
                PutEventsOutput::builder()
                    .failed_entry_count(0)
                    .entries(ok())
                    .build()
            });
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&first, &retry]);
        let publisher = Publisher::new(client, "email", backoff(4));
        let attempts = publisher
            .publish(
                vec![entry(1), entry(2), entry(3)],
                &Deadline::after(Duration::from_secs(30)),
            )
            .await
            .unwrap();
        assert_eq!(attempts, 2);
        assert_eq!(first.num_calls(), 1);
        assert_eq!(retry.num_calls(), 1);
    }

    #[tokio::test]
    async fn gives_up_with_an_error_after_max_attempts() {
        let always = mock!(Client::put_events).then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(failed())
                .build()
        });
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&always]);
        let publisher = Publisher::new(client, "email", backoff(3));
        let err = publisher
            .publish(vec![entry(1)], &Deadline::after(Duration::from_secs(30)))
            .await
            .unwrap_err();
        assert_eq!(always.num_calls(), 3);
        match err {
            PublishError::EntriesFailed {
                failed,
                total,
                attempts,
                codes,
            } => {
                assert_eq!((failed, total, attempts), (1, 1, 3));
                assert_eq!(codes, "ThrottlingException");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn stops_early_when_the_deadline_is_near() {
        let always = mock!(Client::put_events).then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(failed())
                .build()
        });
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&always]);
        let publisher = Publisher::new(client, "email", backoff(10));
        // Less than one attempt's budget left: no retry at all.
        let err = publisher
            .publish(vec![entry(1)], &Deadline::after(Duration::from_millis(500)))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            PublishError::EntriesFailed { attempts: 1, .. }
        ));
        assert_eq!(always.num_calls(), 1);
    }

    #[tokio::test]
    async fn splits_into_calls_of_at_most_ten() {
        let rule = mock!(Client::put_events)
            .match_requests(|r| r.entries().len() <= MAX_ENTRIES_PER_CALL)
            .then_compute_output(|r| {
                let mut out = PutEventsOutput::builder().failed_entry_count(0);
                for _ in r.entries() {
                    out = out.entries(ok());
                }
                out.build()
            });
        let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&rule]);
        let publisher = Publisher::new(client, "email", backoff(1));
        publisher
            .publish(
                (0..23).map(entry).collect(),
                &Deadline::after(Duration::from_secs(30)),
            )
            .await
            .unwrap();
        assert_eq!(rule.num_calls(), 3);
    }

    #[tokio::test]
    async fn an_attempt_that_outlives_the_deadline_is_abandoned() {
        use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(
                        serde_json::json!({"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}),
                    )
                    .set_delay(Duration::from_secs(5)),
            )
            .mount(&server)
            .await;
        let env = lambda_support::Env::from_pairs([
            ("AWS_ENDPOINT_URL", server.uri().as_str()),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ]);
        let client = Client::new(&lambda_support::aws_config_from(&env));
        let publisher = Publisher::new(client, "email", backoff(4));
        let started = std::time::Instant::now();
        let err = publisher
            .publish(vec![entry(1)], &Deadline::after(Duration::from_millis(300)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, PublishError::Deadline { attempt: 1 }),
            "{err:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }
}
