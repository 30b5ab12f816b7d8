//! The real dixa-get-user binary, run as Lambda runs it (Runtime API), fed API Gateway REST
//! (v1) proxy events, against a wiremock Auth0.

use serde_json::{Value, json};
use std::time::Duration;
use test_support::apigw::rest_event;
use test_support::{
    logs,
    runtime::{LambdaProcess, Outcome},
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path, query_param},
};

const BIN: &str = env!("CARGO_BIN_EXE_dixa-get-user");
const TIMEOUT: Duration = Duration::from_secs(10);
const LOOKUP_SECRET: &str = "lookup-secret-0123456789abcdefghijklmnop";
const TOKEN_KEY: &str = "token-key-0123456789abcdefghijklmnopqrstu";
const USER: &str = "auth0|64f0c0ffee0123456789abcd";

fn env(auth0: &MockServer) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("DIXA_LOOKUP_SECRET", LOOKUP_SECRET.into()),
        ("DIXA_ACTION_TOKEN_KEY", TOKEN_KEY.into()),
        ("DIXA_ALLOWED_ORIGINS", "https://shop.dixa.com".into()),
        ("AWS_LAMBDA_LOG_LEVEL", "DEBUG".into()),
    ];
    env.extend(test_support::auth0::env(&auth0.uri()));
    env
}

fn lookup_event(email: &str, secret: Option<&str>) -> Value {
    let headers: Vec<(&str, &str)> = secret
        .map(|s| vec![("x-dixa-card-secret", s)])
        .unwrap_or_default();
    rest_event(
        "/lookup",
        "GET",
        "/lookup",
        &[
            ("email", email),
            ("csid", "8812345"),
            ("agent", "agent.smith@shop.example"),
        ],
        &headers,
        None,
    )
}

/// The API Gateway proxy response: status, headers (lower-case name → first value), and the
/// body parsed as JSON.
async fn call(lambda: &mut LambdaProcess, event: Value) -> (u64, Value, Value) {
    match lambda.invoke(event, TIMEOUT).await {
        Outcome::Response(r) => {
            let body = r["body"].as_str().expect("a text body");
            (
                r["statusCode"].as_u64().unwrap(),
                test_support::apigw::response_headers(&r),
                serde_json::from_str(body).unwrap(),
            )
        }
        other => panic!("a Lambda error instead of an HTTP response: {other:?}"),
    }
}

#[tokio::test]
async fn lookups_as_lambda_runs_them() {
    let auth0 = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "a0-tok-4Wx2", "expires_in": 86400, "token_type": "Bearer"}),
        ))
        .expect(1)
        .mount(&auth0)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users-by-email"))
        .and(query_param("email", "jane+shop@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "user_id": USER, "email": "jane+shop@example.com", "email_verified": true,
            "identities": [{"connection": "Username-Password-Authentication",
                            "provider": "auth0", "user_id": "64f0c0ffee0123456789abcd"}],
            "logins_count": 12, "last_login": "2026-11-20T10:00:00.000Z",
            "created_at": "2024-01-02T03:04:05.000Z", "blocked": false,
            "last_ip": "203.0.113.7", "user_metadata": {"lang": "de"}
        }])))
        .expect(1)
        .mount(&auth0)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/user-blocks/auth0%7C64f0c0ffee0123456789abcd"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"blocked_for": [{"ip": "198.51.100.9"}]})),
        )
        .expect(1)
        .mount(&auth0)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users-by-email"))
        .and(query_param("email", "nobody@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&auth0)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users-by-email"))
        .and(query_param("email", "down@example.com"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&auth0)
        .await;
    let mut lambda = LambdaProcess::spawn(BIN, "dixa-get-user", &env(&auth0)).await;

    // Found: the card JSON.
    let (status, headers, mut body) = call(
        &mut lambda,
        lookup_event("jane+shop@example.com", Some(LOOKUP_SECRET)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    let token = body["accounts"][0]["action_token"].take();
    assert!(token.as_str().is_some_and(|t| t.contains('.')), "{token}");
    assert_eq!(
        body,
        json!({"found": true, "count": 1, "token_expires_in": 300, "accounts": [{
            "user_id": USER, "email": "jane+shop@example.com", "email_verified": true,
            "connection": "Username-Password-Authentication", "logins_count": 12,
            "last_login": "2026-11-20T10:00:00.000Z", "created_at": "2024-01-02T03:04:05.000Z",
            "blocked": false, "brute_force_blocked": true, "brute_force_block_count": 1,
            "action_token": null,
            "actions": ["change_email", "send_password_reset", "block",
                        "clear_brute_force_blocks"]
        }]})
    );

    // Not found, refused, bad input, Auth0 down: answers, never Lambda errors.
    let (status, _, body) = call(
        &mut lambda,
        lookup_event("nobody@example.com", Some(LOOKUP_SECRET)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"found": false, "count": 0, "accounts": []}));
    let (status, _, body) = call(&mut lambda, lookup_event("jane@example.com", None)).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");
    let (status, _, body) = call(
        &mut lambda,
        lookup_event(
            "jane@example.com",
            Some("a-rotated-out-secret-0123456789abcdef"),
        ),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");
    let (status, _, body) = call(
        &mut lambda,
        lookup_event("jane.example.com", Some(LOOKUP_SECRET)),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_email");
    let (status, _, body) = call(
        &mut lambda,
        lookup_event("down@example.com", Some(LOOKUP_SECRET)),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(body["error"]["code"], "upstream_unavailable");
    let (status, headers, _) = call(
        &mut lambda,
        rest_event("/lookup", "POST", "/lookup", &[], &[], Some("{}")),
    )
    .await;
    assert_eq!(status, 405);
    assert_eq!(headers["allow"], "GET");

    let output = lambda.output();
    logs::assert_no_email_addresses(&output);
    for secret in [LOOKUP_SECRET, TOKEN_KEY, "auth0-s3cret", "a0-tok-4Wx2"] {
        let leaks: Vec<&str> = output.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret} in output: {leaks:#?}");
    }
    // One audit line per look-up (the 405 is not a look-up).
    let audits = output
        .lines()
        .filter(|l| l.contains(r#""target":"audit""#))
        .count();
    assert_eq!(audits, 6, "{output}");
}

#[tokio::test]
async fn a_missing_setting_stops_start_up_naming_it() {
    let mut lambda = LambdaProcess::spawn(BIN, "dixa-get-user", &[]).await;
    let code = lambda.wait_exit(TIMEOUT).await;
    assert!(matches!(code, Some(c) if c != 0), "exit code {code:?}");
    assert!(
        lambda
            .output()
            .contains("missing required setting DIXA_ALLOWED_ORIGINS"),
        "{}",
        lambda.output()
    );
}
