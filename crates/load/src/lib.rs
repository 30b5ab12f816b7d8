//! A credential-stuffing hour, compressed, through the local system: every function as its
//! `main` builds it, the template's queues, caps and retries, and sandboxes that answer 429
//! beyond a rate. [`Scenario`] says what goes in; [`run`] puts it in and waits until
//! everything has drained; [`Report`] is what came out. `cargo xtask load` runs the full
//! scenario (a benchmark); the test runs a small one of the same code.
//!
//! The events are Auth0 log events made from the samples in `events/auth0/` (new log ids, the
//! addresses of the scenario), put on the Auth0 partner bus with the real SDK client.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use local::{LocalSystem, Options, hops::What};
use serde_json::Value;
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// What goes in.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Brute-force block logs (`limit_wc` and `limit_sul`, alternating) ...
    pub blocks: usize,
    /// ... spread evenly over this many addresses.
    pub blocked_addresses: usize,
    /// `fcpr` logs ...
    pub fcpr: usize,
    /// ... over this many not-yet-migrated customers (Hybris has each).
    pub fcpr_identifiers: usize,
    /// Password changes, each for its own address (one email each).
    pub scp: usize,
    /// Email changes, each for its own account (two emails each).
    pub sce: usize,
    /// Events put per second (all at once when `None`).
    pub put_rate: Option<f64>,
    /// The sandboxes' rate limits, requests per second.
    pub bloomreach_rps: Option<u32>,
    pub auth0_rps: Option<u32>,
    pub hybris_rps: Option<u32>,
    /// Lambda's and SQS's waits are multiplied by this (see `Options::time_scale`).
    pub time_scale: f64,
    /// Give up waiting for the drain after this long.
    pub drain_within: Duration,
}

impl Scenario {
    /// The hour: 10,000 block logs over 1,000 addresses, 500 `fcpr` over 50
    /// customers, 100 `scp` and 50 `sce`; Bloomreach at 10/s, Auth0 at 16/s (Enterprise's
    /// sustained rate), put over one minute.
    pub fn credential_stuffing_hour() -> Self {
        Self {
            blocks: 10_000,
            blocked_addresses: 1_000,
            fcpr: 500,
            fcpr_identifiers: 50,
            scp: 100,
            sce: 50,
            put_rate: Some(180.0),
            bloomreach_rps: Some(10),
            auth0_rps: Some(16),
            hybris_rps: None,
            time_scale: 1.0,
            drain_within: Duration::from_secs(1_800),
        }
    }

    pub fn events(&self) -> usize {
        self.blocks + self.fcpr + self.scp + self.sce
    }

    /// Emails that must come out: one per blocked address (the block window), one per `scp`,
    /// two per `sce`.
    pub fn expected_emails(&self) -> usize {
        self.blocked_addresses.min(self.blocks) + self.scp + 2 * self.sce
    }

    /// Hybris resets that must happen: one per customer (the reset window).
    pub fn expected_resets(&self) -> usize {
        self.fcpr_identifiers.min(self.fcpr)
    }

    fn blocked(&self, i: usize) -> String {
        format!(
            "stuffed.{:04}@example.com",
            i % self.blocked_addresses.max(1)
        )
    }

    fn legacy(&self, i: usize) -> String {
        format!(
            "legacy.load.{:03}@example.com",
            i % self.fcpr_identifiers.max(1)
        )
    }

    /// The Hybris sandbox's seed: its own customers plus the scenario's.
    fn hybris_seed(&self, base: &str) -> Result<String, LoadError> {
        let mut seed: Value = serde_json::from_str(base).map_err(LoadError::Seed)?;
        if let Some(customers) = seed["customers"].as_array_mut() {
            for i in 0..self.fcpr_identifiers {
                let uid = self.legacy(i);
                customers.push(serde_json::json!({
                    "uid": uid, "name": "Load Customer", "firstName": "Load", "lastName": "Customer"
                }));
            }
        }
        Ok(seed.to_string())
    }

    /// The events, in the order they are put: interleaved as an attack and the usual traffic
    /// would be.
    fn make_events(&self, samples: &Samples) -> Vec<Value> {
        let mut events = Vec::with_capacity(self.events());
        let total = self.events().max(1);
        let (mut b, mut f, mut p, mut c) = (0, 0, 0, 0);
        for n in 0..total {
            // Each kind takes its share of the sequence.
            let slot = |done: usize, of: usize| of > 0 && done * total <= n * of;
            let e = if b < self.blocks && slot(b, self.blocks) {
                b += 1;
                let sample = if b % 2 == 0 {
                    &samples.limit_wc
                } else {
                    &samples.limit_sul
                };
                log_event(sample, n, |d| {
                    let address = self.blocked(b - 1);
                    d["user_name"] = address.into();
                    d["user_id"] = format!(
                        "auth0|stuffed{:08}",
                        (b - 1) % self.blocked_addresses.max(1)
                    )
                    .into();
                    d["description"] = "Blocked account".into();
                })
            } else if f < self.fcpr && slot(f, self.fcpr) {
                f += 1;
                log_event(&samples.fcpr, n, |d| {
                    let address = self.legacy(f - 1);
                    d["user_name"] = address.clone().into();
                    d["details"]["body"]["email"] = address.into();
                })
            } else if p < self.scp && slot(p, self.scp) {
                p += 1;
                log_event(&samples.scp, n, |d| {
                    let address = format!("changed.password.{p:04}@example.com");
                    d["user_name"] = address.clone().into();
                    d["details"]["email"] = address.into();
                    d["user_id"] = format!("auth0|loadscp{p:08}").into();
                })
            } else if c < self.sce {
                c += 1;
                log_event(&samples.sce, n, |d| {
                    let old = format!("old.address.{c:04}@example.com");
                    d["user_name"] = old.clone().into();
                    d["user_id"] = format!("auth0|loadsce{c:08}").into();
                    d["details"]["body"]["email"] = old.into();
                    d["details"]["body"]["newEmail"] =
                        format!("new.address.{c:04}@example.org").into();
                })
            } else {
                continue;
            };
            events.push(e);
        }
        events
    }
}

/// A sample with a fresh log id (`n` makes it unique) and its detail edited.
fn log_event(sample: &Value, n: usize, edit: impl FnOnce(&mut Value)) -> Value {
    let mut e = sample.clone();
    let log_id = format!("9002026120400000000{n:016}");
    e["detail"]["log_id"] = log_id.clone().into();
    e["detail"]["data"]["log_id"] = log_id.into();
    edit(&mut e["detail"]["data"]);
    e
}

struct Samples {
    limit_wc: Value,
    limit_sul: Value,
    fcpr: Value,
    scp: Value,
    sce: Value,
}

impl Samples {
    fn read(root: &Path) -> Result<Self, LoadError> {
        let read = |name: &str| -> Result<Value, LoadError> {
            let path = root.join("events/auth0").join(format!("{name}.json"));
            let text = std::fs::read_to_string(&path)
                .map_err(|e| LoadError::Sample(path.clone(), e.to_string()))?;
            serde_json::from_str(&text).map_err(|e| LoadError::Sample(path, e.to_string()))
        };
        Ok(Self {
            limit_wc: read("limit_wc")?,
            limit_sul: read("limit_sul")?,
            fcpr: read("fcpr")?,
            scp: read("scp")?,
            sce: read("sce")?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("sample {0}: {1}")]
    Sample(PathBuf, String),
    #[error("Hybris seed: {0}")]
    Seed(serde_json::Error),
    #[error(transparent)]
    Local(#[from] local::LocalError),
    #[error("PutEvents: {0}")]
    Put(String),
    #[error("not drained within {0:?}: {1} invocation(s) or message(s) still running")]
    NotDrained(Duration, u32),
}

/// What came out.
#[derive(Debug, Clone)]
pub struct Report {
    pub events_in: usize,
    pub put_failed: usize,
    pub emails_expected: usize,
    /// Emails Bloomreach accepted (the outbox).
    pub emails_sent: usize,
    /// Emails beyond the first for the same kind and recipient.
    pub duplicates: usize,
    pub resets_expected: usize,
    /// Reset emails Hybris sent (the outbox).
    pub resets: usize,
    /// Messages left in dead-letter and OnFailure queues, by queue.
    pub parked: BTreeMap<String, usize>,
    /// Per provider: (requests accepted, requests answered 429, peak accepted in one second).
    pub providers: BTreeMap<String, local::sandbox::rate::RateStats>,
    pub drain: Duration,
    /// From the event's acceptance to send-email reporting its email sent.
    pub latency_p50: Duration,
    pub latency_p99: Duration,
}

impl Report {
    pub fn parked_total(&self) -> usize {
        self.parked.values().sum()
    }

    /// The report as lines a person reads.
    pub fn lines(&self, scenario: &Scenario) -> Vec<String> {
        let mut out = vec![
            format!(
                "events in:            {} ({} refused by PutEvents)",
                self.events_in, self.put_failed
            ),
            format!(
                "emails sent:          {} (expected {}: one per blocked address, one per scp, two per sce)",
                self.emails_sent, self.emails_expected
            ),
            format!("duplicates:           {}", self.duplicates),
            format!(
                "Hybris resets:        {} (expected {}: one per customer)",
                self.resets, self.resets_expected
            ),
            format!("parked (DLQ/OnFailure): {}", self.parked_total()),
        ];
        for (queue, n) in &self.parked {
            if *n > 0 {
                out.push(format!("  {queue}: {n}"));
            }
        }
        let cap = |name: &str| match name {
            "bloomreach" => scenario.bloomreach_rps,
            "auth0" => scenario.auth0_rps,
            "hybris" => scenario.hybris_rps,
            _ => None,
        };
        for (name, s) in &self.providers {
            out.push(format!(
                "{name:<11} peak {} req/s (cap {}), {} accepted, {} answered 429",
                s.peak_accepted_per_second,
                cap(name).map_or("none".to_owned(), |c| format!("{c}/s")),
                s.accepted,
                s.refused
            ));
        }
        out.push(format!(
            "time to drain:        {:.1} s",
            self.drain.as_secs_f64()
        ));
        out.push(format!(
            "event → email:        p50 {:.2} s, p99 {:.2} s",
            self.latency_p50.as_secs_f64(),
            self.latency_p99.as_secs_f64()
        ));
        out
    }

    /// What the scenario promises: every email once, every reset once, nothing parked, no
    /// provider above its cap.
    pub fn problems(&self, scenario: &Scenario) -> Vec<String> {
        let mut p = Vec::new();
        if self.put_failed > 0 {
            p.push(format!("{} event(s) refused by PutEvents", self.put_failed));
        }
        if self.emails_sent != self.emails_expected {
            p.push(format!(
                "{} emails sent, {} expected",
                self.emails_sent, self.emails_expected
            ));
        }
        if self.duplicates > 0 {
            p.push(format!("{} duplicate email(s)", self.duplicates));
        }
        if self.resets != self.resets_expected {
            p.push(format!(
                "{} Hybris resets, {} expected",
                self.resets, self.resets_expected
            ));
        }
        if self.parked_total() > 0 {
            p.push(format!("{} event(s) parked", self.parked_total()));
        }
        for (name, s) in &self.providers {
            let cap = match name.as_str() {
                "bloomreach" => scenario.bloomreach_rps,
                "auth0" => scenario.auth0_rps,
                "hybris" => scenario.hybris_rps,
                _ => None,
            };
            if let Some(cap) = cap
                && s.peak_accepted_per_second > u64::from(cap)
            {
                p.push(format!(
                    "{name} saw {} req/s, above its cap {cap}/s",
                    s.peak_accepted_per_second
                ));
            }
        }
        p
    }
}

/// Progress while the scenario runs: events put, then emails sent out of those expected.
pub trait Progress {
    fn put(&self, done: usize, of: usize);
    fn sent(&self, done: usize, of: usize);
}

/// Starts the local system for `scenario` from the clone at `root`, puts the events, waits
/// until nothing runs and no queue holds work, and reports.
pub async fn run(
    root: &Path,
    scenario: &Scenario,
    progress: &dyn Progress,
) -> Result<Report, LoadError> {
    let samples = Samples::read(root)?;
    let outbox = std::env::temp_dir().join(format!("load-outbox-{}", uuid::Uuid::new_v4()));
    let mut options = Options::new(root.join("infra/template.yaml"), outbox);
    options.time_scale = scenario.time_scale;
    options.hybris_seed = scenario.hybris_seed(&options.hybris_seed)?;
    let limit = |rps: Option<u32>| {
        rps.and_then(std::num::NonZeroU32::new)
            .map(local::sandbox::rate::RateLimit::per_second)
    };
    options.rate_limits.bloomreach = limit(scenario.bloomreach_rps);
    options.rate_limits.auth0 = limit(scenario.auth0_rps);
    options.rate_limits.hybris = limit(scenario.hybris_rps);
    let system = LocalSystem::start(options).await?;
    let result = drive(&system, scenario, &samples, progress).await;
    system.shutdown().await;
    result
}

async fn drive(
    system: &LocalSystem,
    scenario: &Scenario,
    samples: &Samples,
    progress: &dyn Progress,
) -> Result<Report, LoadError> {
    let client = aws_sdk_eventbridge::Client::new(&local::functions::sdk_config(
        &system.endpoints().eventbridge,
    ));
    let events = scenario.make_events(samples);
    let started = Instant::now();
    let mut put_failed = 0;
    for (i, chunk) in events.chunks(10).enumerate() {
        if let Some(rate) = scenario.put_rate {
            let due = started + Duration::from_secs_f64((i * 10) as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let entries: Vec<PutEventsRequestEntry> = chunk
            .iter()
            .map(|e| local::send::entry_for(e, None).map_err(|e| LoadError::Put(e.to_string())))
            .collect::<Result<_, _>>()?;
        let out = client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| LoadError::Put(format!("{e:?}")))?;
        put_failed += out.failed_entry_count as usize;
        progress.put((i * 10 + chunk.len()).min(events.len()), events.len());
    }
    // Drained: nothing running, nothing waiting in a work queue.
    let expected = scenario.expected_emails();
    let until = Instant::now() + scenario.drain_within;
    loop {
        let sent = emails(system).len();
        progress.sent(sent, expected);
        let running = system.hops().in_flight(&[]);
        if running == 0 {
            break;
        }
        if Instant::now() > until {
            return Err(LoadError::NotDrained(scenario.drain_within, running));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drain = started.elapsed();
    let sent = emails(system);
    progress.sent(sent.len(), expected);
    let distinct: HashSet<(&str, &str)> = sent
        .iter()
        .map(|e| (e.kind.as_str(), e.recipient.as_str()))
        .collect();
    let resets = system
        .outbox()
        .entries()
        .iter()
        .filter(|e| e.provider == "hybris")
        .count();
    let parked = system
        .queues()
        .into_iter()
        .filter(|q| q.name.ends_with("FailureQueue"))
        .map(|q| (q.name, q.visible + q.in_flight))
        .collect();
    let mut providers = BTreeMap::new();
    if let Some(s) = system.auth0() {
        providers.insert("auth0".to_owned(), s.rate().stats());
    }
    if let Some(s) = system.bloomreach() {
        providers.insert("bloomreach".to_owned(), s.rate().stats());
    }
    if let Some(s) = system.hybris() {
        providers.insert("hybris".to_owned(), s.rate().stats());
    }
    let (p50, p99) = latencies(system);
    Ok(Report {
        events_in: events.len(),
        put_failed,
        emails_expected: expected,
        emails_sent: sent.len(),
        duplicates: sent.len() - distinct.len(),
        resets_expected: scenario.expected_resets(),
        resets,
        parked,
        providers,
        drain,
        latency_p50: p50,
        latency_p99: p99,
    })
}

fn emails(system: &LocalSystem) -> Vec<local::outbox::OutboxEntry> {
    system
        .outbox()
        .entries()
        .into_iter()
        .filter(|e| e.provider == "bloomreach")
        .collect()
}

/// p50 and p99 of the time from a root event's acceptance to send-email reporting an email of
/// its trace sent.
fn latencies(system: &LocalSystem) -> (Duration, Duration) {
    let hops = system.hops().all();
    let mut accepted: HashMap<&str, u64> = HashMap::new();
    let mut took: Vec<u64> = Vec::new();
    for h in &hops {
        match &h.what {
            What::EventAccepted { from: None, .. } => {
                accepted.entry(h.trace.as_str()).or_insert(h.at_ms);
            }
            What::Succeeded {
                function, result, ..
            } if function == "send-email" && result["status"] == "sent" => {
                if let Some(at) = accepted.get(h.trace.as_str()) {
                    took.push(h.at_ms.saturating_sub(*at));
                }
            }
            _ => {}
        }
    }
    took.sort_unstable();
    let pick = |q: f64| {
        if took.is_empty() {
            return Duration::ZERO;
        }
        let i = ((took.len() as f64 * q).ceil() as usize).clamp(1, took.len()) - 1;
        Duration::from_millis(took[i])
    };
    (pick(0.50), pick(0.99))
}
