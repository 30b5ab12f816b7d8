//! `local send <file>...`: puts sample events on the running system with the real
//! aws-sdk-eventbridge client and prints every hop each one took.

use crate::{
    aws::topology::{AUTH0_PARTNER_BUS, DEFAULT_BUS, EMAIL_BUS},
    runner::error::{LocalError, NotAnEvent},
    runner::hops::{Hop, HopsPage, What, tree},
    runner::state::StateFile,
};
use aws_sdk_eventbridge::{
    primitives::{DateTime, DateTimeFormat},
    types::PutEventsRequestEntry,
};
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

/// Where the running system is (from `.local/state.json`).
#[derive(Debug, Clone)]
pub struct Target {
    pub eventbridge: String,
    pub hops: String,
}

impl Target {
    pub fn from_state(state: &StateFile) -> Self {
        Self {
            eventbridge: state.endpoints.eventbridge.clone(),
            hops: state.endpoints.hops.clone(),
        }
    }
}

/// The bus a sample goes to when none is named: Auth0 logs to the Auth0 partner bus,
/// SendEmail events to the Email bus, anything else to `default`.
pub fn bus_for_source(source: &str) -> &'static str {
    if source.starts_with("aws.partner/auth0.com") {
        AUTH0_PARTNER_BUS
    } else if source == auth0_events::send_email::SOURCE {
        EMAIL_BUS
    } else {
        DEFAULT_BUS
    }
}

/// The PutEvents entry for a sample: an event envelope as in `events/` (`source`,
/// `detail-type`, `detail`, optional `time`, `resources`), or a PutEvents entry itself
/// (`Source`, `DetailType`, `Detail`, ...). `bus` overrides the bus.
pub fn entry_for(sample: &Value, bus: Option<&str>) -> Result<PutEventsRequestEntry, NotAnEvent> {
    let envelope = sample.get("detail-type").is_some();
    let (source, detail_type, detail, time, resources, named_bus) = if envelope {
        (
            &sample["source"],
            &sample["detail-type"],
            &sample["detail"],
            &sample["time"],
            &sample["resources"],
            &Value::Null,
        )
    } else if sample.get("DetailType").is_some() {
        (
            &sample["Source"],
            &sample["DetailType"],
            &sample["Detail"],
            &sample["Time"],
            &sample["Resources"],
            &sample["EventBusName"],
        )
    } else {
        return Err(NotAnEvent);
    };
    let source = source.as_str().unwrap_or_default();
    let detail = match detail {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let bus = bus
        .map(str::to_owned)
        .or_else(|| named_bus.as_str().map(str::to_owned))
        .unwrap_or_else(|| bus_for_source(source).to_owned());
    let mut entry = PutEventsRequestEntry::builder()
        .source(source)
        .detail_type(detail_type.as_str().unwrap_or_default())
        .detail(detail)
        .event_bus_name(bus);
    if let Some(t) = time.as_str()
        && let Ok(t) = DateTime::from_str(t, DateTimeFormat::DateTime)
    {
        entry = entry.time(t);
    }
    for r in resources.as_array().into_iter().flatten() {
        if let Some(r) = r.as_str() {
            entry = entry.resources(r);
        }
    }
    Ok(entry.build())
}

/// What one `send` did.
#[derive(Debug, Default, Clone)]
pub struct Sent {
    pub event_ids: Vec<String>,
    /// Entries PutEvents refused: `(error code, message)`.
    pub refused: Vec<(String, String)>,
    pub hops: Vec<Hop>,
}

impl Sent {
    /// Outbox pages written while handling the events.
    pub fn outbox_files(&self) -> Vec<String> {
        self.hops
            .iter()
            .filter_map(|h| match &h.what {
                What::ProviderCall { outbox, .. } => outbox.clone(),
                _ => None,
            })
            .collect()
    }

    /// Invocations that failed.
    pub fn failures(&self) -> usize {
        self.hops
            .iter()
            .filter(|h| matches!(h.what, What::Failed { .. }))
            .count()
    }
}

/// Reads the hops of `traces` until none of them has an invocation running.
pub async fn follow(
    hops_url: &str,
    traces: &[String],
    within: Duration,
) -> Result<Vec<Hop>, LocalError> {
    let http = lambda_support::http::client_builder()
        .build()
        .map_err(LocalError::HttpClient)?;
    let mut after = 0;
    let mut seen = Vec::new();
    let until = tokio::time::Instant::now() + within;
    loop {
        let url = format!("{hops_url}?after={after}&trace={}", traces.join(","));
        let failed = |source| LocalError::Hops {
            url: hops_url.to_owned(),
            source,
        };
        let page: HopsPage = http
            .get(&url)
            .send()
            .await
            .map_err(failed)?
            .json()
            .await
            .map_err(failed)?;
        after = page.last_seq;
        seen.extend(page.hops);
        if page.in_flight.values().all(|n| *n == 0) {
            return Ok(seen);
        }
        if tokio::time::Instant::now() > until {
            return Err(LocalError::StillHandled(within));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Puts one sample and follows it; `print` gets the lines to show.
pub async fn send_one(
    client: &aws_sdk_eventbridge::Client,
    target: &Target,
    entry: PutEventsRequestEntry,
    print: &mut dyn FnMut(String),
) -> Result<Sent, LocalError> {
    let bus = entry.event_bus_name().unwrap_or(DEFAULT_BUS).to_owned();
    let out = client
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(|e| LocalError::PutEvents {
            endpoint: target.eventbridge.clone(),
            source: Box::new(e),
        })?;
    print(format!(
        "  PutEvents on bus {bus}: FailedEntryCount {}",
        out.failed_entry_count()
    ));
    let mut sent = Sent::default();
    for e in out.entries() {
        match (e.event_id(), e.error_code()) {
            (Some(id), _) => sent.event_ids.push(id.to_owned()),
            (None, Some(code)) => {
                let message = e.error_message().unwrap_or_default().to_owned();
                print(format!("  entry refused: {code}: {message}"));
                sent.refused.push((code.to_owned(), message));
            }
            _ => {}
        }
    }
    if !sent.event_ids.is_empty() {
        sent.hops = follow(&target.hops, &sent.event_ids, Duration::from_secs(90)).await?;
        print(tree(&sent.hops).trim_end().to_owned());
    }
    Ok(sent)
}

/// `local send [--bus NAME] <file>...`.
pub async fn send_files(
    target: &Target,
    files: &[PathBuf],
    bus: Option<&str>,
    print: &mut dyn FnMut(String),
) -> Result<Vec<Sent>, LocalError> {
    let sdk = crate::runner::functions::sdk_config(&target.eventbridge);
    let client = aws_sdk_eventbridge::Client::new(&sdk);
    let mut all = Vec::new();
    for file in files {
        print(format!("▶ {}", file.display()));
        let text = tokio::fs::read_to_string(file)
            .await
            .map_err(|source| LocalError::Read {
                path: file.clone(),
                source,
            })?;
        let sample = parse_json(file, &text)?;
        let entry = entry_for(&sample, bus).map_err(|source| LocalError::Sample {
            path: file.clone(),
            source,
        })?;
        let sent = send_one(&client, target, entry, print).await?;
        let emails = sent.outbox_files();
        if emails.is_empty() {
            print("  → no email".to_owned());
        } else {
            print(format!("  → {} email(s) in the outbox:", emails.len()));
            for e in &emails {
                print(format!("      {e}"));
            }
        }
        if sent.failures() > 0 {
            print(format!(
                "  → {} invocation(s) failed (see above)",
                sent.failures()
            ));
        }
        print(String::new());
        all.push(sent);
    }
    Ok(all)
}

/// A JSON file (a sample). Blocking.
pub fn read_json(file: &Path) -> Result<Value, LocalError> {
    let text = std::fs::read_to_string(file).map_err(|source| LocalError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    parse_json(file, &text)
}

fn parse_json(file: &Path, text: &str) -> Result<Value, LocalError> {
    serde_json::from_str(text).map_err(|source| LocalError::NotJson {
        path: file.to_path_buf(),
        source,
    })
}
