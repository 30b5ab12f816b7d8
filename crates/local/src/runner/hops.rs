//! Every hop an event or request takes through the local system, kept in memory.
//!
//! A hop belongs to a **trace**: the id of the event a client put (or of the Dixa API request)
//! that started it all. Hops form a tree through `id`/`parent`: an event is the parent of the
//! rules that matched it, a rule match (its `id` is the invocation's request id) the parent of
//! the invocation's provider calls, of the events it put and of its result.
//!
//! The running system serves them at `GET /_local/hops?after=<seq>&trace=<id>,<id>` together
//! with the number of invocations still running per trace, so `local send` can tell when an
//! event has been handled completely without guessing from timing.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// One hop.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hop {
    pub seq: u64,
    pub trace: String,
    pub at_ms: u64,
    /// Depth in the trace's tree (0 for what the client did).
    pub depth: u32,
    /// This hop's node id, when other hops hang below it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(flatten)]
    pub what: What,
}

/// What happened.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "hop", rename_all = "snake_case")]
pub enum What {
    /// PutEvents accepted an entry: it is now an event on `bus`.
    EventAccepted {
        bus: String,
        event_id: String,
        source: String,
        detail_type: String,
        /// The function that put it; `None` for a client.
        from: Option<String>,
    },
    /// PutEvents refused an entry.
    EventRejected {
        bus: Option<String>,
        error_code: String,
        error_message: String,
        from: Option<String>,
    },
    /// No rule of the bus matched the event.
    NoRuleMatched { bus: String, event_id: String },
    /// A rule matched; the function is invoked asynchronously with request id `request_id`.
    RuleMatched {
        bus: String,
        rule: String,
        function: String,
        request_id: String,
    },
    /// A rule matched and put the event on the queue `function` reads: message `message_id`
    /// (this hop's id) until it is deleted or dead-lettered.
    Queued {
        bus: String,
        rule: String,
        queue: String,
        function: String,
        message_id: String,
    },
    /// A message was received `receives` times without being handled and moved to the
    /// dead-letter queue.
    DeadLettered {
        function: String,
        queue: String,
        dead_letter_queue: String,
        receives: u64,
    },
    /// A message or failed event was taken from a dead-letter or OnFailure queue and handed
    /// back (`to`: the work queue, or the function invoked again).
    Redriven {
        from: String,
        to: String,
        function: String,
    },
    /// An API Gateway route received a request.
    ApiRequest {
        method: String,
        resource: String,
        path: String,
        function: String,
        request_id: String,
    },
    /// The invocation started in a container (`cold`: the container was just created).
    Invoked {
        function: String,
        request_id: String,
        container: String,
        cold: bool,
    },
    /// A call the function made to a provider (Auth0, Bloomreach, Hybris) sandbox.
    ProviderCall {
        function: String,
        provider: String,
        method: String,
        /// Path and query, addresses redacted.
        path: String,
        status: u16,
        /// What the sandbox recorded for a person to look at (an email in the outbox).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outbox: Option<String>,
    },
    /// The invocation returned a result.
    Succeeded {
        function: String,
        request_id: String,
        result: Value,
    },
    /// The invocation failed (or could not start).
    Failed {
        function: String,
        request_id: String,
        error_type: String,
        error_message: String,
        /// Lambda's retries and OnFailure destination for an asynchronous invocation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        then: Option<String>,
    },
    /// The API answered the HTTP request.
    ApiResponded { request_id: String, status: u16 },
}

impl What {
    /// A failed invocation: the handler's `errorType` and message, and what happens next.
    pub fn failed(
        function: &str,
        request_id: &str,
        error: lambda_runtime::Diagnostic,
        then: impl Into<String>,
    ) -> Self {
        What::Failed {
            function: function.to_owned(),
            request_id: request_id.to_owned(),
            error_type: error.error_type,
            error_message: error.error_message,
            then: Some(then.into()),
        }
    }
}

impl Hop {
    /// One human-readable line (no indentation).
    pub fn line(&self) -> String {
        match &self.what {
            What::EventAccepted {
                bus,
                event_id,
                source,
                detail_type,
                from,
            } => match from {
                None => format!(
                    "event {event_id} accepted on bus {bus} (source {source}, detail-type {detail_type:?})"
                ),
                Some(f) => format!(
                    "{f} put event {event_id} on bus {bus} (source {source}, detail-type {detail_type:?})"
                ),
            },
            What::EventRejected {
                bus,
                error_code,
                error_message,
                from,
            } => format!(
                "PutEvents entry{} refused{}: {error_code}: {error_message}",
                from.as_ref()
                    .map(|f| format!(" from {f}"))
                    .unwrap_or_default(),
                bus.as_ref()
                    .map(|b| format!(" on bus {b}"))
                    .unwrap_or_default()
            ),
            What::NoRuleMatched { bus, .. } => {
                format!("no rule on bus {bus} matched: the event goes nowhere")
            }
            What::RuleMatched { rule, function, .. } => {
                format!("rule {rule} matched → {function} (asynchronous invoke)")
            }
            What::Queued {
                rule,
                queue,
                function,
                ..
            } => format!("rule {rule} matched → queue {queue} → {function}"),
            What::DeadLettered {
                function,
                queue,
                dead_letter_queue,
                receives,
            } => format!(
                "{function} did not handle it in {receives} receive(s): moved from {queue} to {dead_letter_queue}"
            ),
            What::Redriven { from, to, .. } => format!("redriven from {from} → {to}"),
            What::ApiRequest {
                method,
                resource,
                function,
                ..
            } => format!("API Gateway {method} {resource} → {function}"),
            What::Invoked {
                function,
                request_id,
                container,
                cold,
            } => format!(
                "{function} invoked, request {request_id} ({} container {container})",
                if *cold { "cold start," } else { "warm" }
            ),
            What::ProviderCall {
                function,
                provider,
                method,
                path,
                status,
                outbox,
            } => {
                let mut s = format!("{function} → {provider} {method} {path} → {status}");
                if let Some(file) = outbox {
                    s.push_str(&format!("\n  email in the outbox: {file}"));
                }
                s
            }
            What::Succeeded {
                function, result, ..
            } => format!("{function} returned {result}"),
            What::Failed {
                function,
                error_type,
                error_message,
                then,
                ..
            } => {
                let mut s = format!("{function} FAILED: {error_type}: {error_message}");
                if let Some(then) = then {
                    s.push_str(&format!(" ({then})"));
                }
                s
            }
            What::ApiResponded { status, .. } => format!("API Gateway answered {status}"),
        }
    }

    /// The line indented by depth (multi-line hops keep their indentation).
    pub fn indented(&self) -> String {
        let pad = "  ".repeat(self.depth as usize);
        self.line()
            .lines()
            .map(|l| format!("{pad}{l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A hop about to be recorded: where it hangs and what it says.
pub struct NewHop {
    pub trace: String,
    pub parent: Option<String>,
    pub id: Option<String>,
    pub what: What,
}

#[derive(Default)]
struct State {
    hops: Vec<Hop>,
    in_flight: HashMap<String, u32>,
    depth: HashMap<String, u32>,
}

type Printer = Arc<dyn Fn(&Hop) + Send + Sync>;

/// The hop log.
#[derive(Clone, Default)]
pub struct Hops {
    state: Arc<Mutex<State>>,
    printer: Option<Printer>,
}

/// `GET /_local/hops` answer.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct HopsPage {
    pub hops: Vec<Hop>,
    /// Invocations still running, per requested trace (all traces when none was named).
    pub in_flight: HashMap<String, u32>,
    /// The highest `seq` so far.
    pub last_seq: u64,
}

impl Hops {
    /// A log that also prints every hop as it is recorded.
    pub fn printing(print: impl Fn(&Hop) + Send + Sync + 'static) -> Self {
        Self {
            state: Arc::default(),
            printer: Some(Arc::new(print)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a hop; `start` and `finish` also count an invocation in or out of its trace
    /// under the same lock, so a reader never sees a finished trace with hops still missing.
    fn push_with(&self, hop: NewHop, in_flight_delta: i32) -> Hop {
        let mut state = self.lock();
        let depth = match &hop.parent {
            None => 0,
            Some(p) => state.depth.get(p).map_or(1, |d| d + 1),
        };
        if let Some(id) = &hop.id {
            state.depth.insert(id.clone(), depth);
        }
        let recorded = Hop {
            seq: state.hops.len() as u64 + 1,
            trace: hop.trace,
            at_ms: crate::runner::util::now_ms(),
            depth,
            id: hop.id,
            parent: hop.parent,
            what: hop.what,
        };
        let count = state.in_flight.entry(recorded.trace.clone()).or_default();
        *count = count.saturating_add_signed(in_flight_delta);
        state.hops.push(recorded.clone());
        drop(state);
        if let Some(print) = &self.printer {
            print(&recorded);
        }
        recorded
    }

    pub fn push(&self, hop: NewHop) -> Hop {
        self.push_with(hop, 0)
    }

    /// Records a hop that starts an invocation (counted until [`Hops::finish`]).
    pub fn start(&self, hop: NewHop) -> Hop {
        self.push_with(hop, 1)
    }

    /// Records the hop that ends an invocation.
    pub fn finish(&self, hop: NewHop) -> Hop {
        self.push_with(hop, -1)
    }

    /// Hops after `after`, of the given traces (all when empty), with the in-flight counts.
    pub fn page(&self, after: u64, traces: &[String]) -> HopsPage {
        let state = self.lock();
        let wanted = |t: &String| traces.is_empty() || traces.contains(t);
        HopsPage {
            hops: state
                .hops
                .iter()
                .skip(after as usize)
                .filter(|h| wanted(&h.trace))
                .cloned()
                .collect(),
            in_flight: state
                .in_flight
                .iter()
                .filter(|(t, _)| wanted(t))
                .map(|(t, n)| (t.clone(), *n))
                .collect(),
            last_seq: state.hops.len() as u64,
        }
    }

    /// Every hop so far.
    pub fn all(&self) -> Vec<Hop> {
        self.lock().hops.clone()
    }

    /// Invocations still running in these traces (all when empty).
    pub fn in_flight(&self, traces: &[String]) -> u32 {
        self.page(u64::MAX, traces).in_flight.values().sum()
    }
}

/// Prints a finished set of hops as a tree: each hop below its parent, siblings in order.
pub fn tree(hops: &[Hop]) -> String {
    let ids: std::collections::HashSet<&str> =
        hops.iter().filter_map(|h| h.id.as_deref()).collect();
    let mut out = String::new();
    let roots = hops
        .iter()
        .filter(|h| h.parent.as_deref().is_none_or(|p| !ids.contains(p)));
    for root in roots {
        walk(hops, root, 0, &mut out);
    }
    out
}

fn walk(hops: &[Hop], hop: &Hop, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth + 1);
    for line in hop.line().lines() {
        out.push_str(&pad);
        out.push_str(line);
        out.push('\n');
    }
    if let Some(id) = &hop.id {
        for child in hops.iter().filter(|h| h.parent.as_ref() == Some(id)) {
            walk(hops, child, depth + 1, out);
        }
    }
}
