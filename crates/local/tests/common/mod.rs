//! Starting the local system in-process for a test: any free ports, a fresh outbox.

#![allow(dead_code)]

pub mod card;

use local::{LocalSystem, Options, hops::Hop, send};
use std::{
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

/// A fresh directory under the system's temp dir.
pub fn temp_dir(what: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "local-test-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The template's system with Lambda's and SQS's waits a thousandth of the deployed ones (a
/// 180 s visibility timeout is 180 ms, the 1 and 2 minute retry delays 60 and 120 ms).
pub fn options() -> Options {
    let mut options = Options::new(workspace().join("infra/template.yaml"), temp_dir("outbox"));
    options.time_scale = 0.001;
    options
}

pub async fn start() -> LocalSystem {
    start_with(options()).await
}

pub async fn start_with(options: Options) -> LocalSystem {
    LocalSystem::start(options)
        .await
        .expect("local system starts")
}

/// The real SDK client, pointed at the local EventBridge endpoint.
pub async fn eventbridge(system: &LocalSystem) -> aws_sdk_eventbridge::Client {
    let sdk = local::functions::sdk_config(&system.endpoints().eventbridge);
    aws_sdk_eventbridge::Client::new(&sdk)
}

pub fn sample_path(name: &str) -> PathBuf {
    workspace()
        .join("events/auth0")
        .join(format!("{name}.json"))
}

/// The sample `name` as another log: its own event id and `log_id`, both made from `n` (the
/// `log_id` after `prefix`, so that tests can keep their logs apart).
pub fn sample_as_log(name: &str, prefix: &str, n: u32) -> serde_json::Value {
    let mut log = send::read_json(&sample_path(name)).expect("sample");
    let log_id = serde_json::json!(format!("{prefix}{n:04}"));
    log["id"] = serde_json::json!(format!("6a7e8feb-0000-4000-8000-{n:012}"));
    log["detail"]["log_id"] = log_id.clone();
    log["detail"]["data"]["log_id"] = log_id;
    log
}

/// Puts the sample through PutEvents with the real client and waits until every invocation it
/// caused has finished; returns the accepted event ids and the hops of those traces.
pub async fn put_sample(
    system: &LocalSystem,
    client: &aws_sdk_eventbridge::Client,
    name: &str,
) -> (Vec<String>, Vec<Hop>) {
    let sample = send::read_json(&sample_path(name)).expect("sample");
    put(system, client, &sample).await
}

/// Puts one event (an EventBridge envelope, as the samples are) as [`put_sample`] does.
pub async fn put(
    system: &LocalSystem,
    client: &aws_sdk_eventbridge::Client,
    event: &serde_json::Value,
) -> (Vec<String>, Vec<Hop>) {
    put_all(system, client, std::slice::from_ref(event)).await
}

/// Puts events (up to PutEvents' 10) in one call, as [`put`] does one.
pub async fn put_all(
    system: &LocalSystem,
    client: &aws_sdk_eventbridge::Client,
    events: &[serde_json::Value],
) -> (Vec<String>, Vec<Hop>) {
    let entries = events
        .iter()
        .map(|event| send::entry_for(event, None).expect("entry"))
        .collect();
    let out = client
        .put_events()
        .set_entries(Some(entries))
        .send()
        .await
        .expect("PutEvents");
    assert_eq!(out.failed_entry_count(), 0, "{out:?}");
    let ids: Vec<String> = out
        .entries()
        .iter()
        .filter_map(|e| e.event_id().map(str::to_owned))
        .collect();
    system
        .settle(&ids, Duration::from_secs(20))
        .await
        .expect("settles");
    let hops = system
        .hops()
        .all()
        .into_iter()
        .filter(|h| ids.contains(&h.trace))
        .collect();
    (ids, hops)
}

/// What the outbox holds, as sorted `(kind, recipient)` pairs.
pub fn outbox_kinds(system: &LocalSystem) -> Vec<(String, String)> {
    let mut got: Vec<(String, String)> = system
        .outbox()
        .entries()
        .into_iter()
        .map(|e| (e.kind, e.recipient))
        .collect();
    got.sort();
    got
}

/// How many emails of `kind` the outbox holds.
pub fn emails_of(system: &LocalSystem, kind: &str) -> usize {
    system
        .outbox()
        .entries()
        .into_iter()
        .filter(|e| e.kind == kind)
        .count()
}

/// Waits until the outbox holds exactly `want` (in any order), then until everything the
/// system was doing has finished, and checks that nothing more arrived.
pub async fn outbox_is(system: &LocalSystem, want: &[(&str, &str)]) {
    let mut want: Vec<(String, String)> = want
        .iter()
        .map(|(k, r)| ((*k).to_owned(), (*r).to_owned()))
        .collect();
    want.sort();
    let start = Instant::now();
    while outbox_kinds(system) != want {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "outbox: {:?}, want {want:?}",
            outbox_kinds(system)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    system.settle(&[], Duration::from_secs(20)).await.unwrap();
    assert_eq!(outbox_kinds(system), want);
}
