//! The event an SQS event source mapping invokes a function with, built with
//! `aws_lambda_events`' types.

use crate::aws::eventbridge::{ACCOUNT, REGION};
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use serde_json::Value;

/// One received message as the batch carries it.
pub struct Received<'a> {
    pub message_id: &'a str,
    pub body: &'a str,
    /// `ApproximateReceiveCount`, this receive included.
    pub receive_count: u64,
    /// `SentTimestamp`, epoch ms.
    pub sent_ms: u64,
}

/// The batch for messages of `queue` (a logical id; its ARN and name are the local stack's).
pub fn event<'a>(queue: &str, messages: impl IntoIterator<Item = Received<'a>>) -> Value {
    let arn = format!(
        "arn:aws:sqs:{REGION}:{ACCOUNT}:{}-{queue}",
        crate::aws::topology::STACK_NAME
    );
    let mut event = SqsEvent::default();
    for m in messages {
        let mut record = SqsMessage::default();
        record.message_id = Some(m.message_id.to_owned());
        record.receipt_handle = Some(format!("local-{}-{}", m.message_id, m.receive_count));
        record.body = Some(m.body.to_owned());
        record.attributes = [
            (
                "ApproximateReceiveCount".to_owned(),
                m.receive_count.to_string(),
            ),
            ("SentTimestamp".to_owned(), m.sent_ms.to_string()),
        ]
        .into();
        record.event_source = Some("aws:sqs".into());
        record.event_source_arn = Some(arn.clone());
        record.aws_region = Some(REGION.into());
        event.records.push(record);
    }
    // Plain data with string keys: serialising cannot fail.
    serde_json::to_value(event).unwrap_or_default()
}
