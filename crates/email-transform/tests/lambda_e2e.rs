//! The real email-transform binary, run as Lambda runs it (Runtime API), against moto.

use serde_json::{Value, json};
use std::time::Duration;
use test_support::{
    aws::BusWithQueue,
    logs,
    runtime::{LambdaProcess, Outcome},
};

const BIN: &str = env!("CARGO_BIN_EXE_email-transform");

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/../../events/auth0/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn handles_events_as_lambda_runs_it() {
    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let pattern =
        json!({"source": ["security-emails.email-transform"], "detail-type": ["SendEmail"]});
    let bus = BusWithQueue::create(&sdk, &test_support::unique("email"), &pattern).await;

    let mut env = test_support::aws::env_for(moto.endpoint());
    env.push(("EMAIL_BUS_NAME", bus.bus_name.clone()));
    // DEBUG, so the address check below covers more than the default INFO lines.
    env.push(("AWS_LAMBDA_LOG_LEVEL", "DEBUG".to_owned()));
    let mut lambda = LambdaProcess::spawn(BIN, "email-transform", &env).await;
    let timeout = Duration::from_secs(10);

    match lambda.invoke(sample("limit_wc"), timeout).await {
        Outcome::Response(v) => assert_eq!(v["published"], json!(["account_blocked"])),
        other => panic!("limit_wc: {other:?}"),
    }
    let got = bus.receive(1, timeout).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["detail"]["recipient"], "jane.doe@example.com");

    // No usable address: a skip, not an error, and nothing published.
    match lambda.invoke(sample("limit_mu_no_user"), timeout).await {
        Outcome::Response(v) => {
            assert_eq!(v["published"], json!([]));
            assert_eq!(v["skipped"], json!(["no_address"]));
        }
        other => panic!("limit_mu_no_user: {other:?}"),
    }
    // The flat shape is an error for Lambda to retry and then dead-letter, not a silent drop.
    match lambda
        .invoke(sample("malformed_flat_detail"), timeout)
        .await
    {
        Outcome::Error {
            error_type,
            error_message,
        } => {
            assert_eq!(error_type, "MalformedEvent");
            assert!(error_message.contains("detail.data"), "{error_message}");
        }
        other => panic!("flat detail: {other:?}"),
    }
    // Not even a JSON object: still a clean error, and the process lives on.
    match lambda.invoke(json!("just a string"), timeout).await {
        Outcome::Error { error_type, .. } => assert_eq!(error_type, "MalformedEvent"),
        other => panic!("string event: {other:?}"),
    }
    match lambda.invoke(sample("scp"), timeout).await {
        Outcome::Response(v) => assert_eq!(v["published"], json!(["password_changed"])),
        other => panic!("scp after errors: {other:?}"),
    }
    assert!(bus.receive(1, timeout).await.len() == 1);

    let output = lambda.output();
    assert!(
        output.contains("\"level\":\"WARN\"") || output.contains("\"level\":\"warn\""),
        "JSON logs with a level key:\n{output}"
    );
    logs::assert_no_email_addresses(&output);
}

#[tokio::test]
async fn a_missing_setting_stops_start_up_naming_it() {
    let mut lambda = LambdaProcess::spawn(BIN, "email-transform", &[]).await;
    let code = lambda.wait_exit(Duration::from_secs(10)).await;
    assert!(matches!(code, Some(c) if c != 0), "exit code {code:?}");
    let output = lambda.output();
    assert!(
        output.contains("missing required setting EMAIL_BUS_NAME"),
        "{output}"
    );
}
