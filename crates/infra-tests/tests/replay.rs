//! The replay path: the template archives every event on the Auth0 partner bus, and on moto a
//! replay of that archive reaches email-transform's rule again with the same `log_id`, so the
//! SendEmail `dedupe_key`s are the ones already recorded and send-email answers `duplicate`
//! (its dedupe tests) instead of emailing twice. An event without `detail.data.type` matches
//! no rule and is found only in the archive.
//!
//! moto stand-ins as in `routing.rs` (a plain-named bus for the partner bus). moto replays
//! the whole archive at once, whatever the time window; AWS replays the window asked for.

use auth0_events::{Auth0Event, DedupeKey, EmailKind};
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, ReplayDestination, Target};
use aws_sdk_sqs::types::QueueAttributeName;
use infra_tests::{ref_to, workspace_root};
use serde_json::Value;
use std::time::{Duration, Instant};

fn sample(name: &str) -> Value {
    let path = workspace_root().join("events/auth0").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("json")
}

#[test]
fn the_partner_bus_is_archived_whole_with_a_retention_parameter() {
    let t = infra_tests::template();
    let archives = t.of_type("AWS::Events::Archive");
    assert_eq!(archives.len(), 1, "one archive");
    let props = &archives[0].1["Properties"];
    assert!(
        props["SourceArn"]
            .to_string()
            .contains("event-bus/${Auth0PartnerEventBusName}"),
        "{}",
        props["SourceArn"]
    );
    assert_eq!(
        props["RetentionDays"],
        ref_to("Auth0LogArchiveRetentionDays")
    );
    assert!(
        props.get("EventPattern").is_none(),
        "no pattern: events no rule matches must be archived too"
    );
    assert_eq!(
        t.parameters()["Auth0LogArchiveRetentionDays"]["Type"],
        "Number"
    );
}

async fn receive_all(sqs: &aws_sdk_sqs::Client, queue: &str, want: usize) -> Vec<Value> {
    let mut got = Vec::new();
    let started = Instant::now();
    while got.len() < want && started.elapsed() < Duration::from_secs(5) {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for m in out.messages.unwrap_or_default() {
            got.push(serde_json::from_str(m.body().expect("body")).expect("event json"));
        }
    }
    // Nothing more arrives.
    let extra = sqs
        .receive_message()
        .queue_url(queue)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive");
    assert!(
        extra.messages.unwrap_or_default().is_empty(),
        "more than {want}"
    );
    got
}

fn dedupe_keys(event: &Value) -> Vec<DedupeKey> {
    let log = Auth0Event::from_value(event.clone()).expect("an Auth0 log");
    [
        EmailKind::EmailChangedOldAddress,
        EmailKind::EmailChangedNewAddress,
    ]
    .into_iter()
    .map(|k| DedupeKey::for_email(&log.log_id, k))
    .collect()
}

#[tokio::test]
async fn a_replay_reaches_the_rule_again_with_the_same_dedupe_keys() {
    let t = infra_tests::template();
    let rule = t
        .eventbridge_rules()
        .into_iter()
        .find(|r| r.binary == "email-transform")
        .expect("email-transform rule");
    assert_eq!(rule.bus(), &ref_to("Auth0PartnerEventBusName"));

    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);

    let bus = test_support::unique("auth0-partner");
    let bus_arn = events
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("bus")
        .event_bus_arn
        .expect("bus arn");
    let queue = sqs
        .create_queue()
        .queue_name(test_support::unique("email-transform"))
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("queue url");
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn");
    let rule_name = test_support::unique("email-transform");
    events
        .put_rule()
        .name(&rule_name)
        .event_bus_name(&bus)
        .event_pattern(rule.pattern().to_string())
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule(&rule_name)
        .event_bus_name(&bus)
        .targets(
            Target::builder()
                .id("q")
                .arn(queue_arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("targets");
    // As the template declares it: the whole bus, no pattern.
    let archive_name = test_support::unique("a").replace('-', "");
    let archive_arn = events
        .create_archive()
        .archive_name(&archive_name[..archive_name.len().min(48)])
        .event_source_arn(&bus_arn)
        .retention_days(30)
        .send()
        .await
        .expect("archive")
        .archive_arn
        .expect("archive arn");

    let sce = sample("sce.json");
    let flat = sample("malformed_flat_detail.json");
    for e in [&sce, &flat] {
        let out = events
            .put_events()
            .entries(
                PutEventsRequestEntry::builder()
                    .event_bus_name(&bus)
                    .source(e["source"].as_str().expect("source"))
                    .detail_type(e["detail-type"].as_str().expect("detail-type"))
                    .detail(e["detail"].to_string())
                    .build(),
            )
            .send()
            .await
            .expect("put");
        assert_eq!(out.failed_entry_count, 0);
    }
    // The rule got the sce; the event without detail.data.type reached nothing...
    let first = receive_all(&sqs, &queue, 1).await;
    assert_eq!(first[0]["detail"], sce["detail"]);
    // ...but both are in the archive.
    let described = events
        .describe_archive()
        .archive_name(&archive_name[..archive_name.len().min(48)])
        .send()
        .await
        .expect("describe archive");
    assert_eq!(described.event_count, 2);

    // The runbook's replay: the archive, a time window, back onto the same bus.
    let now = aws_sdk_eventbridge::primitives::DateTime::from(std::time::SystemTime::now());
    let hour_ago = aws_sdk_eventbridge::primitives::DateTime::from_secs(now.secs() - 3_600);
    events
        .start_replay()
        .replay_name(test_support::unique("replay"))
        .event_source_arn(&archive_arn)
        .event_start_time(hour_ago)
        .event_end_time(now)
        .destination(
            ReplayDestination::builder()
                .arn(&bus_arn)
                .build()
                .expect("destination"),
        )
        .send()
        .await
        .expect("start replay");
    let replayed = receive_all(&sqs, &queue, 1).await;
    assert_eq!(replayed[0]["detail"], sce["detail"]);
    assert!(replayed[0].get("replay-name").is_some(), "{}", replayed[0]);
    assert_ne!(replayed[0]["id"], first[0]["id"], "a new envelope id");
    // Same log_id, so the same SendEmail dedupe keys: send-email answers "duplicate".
    assert_eq!(dedupe_keys(&replayed[0]), dedupe_keys(&first[0]));
}
