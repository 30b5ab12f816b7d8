//! The look-up handler against a wiremock Auth0, with requests built from API Gateway REST
//! (v1) proxy events exactly as `lambda_http` builds them in Lambda.

mod common;

use common::{
    allows, body_json, look_up, mount_get_failing, mount_no_blocks, request, security_events,
    tokens,
};
use dixa_access::{Action, agent_ref};
use dixa_get_user::{Config, Lookup};
use lambda_support::Env;
use serde_json::{Value, json};
use test_support::apigw::LOOKUP_RESOURCE;
use test_support::auth0::{self, EMAIL, M2M_TOKEN, RawQuery, USER, USER_ENCODED};
use test_support::dixa::{self, AGENT, LOOKUP_SECRET};
use test_support::logs::{audit_lines, logs};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

const LOOKUP_SECRET_OLD: &str = "lookup-old-0123456789abcdefghijklmnopqrs";
const LOOKUP_SECRET_GONE: &str = "lookup-gone-0123456789abcdefghijklmnopqr";

fn env(server: &MockServer, extra: &[(&'static str, &'static str)]) -> Env {
    let mut pairs = dixa::env(&server.uri(), extra);
    pairs.push(("DIXA_LOOKUP_SECRET_PREVIOUS", LOOKUP_SECRET_OLD.into()));
    Env::from_pairs(pairs)
}

async fn lookup(server: &MockServer, extra: &[(&'static str, &'static str)]) -> Lookup {
    let config = Config::from_env(&env(server, extra), async || unreachable!("no ARN"))
        .await
        .unwrap();
    Lookup::new(config).unwrap()
}

/// A `/lookup` REST event.
fn rest_event(
    http_method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Value {
    test_support::apigw::rest_event(LOOKUP_RESOURCE, http_method, path, query, headers, None)
}

/// Jane's profile as Auth0 returns it, with fields the card must never carry.
fn profile() -> Value {
    auth0::user(USER, EMAIL)
}

/// `users-by-email` with exactly `raw_query`, answering `users`, once.
async fn mount_users(server: &MockServer, raw_query: &'static str, users: Value) {
    auth0::mount_users_by_email(server, raw_query, M2M_TOKEN, users, 1).await;
}

/// An Auth0 finding Jane's [`profile`] under her address once, with `blocks` as her user
/// blocks, [`auth0::security_logs`] as her logs and no MFA factor.
async fn jane_found(blocks: Value) -> MockServer {
    let server = auth0::start(M2M_TOKEN, 1).await;
    mount_users(
        &server,
        "email=jane%2Bshop%40example.com",
        json!([profile()]),
    )
    .await;
    auth0::mount_user_blocks(&server, USER_ENCODED, M2M_TOKEN, blocks, 1).await;
    auth0::mount_account_details(
        &server,
        USER_ENCODED,
        M2M_TOKEN,
        auth0::security_logs(),
        json!([]),
    )
    .await;
    server
}

/// An Auth0 finding no account under `nobody@example.com`, once.
async fn nobody_found() -> MockServer {
    let server = auth0::start(M2M_TOKEN, 1).await;
    mount_users(&server, "email=nobody%40example.com", json!([])).await;
    server
}

#[tokio::test]
async fn lookup_sends_the_exact_upstream_requests_and_answers_the_allow_list() {
    let _logs = logs();
    let server = jane_found(
        json!({"blocked_for": [{"identifier": "jane+shop@example.com",
            "ip": "198.51.100.9", "connection": "Username-Password-Authentication"}]}),
    )
    .await;
    let lookup = lookup(&server, &[]).await;
    // Dixa's placeholder, mixed case: looked up lower-cased, `+` sent as `%2B`.
    let response = look_up(&lookup, "Jane+Shop@Example.com").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let mut body = body_json(&response);
    let token = body["accounts"][0]["action_token"].take();
    assert_eq!(
        body,
        json!({
            "found": true,
            "count": 1,
            "email": "jane+shop@example.com",
            "history": "off",
            "token_expires_in": 300,
            "accounts": [{
                "user_id": USER,
                "email": "jane+shop@example.com",
                "email_verified": true,
                "connection": "Username-Password-Authentication",
                "logins_count": 12,
                "last_login": "2026-11-20T10:00:00.000Z",
                "created_at": "2024-01-02T03:04:05.000Z",
                "blocked": false,
                "brute_force_blocked": true,
                "brute_force_block_count": 1,
                "mfa_factors": 0,
                "events": security_events(),
                "action_token": null,
                // Not blocked: no `unblock`; verified: no `resend_verification`; no factor:
                // no `reset_mfa`.
                "actions": ["change_email", "send_password_reset", "block",
                            "clear_brute_force_blocks", "sign_out_everywhere"]
            }]
        })
    );
    // The token allows the listed actions on this account only, bound to the
    // conversation/agent.
    let token = token.as_str().unwrap();
    let now = dixa_access::now_unix();
    let listed = [
        Action::ChangeEmail,
        Action::SendPasswordReset,
        Action::Block,
        Action::ClearBruteForceBlocks,
        Action::SignOutEverywhere,
    ];
    for action in Action::ALL.into_iter().filter(|a| !listed.contains(a)) {
        assert!(!allows(token, USER, action, now), "{action}");
    }
    for action in listed {
        let claims = tokens().verify(token, USER, action, now).unwrap();
        assert_eq!(claims.csid, "8812345");
        assert_eq!(claims.agent, agent_ref(AGENT));
        assert!(claims.exp <= now + 300 && claims.exp + 5 >= now + 300);
    }
    assert!(!allows(token, "auth0|other", Action::Block, now));
    // Never the Lucene search.
    for r in server.received_requests().await.unwrap() {
        assert_ne!(r.url.path(), "/api/v2/users");
    }
}

#[tokio::test]
async fn last_ip_is_shown_only_when_configured() {
    let _logs = logs();
    let server = jane_found(json!({"blocked_for": []})).await;
    let lookup = lookup(&server, &[("DIXA_SHOW_LAST_IP", "true")]).await;
    let body = body_json(&look_up(&lookup, "jane+shop@example.com").await);
    assert_eq!(body["accounts"][0]["last_ip"], "203.0.113.7");
    // And each event's IP.
    assert_eq!(
        body["accounts"][0]["events"]["items"][0]["ip"],
        auth0::LOG_IP
    );
    assert_eq!(body["accounts"][0]["brute_force_blocked"], false);
    assert_eq!(body["accounts"][0]["brute_force_block_count"], 0);
}

#[tokio::test]
async fn several_accounts_each_get_their_blocks_and_their_own_token() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    // Blocked by an admin.
    let mut google = auth0::social_user("jane@example.com");
    google["blocked"] = json!(true);
    let db = auth0::user(USER, "jane@example.com");
    mount_users(&server, "email=jane%40example.com", json!([db, google])).await;
    mount_no_blocks(&server, USER_ENCODED, 1).await;
    // No database identity: never asked for brute-force blocks.
    mount_no_blocks(&server, "google-oauth2%7C1234567890", 0).await;
    for id in [USER_ENCODED, "google-oauth2%7C1234567890"] {
        auth0::mount_account_details(&server, id, M2M_TOKEN, json!([]), json!([])).await;
    }
    let lookup = lookup(&server, &[]).await;
    let mut body = body_json(&look_up(&lookup, "jane@example.com").await);
    assert_eq!(body["found"], true);
    assert_eq!(body["count"], 2);
    let t0 = body["accounts"][0]["action_token"].take();
    let t1 = body["accounts"][1]["action_token"].take();
    assert_eq!(
        body["accounts"][1],
        json!({
            "user_id": "google-oauth2|1234567890", "email": "jane@example.com",
            "email_verified": true, "connection": "google-oauth2", "logins_count": 3,
            "last_login": null, "created_at": "2025-05-05T05:05:05.000Z", "blocked": true,
            "brute_force_blocked": false, "brute_force_block_count": 0,
            "mfa_factors": 0, "events": {"status": "ok", "items": []},
            "action_token": null,
            // Social: no email change or reset; blocked: unblock, not block.
            "actions": ["unblock", "sign_out_everywhere"]
        })
    );
    let now = dixa_access::now_unix();
    let (t0, t1) = (t0.as_str().unwrap(), t1.as_str().unwrap());
    assert!(allows(t0, USER, Action::Block, now));
    assert!(allows(t1, "google-oauth2|1234567890", Action::Unblock, now));
    for refused in [
        Action::SendPasswordReset,
        Action::ChangeEmail,
        Action::Block,
    ] {
        assert!(
            !allows(t1, "google-oauth2|1234567890", refused, now),
            "{refused:?}"
        );
    }
    assert!(!allows(t0, "google-oauth2|1234567890", Action::Block, now));
}

#[tokio::test]
async fn no_account_is_found_false() {
    let _logs = logs();
    let server = nobody_found().await;
    let lookup = lookup(&server, &[]).await;
    let response = look_up(&lookup, "nobody@example.com").await;
    assert_eq!(response.status(), 200);
    // Exactly this object, nothing more. Compared as JSON, not bytes: key order depends on
    // whether some crate in the build switches on serde_json's `preserve_order`.
    assert_eq!(
        body_json(&response),
        json!({"found": false, "count": 0, "email": "nobody@example.com", "accounts": [],
               "history": "off"})
    );
}

#[tokio::test]
async fn missing_wrong_or_rotated_out_secret_is_401_without_upstream_calls() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 0).await;
    let lookup = lookup(&server, &[]).await;
    let query = [("email", "jane@example.com"), ("csid", "8812345")];
    let cases: [(&str, &[(&str, &str)]); 5] = [
        ("missing", &[]),
        ("wrong", &[("x-dixa-card-secret", "not-the-secret")]),
        ("rotated out", &[("x-dixa-card-secret", LOOKUP_SECRET_GONE)]),
        ("other header", &[("authorization", LOOKUP_SECRET)]),
        ("empty", &[("x-dixa-card-secret", "")]),
    ];
    for (what, headers) in cases {
        let response = lookup
            .handle(request(&rest_event("GET", "/lookup", &query, headers)))
            .await;
        assert_eq!(response.status(), 401, "{what}");
        assert_eq!(
            body_json(&response),
            json!({"error": {"code": "unauthenticated", "message": "Authentication is required."}}),
            "{what}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_previous_secret_still_works_during_a_rotation() {
    let _logs = logs();
    let server = nobody_found().await;
    let lookup = lookup(&server, &[]).await;
    let event = rest_event(
        "GET",
        "/lookup",
        &[("email", "nobody@example.com"), ("csid", "1")],
        &[("X-Dixa-Card-Secret", LOOKUP_SECRET_OLD)],
    );
    assert_eq!(lookup.handle(request(&event)).await.status(), 200);
}

#[tokio::test]
async fn bad_input_is_a_4xx_json_without_upstream_calls() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 0).await;
    let lookup = lookup(&server, &[]).await;
    let secret = [("x-dixa-card-secret", LOOKUP_SECRET)];
    let cases: [(&str, Value, u16, &str); 8] = [
        (
            "malformed email",
            rest_event(
                "GET",
                "/lookup",
                &[("email", "jane@@example"), ("csid", "1")],
                &secret,
            ),
            400,
            "invalid_email",
        ),
        (
            "no email",
            rest_event("GET", "/lookup", &[("csid", "1")], &secret),
            400,
            "invalid_email",
        ),
        (
            "no csid",
            rest_event("GET", "/lookup", &[("email", "jane@example.com")], &secret),
            400,
            "bad_request",
        ),
        (
            "invalid csid",
            rest_event(
                "GET",
                "/lookup",
                &[("email", "jane@example.com"), ("csid", "1 OR 1=1")],
                &secret,
            ),
            400,
            "bad_request",
        ),
        (
            "unknown route",
            rest_event("GET", "/users", &[], &secret),
            404,
            "not_found",
        ),
        (
            "malformed path",
            rest_event("GET", "/%E9/lookup%", &[], &secret),
            404,
            "not_found",
        ),
        (
            "POST",
            rest_event("POST", "/lookup", &[], &secret),
            405,
            "method_not_allowed",
        ),
        (
            "OPTIONS",
            rest_event("OPTIONS", "/lookup", &[], &[]),
            405,
            "method_not_allowed",
        ),
    ];
    for (what, event, status, code) in cases {
        let response = lookup.handle(request(&event)).await;
        assert_eq!(response.status(), status, "{what}");
        assert_eq!(body_json(&response)["error"]["code"], code, "{what}");
        if status == 405 {
            assert_eq!(response.headers()["allow"], "GET", "{what}");
        }
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn auth0_failures_are_502_or_503_never_a_raw_500() {
    let _logs = logs();
    // Transient (5xx after the retries) → 503; a missing scope (403) → 502.
    for (status, expected, code) in [
        (503, 503, "upstream_unavailable"),
        (403, 502, "upstream_error"),
    ] {
        let server = auth0::start(M2M_TOKEN, 1).await;
        mount_get_failing(&server, "/api/v2/users-by-email", status).await;
        let lookup = lookup(&server, &[]).await;
        let response = look_up(&lookup, "jane@example.com").await;
        assert_eq!(response.status(), expected);
        assert_eq!(body_json(&response)["error"]["code"], code);
    }
    // The blocks call failing fails the look-up (no half card).
    let server = auth0::start(M2M_TOKEN, 1).await;
    mount_users(&server, "email=jane%40example.com", json!([profile()])).await;
    mount_get_failing(&server, format!("/api/v2/user-blocks/{USER_ENCODED}"), 500).await;
    let lookup = lookup(&server, &[]).await;
    let response = look_up(&lookup, "jane@example.com").await;
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn every_lookup_is_audited_once_and_no_address_is_logged() {
    let logs = logs();
    let server = jane_found(json!({"blocked_for": []})).await;
    mount_users(&server, "email=nobody%40example.com", json!([])).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users-by-email"))
        .and(RawQuery("email=down%40example.com"))
        .respond_with(ResponseTemplate::new(503).set_body_string("down@example.com"))
        .mount(&server)
        .await;
    let lookup = lookup(&server, &[]).await;

    let found = look_up(&lookup, "jane+shop@example.com").await;
    assert_eq!(found.status(), 200);
    let missing = look_up(&lookup, "nobody@example.com").await;
    assert_eq!(missing.status(), 200);
    let failed = look_up(&lookup, "down@example.com").await;
    assert_eq!(failed.status(), 503);
    let refused = lookup
        .handle(request(&rest_event(
            "GET",
            "/lookup",
            &[("email", "jane@example.com"), ("csid", "8812345")],
            &[("x-dixa-card-secret", "wrong")],
        )))
        .await;
    assert_eq!(refused.status(), 401);
    let bad = look_up(&lookup, "not-an-address").await;
    assert_eq!(bad.status(), 400);
    // Not a look-up: no audit line.
    let other = rest_event("GET", "/other", &[], &[]);
    assert_eq!(lookup.handle(request(&other)).await.status(), 404);

    let text = logs.text();
    assert!(
        !text.contains("jane") && !text.contains("nobody") && !text.contains("not-an-address"),
        "{text}"
    );
    let agent = agent_ref(AGENT);
    let agent = agent.as_str();
    let expect = [
        json!({"audit": true, "message": "audit", "action": "lookup", "auth0_user_id": USER,
               "conversation_id": "8812345", "agent": agent, "outcome": "allowed"}),
        json!({"audit": true, "message": "audit", "action": "lookup",
               "conversation_id": "8812345", "agent": agent, "outcome": "allowed",
               "reason": "no_account"}),
        json!({"audit": true, "message": "audit", "action": "lookup",
               "conversation_id": "8812345", "agent": agent, "outcome": "failed",
               "reason": "upstream_unavailable"}),
        // No agent in the query: audited as unknown (no field).
        json!({"audit": true, "message": "audit", "action": "lookup",
               "conversation_id": "8812345", "outcome": "refused", "reason": "secret_mismatch"}),
        json!({"audit": true, "message": "audit", "action": "lookup",
               "conversation_id": "8812345", "agent": agent, "outcome": "refused",
               "reason": "invalid_email"}),
    ];
    assert_eq!(audit_lines(&text), expect, "{text}");
}

/// Every `events/dixa/lookup_*.json` sample parses into a `lambda_http::Request` and gets
/// the status class its name promises.
#[tokio::test]
async fn lookup_samples_parse_and_get_the_expected_status_class() {
    let _logs = logs();
    let server = jane_found(json!({"blocked_for": []})).await;
    mount_users(&server, "email=unknown.customer%40example.com", json!([])).await;
    let lookup = lookup(&server, &[]).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/dixa");
    let expected = [
        ("lookup_valid.json", 200, Some(true)),
        ("lookup_unknown_user.json", 200, Some(false)),
        ("lookup_no_secret.json", 401, None),
        ("lookup_bad_email.json", 400, None),
    ];
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.starts_with("lookup_") {
            continue;
        }
        let (_, status, found) = expected
            .iter()
            .find(|(n, ..)| *n == name)
            .unwrap_or_else(|| panic!("{name}: add it to this table"));
        let text = std::fs::read_to_string(format!("{dir}/{name}"))
            .unwrap()
            .replace("REPLACE_WITH_LOOKUP_SECRET", LOOKUP_SECRET);
        let req = lambda_http::request::from_str(&text)
            .unwrap_or_else(|e| panic!("{name} is not an API Gateway event: {e}"));
        let response = lookup.handle(req).await;
        assert_eq!(
            response.status().as_u16() / 100,
            status / 100,
            "{name}: {}",
            response.status()
        );
        assert_eq!(response.status().as_u16(), *status, "{name}");
        if let Some(found) = found {
            assert_eq!(body_json(&response)["found"], *found, "{name}");
        }
        seen += 1;
    }
    assert_eq!(seen, expected.len());
}
