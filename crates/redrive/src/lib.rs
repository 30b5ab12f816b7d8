//! Redrive: hands back what waits in a dead-letter or OnFailure queue, through the real SQS and
//! Lambda APIs (`AWS_ENDPOINT_URL` points them elsewhere, e.g. moto in the tests).
//!
//! Each message is one of two kinds, told by its body:
//! - an **OnFailure record** (Lambda's asynchronous invocation gave up: `requestContext`,
//!   `requestPayload`, `responsePayload`): the event in `requestPayload` is invoked again,
//!   asynchronously (`InvocationType: Event`), on the function the record names;
//! - anything else is a **dead-lettered message** of a work queue (send-email's queue moves an
//!   email there after `SendEmailMaxReceiveCount` receives): its body is sent back to the work
//!   queue given with `--to-queue-url`.
//!
//! A message is deleted only once it was handed back; one that could not be stays in the queue
//! (visible again after its visibility timeout) and is counted as failed. Redriving a SendEmail
//! event whose email was in fact sent is answered `duplicate` by send-email's dedupe record, so
//! a redrive never sends an email twice while that record is kept (7 days).
//!
//! Bodies hold addresses: nothing here prints one; the report names message ids, functions
//! and error types only.

use aws_sdk_lambda::{primitives::Blob, types::InvocationType};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a redrive did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    /// OnFailure records whose event was invoked again, per function, with the error types
    /// they had failed with.
    pub reinvoked: BTreeMap<String, Vec<String>>,
    /// Dead-lettered messages sent back to the work queue.
    pub returned: usize,
    /// Messages left in the queue: (message id, why).
    pub failed: Vec<(String, String)>,
}

impl Report {
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (function, errors) in &self.reinvoked {
            out.push(format!(
                "invoked {function} again for {} event(s) (they had failed with: {})",
                errors.len(),
                summary(errors)
            ));
        }
        if self.returned > 0 {
            out.push(format!(
                "sent {} message(s) back to the work queue",
                self.returned
            ));
        }
        for (id, why) in &self.failed {
            out.push(format!("left in the queue: message {id}: {why}"));
        }
        if out.is_empty() {
            out.push("the queue was empty".into());
        }
        out
    }
}

/// "TransientSendFailure ×3, MalformedEvent ×1".
fn summary(errors: &[String]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for e in errors {
        *counts.entry(e.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(e, n)| format!("{e} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    /// The queue could not be read at all (the SDK's error, which names no message content).
    #[error("receive from the queue: {0}")]
    Receive(String),
}

/// What a message asks for.
enum Kind {
    /// Invoke `function` with `payload`; it had failed with `error_type`.
    Reinvoke {
        function: String,
        payload: Value,
        error_type: String,
    },
    /// Send the body back to the work queue.
    Return,
}

fn kind_of(body: &str) -> Result<Kind, String> {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return Ok(Kind::Return);
    };
    let Some(arn) = v["requestContext"]["functionArn"].as_str() else {
        return Ok(Kind::Return);
    };
    if v.get("requestPayload").is_none() {
        return Err("OnFailure record without requestPayload".into());
    }
    // arn:aws:lambda:region:account:function:name[:qualifier]
    let function = arn
        .split(':')
        .nth(6)
        .filter(|n| !n.is_empty())
        .ok_or("OnFailure record with an unreadable functionArn")?;
    Ok(Kind::Reinvoke {
        function: function.to_owned(),
        payload: v["requestPayload"].clone(),
        error_type: v["responsePayload"]["errorType"]
            .as_str()
            .unwrap_or("unknown")
            .to_owned(),
    })
}

/// Redrives every message of `queue_url` (at most `max`); dead-lettered messages go to
/// `to_queue_url` (without it they are left and reported).
pub async fn redrive(
    sqs: &aws_sdk_sqs::Client,
    lambda: &aws_sdk_lambda::Client,
    queue_url: &str,
    to_queue_url: Option<&str>,
    max: usize,
) -> Result<Report, RedriveError> {
    let mut report = Report::default();
    let mut seen = 0;
    while seen < max {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10.min((max - seen) as i32))
            // Long enough to hand a batch back; a message left behind comes back after it.
            .visibility_timeout(60)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|e| {
                RedriveError::Receive(aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
            })?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            seen += 1;
            let id = m.message_id.clone().unwrap_or_default();
            let body = m.body.as_deref().unwrap_or_default();
            let handed_back = match kind_of(body) {
                Err(why) => Err(why),
                Ok(Kind::Reinvoke {
                    function,
                    payload,
                    error_type,
                }) => lambda
                    .invoke()
                    .function_name(&function)
                    .invocation_type(InvocationType::Event)
                    .payload(Blob::new(payload.to_string()))
                    .send()
                    .await
                    .map(|_| {
                        report
                            .reinvoked
                            .entry(function.clone())
                            .or_default()
                            .push(error_type);
                    })
                    .map_err(|e| {
                        format!(
                            "invoke {function}: {}",
                            aws_sdk_lambda::error::DisplayErrorContext(e)
                        )
                    }),
                Ok(Kind::Return) => match to_queue_url {
                    None => {
                        Err("a dead-lettered message: give --to-queue-url to send it back".into())
                    }
                    Some(to) => sqs
                        .send_message()
                        .queue_url(to)
                        .message_body(body)
                        .send()
                        .await
                        .map(|_| report.returned += 1)
                        .map_err(|e| {
                            format!(
                                "send to the work queue: {}",
                                aws_sdk_sqs::error::DisplayErrorContext(e)
                            )
                        }),
                },
            };
            match handed_back {
                Ok(()) => {
                    if let Some(handle) = &m.receipt_handle
                        && let Err(e) = sqs
                            .delete_message()
                            .queue_url(queue_url)
                            .receipt_handle(handle)
                            .send()
                            .await
                    {
                        // Handed back but not deleted: it will be redriven again (and answered
                        // `duplicate` by send-email, or re-run by the function).
                        report.failed.push((
                            id,
                            format!(
                                "handed back, not deleted: {}",
                                aws_sdk_sqs::error::DisplayErrorContext(e)
                            ),
                        ));
                    }
                }
                Err(why) => report.failed.push((id, why)),
            }
        }
    }
    Ok(report)
}
