//! Routing comes from the template: the same system started on a changed copy of
//! `infra/template.yaml` routes differently. Also the PutEvents contract as the SDK sees it.

mod common;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use local::{LocalSystem, hops::What};
use std::time::Duration;

/// Every failed invocation among `hops`: `("<function>: <errorType>", what happens next)`.
fn failures(hops: &[local::hops::Hop]) -> Vec<(String, String)> {
    hops.iter()
        .filter_map(|h| match &h.what {
            What::Failed {
                function,
                error_type,
                then,
                ..
            } => Some((
                format!("{function}: {error_type}"),
                then.clone().unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_pattern_changed_in_the_template_changes_the_routing() {
    let original =
        std::fs::read_to_string(common::workspace().join("infra/template.yaml")).unwrap();
    let from = "type: [limit_wc, limit_sul, limit_mu, scp, sce]";
    assert!(original.contains(from), "email-transform's rule pattern");
    let changed = original.replace(from, "type: [limit_wc, limit_sul, limit_mu, sce]");
    let dir = common::temp_dir("template");
    let copy = dir.join("template.yaml");
    std::fs::write(&copy, changed).unwrap();
    let mut options = common::options();
    options.template = copy;
    let system = LocalSystem::start(options).await.unwrap();
    let client = common::eventbridge(&system).await;

    let (_, hops) = common::put_sample(&system, &client, "scp").await;
    assert!(
        system.outbox().entries().is_empty(),
        "scp no longer emailed"
    );
    assert!(
        hops.iter()
            .any(|h| matches!(h.what, What::NoRuleMatched { .. })),
        "no rule matched scp: {hops:?}"
    );

    common::put_sample(&system, &client, "limit_wc").await;
    let entries = system.outbox().entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].kind.as_str(), entries[0].recipient.as_str()),
        ("account_blocked", "jane.doe@example.com")
    );
    system.shutdown().await;
}

#[tokio::test]
async fn put_events_answers_as_eventbridge_does() {
    let system = common::start().await;
    let client = common::eventbridge(&system).await;
    let entry = |detail: &str, bus: &str| {
        PutEventsRequestEntry::builder()
            .source("test.local")
            .detail_type("Probe")
            .detail(detail)
            .event_bus_name(bus)
            .build()
    };

    // More than 10 entries: the whole call is refused.
    let err = client
        .put_events()
        .set_entries(Some(vec![entry("{}", "default"); 11]))
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    assert_eq!(service.meta().code(), Some("ValidationException"));

    // Per entry: a non-object Detail fails with MalformedDetail, an unknown bus with
    // ResourceNotFoundException; the others get an EventId. A bus may be named by ARN.
    let arn = "arn:aws:events:eu-west-1:123456789012:event-bus/email";
    let out = client
        .put_events()
        .entries(entry("{\"ok\":true}", arn))
        .entries(entry("[1,2]", "default"))
        .entries(entry("not json", "default"))
        .entries(entry("{}", "no-such-bus"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_entry_count(), 3);
    let e = out.entries();
    assert!(e[0].event_id().is_some_and(|id| id.len() == 36));
    assert_eq!(e[1].error_code(), Some("MalformedDetail"));
    assert_eq!(e[2].error_code(), Some("MalformedDetail"));
    assert_eq!(e[3].error_code(), Some("ResourceNotFoundException"));

    // The accepted one is a full envelope on the email bus (no rule matches it there).
    let id = e[0].event_id().unwrap().to_owned();
    system
        .settle(std::slice::from_ref(&id), std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let hops = system.hops().all();
    assert!(hops.iter().any(|h| matches!(
        &h.what,
        What::EventAccepted { bus, event_id, .. } if bus == "email" && *event_id == id
    )));
    assert!(hops.iter().any(|h| matches!(
        &h.what,
        What::NoRuleMatched { event_id, .. } if *event_id == id
    )));
    system.shutdown().await;
}

#[tokio::test]
async fn send_prints_every_hop_and_the_outbox_file() {
    let system = common::start().await;
    let target = local::send::Target::from_state(&system.state_file());
    let mut out = Vec::new();
    let sent = local::send::send_files(&target, &[common::sample_path("sce")], None, &mut |l| {
        out.push(l)
    })
    .await
    .unwrap();
    let text = out.join("\n");
    for needle in [
        "PutEvents on bus aws.partner/auth0.com/local/auth0.logs: FailedEntryCount 0",
        "rule local-email-transform matched → email-transform",
        "email-transform put event",
        "rule local-send-email matched → queue SendEmailQueue → send-email",
        "send-email → bloomreach POST /email/v2/projects/local-project/sync → 200",
        "email in the outbox:",
        "2 email(s) in the outbox",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert_eq!(sent[0].outbox_files().len(), 2);
    assert!(
        sent[0]
            .outbox_files()
            .iter()
            .all(|f| std::path::Path::new(f).exists())
    );
    // The provider calls never show an address.
    for line in text
        .lines()
        .filter(|l| l.contains(" → ") && !l.contains("outbox"))
    {
        assert!(!line.contains('@'), "address in {line:?}");
    }
    system.shutdown().await;
}

/// A SendEmail event that breaks the contract: the rule puts it on send-email's queue, every
/// receive fails it (`MalformedEvent`, named in the partial batch response), and after the
/// queue's `maxReceiveCount` receives it moves to the dead-letter queue, where a redrive takes
/// it back to the work queue.
#[tokio::test]
async fn a_failing_record_goes_back_to_the_queue_and_then_to_the_dead_letter_queue() {
    let system = common::start().await;
    let client = common::eventbridge(&system).await;
    let put = || {
        client
            .put_events()
            .entries(
                PutEventsRequestEntry::builder()
                    .source(auth0_events::send_email::SOURCE)
                    .detail_type(auth0_events::send_email::DETAIL_TYPE)
                    .detail(r#"{"version": 1, "kind": "account_blocked"}"#)
                    .event_bus_name("email")
                    .build(),
            )
            .send()
    };
    let out = put().await.unwrap();
    let id = out.entries()[0].event_id().unwrap().to_owned();
    system
        .settle(std::slice::from_ref(&id), Duration::from_secs(20))
        .await
        .unwrap();
    let max_receives = system.topology().functions["send-email"]
        .queue_source
        .as_ref()
        .and_then(|q| q.dead_letter.clone())
        .map(|(_, n)| n)
        .unwrap();
    let hops = system.hops().all();
    let failures = failures(&hops);
    assert_eq!(failures.len() as u64, max_receives, "{failures:?}");
    assert!(
        failures
            .iter()
            .all(|(f, _)| f == "send-email: MalformedEvent")
    );
    assert!(
        failures[0]
            .1
            .starts_with("back to SendEmailQueue in 0.180 s (receive 1 of 20)"),
        "{:?}",
        failures[0]
    );
    assert!(hops.iter().any(|h| matches!(
        &h.what,
        What::DeadLettered { dead_letter_queue, receives, .. }
            if dead_letter_queue == "SendEmailFailureQueue" && *receives == max_receives
    )));
    let depth = |name: &str| {
        system
            .queues()
            .into_iter()
            .find(|q| q.name == name)
            .map(|q| (q.visible, q.in_flight))
    };
    assert_eq!(depth("SendEmailFailureQueue"), Some((1, 0)));
    assert_eq!(depth("SendEmailQueue"), Some((0, 0)));
    assert!(system.outbox().entries().is_empty());

    // Redriven: back on the work queue, received again (and, still malformed, failed again).
    assert_eq!(system.redrive("SendEmailFailureQueue"), Some(1));
    assert_eq!(depth("SendEmailFailureQueue"), Some((0, 0)));
    system
        .settle(std::slice::from_ref(&id), Duration::from_secs(20))
        .await
        .unwrap();
    let again = system
        .hops()
        .all()
        .iter()
        .filter(|h| matches!(&h.what, What::Failed { .. }))
        .count() as u64;
    assert_eq!(again, 2 * max_receives);
    assert_eq!(depth("SendEmailFailureQueue"), Some((1, 0)));
    assert_eq!(
        system.redrive("SendEmailQueue"),
        None,
        "not a dead-letter queue"
    );
    system.shutdown().await;
}

/// An Auth0 log email-transform cannot read (no `log_id` anywhere): Lambda's asynchronous
/// invocation as the template configures it, three attempts (the retries after 1 and 2 minutes,
/// scaled down here), then Lambda's OnFailure record on `EmailTransformFailureQueue`; a redrive
/// invokes the function again with the original event.
#[tokio::test]
async fn a_failing_log_is_retried_twice_then_parked_in_the_on_failure_queue() {
    let system = common::start().await;
    let client = common::eventbridge(&system).await;
    let mut log = common::sample_as_log("scp", "9002026112009581104388000000000", 1);
    for at in ["/detail", "/detail/data"] {
        log.pointer_mut(at)
            .and_then(|v| v.as_object_mut())
            .map(|o| o.remove("log_id"))
            .expect("the sample's log_id");
    }
    let (ids, hops) = common::put(&system, &client, &log).await;
    let failures = failures(&hops);
    let thens: Vec<&str> = failures.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        thens,
        [
            "Lambda retries it in 0.060 s (attempt 2 of 3)",
            "Lambda retries it in 0.120 s (attempt 3 of 3)",
            "RetriesExhausted after 3 attempt(s): sent to EmailTransformFailureQueue",
        ],
        "{failures:?}"
    );
    assert!(
        failures
            .iter()
            .all(|(f, _)| f == "email-transform: MalformedEvent")
    );
    let parked = system
        .queues()
        .into_iter()
        .find(|q| q.name == "EmailTransformFailureQueue")
        .expect("the OnFailure queue");
    assert_eq!((parked.visible, parked.in_flight), (1, 0));

    // Redriven: the original event, invoked again (and, still unreadable, parked again).
    assert_eq!(system.redrive("EmailTransformFailureQueue"), Some(1));
    system.settle(&ids, Duration::from_secs(20)).await.unwrap();
    let all = system.hops().all();
    assert!(all.iter().any(|h| matches!(
        &h.what,
        What::Redriven { from, function, .. }
            if from == "EmailTransformFailureQueue" && function == "email-transform"
    )));
    let failed = all
        .iter()
        .filter(|h| matches!(&h.what, What::Failed { .. }))
        .count();
    assert_eq!(failed, 6, "three more attempts after the redrive");
    system.shutdown().await;
}

#[tokio::test]
async fn a_configured_provider_replaces_its_sandbox() {
    // System A plays the "real" Bloomreach; system B is told to use it through the same
    // settings send-email reads, and so starts no Bloomreach sandbox of its own.
    let real = common::start().await;
    let bloomreach = real.bloomreach().unwrap().settings().clone();
    let mut options = common::options();
    options.env = [
        (
            "BLOOMREACH_API_BASE",
            real.endpoints().bloomreach.clone().unwrap(),
        ),
        ("BLOOMREACH_PROJECT_TOKEN", bloomreach.project_token),
        ("BLOOMREACH_API_KEY_ID", bloomreach.key_id),
        ("BLOOMREACH_API_SECRET", bloomreach.key_secret),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .chain(auth0_events::EmailKind::ALL.into_iter().map(|kind| {
        (
            format!("BLOOMREACH_TEMPLATE_{}", kind.as_str().to_ascii_uppercase()),
            local::sandbox::template_id(kind),
        )
    }))
    .collect();
    let system = LocalSystem::start(options).await.unwrap();
    assert!(system.bloomreach().is_none());
    assert!(system.endpoints().bloomreach.is_none());
    let client = common::eventbridge(&system).await;

    common::put_sample(&system, &client, "limit_wc").await;
    assert!(system.outbox().entries().is_empty());
    let sent = real.outbox().entries();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].recipient, "jane.doe@example.com");
    system.shutdown().await;
    real.shutdown().await;
}
