//! Capturing tracing output, and checking that it holds no email address.

use serde_json::Value;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;

/// Log lines written while a [`Capture`] is installed on this thread.
#[derive(Clone, Default)]
pub struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
}

pub struct CaptureGuard {
    _guard: tracing::subscriber::DefaultGuard,
}

impl Capture {
    /// Installs a JSON subscriber at TRACE for this thread (so every level is checked) and
    /// returns the capture plus the guard that keeps it installed. Use with a current-thread
    /// runtime (`#[tokio::test]`'s default) so every task logs on this thread.
    pub fn install() -> (Capture, CaptureGuard) {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(capture.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        (capture, CaptureGuard { _guard: guard })
    }

    pub fn text(&self) -> String {
        let buf = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&buf).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Every `local@domain.tld` found in `text`.
pub fn email_addresses(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let local_ok = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    let domain_ok = |b: u8| b.is_ascii_alphanumeric() || b".-".contains(&b);
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        let start = (0..at).rev().take_while(|&i| local_ok(bytes[i])).last();
        let end = (at + 1..bytes.len())
            .take_while(|&i| domain_ok(bytes[i]))
            .last();
        if let (Some(start), Some(end)) = (start, end) {
            let domain = text[at + 1..=end].trim_end_matches('.');
            let tld_ok = domain.rsplit_once('.').is_some_and(|(_, tld)| {
                tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic())
            });
            if tld_ok {
                found.push(text[start..at + 1 + domain.len()].to_owned());
            }
        }
    }
    found
}

/// Panics, listing them, if `text` holds any email address.
#[track_caller]
pub fn assert_no_email_addresses(text: &str) {
    let found = email_addresses(text);
    assert!(
        found.is_empty(),
        "log output contains email addresses: {found:?}"
    );
}

/// Panics, listing the lines, if a line of `text` holds one of `secrets`.
#[track_caller]
pub fn assert_no_secrets(text: &str, secrets: &[&str]) {
    for secret in secrets {
        let leaks: Vec<&str> = text.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret} in the output: {leaks:#?}");
    }
}

/// Log capture for one test; dropping it checks that no address was logged.
///
/// Every test of a binary that reads logs installs one: with tracing-core 0.1, a callsite
/// first hit on a thread without a subscriber while exactly one scoped subscriber exists is
/// cached as disabled for every thread.
pub struct Logs {
    pub capture: Capture,
    _guard: CaptureGuard,
}

pub fn logs() -> Logs {
    let (capture, guard) = Capture::install();
    Logs {
        capture,
        _guard: guard,
    }
}

impl Logs {
    pub fn text(&self) -> String {
        self.capture.text()
    }
}

impl Drop for Logs {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_no_email_addresses(&self.capture.text());
        }
    }
}

/// The `fields` of every audit line in `text`.
pub fn audit_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "audit")
        .map(|v| v["fields"].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_addresses_and_ignores_look_alikes() {
        let text =
            r#"{"msg":"x","to":"Jane.Doe+shop@Example.co.uk."} auth0|abc @here a@b user@localhost"#;
        assert_eq!(email_addresses(text), vec!["Jane.Doe+shop@Example.co.uk"]);
        assert!(email_addresses("arn:aws:events:eu-west-1:1:event-bus/x log_id=900@").is_empty());
    }

    #[test]
    fn capture_sees_events_on_this_thread() {
        let (capture, _guard) = Capture::install();
        tracing::info!(kind = "account_blocked", "sent");
        assert!(capture.text().contains("account_blocked"));
    }

    #[test]
    #[should_panic(expected = "contains email addresses")]
    fn assertion_fails_on_an_address() {
        assert_no_email_addresses("to=someone@example.com");
    }
}
