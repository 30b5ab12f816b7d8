//! send-email's SQS batches against a wiremock Bloomreach: each record handled as its own
//! event, the partial batch response naming exactly the records that go back to the queue,
//! and a transient refusal handing the untried rest back without calling Bloomreach for them.

use lambda_runtime::{Context, LambdaEvent};
use lambda_support::Env;
use send_email::{
    Config, Handler,
    batch::{BatchError, Record},
};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use test_support::sqs::{batch, batch_of_bodies};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

async fn handler(bloomreach: &MockServer, max_attempts: u32) -> Handler {
    handler_with(bloomreach, max_attempts, &[]).await
}

async fn handler_with(
    bloomreach: &MockServer,
    max_attempts: u32,
    extra: &[(&str, &str)],
) -> Handler {
    let mut pairs: Vec<(String, String)> = vec![
        ("BLOOMREACH_API_BASE".into(), bloomreach.uri()),
        ("BLOOMREACH_PROJECT_TOKEN".into(), "project-1".into()),
        ("BLOOMREACH_API_KEY_ID".into(), "key-id-1".into()),
        ("BLOOMREACH_API_SECRET".into(), "secret-1".into()),
        ("SEND_MAX_ATTEMPTS".into(), max_attempts.to_string()),
        ("SEND_BACKOFF_BASE_MS".into(), "1".into()),
        ("SEND_BACKOFF_CAP_MS".into(), "5".into()),
    ];
    for kind in auth0_events::EmailKind::ALL {
        pairs.push((
            send_email::config::template_var(kind),
            format!("tpl-{}", kind.as_str()),
        ));
    }
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = Config::from_env(&Env::from_pairs(pairs), async || unreachable!())
        .await
        .unwrap();
    Handler::new(config).unwrap()
}

/// The sample SendEmail event with its own log id (so each has its own dedupe key).
fn event(n: u32) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/send-email/account_blocked.json"
    );
    let mut e: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let log_id = format!("9002026112009581104300000000000000{n}");
    e["detail"]["dedupe_key"] = json!(format!("{log_id}:account_blocked"));
    e["detail"]["log_id"] = json!(log_id);
    e
}

fn invocation(payload: Value) -> LambdaEvent<Value> {
    let mut ctx = Context::default();
    ctx.request_id = "req-batch".into();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    ctx.deadline = (now + Duration::from_secs(30)).as_millis() as u64;
    LambdaEvent::new(payload, ctx)
}

fn failures(response: &aws_lambda_events::sqs::SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

#[tokio::test]
async fn only_the_records_that_failed_go_back_to_the_queue() {
    let bloomreach = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&bloomreach)
        .await;
    let h = handler(&bloomreach, 3).await;
    let bodies = [
        event(1).to_string(),
        "not json {".to_owned(),
        json!({"detail-type": "SendEmail", "detail": {}}).to_string(),
        event(2).to_string(),
    ];
    let outcome = h
        .handle_batch(invocation(batch_of_bodies(&bodies)))
        .await
        .unwrap();
    assert_eq!(failures(&outcome.response()), ["msg-2", "msg-3"]);
    let kinds: Vec<&str> = outcome
        .records
        .iter()
        .map(|(_, r)| match r {
            Record::Done(_) => "done",
            Record::Failed(e) => e.error_type(),
            Record::HandedBack => "handed back",
        })
        .collect();
    assert_eq!(kinds, ["done", "MalformedEvent", "MalformedEvent", "done"]);
    // The wire answer is exactly Lambda's partial batch response.
    assert_eq!(
        serde_json::to_value(outcome.response()).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "msg-2"}, {"itemIdentifier": "msg-3"}]})
    );
}

#[tokio::test]
async fn a_rate_limited_record_hands_the_rest_back_untried() {
    let bloomreach = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .mount(&bloomreach)
        .await;
    let h = handler(&bloomreach, 2).await;
    let outcome = h
        .handle_batch(invocation(batch(&[event(1), event(2), event(3)])))
        .await
        .unwrap();
    assert_eq!(failures(&outcome.response()), ["msg-1", "msg-2", "msg-3"]);
    assert!(
        matches!(&outcome.records[0].1, Record::Failed(e) if e.error_type() == "TransientSendFailure")
    );
    assert!(matches!(outcome.records[1].1, Record::HandedBack));
    assert!(matches!(outcome.records[2].1, Record::HandedBack));
    // Two attempts for the first record (SEND_MAX_ATTEMPTS), none for the others.
    let calls = bloomreach.received_requests().await.unwrap_or_default();
    assert_eq!(calls.len(), 2);
}

#[tokio::test]
async fn a_permanent_refusal_does_not_stop_the_batch() {
    let bloomreach = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&bloomreach)
        .await;
    let h = handler(&bloomreach, 3).await;
    let outcome = h
        .handle_batch(invocation(batch(&[event(1), event(2)])))
        .await
        .unwrap();
    assert_eq!(failures(&outcome.response()), ["msg-1", "msg-2"]);
    assert!(
        outcome
            .records
            .iter()
            .all(|(_, r)| matches!(r, Record::Failed(_)))
    );
}

#[tokio::test]
async fn a_payload_that_is_not_a_batch_fails_the_invocation() {
    let bloomreach = MockServer::start().await;
    let h = handler(&bloomreach, 1).await;
    let err = h.handle_batch(invocation(event(1))).await.unwrap_err();
    assert!(matches!(err, BatchError::NotSqs));
    assert_eq!(
        lambda_runtime::Diagnostic::from(err).error_type,
        "MalformedEvent"
    );
}

/// `BLOOMREACH_MAX_PER_SECOND` spaces this container's calls: five emails at 5 a second take
/// four intervals of 200 ms (the first goes at once).
#[tokio::test]
async fn the_container_keeps_its_pace_towards_bloomreach() {
    let bloomreach = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(5)
        .mount(&bloomreach)
        .await;
    let h = handler_with(&bloomreach, 1, &[("BLOOMREACH_MAX_PER_SECOND", "5")]).await;
    let started = std::time::Instant::now();
    let outcome = h
        .handle_batch(invocation(batch(&[
            event(1),
            event(2),
            event(3),
            event(4),
            event(5),
        ])))
        .await
        .unwrap();
    assert!(failures(&outcome.response()).is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
}
