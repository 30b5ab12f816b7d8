//! email-transform against moto server with the real SDK client: events land on the Email bus
//! and a rule → SQS target on it receives them; a per-entry failure is detected; every `sce` is
//! recorded in the email history's DynamoDB table, after its emails.

use auth0_events::{EmailAddress, send_email};
use aws_sdk_dynamodb::types::AttributeValue;
use email_bus::{PublishError, Publisher};
use email_history::HistoryKey;
use email_transform::{Config, Handler};
use lambda_runtime::Diagnostic;
use lambda_support::{
    Env, Platform, SecretString,
    retry::{Backoff, Deadline},
    time::{Clock, rfc3339},
};
use serde_json::{Value, json};
use std::{collections::HashMap, time::Duration};
use test_support::{aws::BusWithQueue, logs, moto::Moto};

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/../../events/auth0/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// On moto, an Email bus whose rule sends every SendEmail event to a queue.
async fn email_bus(moto: &Moto) -> BusWithQueue {
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let pattern = json!({"source": [send_email::SOURCE], "detail-type": [send_email::DETAIL_TYPE]});
    BusWithQueue::create(&sdk, &test_support::unique("email"), &pattern).await
}

#[tokio::test]
async fn sce_lands_two_send_email_events_on_the_email_bus() {
    let (capture, _guard) = logs::Capture::install();
    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let bus = email_bus(&moto).await;

    let config = Config::from_env(&Env::from_pairs([(
        "EMAIL_BUS_NAME",
        bus.bus_name.as_str(),
    )]))
    .unwrap();
    let handler = Handler::new(config, aws_sdk_eventbridge::Client::new(&sdk), None);
    let out = handler
        .process(sample("sce"), &Deadline::after(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&out).unwrap()["published"],
        json!(["email_changed_old_address", "email_changed_new_address"])
    );
    // Checked before this test reads the queue: the SDK traces SQS bodies, and those are ours.
    logs::assert_no_email_addresses(&capture.text());

    let mut got = bus.receive(2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2, "exactly two events reach the queue: {got:?}");
    got.sort_by_key(|e| e["detail"]["kind"].as_str().unwrap_or_default().to_owned());
    for e in &got {
        assert_eq!(e["source"], send_email::SOURCE);
        assert_eq!(e["detail-type"], send_email::DETAIL_TYPE);
    }
    assert_eq!(got[0]["detail"]["kind"], "email_changed_new_address");
    assert_eq!(got[0]["detail"]["recipient"], "new.address@example.org");
    assert_eq!(got[1]["detail"]["kind"], "email_changed_old_address");
    assert_eq!(got[1]["detail"]["recipient"], "old.address@example.com");
    assert_eq!(
        got[1]["detail"]["dedupe_key"],
        "90020261120095811043000000000000006:email_changed_old_address"
    );
}

#[tokio::test]
async fn a_per_entry_failure_is_detected_and_only_it_is_resent() {
    let (capture, _guard) = logs::Capture::install();
    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let bus = email_bus(&moto).await;
    let backoff = Backoff {
        max_attempts: 3,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(20),
    };
    let publisher = Publisher::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        &bus.bus_name,
        backoff,
    );

    let entry = |detail: &str| {
        aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .event_bus_name(&bus.bus_name)
            .source(send_email::SOURCE)
            .detail_type(send_email::DETAIL_TYPE)
            .detail(detail)
            .build()
    };
    let good = entry(r#"{"n":1}"#);
    // moto (like EventBridge) rejects this one entry with MalformedDetail and accepts the rest.
    let bad = entry("not json");

    let err = publisher
        .publish(vec![good, bad], &Deadline::after(Duration::from_secs(10)))
        .await
        .unwrap_err();
    match err {
        PublishError::EntriesFailed {
            failed,
            total,
            attempts,
            codes,
        } => {
            assert_eq!((failed, total, attempts), (1, 2, 3));
            assert_eq!(codes, "MalformedDetail");
        }
        other => panic!("unexpected {other}"),
    }
    // The good entry went out once: the retries carried only the failed one.
    let got = bus.receive(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["detail"], json!({"n": 1}));
    logs::assert_no_email_addresses(&capture.text());
}

const HISTORY_KEY: &str = "email-transform-history-key-0123456789abcdef";
const SCE_LOG_ID: &str = "90020261120095811043000000000000006";
/// The `client_id` of `events/auth0/sce.json`.
const SCE_CLIENT_ID: &str = "kN3pQ8rT5vW2xY7zA1bC4dE6fG9hJ0kL";

/// On moto, the email history's table as the template declares it (`EmailHistoryTable`), and
/// a client to read it.
async fn history_table(moto: &Moto) -> (aws_sdk_dynamodb::Client, String) {
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table = test_support::unique("email-history");
    test_support::aws::create_email_history_table(&dynamo, &table).await;
    (dynamo, table)
}

type Item = HashMap<String, AttributeValue>;

/// Every item of the table.
async fn items(dynamo: &aws_sdk_dynamodb::Client, table: &str) -> Vec<Item> {
    let out = dynamo.scan().table_name(table).send().await.unwrap();
    out.items().to_vec()
}

/// The handler as `bootstrap` builds it on AWS (here: moto), with the email history in
/// `table` and any `extra` settings.
async fn handler_with_history(
    moto: &Moto,
    bus: &str,
    table: &str,
    extra: &[(&str, &str)],
) -> Handler {
    let mut pairs: Vec<(String, String)> = test_support::aws::env_for(moto.endpoint())
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    pairs.extend(
        [
            ("EMAIL_BUS_NAME", bus),
            ("EMAIL_HISTORY_TABLE", table),
            ("EMAIL_HISTORY_KEY", HISTORY_KEY),
            ("EMAIL_HISTORY_DAYS", "30"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    email_transform::bootstrap(&Platform::aws(Env::from_pairs(pairs)))
        .await
        .unwrap()
}

/// `events/auth0/sce.json` logged at `changed_at` (epoch seconds, with Auth0's milliseconds).
fn sce_at(changed_at: i64) -> Value {
    let mut event = sample("sce");
    let date = rfc3339(changed_at).replace('Z', ".043Z");
    event["detail"]["data"]["date"] = json!(date);
    event
}

fn address_key(address: &str) -> String {
    let key = HistoryKey::new(SecretString::from(HISTORY_KEY.to_owned())).unwrap();
    let address = EmailAddress::parse(address).unwrap();
    key.address_key(&address).as_str().to_owned()
}

fn s<'a>(item: &'a Item, name: &str) -> &'a str {
    item[name].as_s().unwrap()
}

fn n(item: &Item, name: &str) -> i64 {
    item[name].as_n().unwrap().parse().unwrap()
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(10))
}

#[tokio::test]
async fn an_sce_writes_one_history_record_with_no_address_in_clear_and_a_replay_no_second() {
    let (capture, _guard) = logs::Capture::install();
    let moto = test_support::moto::server().await;
    let (dynamo, table) = history_table(&moto).await;
    let bus = email_bus(&moto).await;
    let handler = handler_with_history(&moto, &bus.bus_name, &table, &[]).await;

    // Logged yesterday, processed now: the record carries the log's time.
    let changed_at = Clock::default().now_s() - 86_400;
    let out = handler
        .process(sce_at(changed_at), &deadline())
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&out).unwrap(),
        json!({"log_id": SCE_LOG_ID, "log_type": "sce",
               "published": ["email_changed_old_address", "email_changed_new_address"],
               "skipped": []})
    );
    let got = items(&dynamo, &table).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let item = &got[0];
    assert_eq!(
        s(item, "address_key"),
        address_key("old.address@example.com")
    );
    assert_eq!(
        s(item, "change_id"),
        format!("{changed_at:012}#{SCE_LOG_ID}")
    );
    assert_eq!(s(item, "user_id"), "auth0|6650f1c2a3b4c5d6e7f80914");
    assert_eq!(n(item, "changed_at"), changed_at);
    assert_eq!(s(item, "changed_by"), "customer");
    assert_eq!(s(item, "new_address_masked"), "n***@example.org");
    assert_eq!(s(item, "source_id"), SCE_LOG_ID);
    assert_eq!(n(item, "expires_at"), changed_at + 30 * 86_400);
    assert_eq!(item.len(), 8, "no conversation_id for a customer: {item:?}");
    let all = format!("{item:?}");
    assert!(
        test_support::logs::email_addresses(&all).is_empty()
            && !all.to_lowercase().contains("old.address")
            && !all.to_lowercase().contains("new.address"),
        "an address in clear: {all}"
    );

    // A replay (a new envelope, the same log) writes the same item over itself.
    let mut replay = sce_at(changed_at);
    replay["id"] = json!("replayed-envelope-id");
    handler.process(replay, &deadline()).await.unwrap();
    assert_eq!(items(&dynamo, &table).await, got);

    // Checked before this test reads the queue: the SDK traces SQS bodies, and those are ours.
    let text = capture.text();
    assert!(
        text.contains("address change recorded in the email history"),
        "{text}"
    );
    logs::assert_no_email_addresses(&text);
    // Both deliveries' emails went out (send-email drops the second pair by dedupe_key).
    assert_eq!(bus.receive(4, Duration::from_secs(10)).await.len(), 4);
}

#[tokio::test]
async fn a_support_agents_sce_is_recorded_though_not_emailed() {
    let (capture, _guard) = logs::Capture::install();
    let moto = test_support::moto::server().await;
    let (dynamo, table) = history_table(&moto).await;
    let bus = email_bus(&moto).await;
    let handler = handler_with_history(
        &moto,
        &bus.bus_name,
        &table,
        &[("DIXA_AUTH0_CLIENT_ID", SCE_CLIENT_ID)],
    )
    .await;

    let changed_at = Clock::default().now_s() - 60;
    let out = handler
        .process(sce_at(changed_at), &deadline())
        .await
        .unwrap();
    assert_eq!(out.published, []);
    assert_eq!(
        serde_json::to_value(&out).unwrap()["skipped"],
        json!(["changed_by_support", "changed_by_support"])
    );
    let got = items(&dynamo, &table).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let item = &got[0];
    assert_eq!(
        s(item, "address_key"),
        address_key("old.address@example.com")
    );
    assert_eq!(s(item, "changed_by"), "agent");
    // The log does not say which Dixa conversation: see email_transform::history.
    assert_eq!(
        s(item, "conversation_id"),
        email_transform::history::UNKNOWN_CONVERSATION
    );
    assert_eq!(s(item, "source_id"), SCE_LOG_ID);
    assert_eq!(n(item, "changed_at"), changed_at);
    assert!(
        bus.receive(0, Duration::from_secs(1)).await.is_empty(),
        "no email for an agent's change"
    );
    logs::assert_no_email_addresses(&capture.text());
}

#[tokio::test]
async fn a_failing_history_fails_the_invocation_after_the_emails_were_published() {
    let (capture, _guard) = logs::Capture::install();
    let moto = test_support::moto::server().await;
    let bus = email_bus(&moto).await;
    // A table that does not exist: every PutItem fails (ResourceNotFoundException).
    let missing = test_support::unique("no-such-history");
    let handler = handler_with_history(&moto, &bus.bus_name, &missing, &[]).await;

    let err = handler
        .process(sce_at(Clock::default().now_s()), &deadline())
        .await
        .unwrap_err();
    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "HistoryWriteFailed");
    let message = &diagnostic.error_message;
    assert!(
        message.contains(SCE_LOG_ID) && message.contains("ResourceNotFoundException"),
        "{message}"
    );
    logs::assert_no_email_addresses(message);
    // Checked before this test reads the queue: the SDK traces SQS bodies, and those are ours.
    let text = capture.text();
    let published = text
        .find("SendEmail events published")
        .unwrap_or_else(|| panic!("no publish line: {text}"));
    let failed = text
        .find("recording the address change in the email history failed")
        .unwrap_or_else(|| panic!("no error line: {text}"));
    assert!(published < failed, "the emails first: {text}");
    let failure_line = text[failed..].lines().next().unwrap_or_default();
    assert!(failure_line.contains(SCE_LOG_ID), "{failure_line}");
    logs::assert_no_email_addresses(&text);

    // The emails went out first: the failure costs no email.
    let mut got = bus.receive(2, Duration::from_secs(10)).await;
    got.sort_by_key(|e| e["detail"]["kind"].as_str().unwrap_or_default().to_owned());
    let kinds: Vec<&Value> = got.iter().map(|e| &e["detail"]["kind"]).collect();
    assert_eq!(
        kinds,
        [
            &json!("email_changed_new_address"),
            &json!("email_changed_old_address")
        ]
    );
}

#[tokio::test]
async fn an_sce_without_an_old_address_and_other_log_types_record_nothing() {
    let (capture, _guard) = logs::Capture::install();
    let moto = test_support::moto::server().await;
    let (dynamo, table) = history_table(&moto).await;
    let bus = email_bus(&moto).await;
    let handler = handler_with_history(&moto, &bus.bus_name, &table, &[]).await;

    // Only the new address: its email goes out, the history has nothing to key it by.
    let out = handler
        .process(sample("sce_only_new_email"), &deadline())
        .await
        .unwrap();
    assert_eq!(out.published.len(), 1);
    // Not an sce: nothing to record, nothing said about it.
    handler.process(sample("scp"), &deadline()).await.unwrap();
    assert!(items(&dynamo, &table).await.is_empty());
    let text = capture.text();
    let line = text
        .lines()
        .find(|l| l.contains("address change not recorded in the email history"))
        .unwrap_or_else(|| panic!("no skip line: {text}"));
    assert!(
        line.contains("no_old_address") && line.contains("90020261120095811043000000000000011"),
        "{line}"
    );
    assert_eq!(
        text.matches("not recorded in the email history").count(),
        1,
        "{text}"
    );
    logs::assert_no_email_addresses(&text);
}
