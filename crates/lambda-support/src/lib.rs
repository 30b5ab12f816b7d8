//! Start-up plumbing shared by every Lambda in the workspace.
//!
//! - [`init_tracing`]: JSON log lines with a `level` key (what Lambda's log-level filter reads).
//! - [`Env`]: typed configuration read once at start-up; every error names the variable.
//! - [`event`]: the event loop of the EventBridge functions (raw JSON first, `MalformedEvent`).
//! - [`secrets`]: credentials from AWS Secrets Manager when an ARN is configured, else from env.
//! - [`http`] and [`aws_config`]: the one HTTP/TLS stack every client is built on.
//! - [`time`]: RFC 3339 timestamps.
//! - [`platform`]: what a function's `bootstrap` builds it from, in production and locally.

pub mod config;
pub mod event;
pub mod http;
pub mod pace;
pub mod platform;
pub mod retry;
pub mod secrets;
pub mod time;
pub mod token_cache;

pub use config::{ConfigError, Env};
pub use platform::{MemoryStores, Platform, StartError};
pub use secrecy::{ExposeSecret, SecretString};

/// The `tracing` target of audit lines (`tracing::info!(target: "audit", ...)`).
pub const AUDIT_TARGET: &str = "audit";

/// The `level` audit lines carry: the one level Lambda's log-level filter keeps at every
/// `ApplicationLogLevel` (lines below the setting never reach CloudWatch). It marks the line
/// as never to be filtered, not as a failure.
pub const AUDIT_LEVEL: &str = "FATAL";

/// Installs the global JSON subscriber.
///
/// Level: `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's advanced logging controls), else `RUST_LOG`,
/// else `info`. The runtime and HTTP/SDK crates are capped at `info` unless the setting names
/// them: at TRACE they log raw event payloads and response bodies, which hold customer addresses.
///
/// Audit lines (target [`AUDIT_TARGET`]) bypass the level setting and are written with
/// `"level": "FATAL"` ([`AUDIT_LEVEL`]): Lambda filters JSON lines by that field, so an INFO
/// audit line would be dropped before CloudWatch whenever the level is WARN or ERROR.
pub fn init_tracing() {
    use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt};
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned())
        .to_lowercase();
    let _ = tracing_subscriber::registry()
        .with(json_layer(level_filter(&level)))
        .with(audit_layer())
        .try_init(); // a second call (tests, local runner) keeps the first subscriber
}

/// The filter for everything but audit lines (those have their own layer).
///
/// `tracing_subscriber::filter::Targets`, not `EnvFilter`: the same `target=level,...` syntax
/// without span and field matching, so no regex engine is compiled in or built at start-up.
/// Lambda's `FATAL` maps to `error` (tracing has no level above it); anything unreadable gives
/// `info`, and so does a setting that names no default level.
fn level_filter(setting: &str) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let setting = setting.trim().to_lowercase();
    let setting = match setting.as_str() {
        "fatal" => "error".to_owned(),
        _ => setting,
    };
    let mut parsed: Targets = setting.parse().unwrap_or_default();
    // A setting that only names crates (or that is not a filter at all) keeps INFO for the rest.
    if parsed.default_level().is_none() {
        parsed = parsed.with_default(LevelFilter::INFO);
    }
    // The runtime and HTTP/SDK crates never go below INFO unless the setting names them: at
    // DEBUG/TRACE they log raw event payloads and response bodies (customer addresses). A
    // quieter default (WARN, ERROR) applies to them as to everything else.
    let quiet_level = parsed
        .default_level()
        .unwrap_or(LevelFilter::INFO)
        .min(LevelFilter::INFO);
    let named: Vec<String> = parsed.iter().map(|(target, _)| target.to_owned()).collect();
    let mut filter = parsed;
    for quiet in QUIET_CRATES {
        if !named.iter().any(|t| t == quiet) {
            filter = filter.with_target(quiet, quiet_level);
        }
    }
    filter.with_target(AUDIT_TARGET, LevelFilter::OFF)
}

/// Crates whose DEBUG/TRACE lines may carry payloads.
const QUIET_CRATES: [&str; 10] = [
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

fn json_layer<S, F>(filter: F) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    F: tracing_subscriber::layer::Filter<S> + 'static,
{
    use tracing_subscriber::Layer;
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .without_time() // CloudWatch stamps every line already
        .with_filter(filter)
}

/// Audit lines at any level, written as the JSON layer writes them but with
/// `"level": "FATAL"`.
fn audit_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::Layer;
    tracing_subscriber::fmt::layer()
        .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
        .event_format(AuditFormat(
            tracing_subscriber::fmt::format()
                .json()
                .with_current_span(false)
                .with_span_list(false)
                .with_target(true)
                .without_time(),
        ))
        .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            meta.target() == AUDIT_TARGET
        }))
}

/// The JSON format with the line's `level` replaced by [`AUDIT_LEVEL`].
struct AuditFormat(
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json, ()>,
);

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for AuditFormat
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut line = String::new();
        self.0.format_event(
            ctx,
            tracing_subscriber::fmt::format::Writer::new(&mut line),
            event,
        )?;
        writer.write_str(&with_level(&line, AUDIT_LEVEL))
    }
}

/// `line` (a JSON object starting with its `level`, as the JSON format writes it) with that
/// level replaced; any other line unchanged.
fn with_level(line: &str, level: &str) -> String {
    const PREFIX: &str = "{\"level\":\"";
    match line
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('"'))
    {
        Some((_, rest)) => format!("{PREFIX}{level}\"{rest}"),
        None => line.to_owned(),
    }
}

/// The shared AWS configuration, built once per container from what Lambda puts in the
/// environment. Honours `AWS_ENDPOINT_URL` (tests and the local runner point it at a loopback
/// endpoint).
pub async fn aws_config() -> aws_types::SdkConfig {
    aws_config_from(&Env::from_process())
}

/// The AWS configuration from `env`, without `aws-config`'s provider chains: Lambda sets the
/// region (`AWS_REGION`) and the execution role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) for the life of the container, so the chains'
/// profile-file reads and metadata probes only cost start-up time. Missing credentials fail
/// the first AWS call with a message naming the variables; nothing here does I/O.
pub fn aws_config_from(env: &Env) -> aws_types::SdkConfig {
    use aws_credential_types::{Credentials, provider::SharedCredentialsProvider};
    let mut config = aws_types::SdkConfig::builder()
        .behavior_version(
            aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest(),
        )
        .credentials_provider(SharedCredentialsProvider::new(EnvCredentials(
            match (
                env.optional("AWS_ACCESS_KEY_ID"),
                env.optional("AWS_SECRET_ACCESS_KEY"),
            ) {
                (Some(id), Some(secret)) => Some(Credentials::new(
                    id,
                    secret,
                    env.optional("AWS_SESSION_TOKEN"),
                    None,
                    "lambda-environment",
                )),
                _ => None,
            },
        )));
    if let Some(region) = env
        .optional("AWS_REGION")
        .or_else(|| env.optional("AWS_DEFAULT_REGION"))
    {
        config.set_region(Some(aws_types::region::Region::new(region)));
    }
    if let Some(endpoint) = env.optional("AWS_ENDPOINT_URL") {
        config.set_endpoint_url(Some(endpoint));
    }
    match http::sdk_http_client() {
        Ok(client) => {
            config.set_http_client(Some(client));
        }
        // Left unset, every AWS call fails with the SDK's "no HTTP client" error.
        Err(e) => tracing::error!(error = %e, "could not build the AWS SDK HTTP client"),
    }
    config.build()
}

/// The execution role's credentials as Lambda sets them, or a clear error on use.
#[derive(Debug)]
struct EnvCredentials(Option<aws_credential_types::Credentials>);

impl aws_credential_types::provider::ProvideCredentials for EnvCredentials {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::ready(
            self.0.clone().ok_or_else(|| {
                aws_credential_types::provider::error::CredentialsError::not_loaded(
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
                )
            }),
        )
    }
}

/// The AWS configuration, loaded on first use and then shared: a function whose settings name
/// no secret ARN (a local run) never loads it, and one that needs several clients loads it once.
#[derive(Debug)]
pub struct LazyAws {
    /// Where the region, credentials and endpoint come from (Lambda's environment in `main`).
    env: Env,
    config: tokio::sync::OnceCell<aws_types::SdkConfig>,
    secrets_manager: tokio::sync::OnceCell<aws_sdk_secretsmanager::Client>,
}

impl LazyAws {
    pub fn from_env(env: Env) -> Self {
        Self {
            env,
            config: Default::default(),
            secrets_manager: Default::default(),
        }
    }

    pub async fn config(&self) -> aws_types::SdkConfig {
        self.config
            .get_or_init(|| async { aws_config_from(&self.env) })
            .await
            .clone()
    }

    /// One Secrets Manager client however many settings name a secret (clones share it).
    pub async fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        self.secrets_manager
            .get_or_init(|| async { aws_sdk_secretsmanager::Client::new(&self.config().await) })
            .await
            .clone()
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
    use super::Env;

    fn lambda_env(endpoint: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", endpoint.to_owned()),
            ("AWS_REGION", "eu-west-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_SESSION_TOKEN", "session".to_owned()),
        ]
    }

    /// The real SDK, signed requests and all, through the shared reqwest stack to moto.
    #[tokio::test]
    async fn sdk_calls_go_through_the_shared_http_stack() {
        let moto = test_support::moto::server().await;
        let config = super::aws_config_from(&Env::from_pairs(lambda_env(moto.endpoint())));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        let client = aws_sdk_secretsmanager::Client::new(&config);
        let name = test_support::unique("lean");
        client
            .create_secret()
            .name(&name)
            .secret_string("value")
            .send()
            .await
            .unwrap();
        let got = client
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
            .unwrap();
        assert_eq!(got.secret_string(), Some("value"));
    }

    #[tokio::test]
    async fn missing_credentials_fail_the_call_naming_the_variables() {
        let mut env = lambda_env("http://127.0.0.1:9");
        env.retain(|(k, _)| !k.starts_with("AWS_ACCESS") && !k.starts_with("AWS_SECRET"));
        let config = super::aws_config_from(&Env::from_pairs(env));
        let err = aws_sdk_secretsmanager::Client::new(&config)
            .get_secret_value()
            .secret_id("x")
            .send()
            .await
            .unwrap_err();
        let text = format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(&err)
        );
        assert!(text.contains("AWS_ACCESS_KEY_ID"), "{text}");
    }

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
    fn level_setting_caps_payload_crates_and_never_passes_audit() {
        use tracing::Level;
        use tracing_subscriber::filter::LevelFilter;
        let on = |f: &tracing_subscriber::filter::Targets, target: &str, level: Level| {
            f.would_enable(target, &level)
        };
        let debug = super::level_filter("DEBUG");
        assert!(on(&debug, "send_email", Level::DEBUG));
        assert!(
            !on(&debug, "hyper_util::client", Level::DEBUG),
            "capped at info"
        );
        assert!(on(&debug, "hyper_util::client", Level::INFO));
        assert!(
            !on(&debug, "audit", Level::ERROR),
            "audit has its own layer"
        );

        let warn = super::level_filter("WARN");
        assert!(!on(&warn, "send_email", Level::INFO));
        assert!(
            !on(&warn, "reqwest", Level::INFO),
            "quieter default applies"
        );
        assert!(on(&warn, "reqwest", Level::WARN));

        // Lambda's FATAL is tracing's ERROR; unreadable settings are INFO.
        assert_eq!(
            super::level_filter("FATAL").default_level(),
            Some(LevelFilter::ERROR)
        );
        assert_eq!(
            super::level_filter("loud!=").default_level(),
            Some(LevelFilter::INFO)
        );
        // A setting that names a crate wins over the cap.
        assert!(on(
            &super::level_filter("info,reqwest=trace"),
            "reqwest",
            Level::TRACE
        ));
    }

    #[test]
    fn audit_lines_get_the_level_the_filter_always_keeps() {
        assert_eq!(
            super::with_level(
                "{\"level\":\"INFO\",\"fields\":{\"audit\":true},\"target\":\"audit\"}\n",
                "FATAL"
            ),
            "{\"level\":\"FATAL\",\"fields\":{\"audit\":true},\"target\":\"audit\"}\n"
        );
        assert_eq!(super::with_level("not json\n", "FATAL"), "not json\n");
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
