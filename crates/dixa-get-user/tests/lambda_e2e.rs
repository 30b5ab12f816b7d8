//! The real dixa-get-user binary, run as Lambda runs it (Runtime API), fed API Gateway REST
//! (v1) proxy events, against a wiremock Auth0.

use serde_json::{Value, json};
use std::time::Duration;
use test_support::apigw::{lookup_event, response_body, rest_event};
use test_support::auth0::{self, CLIENT_SECRET, EMAIL, M2M_TOKEN, USER, USER_ENCODED};
use test_support::dixa::{self, LOOKUP_SECRET, TOKEN_KEY};
use test_support::{
    logs,
    runtime::{self, LambdaProcess},
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path, query_param},
};

const BIN: &str = env!("CARGO_BIN_EXE_dixa-get-user");
const TIMEOUT: Duration = Duration::from_secs(10);

fn env(auth0: &MockServer) -> Vec<(&'static str, String)> {
    dixa::env(&auth0.uri(), &[("AWS_LAMBDA_LOG_LEVEL", "DEBUG")])
}

/// The API Gateway proxy response: status, headers (lower-case name → first value), and the
/// body parsed as JSON.
async fn call(lambda: &mut LambdaProcess, event: Value) -> (u64, Value, Value) {
    let (status, headers, response) = test_support::apigw::invoke(lambda, event, TIMEOUT).await;
    (status, headers, response_body(&response))
}

#[tokio::test]
async fn lookups_as_lambda_runs_them() {
    let auth0 = auth0::start(M2M_TOKEN, 1).await;
    auth0::mount_users_by_email(
        &auth0,
        "email=jane%2Bshop%40example.com",
        M2M_TOKEN,
        json!([auth0::user(USER, EMAIL)]),
        1,
    )
    .await;
    auth0::mount_user_blocks(
        &auth0,
        USER_ENCODED,
        M2M_TOKEN,
        json!({"blocked_for": [{"ip": "198.51.100.9"}]}),
        1,
    )
    .await;
    auth0::mount_account_details(
        &auth0,
        USER_ENCODED,
        M2M_TOKEN,
        json!([]),
        json!([auth0::totp_factor()]),
    )
    .await;
    auth0::mount_users_by_email(
        &auth0,
        "email=nobody%40example.com",
        M2M_TOKEN,
        json!([]),
        1,
    )
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
        json!({"found": true, "count": 1, "email": "jane+shop@example.com", "history": "off",
            "token_expires_in": 300,
            "accounts": [{
            "user_id": USER, "email": "jane+shop@example.com", "email_verified": true,
            "connection": "Username-Password-Authentication", "logins_count": 12,
            "last_login": "2026-11-20T10:00:00.000Z", "created_at": "2024-01-02T03:04:05.000Z",
            "blocked": false, "brute_force_blocked": true, "brute_force_block_count": 1,
            "mfa_factors": 1, "events": {"status": "ok", "items": []},
            "action_token": null,
            "actions": ["change_email", "send_password_reset", "block",
                        "clear_brute_force_blocks", "sign_out_everywhere", "reset_mfa"]
        }]})
    );

    // Not found, refused, bad input, Auth0 down: answers, never Lambda errors.
    let (status, _, body) = call(
        &mut lambda,
        lookup_event("nobody@example.com", Some(LOOKUP_SECRET)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"found": false, "count": 0, "email": "nobody@example.com", "accounts": [],
               "history": "off"})
    );
    let (ok, rotated_out) = (
        Some(LOOKUP_SECRET),
        Some("a-rotated-out-secret-0123456789abcdef"),
    );
    for (email, secret, status, code) in [
        ("jane@example.com", None, 401, "unauthenticated"),
        ("jane@example.com", rotated_out, 401, "unauthenticated"),
        ("jane.example.com", ok, 400, "invalid_email"),
        ("down@example.com", ok, 503, "upstream_unavailable"),
    ] {
        let (got, _, body) = call(&mut lambda, lookup_event(email, secret)).await;
        assert_eq!(got, status, "{email}");
        assert_eq!(body["error"]["code"], code, "{email}");
    }
    let (status, headers, _) = call(
        &mut lambda,
        rest_event("/lookup", "POST", "/lookup", &[], &[], Some("{}")),
    )
    .await;
    assert_eq!(status, 405);
    assert_eq!(headers["allow"], "GET");

    let output = lambda.output();
    logs::assert_no_email_addresses(&output);
    logs::assert_no_secrets(
        &output,
        &[LOOKUP_SECRET, TOKEN_KEY, CLIENT_SECRET, M2M_TOKEN],
    );
    // One audit line per look-up (the 405 is not a look-up).
    assert_eq!(logs::audit_lines(&output).len(), 6, "{output}");
}

#[tokio::test]
async fn a_missing_setting_stops_start_up_naming_it() {
    runtime::assert_start_up_stops_for(BIN, "dixa-get-user", &[], "DIXA_ALLOWED_ORIGINS").await;
}
