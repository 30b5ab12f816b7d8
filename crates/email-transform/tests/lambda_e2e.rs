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

#[tokio::test]
async fn a_user_id_only_log_is_resolved_through_auth0_when_configured() {
    use wiremock::{
        Mock, MockServer, ResponseTemplate,
        matchers::{header, method, path},
    };
    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let pattern =
        json!({"source": ["security-emails.email-transform"], "detail-type": ["SendEmail"]});
    let bus = BusWithQueue::create(&sdk, &test_support::unique("email"), &pattern).await;
    let auth0 = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "a0-tok-8Hn3", "expires_in": 86400})),
        )
        .expect(1)
        .mount(&auth0)
        .await;
    let user_path = "/api/v2/users/auth0%7C6650f1c2a3b4c5d6e7f80915";
    Mock::given(method("GET"))
        .and(path(user_path))
        .and(header("authorization", "Bearer a0-tok-8Hn3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "user_id": "auth0|6650f1c2a3b4c5d6e7f80915", "email": "Looked.Up@example.com",
            "email_verified": true, "identities": [{"connection": "Username-Password-Authentication", "provider": "auth0", "user_id": "6650f1c2a3b4c5d6e7f80915"}]
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&auth0)
        .await;

    let mut env = test_support::aws::env_for(moto.endpoint());
    env.push(("EMAIL_BUS_NAME", bus.bus_name.clone()));
    env.extend(test_support::auth0::env(&auth0.uri()));
    let mut lambda = LambdaProcess::spawn(BIN, "email-transform", &env).await;
    let timeout = Duration::from_secs(10);

    match lambda.invoke(sample("scp_only_user_id"), timeout).await {
        Outcome::Response(v) => assert_eq!(v["published"], json!(["password_changed"])),
        other => panic!("resolved: {other:?}"),
    }
    let got = bus.receive(1, timeout).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["detail"]["recipient"], "looked.up@example.com");

    // The user is gone from Auth0: a skip, as without Auth0.
    Mock::given(method("GET"))
        .and(path(user_path))
        .respond_with(ResponseTemplate::new(404))
        .up_to_n_times(1)
        .mount(&auth0)
        .await;
    match lambda.invoke(sample("scp_only_user_id"), timeout).await {
        Outcome::Response(v) => assert_eq!(v["skipped"], json!(["only_user_id"])),
        other => panic!("404: {other:?}"),
    }
    // Auth0 down: an error for Lambda to retry, nothing published.
    Mock::given(method("GET"))
        .and(path(user_path))
        .respond_with(ResponseTemplate::new(503))
        .mount(&auth0)
        .await;
    match lambda.invoke(sample("scp_only_user_id"), timeout).await {
        Outcome::Error { error_type, .. } => assert_eq!(error_type, "Auth0LookupFailed"),
        other => panic!("503: {other:?}"),
    }
    assert!(bus.receive(0, Duration::from_secs(1)).await.is_empty());
    let output = lambda.output();
    logs::assert_no_email_addresses(&output);
    assert!(!output.contains("a0-tok-8Hn3") && !output.contains("auth0-s3cret"));
}
