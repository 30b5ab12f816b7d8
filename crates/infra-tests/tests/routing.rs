//! Routing proof on moto: every EventBridge rule of `infra/template.yaml`, with its pattern read
//! from the template, is installed on a moto bus standing for its bus, each function's rules
//! target one SQS queue per function, and every sample in `events/` must land at exactly the
//! function the application code says handles it, and nowhere else.
//!
//! moto stand-ins: moto rejects a rule on a bus whose name contains `/` (it keeps only the
//! last path segment of the name), so the Auth0 partner bus `aws.partner/auth0.com/...` is a
//! plain-named bus here. moto also accepts `aws.partner/...` sources from PutEvents, which AWS
//! reserves for the partner; that is what lets the samples be put as Auth0 would send them.

use auth0_events::{LogType, send_email};
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use aws_sdk_sqs::types::QueueAttributeName;
use infra_tests::{ref_to, workspace_root};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const EMAIL_TRANSFORM: &str = "email-transform";
const HYBRIS_RESET_PASSWORD: &str = "hybris-reset-password";
const SEND_EMAIL: &str = "send-email";

/// Which function must receive a sample, from what the application code handles (not from the
/// template): `detail.data.type` of an Auth0 log, the SendEmail contract's source and type.
fn expected_function(sample: &Value) -> Option<&'static str> {
    if sample["source"] == send_email::SOURCE && sample["detail-type"] == send_email::DETAIL_TYPE {
        return Some(SEND_EMAIL);
    }
    let log_type = LogType::from(sample["detail"]["data"]["type"].as_str()?);
    if log_type.is_brute_force_block() || matches!(log_type, LogType::Scp | LogType::Sce) {
        Some(EMAIL_TRANSFORM)
    } else if log_type == LogType::Fcpr {
        Some(HYBRIS_RESET_PASSWORD)
    } else {
        None
    }
}

/// Which of the template's buses a sample directory is put on.
const SAMPLE_DIRS: [(&str, &str); 2] = [
    ("events/auth0", "Auth0PartnerEventBusName"),
    ("events/send-email", "EmailBus"),
];

struct Sample {
    name: String,
    bus: &'static str,
    event: Value,
}

fn samples() -> Vec<Sample> {
    let mut out = Vec::new();
    for (dir, bus) in SAMPLE_DIRS {
        let mut paths: Vec<_> = std::fs::read_dir(workspace_root().join(dir))
            .unwrap_or_else(|e| panic!("read {dir}: {e}"))
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).expect("read sample");
            out.push(Sample {
                name: format!(
                    "{dir}/{}",
                    path.file_name().unwrap_or_default().to_string_lossy()
                ),
                bus,
                event: serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            });
        }
    }
    out
}

#[test]
fn expectations_cover_the_named_samples() {
    // The derivation above must say what the issue says for the named samples.
    let by_name: BTreeMap<String, Option<&str>> = samples()
        .iter()
        .map(|s| (s.name.clone(), expected_function(&s.event)))
        .collect();
    let want = [
        ("limit_wc", Some(EMAIL_TRANSFORM)),
        ("limit_sul", Some(EMAIL_TRANSFORM)),
        ("limit_mu", Some(EMAIL_TRANSFORM)),
        ("scp", Some(EMAIL_TRANSFORM)),
        ("sce", Some(EMAIL_TRANSFORM)),
        ("fcpr", Some(HYBRIS_RESET_PASSWORD)),
        ("s", None),
        ("fp", None),
        ("unknown_type", None),
        ("malformed_flat_detail", None),
    ];
    for (name, function) in want {
        let key = format!("events/auth0/{name}.json");
        assert_eq!(by_name.get(&key), Some(&function), "{key}");
    }
    for (name, function) in &by_name {
        if name.starts_with("events/send-email/") {
            assert_eq!(*function, Some(SEND_EMAIL), "{name}");
        }
    }
}

#[tokio::test]
async fn every_sample_reaches_exactly_its_function() {
    let template = infra_tests::template();
    let rules = template.eventbridge_rules();
    // Rule resources count too (send-email's fills its queue): each must lead to a function.
    let resource_rules = rules.iter().filter(|r| r.via_queue.is_some()).count();
    assert_eq!(
        resource_rules,
        template.of_type("AWS::Events::Rule").len(),
        "an AWS::Events::Rule that leads to no function's queue"
    );
    assert!(!rules.is_empty(), "the template has no EventBridge rules");

    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);

    // One moto bus per template bus.
    let mut buses: BTreeMap<&str, String> = BTreeMap::new();
    for rule in &rules {
        let bus = SAMPLE_DIRS
            .iter()
            .map(|(_, bus)| *bus)
            .find(|bus| *rule.bus() == ref_to(bus))
            .unwrap_or_else(|| {
                panic!(
                    "{}.{}: EventBusName {} is neither the partner bus parameter nor EmailBus",
                    rule.function,
                    rule.event_name,
                    rule.bus()
                )
            });
        if !buses.contains_key(bus) {
            let name = test_support::unique(&bus.to_ascii_lowercase());
            events
                .create_event_bus()
                .name(&name)
                .send()
                .await
                .expect("create bus");
            buses.insert(bus, name);
        }
    }

    // One queue per target function.
    let mut queues: BTreeMap<&str, String> = BTreeMap::new();
    for rule in &rules {
        if queues.contains_key(rule.binary) {
            continue;
        }
        let url = sqs
            .create_queue()
            .queue_name(test_support::unique(rule.binary))
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue url");
        queues.insert(rule.binary, url);
    }

    // Every rule, pattern from the template, → its function's queue.
    for rule in &rules {
        let bus_key = SAMPLE_DIRS
            .iter()
            .map(|(_, bus)| *bus)
            .find(|bus| *rule.bus() == ref_to(bus))
            .expect("bus checked above");
        let bus = &buses[bus_key];
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queues[rule.binary])
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .expect("queue arn");
        let name = test_support::unique(rule.event_name);
        events
            .put_rule()
            .name(&name)
            .event_bus_name(bus)
            .event_pattern(rule.pattern().to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put rule {}.{}: {e:?}", rule.function, rule.event_name));
        events
            .put_targets()
            .rule(&name)
            .event_bus_name(bus)
            .targets(
                Target::builder()
                    .id("function-queue")
                    .arn(queue_arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("put targets");
    }

    let samples = samples();
    let mut reached_functions = BTreeSet::new();
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for sample in &samples {
        let want = expected_function(&sample.event);
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&buses[sample.bus])
            .source(sample.event["source"].as_str().expect("sample source"))
            .detail_type(
                sample.event["detail-type"]
                    .as_str()
                    .expect("sample detail-type"),
            )
            .detail(sample.event["detail"].to_string())
            .build();
        let out = events
            .put_events()
            .entries(entry)
            .send()
            .await
            .expect("put events");
        assert_eq!(out.failed_entry_count, 0, "{}: {out:?}", sample.name);

        let landed = drain_until(&sqs, &queues, want).await;
        for (function, body) in &landed {
            assert_eq!(
                body["detail"], sample.event["detail"],
                "{}: {function}'s queue got another event",
                sample.name
            );
        }
        let got: Vec<&str> = landed.iter().map(|(f, _)| *f).collect();
        let want_list: Vec<&str> = want.into_iter().collect();
        report.push(format!("{:<50} -> {got:?}", sample.name));
        if got != want_list {
            failures.push(format!(
                "{}: expected {want_list:?}, landed at {got:?}",
                sample.name
            ));
        }
        reached_functions.extend(got);
    }
    println!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every rule's function was reached by at least one sample.
    let targets: BTreeSet<&str> = rules.iter().map(|r| r.binary).collect();
    assert_eq!(reached_functions, targets, "a rule no sample exercises");
}

/// Drains every queue (moto delivers during PutEvents; the poll waits up to 5 s for the
/// expected queue anyway), then once more so an extra delivery is seen too.
async fn drain_until<'a>(
    sqs: &aws_sdk_sqs::Client,
    queues: &BTreeMap<&'a str, String>,
    want: Option<&str>,
) -> Vec<(&'a str, Value)> {
    let start = Instant::now();
    let mut landed = Vec::new();
    loop {
        for (function, url) in queues {
            landed.extend(drain(sqs, url).await.into_iter().map(|b| (*function, b)));
        }
        let seen = want.is_none_or(|w| landed.iter().any(|(f, _)| *f == w));
        if seen || start.elapsed() > Duration::from_secs(5) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (function, url) in queues {
        landed.extend(drain(sqs, url).await.into_iter().map(|b| (*function, b)));
    }
    landed
}

async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
    let mut bodies = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("receive");
        if out.messages().is_empty() {
            return bodies;
        }
        for m in out.messages() {
            let body = m.body().unwrap_or_default();
            bodies.push(serde_json::from_str(body).unwrap_or(Value::String(body.into())));
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete message");
            }
        }
    }
}
