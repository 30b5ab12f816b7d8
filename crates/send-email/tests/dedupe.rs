//! The DynamoDB dedupe record against moto server, with a wiremock Bloomreach: one email per
//! `dedupe_key`, a failed send released for the retry, a held lock respected.

use auth0_events::{EmailAddress, EmailKind};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{Context, LambdaEvent};
use lambda_support::{Env, Platform, time::Clock};
use send_email::{
    Handler,
    dedupe::{Claim, Dedupe, DedupeStore, DynamoDbStore, MemoryStore},
    outcome::Outcome,
};
use serde_json::{Value, json};
use std::{sync::Arc, time::Duration};
use test_support::logs;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

fn event() -> Value {
    let path = format!(
        "{}/../../events/send-email/account_blocked.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The outcome as the function answers it on the wire.
fn to_json(outcome: Outcome) -> Value {
    serde_json::to_value(outcome).unwrap()
}

fn invocation(payload: Value) -> LambdaEvent<Value> {
    let mut ctx = Context::default();
    ctx.deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 10_000;
    LambdaEvent::new(payload, ctx)
}

/// send-email as its `main` builds it (`bootstrap`), on moto: the dedupe record in a real
/// DynamoDB table.
async fn setup(
    bloomreach: &MockServer,
) -> (
    Handler,
    aws_sdk_dynamodb::Client,
    String,
    test_support::moto::Moto,
) {
    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table = create_table(&dynamo).await;
    let mut pairs: Vec<(String, String)> = vec![
        ("BLOOMREACH_API_BASE".to_owned(), bloomreach.uri()),
        ("BLOOMREACH_PROJECT_TOKEN".to_owned(), "project".to_owned()),
        ("BLOOMREACH_API_KEY_ID".to_owned(), "key".to_owned()),
        ("BLOOMREACH_API_SECRET".to_owned(), "secret".to_owned()),
        ("SEND_MAX_ATTEMPTS".to_owned(), "1".to_owned()),
        ("DEDUPE_TABLE_NAME".to_owned(), table.clone()),
        ("BLOCKED_EMAIL_WINDOW_MINUTES".to_owned(), "60".to_owned()),
    ];
    for kind in auth0_events::EmailKind::ALL {
        pairs.push((send_email::config::template_var(kind), "tpl".to_owned()));
    }
    let aws = test_support::aws::env_for(moto.endpoint())
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v));
    pairs.extend(aws);
    let handler = send_email::bootstrap(&Platform::aws(Env::from_pairs(pairs)))
        .await
        .unwrap();
    (handler, dynamo, table, moto)
}

async fn create_table(dynamo: &aws_sdk_dynamodb::Client) -> String {
    let table = test_support::unique("dedupe");
    test_support::aws::create_dedupe_table(dynamo, &table).await;
    table
}

/// The rules of claim, complete, release and the window, on any store. Time is moved on the
/// clock, never slept.
async fn store_follows_the_rules(store: Arc<dyn DedupeStore>) {
    let clock = Clock::default();
    let dedupe =
        Dedupe::new(Arc::clone(&store), Duration::from_secs(3600)).with_clock(clock.clone());
    let lock = Duration::from_secs(30);

    assert_eq!(dedupe.claim("a:kind", lock).await.unwrap(), Claim::Acquired);
    // Held by the first claim: a concurrent delivery must wait.
    assert_eq!(
        dedupe.claim("a:kind", lock).await.unwrap(),
        Claim::InProgress
    );
    dedupe.complete("a:kind").await.unwrap();
    assert_eq!(
        dedupe.claim("a:kind", lock).await.unwrap(),
        Claim::AlreadySent
    );
    // Release only drops an in-progress lock, never a completed record.
    dedupe.release("a:kind").await.unwrap();
    assert_eq!(
        dedupe.claim("a:kind", lock).await.unwrap(),
        Claim::AlreadySent
    );

    // A failed send releases its lock and a retry can send.
    assert_eq!(dedupe.claim("b:kind", lock).await.unwrap(), Claim::Acquired);
    dedupe.release("b:kind").await.unwrap();
    assert_eq!(dedupe.claim("b:kind", lock).await.unwrap(), Claim::Acquired);

    // A lock that ran out (an invocation that timed out mid-send) can be taken over; one that
    // has not, cannot.
    assert_eq!(
        dedupe.claim("c:kind", Duration::ZERO).await.unwrap(),
        Claim::Acquired
    );
    assert_eq!(
        dedupe.claim("c:kind", lock).await.unwrap(),
        Claim::InProgress
    );
    clock.advance(Duration::from_secs(2));
    assert_eq!(dedupe.claim("c:kind", lock).await.unwrap(), Claim::Acquired);

    // A record past its expiry no longer blocks (expiry is in the condition, not TTL).
    let short = Dedupe::new(Arc::clone(&store), Duration::ZERO).with_clock(clock.clone());
    assert_eq!(short.claim("d:kind", lock).await.unwrap(), Claim::Acquired);
    short.complete("d:kind").await.unwrap();
    assert_eq!(
        short.claim("d:kind", lock).await.unwrap(),
        Claim::AlreadySent
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(short.claim("d:kind", lock).await.unwrap(), Claim::Acquired);

    // One window per key: taken, refused within it, free after it, given back after a failure.
    let windowed = Dedupe::new(Arc::clone(&store), Duration::from_secs(3600))
        .with_block_window(Duration::from_secs(900))
        .with_clock(clock.clone());
    let recipient = EmailAddress::parse("jane.doe@example.com").unwrap();
    let key = windowed
        .window_key(EmailKind::AccountBlocked, &recipient)
        .unwrap();
    assert!(
        !key.contains("jane"),
        "the window key carries no address: {key}"
    );
    assert_eq!(
        windowed.window_key(EmailKind::PasswordChanged, &recipient),
        None
    );
    assert!(windowed.claim_window(&key).await.unwrap());
    assert!(!windowed.claim_window(&key).await.unwrap());
    clock.advance(Duration::from_secs(901));
    assert!(windowed.claim_window(&key).await.unwrap());
    windowed.release_window(&key).await.unwrap();
    assert!(windowed.claim_window(&key).await.unwrap());
}

#[tokio::test]
async fn the_dynamodb_store_follows_the_rules() {
    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table = create_table(&dynamo).await;
    store_follows_the_rules(Arc::new(DynamoDbStore::new(dynamo, table))).await;
}

#[tokio::test]
async fn the_memory_store_follows_the_same_rules() {
    let store = Arc::new(MemoryStore::default());
    store_follows_the_rules(Arc::clone(&store) as Arc<dyn DedupeStore>).await;
    assert_eq!(
        store.len(),
        5,
        "a, b, c, d and the window: as many records as in a table"
    );
}

async fn record(dynamo: &aws_sdk_dynamodb::Client, table: &str) -> Option<String> {
    let out = dynamo
        .get_item()
        .table_name(table)
        .key(
            "dedupe_key",
            AttributeValue::S("90020261120095811043000000000000001:account_blocked".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item()?.get("status")?.as_s().ok().cloned()
}

#[tokio::test]
async fn a_redelivered_event_is_sent_once() {
    let (capture, _g) = logs::Capture::install();
    let bloomreach = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&bloomreach)
        .await;
    let (handler, dynamo, table, _moto) = setup(&bloomreach).await;

    let first = handler
        .handle(invocation(event()))
        .await
        .map(to_json)
        .unwrap();
    assert_eq!(first["status"], "sent");
    assert_eq!(record(&dynamo, &table).await.as_deref(), Some("COMPLETE"));
    // EventBridge redelivers: new envelope id, same detail.
    let mut again = event();
    again["id"] = json!("ffffffff-0000-4000-8000-000000000000");
    let second = handler
        .handle(invocation(again))
        .await
        .map(to_json)
        .unwrap();
    assert_eq!(second["status"], "duplicate");
    assert_eq!(
        second["dedupe_key"],
        "90020261120095811043000000000000001:account_blocked"
    );
    logs::assert_no_email_addresses(&capture.text());
}

#[tokio::test]
async fn a_failed_send_is_released_for_the_retry() {
    let bloomreach = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&bloomreach)
        .await;
    let (handler, dynamo, table, _moto) = setup(&bloomreach).await;
    let err = handler.handle(invocation(event())).await.unwrap_err();
    assert_eq!(err.error_type(), "TransientSendFailure");
    assert_eq!(record(&dynamo, &table).await, None, "the lock is released");

    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&bloomreach)
        .await;
    let retried = handler
        .handle(invocation(event()))
        .await
        .map(to_json)
        .unwrap();
    assert_eq!(retried["status"], "sent");
}

#[tokio::test]
async fn a_lock_held_elsewhere_is_respected_until_it_runs_out() {
    let bloomreach = MockServer::start().await;
    let (handler, dynamo, table, _moto) = setup(&bloomreach).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let put = |lock_until: i64| {
        dynamo
            .put_item()
            .table_name(&table)
            .item(
                "dedupe_key",
                AttributeValue::S("90020261120095811043000000000000001:account_blocked".into()),
            )
            .item("status", AttributeValue::S("IN_PROGRESS".into()))
            .item("lock_until", AttributeValue::N(lock_until.to_string()))
            .item("expires_at", AttributeValue::N((now + 3_600).to_string()))
            .send()
    };
    // Another invocation is sending it right now: no call, an error for Lambda to retry.
    put(now + 60).await.unwrap();
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&bloomreach)
        .await;
    let err = handler.handle(invocation(event())).await.unwrap_err();
    assert_eq!(err.error_type(), "DuplicateInProgress");
    assert!(bloomreach.received_requests().await.unwrap().is_empty());

    // That invocation died mid-send (its lock ran out): this one may send.
    put(now - 1).await.unwrap();
    let sent = handler
        .handle(invocation(event()))
        .await
        .map(to_json)
        .unwrap();
    assert_eq!(sent["status"], "sent");
}

/// An `account_blocked` event for `recipient` from its own Auth0 log.
fn block_event(n: usize, recipient: &str) -> Value {
    let log_id = format!("9002026112009581104300000000000{n:04}");
    let mut e = event();
    e["id"] = json!(format!("b1c2d3e4-0000-4000-8000-{n:012}"));
    e["detail"]["log_id"] = json!(log_id);
    e["detail"]["dedupe_key"] = json!(format!("{log_id}:account_blocked"));
    e["detail"]["recipient"] = json!(recipient);
    e
}

/// Credential stuffing: 50 `limit_wc` logs for one account in a burst, each its own `log_id`,
/// send one email; 50 for 50 accounts send 50.
#[tokio::test]
async fn a_burst_of_blocks_sends_one_email_per_recipient() {
    let (capture, _g) = logs::Capture::install();
    let bloomreach = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&bloomreach)
        .await;
    let (handler, _dynamo, _table, _moto) = setup(&bloomreach).await;

    let mut statuses = vec![];
    for n in 0..50 {
        let out = handler
            .handle(invocation(block_event(n, "jane.doe@example.com")))
            .await
            .map(to_json)
            .unwrap();
        statuses.push(out["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses.iter().filter(|s| *s == "sent").count(), 1);
    assert_eq!(statuses.iter().filter(|s| *s == "skipped").count(), 49);
    assert_eq!(statuses[0], "sent");
    assert_eq!(bloomreach.received_requests().await.unwrap().len(), 1);
    // A redelivery of a skipped log stays handled.
    let again = handler
        .handle(invocation(block_event(7, "jane.doe@example.com")))
        .await
        .map(to_json)
        .unwrap();
    assert_eq!(again["status"], "duplicate");

    for n in 100..150 {
        let out = handler
            .handle(invocation(block_event(
                n,
                &format!("customer{n}@example.com"),
            )))
            .await
            .map(to_json)
            .unwrap();
        assert_eq!(out["status"], "sent", "{out}");
    }
    assert_eq!(bloomreach.received_requests().await.unwrap().len(), 51);
    let logs = capture.text();
    assert!(logs.contains("repeat_within_window"), "{logs:.2000}");
    logs::assert_no_email_addresses(&logs);
}

/// The window is taken only by an email that went out: after a failed send, the next block
/// for that recipient (or Lambda's retry) sends.
#[tokio::test]
async fn a_failed_block_email_leaves_the_window_open() {
    let bloomreach = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&bloomreach)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&bloomreach)
        .await;
    let (handler, _dynamo, _table, _moto) = setup(&bloomreach).await;
    let err = handler
        .handle(invocation(block_event(1, "jane.doe@example.com")))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "TransientSendFailure");
    let out = handler
        .handle(invocation(block_event(2, "jane.doe@example.com")))
        .await
        .map(to_json)
        .unwrap();
    assert_eq!(out["status"], "sent");
    let out = handler
        .handle(invocation(block_event(3, "jane.doe@example.com")))
        .await
        .map(to_json)
        .unwrap();
    assert_eq!(out["status"], "skipped");
}
