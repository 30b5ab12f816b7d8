//! send-email's bench event: an SQS batch of one record, as the event source mapping of
//! `SendEmailQueue` hands it to the function, whose body is the EventBridge event the Email
//! bus rule put on the queue (test-support builds it, as for the tests).

use serde_json::Value;

/// One record carrying `event` serialised, with the fields Lambda sets on an SQS record.
pub fn batch_of_one(event: &Value) -> Value {
    test_support::sqs::batch(std::slice::from_ref(event))
}

/// Whether send-email's answer says every record was done: a partial batch response with no
/// `batchItemFailures`. Anything else (a failed record, another shape) is an error, so the
/// bench cannot measure a failure path without saying so.
pub fn all_done(response: &Value) -> Result<(), String> {
    match response["batchItemFailures"].as_array() {
        Some(failures) if failures.is_empty() => Ok(()),
        _ => Err(format!(
            "answered {response}, not an empty batchItemFailures"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_record_carries_the_event_as_its_body() {
        let event = json!({"detail-type": "SendEmail", "detail": {"kind": "account_blocked"}});
        let batch = batch_of_one(&event);
        let record = &batch["Records"][0];
        let body = record["body"].as_str().unwrap();
        assert_eq!(serde_json::from_str::<Value>(body).unwrap(), event);
        assert_eq!(record["eventSource"], "aws:sqs");
    }

    #[test]
    fn only_an_empty_failure_list_is_done() {
        assert!(all_done(&json!({"batchItemFailures": []})).is_ok());
        let failed = json!({"batchItemFailures": [{"itemIdentifier": "msg-1"}]});
        assert!(all_done(&failed).is_err());
        assert!(all_done(&json!({"outcome": "sent"})).is_err());
    }
}
