//! `cargo xtask bench [N]`: each function's release binary, run as Lambda runs it (Runtime API
//! emulator) against loopback peers, then N warm invocations (default 200). Prints init time
//! (spawn → first request for work), warm latency percentiles (as the Runtime API sees them,
//! peer time included) and peak RSS. Every peer is a wiremock stub answering at once
//! (EventBridge speaks its JSON 1.1 protocol), so the figures are the functions' own cost.
//! Figures from this machine, not from Lambda: they compare builds, they do not predict AWS.

use crate::test::workspace_root;
use serde_json::{Value, json};
use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};
use test_support::runtime::{LambdaProcess, Outcome};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

const FUNCTIONS: [&str; 3] = ["email-transform", "send-email", "hybris-reset-password"];

pub fn run(args: &[String]) -> Result<(), String> {
    let n: usize = match args.first() {
        Some(v) => v
            .parse()
            .map_err(|_| format!("N must be a number, got {v:?}"))?,
        None => 200,
    };
    let root = workspace_root();
    println!("xtask: building release binaries");
    let mut build = Command::new("cargo");
    build
        .args(["build", "--release", "--quiet"])
        .current_dir(&root);
    for f in FUNCTIONS {
        build.args(["-p", f]);
    }
    if !build.status().map_err(|e| e.to_string())?.success() {
        return Err("release build failed".into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(bench_all(&root, n))
}

fn sample(root: &Path, rel: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(root.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{rel}: {e}"))
}

async fn stub(server: &MockServer, verb: &str, at: &str, status: u16, body: Value) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

async fn bench_all(root: &Path, n: usize) -> Result<(), String> {
    // EventBridge PutEvents (AWS JSON 1.1): the sce sample publishes two entries.
    let eventbridge = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AWSEvents.PutEvents"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"FailedEntryCount":0,"Entries":[{"EventId":"1"},{"EventId":"2"}]}"#,
            "application/x-amz-json-1.1",
        ))
        .mount(&eventbridge)
        .await;
    let bloomreach = MockServer::start().await;
    stub(
        &bloomreach,
        "POST",
        "/email/v2/projects/bench/sync",
        200,
        json!({"success": true}),
    )
    .await;
    let hybris = MockServer::start().await;
    stub(
        &hybris,
        "POST",
        "/authorizationserver/oauth/token",
        200,
        json!({"access_token": "t", "expires_in": 3600}),
    )
    .await;
    stub(
        &hybris,
        "GET",
        "/occ/v2/shop/users/legacy.customer%40example.com",
        200,
        json!({"uid": "x"}),
    )
    .await;
    stub(
        &hybris,
        "POST",
        "/occ/v2/shop/passwordRestoreToken",
        201,
        json!({}),
    )
    .await;
    let auth0 = MockServer::start().await;
    stub(
        &auth0,
        "POST",
        "/oauth/token",
        200,
        json!({"access_token": "t", "expires_in": 86400}),
    )
    .await;
    stub(&auth0, "DELETE", "/api/v2/user-blocks", 204, json!({})).await;

    let mut aws = test_support::aws::env_for(&eventbridge.uri());
    aws.push(("AWS_LAMBDA_LOG_LEVEL", "WARN".into()));
    let mut transform_env = aws.clone();
    transform_env.push(("EMAIL_BUS_NAME", "bench".into()));
    let mut send_env = aws.clone();
    send_env.extend([
        ("BLOOMREACH_API_BASE", bloomreach.uri()),
        ("BLOOMREACH_PROJECT_TOKEN", "bench".into()),
        ("BLOOMREACH_API_KEY_ID", "k".into()),
        ("BLOOMREACH_API_SECRET", "s".into()),
        ("BLOOMREACH_TEMPLATE_ACCOUNT_BLOCKED", "t".into()),
        ("BLOOMREACH_TEMPLATE_PASSWORD_CHANGED", "t".into()),
        ("BLOOMREACH_TEMPLATE_EMAIL_CHANGED_OLD_ADDRESS", "t".into()),
        ("BLOOMREACH_TEMPLATE_EMAIL_CHANGED_NEW_ADDRESS", "t".into()),
    ]);
    let mut hybris_env = aws.clone();
    hybris_env.extend([
        ("HYBRIS_BASE_URL", hybris.uri()),
        ("HYBRIS_BASE_SITE", "shop".into()),
        ("HYBRIS_CLIENT_ID", "c".into()),
        ("HYBRIS_CLIENT_SECRET", "s".into()),
        ("AUTH0_DOMAIN", "bench.auth0.com".into()),
        ("AUTH0_BASE_URL", auth0.uri()),
        ("AUTH0_CLIENT_ID", "c".into()),
        ("AUTH0_CLIENT_SECRET", "s".into()),
    ]);
    let cases = [
        ("email-transform", "events/auth0/sce.json", transform_env),
        (
            "send-email",
            "events/send-email/account_blocked.json",
            send_env,
        ),
        (
            "hybris-reset-password",
            "events/auth0/fcpr.json",
            hybris_env,
        ),
    ];

    println!(
        "
{n} warm invocations each, release build, wiremock peers on loopback
"
    );
    println!("| function | binary | init | p50 | p95 | p99 | max | peak RSS |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, event_file, env) in cases {
        let event = sample(root, event_file)?;
        let binary = root.join("target/release").join(name);
        let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
        let mut lambda = LambdaProcess::spawn(&binary.to_string_lossy(), name, &env).await;
        let mut times = Vec::with_capacity(n);
        // The first (cold) invocation opens connections and fetches tokens: reported apart.
        let cold_start = Instant::now();
        check(
            name,
            lambda.invoke(event.clone(), Duration::from_secs(10)).await,
        )?;
        let first = cold_start.elapsed();
        for _ in 0..n {
            let t = Instant::now();
            check(
                name,
                lambda.invoke(event.clone(), Duration::from_secs(10)).await,
            )?;
            times.push(t.elapsed());
        }
        times.sort();
        let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
        println!(
            "| {name} | {:.1} MiB | {} | {} | {} | {} | {} | {:.1} MiB |",
            size as f64 / 1_048_576.0,
            lambda.init_duration().map(ms).unwrap_or_else(|| "?".into()),
            ms(pct(0.50)),
            ms(pct(0.95)),
            ms(pct(0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            lambda.peak_rss_kib().unwrap_or(0) as f64 / 1024.0,
        );
        println!(
            "|   first invocation (new connections, token fetches) | | | {} | | | | |",
            ms(first)
        );
    }
    Ok(())
}

fn check(name: &str, outcome: Outcome) -> Result<(), String> {
    match outcome {
        Outcome::Response(_) => Ok(()),
        Outcome::Error {
            error_type,
            error_message,
        } => Err(format!(
            "{name} failed during the bench: {error_type}: {error_message}"
        )),
    }
}
