//! [`LocalError`]: why the local system could not start, or `local send` could not send.
//!
//! Each message is what `local` prints after `local: `, so it says what to do where there is
//! something to do (another port, another clone, `cargo xtask run`). Messages that carry an
//! underlying error put its text in the message too (`main` prints the message only); the
//! error stays reachable as the [`std::error::Error::source`].

use crate::{
    aws::topology::TopologyError,
    sandbox::{auth0, hybris},
};
use std::{io, net::IpAddr, path::PathBuf, time::Duration};

/// Everything the runner and the `local` binary can fail with.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    // ── the clone ──
    /// `LOCAL_WORKSPACE` names a folder that is not a clone.
    #[error("LOCAL_WORKSPACE={} has no infra/template.yaml", .0.display())]
    NotAClone(PathBuf),
    /// No clone at or above the current directory.
    #[error(
        "{} is not inside a clone of this repository (no infra/template.yaml above it): \
         run from the clone, or set LOCAL_WORKSPACE",
        .0.display()
    )]
    OutsideAClone(PathBuf),
    #[error("current directory: {0}")]
    CurrentDir(#[source] io::Error),

    // ── starting the system ──
    /// A second `up` in a clone whose system is running: refused before anything is touched.
    #[error(
        "a local system is already running from {} (pid {pid}, EventBridge endpoint \
         {eventbridge}); nothing was changed. Stop it first (Ctrl-C in its terminal). A second \
         system needs another clone and other ports: `cargo xtask run --port-base N` (0 = any \
         free ports).",
        root.display()
    )]
    AlreadyRunning {
        root: PathBuf,
        pid: u32,
        eventbridge: String,
    },
    #[error("{0} is not a loopback address")]
    NotLoopback(IpAddr),
    /// The template cannot be read or routed by.
    #[error(transparent)]
    Template(#[from] TopologyError),
    /// A port is taken (another local system?): nothing was changed.
    #[error(
        "{what}: cannot listen on {host}:{port}: {source} (another local system? choose other \
         ports with --port-base N, 0 = any free ports)"
    )]
    Bind {
        what: &'static str,
        host: IpAddr,
        port: u16,
        source: io::Error,
    },
    /// A bound listener that cannot tell its own address.
    #[error("{what}: {source}")]
    LocalAddr {
        what: &'static str,
        source: io::Error,
    },
    /// The outbox folder cannot be created or emptied.
    #[error("outbox {}: {source}", dir.display())]
    Outbox { dir: PathBuf, source: io::Error },
    #[error(transparent)]
    Auth0Seed(#[from] auth0::SeedError),
    #[error(transparent)]
    HybrisSeed(#[from] hybris::SeedError),
    /// Blocking work (file I/O) run off the async workers panicked.
    #[error("{what}: {source}")]
    Blocking {
        what: &'static str,
        source: tokio::task::JoinError,
    },
    #[error("tokio runtime: {0}")]
    Runtime(#[source] io::Error),
    #[error("SIGTERM: {0}")]
    Signal(#[source] io::Error),

    // ── files ──
    /// A file or folder `local` writes (`.local/`, the function log, the state file).
    #[error("{}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// A file `local send` reads.
    #[error("read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: not JSON: {source}", path.display())]
    NotJson {
        path: PathBuf,
        source: serde_json::Error,
    },

    // ── the state file (`.local/state.json`) ──
    /// No state file, or one whose system is gone (its process, or its endpoint).
    #[error(
        "no running local system ({} is missing or stale): start it with `cargo xtask run`",
        .0.display()
    )]
    NotRunning(PathBuf),
    /// A state file that exists but cannot be read.
    #[error(
        "no running local system found: {} cannot be read: {source} (start one with `cargo \
         xtask run`)",
        path.display()
    )]
    StateUnreadable { path: PathBuf, source: io::Error },
    /// A state file that is not what `up` writes.
    #[error(
        "no running local system found: {} is not a state file `local up` wrote: {source} \
         (delete it if no system runs, and start one with `cargo xtask run`)",
        path.display()
    )]
    StateInvalid {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: {source}", path.display())]
    StateEncode {
        path: PathBuf,
        source: serde_json::Error,
    },

    // ── sending ──
    /// A sample that is neither an event envelope nor a PutEvents entry.
    #[error("{}: {source}", path.display())]
    Sample { path: PathBuf, source: NotAnEvent },
    #[error("PutEvents to {endpoint}: {}", chain(&**source))]
    PutEvents {
        endpoint: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Reading the running system's hops.
    /// The runner's own HTTP client (the same TLS stack the functions use) could not be built.
    #[error("could not build an HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    #[error("GET {url}: {source}")]
    Hops { url: String, source: reqwest::Error },
    /// `send` gave up following its events.
    #[error("events still being handled after {0:?}; see the `up` terminal")]
    StillHandled(Duration),
    /// [`crate::LocalSystem::settle`] gave up waiting.
    #[error("still running after {0:?}")]
    StillRunning(Duration),
}

/// A sample `local send` cannot put: see [`crate::send::entry_for`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("neither an EventBridge event (source, detail-type, detail) nor a PutEvents entry")]
pub struct NotAnEvent;

/// An error and all its sources, `: `-separated (the SDK's own message alone is "dispatch
/// failure").
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cross_threads_and_keep_their_source() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<LocalError>();
        let e = LocalError::Bind {
            what: "EventBridge endpoint",
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8750,
            source: io::Error::from(io::ErrorKind::AddrInUse),
        };
        let message = e.to_string();
        assert!(
            message.starts_with("EventBridge endpoint: cannot listen on 127.0.0.1:8750: "),
            "{message}"
        );
        assert!(message.contains("--port-base N"), "{message}");
        assert!(std::error::Error::source(&e).is_some());
    }
}
