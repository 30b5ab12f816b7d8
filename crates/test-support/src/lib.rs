//! Test helpers that stand up real protocol peers on loopback, and the one home of the
//! fixtures the tests share (Auth0 users and mocks, provider settings, API Gateway events).
//!
//! - [`moto`]: an AWS-compatible endpoint (moto server) for the real SDK clients.
//! - [`aws`]: an `SdkConfig` pointed at such an endpoint with dummy credentials,
//!   [`aws::fetched_at_once`], which shows whether a configuration fetches its secrets at once,
//!   and [`aws::create_email_history_table`], the email history's table as the template has it.
//! - [`runtime`]: the Lambda Runtime API, so a function's real binary runs as Lambda runs it.
//! - [`logs`]: capture of tracing output, and checks that no email address or secret leaked.
//! - [`auth0`]: an Auth0 tenant on wiremock (client settings, token endpoint, Management API
//!   calls, users, raw-query matcher).
//! - [`dixa`]: the Dixa functions' settings (look-up secret, token key, origin, agent).
//! - [`browser`]: headless Chromium (chromedriver + fantoccini) with screenshots.
//! - [`apigw`]: API Gateway REST proxy events (any; Dixa's look-up and button clicks) and
//!   responses for the HTTP functions.
//! - [`sqs`]: SQS batches as an event source mapping gives them (send-email reads a queue).

pub mod apigw;
pub mod auth0;
pub mod aws;
pub mod browser;
pub mod dixa;
pub mod logs;
pub mod moto;
pub mod runtime;
pub mod sqs;

use std::sync::atomic::{AtomicU32, Ordering};

/// A name unique to this process and call, for AWS resources on a shared moto server.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
