//! The SQS batch: how send-email is invoked in production.
//!
//! The Email bus rule targets an SQS queue, and the function reads it through an event source
//! mapping whose maximum concurrency caps how many containers call Bloomreach at once
//! (docs/operations.md, *Bursts*). Each record's body is the EventBridge event as the rule
//! delivered it; each is handled as one event by [`Handler::handle`], one after another, and
//! the answer is a partial batch response: the records that failed go back to the queue and
//! come again after the visibility timeout, up to the queue's `maxReceiveCount`, then to the
//! dead-letter queue.
//!
//! A Bloomreach refusal that later may pass (429, 5xx, timeout) after the in-invocation
//! retries stops the batch: the records not tried yet are handed back untouched rather than
//! sent into the same refusal, so a rate-limit storm costs each waiting email one receive per
//! visibility timeout, not a failed attempt per email per invocation.

use crate::{Handler, HandlerError, bloomreach::SendError, outcome::Outcome};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

/// The whole invocation failed: Lambda returns every record of the batch to the queue.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The payload is not an SQS event (the serde message is dropped: it can quote values).
    #[error("event is not an SQS batch")]
    NotSqs,
}

impl From<BatchError> for Diagnostic {
    fn from(e: BatchError) -> Self {
        Diagnostic {
            error_type: lambda_support::event::MALFORMED_EVENT.to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// What happened to one record.
#[derive(Debug)]
pub enum Record {
    /// Handled: deleted from the queue by the event source mapping.
    Done(Outcome),
    /// Failed: back to the queue (a batch item failure).
    Failed(RecordError),
    /// Not tried because an earlier record met a refusal that would hit it too: back to the
    /// queue untouched.
    HandedBack,
}

/// Why a record failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("message body is not JSON")]
    BodyNotJson,
    #[error(transparent)]
    Handler(#[from] HandlerError),
}

impl RecordError {
    /// The `errorType` this record would have failed an invocation of its own with.
    pub fn error_type(&self) -> &'static str {
        match self {
            RecordError::BodyNotJson => lambda_support::event::MALFORMED_EVENT,
            RecordError::Handler(e) => e.error_type(),
        }
    }

    /// Whether the records after this one would meet the same refusal: Bloomreach is limiting
    /// or failing right now.
    fn stops_the_batch(&self) -> bool {
        matches!(
            self,
            RecordError::Handler(HandlerError::Send {
                source: SendError::Transient { .. },
                ..
            })
        )
    }
}

/// Every record of a batch with what happened to it, in the batch's order.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub records: Vec<(String, Record)>,
}

impl BatchOutcome {
    /// The partial batch response Lambda reads (`FunctionResponseTypes:
    /// [ReportBatchItemFailures]`): every record not done, by message id.
    pub fn response(&self) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for (message_id, record) in &self.records {
            if !matches!(record, Record::Done(_)) {
                response.add_failure(message_id.clone());
            }
        }
        response
    }
}

impl Handler {
    /// One SQS batch: each record handled as its own event, in order, stopping at a transient
    /// Bloomreach refusal (see the module docs).
    pub async fn handle_batch(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<BatchOutcome, BatchError> {
        let batch: SqsEvent =
            serde_json::from_value(event.payload).map_err(|_| BatchError::NotSqs)?;
        let mut outcome = BatchOutcome::default();
        let mut stopped = false;
        for message in batch.records {
            // A record without an id cannot be reported back; Lambda always sets one.
            let message_id = message.message_id.unwrap_or_default();
            if stopped {
                outcome.records.push((message_id, Record::HandedBack));
                continue;
            }
            let result = match serde_json::from_str::<Value>(message.body.as_deref().unwrap_or(""))
            {
                Ok(body) => self
                    .handle(LambdaEvent::new(body, event.context.clone()))
                    .await
                    .map_err(RecordError::from),
                Err(_) => Err(RecordError::BodyNotJson),
            };
            let record = match result {
                Ok(done) => Record::Done(done),
                Err(e) => {
                    tracing::warn!(
                        message_id,
                        error_type = e.error_type(),
                        error = %e,
                        "record failed; back to the queue"
                    );
                    stopped = e.stops_the_batch();
                    Record::Failed(e)
                }
            };
            outcome.records.push((message_id, record));
        }
        let handed_back = outcome
            .records
            .iter()
            .filter(|(_, r)| matches!(r, Record::HandedBack))
            .count();
        if handed_back > 0 {
            tracing::warn!(
                handed_back,
                "Bloomreach refused for now; the rest of the batch goes back to the queue"
            );
        }
        Ok(outcome)
    }
}
