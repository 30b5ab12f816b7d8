//! Start-up plumbing shared by every Lambda in the workspace.
//!
//! - [`init_tracing`]: JSON log lines with a `level` key (what Lambda's log-level filter reads).
//! - [`Env`]: typed configuration read once at start-up; every error names the variable.
//! - [`secrets`]: credentials from AWS Secrets Manager when an ARN is configured, else from env.

pub mod config;
pub mod retry;
pub mod secrets;
pub mod token_cache;

pub use config::{ConfigError, Env};
pub use secrecy::{ExposeSecret, SecretString};

use tracing_subscriber::EnvFilter;

/// Installs the global JSON subscriber.
///
/// Level: `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's advanced logging controls), else `RUST_LOG`,
/// else `info`. The runtime and HTTP/SDK crates are capped at `info` unless the setting names
/// them: at TRACE they log raw event payloads and response bodies, which hold customer addresses.
pub fn init_tracing() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned())
        .to_lowercase();
    let mut directives = level.clone();
    let quiet_crates = [
        "lambda_runtime",
        "lambda_runtime_api_client",
        "lambda_http",
        "aws_smithy_runtime",
        "aws_smithy_runtime_api",
        "aws_sdk_eventbridge",
        "aws_sdk_secretsmanager",
        "hyper",
        "hyper_util",
        "reqwest",
    ];
    for quiet in quiet_crates {
        if !level.contains(quiet) {
            directives.push_str(&format!(",{quiet}=info"));
        }
    }
    // Audit lines (target `audit`) are INFO and must survive a WARN/ERROR setting.
    if !level.contains("audit=") {
        directives.push_str(",audit=info");
    }
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    // `try_init`: a second call (tests, local runner) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .without_time() // CloudWatch stamps every line already
        .try_init();
}

/// The shared AWS configuration, loaded once per container. Honours `AWS_ENDPOINT_URL`
/// (tests and the local runner point it at a loopback endpoint).
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// The AWS configuration, loaded on first use and then shared: a function whose settings name
/// no secret ARN (a local run) never loads it, and one that needs several clients loads it once.
#[derive(Debug, Default)]
pub struct LazyAws(tokio::sync::OnceCell<aws_config::SdkConfig>);

impl LazyAws {
    pub async fn config(&self) -> aws_config::SdkConfig {
        self.0.get_or_init(aws_config).await.clone()
    }

    pub async fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.config().await)
    }
}

/// Everything but RFC 3986 unreserved characters: `+` → `%2B`, `@` → `%40`, `|` → `%7C`.
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` percent-encoded for use as one query value (or, when it cannot be a dot segment, one
/// path segment: see [`encode_path_segment`]).
pub fn encode_component(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, COMPONENT).to_string()
}

/// `s` percent-encoded as one path segment, or `None` when no encoding keeps it one: empty,
/// `.` and `..` address another resource (`/api/v2/users/..` is `/api/v2/`), and `%2E%2E`
/// does not help, since URL parsers (WHATWG, the `url` crate under reqwest) read it as `..` too.
pub fn encode_path_segment(s: &str) -> Option<String> {
    match s {
        "" | "." | ".." => None,
        _ => Some(encode_component(s)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(
            super::encode_component("jane+shop@example.com"),
            "jane%2Bshop%40example.com"
        );
        assert_eq!(super::encode_component("auth0|a/b c"), "auth0%7Ca%2Fb%20c");
        assert_eq!(super::encode_component("A-z_0.9~"), "A-z_0.9~");
    }

    #[test]
    fn dot_segments_are_refused_as_path_segments() {
        for bad in ["", ".", ".."] {
            assert_eq!(super::encode_path_segment(bad), None, "{bad:?}");
        }
        assert_eq!(
            super::encode_path_segment("auth0|a.b").as_deref(),
            Some("auth0%7Ca.b")
        );
        assert_eq!(super::encode_path_segment("...").as_deref(), Some("..."));
    }
}
