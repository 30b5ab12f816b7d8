//! email-transform against moto server with the real SDK client: events land on the Email bus
//! and a rule → SQS target on it receives them; a per-entry failure is detected.

use auth0_events::send_email;
use email_bus::{PublishError, Publisher};
use email_transform::{Config, Handler};
use lambda_support::{
    Env,
    retry::{Backoff, Deadline},
};
use serde_json::{Value, json};
use std::time::Duration;
use test_support::{aws::BusWithQueue, logs};

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/../../events/auth0/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn send_email_pattern() -> Value {
    json!({"source": [send_email::SOURCE], "detail-type": [send_email::DETAIL_TYPE]})
}

#[tokio::test]
async fn sce_lands_two_send_email_events_on_the_email_bus() {
    let (capture, _guard) = logs::Capture::install();
    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let bus =
        BusWithQueue::create(&sdk, &test_support::unique("email"), &send_email_pattern()).await;

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
    let bus =
        BusWithQueue::create(&sdk, &test_support::unique("email"), &send_email_pattern()).await;
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
