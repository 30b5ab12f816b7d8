//! SQS event source mapping batches, as Lambda hands them to a function reading a queue.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use serde_json::Value;

/// The queue the batches say they come from.
pub const QUEUE_ARN: &str = "arn:aws:sqs:eu-west-1:123456789012:test-send-email";

/// One record per body, in order, with message ids `msg-1`, `msg-2`, ... (what a partial
/// batch response names).
pub fn batch_of_bodies(bodies: &[String]) -> Value {
    let mut event = SqsEvent::default();
    for (i, body) in bodies.iter().enumerate() {
        let mut m = SqsMessage::default();
        m.message_id = Some(format!("msg-{}", i + 1));
        m.receipt_handle = Some(format!("receipt-{}", i + 1));
        m.body = Some(body.clone());
        m.attributes = [
            ("ApproximateReceiveCount".to_owned(), "1".to_owned()),
            ("SentTimestamp".to_owned(), "1764842400000".to_owned()),
        ]
        .into();
        m.event_source = Some("aws:sqs".into());
        m.event_source_arn = Some(QUEUE_ARN.into());
        m.aws_region = Some("eu-west-1".into());
        event.records.push(m);
    }
    serde_json::to_value(event).expect("an SQS event serialises")
}

/// A batch whose records carry these events as an EventBridge rule delivers them to a queue
/// (the whole event, serialised, as the body).
pub fn batch(events: &[Value]) -> Value {
    batch_of_bodies(&events.iter().map(Value::to_string).collect::<Vec<_>>())
}
