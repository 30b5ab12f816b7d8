//! The action handler against a wiremock Auth0 and a wiremock EventBridge (the PutEvents
//! request as the SDK sends it), with requests built from API Gateway REST (v1) proxy events
//! exactly as `lambda_http` builds them in Lambda.

mod common;

use auth0_events::send_email;
use base64::{Engine, engine::general_purpose::STANDARD};
use common::{
    address, body, change_email, click, mint_with, mount_get_user, mount_put_events,
    mount_user_delete, press, request, restore_token_for,
};
use dixa_access::{Action, agent_ref, now_unix};
use dixa_patch_user::{
    Actions, Config,
    notify::{ChangeMade, change_log_id},
};
use lambda_http::{Body, Response};
use lambda_support::{Env, time::rfc3339};
use serde_json::{Value, json};
use test_support::apigw::{ACTION_RESOURCE, action_event};
use test_support::auth0::{self, EMAIL, M2M_TOKEN, USER, USER_ENCODED};
use test_support::dixa::{self, AGENT, ORIGIN, RESET_CLIENT_ID, TOKEN_KEY};
use test_support::logs::{audit_lines, logs};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_json, method, path},
};

/// The Email bus name the function is configured with.
const BUS: &str = "shop-test-email";

const OTHER_KEY: &str = "other-key-0123456789abcdefghijklmnopqrstu";

fn env(server: &MockServer, extra: &[(&'static str, &'static str)]) -> Env {
    let mut pairs = dixa::env(&server.uri(), extra);
    pairs.push(("EMAIL_BUS_NAME", BUS.into()));
    Env::from_pairs(pairs)
}

/// Actions whose Auth0 is `server`, and whose EventBridge is `server` too, answering every
/// PutEvents with success ([`mount_put_events`]).
async fn actions(server: &MockServer, extra: &[(&'static str, &'static str)]) -> Actions {
    mount_put_events(server, 0).await;
    actions_with_bus(server, server, extra).await
}

/// Actions whose Auth0 is `auth0` and whose EventBridge endpoint is `bus`, with the SDK
/// configuration built as in Lambda (`lambda_support::aws_config_from`).
async fn actions_with_bus(
    auth0: &MockServer,
    bus: &MockServer,
    extra: &[(&'static str, &'static str)],
) -> Actions {
    let config = Config::from_env(&env(auth0, extra), async || unreachable!("no ARN"))
        .await
        .unwrap();
    let aws = Env::from_pairs(test_support::aws::env_for(&bus.uri()));
    Actions::new(config, lambda_support::aws_config_from(&aws)).unwrap()
}

/// The bodies of the PutEvents requests `server` received, in order.
async fn put_events_requests(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| {
            r.headers
                .get("x-amz-target")
                .is_some_and(|v| v == "AWSEvents.PutEvents")
        })
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// The entries of a PutEvents body with each `Detail` parsed, and `occurred_at` (the time of
/// the change) checked to be RFC 3339 within the last minute and then removed.
fn entries(put_events: &Value) -> Vec<Value> {
    put_events["Entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut e = e.clone();
            let mut detail: Value = serde_json::from_str(e["Detail"].as_str().unwrap()).unwrap();
            let at = detail["params"]
                .as_object_mut()
                .unwrap()
                .remove("occurred_at")
                .unwrap();
            let at = at.as_str().unwrap();
            let now = now_unix() as i64;
            let (earliest, latest) = (rfc3339(now - 60), rfc3339(now));
            assert!(
                earliest.as_str() <= at && at <= latest.as_str(),
                "{at} is not an RFC 3339 time of the last minute"
            );
            e["Detail"] = detail;
            e
        })
        .collect()
}

/// A token as the look-up mints it: this user, every action, valid now.
fn token_for(user_id: &str) -> String {
    mint_with(TOKEN_KEY, user_id, &Action::ALL, now_unix())
}

/// A `/users/{user_id}/{action}` REST event.
fn rest_event(
    http_method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Value {
    test_support::apigw::rest_event(ACTION_RESOURCE, http_method, path, &[], headers, body)
}

#[track_caller]
fn assert_cors(response: &Response<Body>) {
    assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
    assert_eq!(response.headers()["vary"], "origin");
}

/// `response` is a 200 answering `answer`, readable by the card's page.
#[track_caller]
fn assert_ok_from_the_card(response: &Response<Body>, answer: Value) {
    assert_eq!(response.status(), 200);
    assert_cors(response);
    assert_eq!(body(response), answer);
}

/// `response` carries no CORS headers: no page may read it.
#[track_caller]
fn assert_no_cors(response: &Response<Body>) {
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

fn user_json() -> Value {
    auth0::user(USER, EMAIL)
}

/// `PATCH /api/v2/users/{id}` with exactly `expected` as body.
async fn mount_patch(server: &MockServer, expected: Value, expect: u64) {
    auth0::mount_patch_user(
        server,
        USER_ENCODED,
        M2M_TOKEN,
        expected,
        user_json(),
        expect,
    )
    .await;
}

/// Auth0 (the first server) reading Jane's account and changing its address to `new`, once
/// each, and an Email bus (the second) answering PutEvents with `put_failures` failed entries.
async fn auth0_and_bus_for_a_change_to(new: &str, put_failures: usize) -> (MockServer, MockServer) {
    let server = auth0::start(M2M_TOKEN, 1).await;
    let bus = MockServer::start().await;
    mount_get_user(&server, user_json()).await;
    mount_patch(&server, dixa::email_change(new), 1).await;
    mount_put_events(&bus, put_failures).await;
    (server, bus)
}

/// Every request Auth0 got, but the token grant (and PutEvents, when it shares the server).
async fn api_calls(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() != "/oauth/token" && r.url.path() != "/")
        .collect()
}

/// The two PutEvents entries for Jane's change to `new`, authorised by a token expiring at
/// `token_exp` (`occurred_at` left out: see [`entries`]).
fn expected_entries(new: &str, token_exp: u64) -> [Value; 2] {
    let log_id = change_log_id(&ChangeMade {
        user_id: USER.into(),
        old: Some(address("jane+shop@example.com")),
        new: address(new),
        token_exp,
    });
    let entry = |detail: Value| {
        json!({"EventBusName": BUS, "Source": send_email::SOURCE,
               "DetailType": send_email::DETAIL_TYPE, "Detail": detail})
    };
    [
        entry(json!({
            "version": 1, "kind": "email_changed_old_address",
            "recipient": "jane+shop@example.com",
            "params": {"new_email_masked": address(new).masked()},
            "log_id": log_id.as_str(), "log_type": "dixa_change_email",
            "dedupe_key": format!("{log_id}:email_changed_old_address"),
        })),
        entry(json!({
            "version": 1, "kind": "email_changed_new_address",
            "recipient": new,
            "params": {},
            "log_id": log_id.as_str(), "log_type": "dixa_change_email",
            "dedupe_key": format!("{log_id}:email_changed_new_address"),
        })),
    ]
}

#[tokio::test]
async fn change_email_sets_the_new_address_unverified_and_puts_both_emails_in_one_put_events() {
    let logs = logs();
    let (server, bus) = auth0_and_bus_for_a_change_to("jane.new+shop@example.com", 0).await;
    let actions = actions_with_bus(&server, &bus, &[]).await;
    let now = now_unix();
    let response = change_email(
        &actions,
        &mint_with(TOKEN_KEY, USER, &Action::ALL, now),
        "Jane.New+Shop@Example.com",
    )
    .await;
    assert_ok_from_the_card(
        &response,
        json!({"ok": true, "action": "change_email", "user_id": USER, "notification": "queued"}),
    );
    // Auth0: the old address read, then exactly the three fields written (never
    // `email_verified: true`, nothing else of the profile).
    let calls = api_calls(&server).await;
    let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods, ["GET", "PATCH"]);
    let sent: Value = serde_json::from_slice(&calls[1].body).unwrap();
    assert_eq!(sent.as_object().unwrap().len(), 3, "{sent}");
    // EventBridge: one PutEvents with the two entries of the SendEmail contract, nothing more.
    let puts = put_events_requests(&bus).await;
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert_eq!(
        puts[0].as_object().unwrap().len(),
        1,
        "only Entries: {}",
        puts[0]
    );
    assert_eq!(
        entries(&puts[0]),
        expected_entries("jane.new+shop@example.com", now + 300)
    );
    // The masked new address is all the old address learns.
    assert_eq!(
        entries(&puts[0])[0]["Detail"]["params"]["new_email_masked"],
        "j***@example.com"
    );
    let text = logs.text();
    assert!(!text.contains("jane"), "{text}");
    assert!(
        text.contains("SendEmail events of the email change put on the Email bus"),
        "{text}"
    );
}

/// The same request twice with the same token (a double click whose two reads both saw the
/// old address): the same entries, so the same dedupe keys, and send-email sends each email
/// once. A new token is a new change.
#[tokio::test]
async fn the_same_change_sent_again_puts_the_same_dedupe_keys() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    let bus = MockServer::start().await;
    auth0::mount_get_user(&server, USER_ENCODED, M2M_TOKEN, user_json(), 3).await;
    mount_patch(&server, dixa::email_change("jane.new@example.com"), 3).await;
    mount_put_events(&bus, 0).await;
    let actions = actions_with_bus(&server, &bus, &[]).await;
    let now = now_unix();
    let token = mint_with(TOKEN_KEY, USER, &Action::ALL, now);
    let fresh = mint_with(TOKEN_KEY, USER, &Action::ALL, now + 60);
    for token in [&token, &token, &fresh] {
        let response = change_email(&actions, token, "jane.new@example.com").await;
        assert_eq!(response.status(), 200);
        assert_eq!(body(&response)["notification"], "queued");
    }
    let puts = put_events_requests(&bus).await;
    assert_eq!(puts.len(), 3);
    let (first, again, other) = (entries(&puts[0]), entries(&puts[1]), entries(&puts[2]));
    assert_eq!(first, expected_entries("jane.new@example.com", now + 300));
    assert_eq!(first, again);
    assert_eq!(other, expected_entries("jane.new@example.com", now + 360));
    assert_ne!(
        first[0]["Detail"]["dedupe_key"],
        other[0]["Detail"]["dedupe_key"]
    );
}

#[tokio::test]
async fn change_email_to_the_current_address_or_of_a_gone_account_changes_and_sends_nothing() {
    let logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    let bus = MockServer::start().await;
    mount_get_user(&server, user_json()).await;
    auth0::mount_user_not_found(&server, "GET", "/api/v2/users/auth0%7Cgone").await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json()))
        .expect(0)
        .mount(&server)
        .await;
    mount_put_events(&bus, 0).await;
    let actions = actions_with_bus(&server, &bus, &[]).await;

    let response = change_email(&actions, &token_for(USER), "Jane+Shop@Example.com").await;
    assert_eq!(response.status(), 409);
    assert_cors(&response);
    assert_eq!(body(&response)["error"]["code"], "same_email");

    let gone = request(&action_event(
        "auth0%7Cgone",
        "change_email",
        &token_for("auth0|gone"),
        Some(r#"{"email": "jane.new@example.com"}"#),
    ));
    let response = actions.handle(gone).await;
    assert_eq!(response.status(), 404);
    assert_eq!(body(&response)["error"]["code"], "not_found");

    assert!(put_events_requests(&bus).await.is_empty());
    let reasons: Vec<Value> = audit_lines(&logs.text())
        .iter()
        .map(|a| json!([a["outcome"], a["reason"]]))
        .collect();
    assert_eq!(
        reasons,
        [
            json!(["refused", "same_email"]),
            json!(["failed", "user_not_found"])
        ]
    );
}

/// PutEvents failing after the change: the email WAS changed, so the answer is 200 with
/// `"notification": "failed"` (the card says the customer was not told), after the configured
/// attempts, with one audit line saying so and no address in any log line.
#[tokio::test]
async fn a_put_events_failure_after_the_change_is_a_200_saying_the_notification_failed() {
    let logs = logs();
    let (server, bus) = auth0_and_bus_for_a_change_to("jane.new@example.com", 2).await;
    let actions = actions_with_bus(
        &server,
        &bus,
        &[
            ("PUBLISH_BACKOFF_BASE_MS", "1"),
            ("PUBLISH_BACKOFF_CAP_MS", "2"),
        ],
    )
    .await;
    let response = change_email(&actions, &token_for(USER), "jane.new@example.com").await;
    assert_ok_from_the_card(
        &response,
        json!({"ok": true, "action": "change_email", "user_id": USER, "notification": "failed"}),
    );
    // PUBLISH_MAX_ATTEMPTS (default 3) attempts, each re-sending both failed entries.
    let puts = put_events_requests(&bus).await;
    assert_eq!(puts.len(), 3);
    assert!(
        puts.iter()
            .all(|p| p["Entries"].as_array().unwrap().len() == 2)
    );

    let text = logs.text();
    assert!(!text.contains("jane"), "{text}");
    assert!(
        text.contains("could not be put on the Email bus") && text.contains("InternalFailure"),
        "{text}"
    );
    let agent = agent_ref(AGENT);
    assert_eq!(
        audit_lines(&text),
        [
            json!({"audit": true, "message": "audit", "action": "change_email",
                "auth0_user_id": USER, "conversation_id": "8812345", "agent": agent.as_str(),
                "outcome": "allowed", "reason": "notification_failed"})
        ]
    );
}

#[tokio::test]
async fn block_and_unblock_write_only_the_admin_flag() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    mount_patch(&server, json!({"blocked": true}), 1).await;
    mount_patch(&server, json!({"blocked": false}), 1).await;
    let actions = actions(&server, &[]).await;
    for action in ["block", "unblock"] {
        let response = press(&actions, action, &token_for(USER)).await;
        assert_eq!(response.status(), 200, "{action}");
        assert_cors(&response);
        assert_eq!(
            body(&response),
            json!({"ok": true, "action": action, "user_id": USER})
        );
    }
    // The raw bodies, byte for byte.
    let bodies: Vec<String> = api_calls(&server)
        .await
        .iter()
        .map(|r| String::from_utf8(r.body.clone()).unwrap())
        .collect();
    assert_eq!(bodies, [r#"{"blocked":true}"#, r#"{"blocked":false}"#]);
}

#[tokio::test]
async fn clear_brute_force_blocks_deletes_the_user_blocks() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    auth0::mount_delete_user_blocks(&server, USER_ENCODED, M2M_TOKEN).await;
    let actions = actions(&server, &[]).await;
    let response = press(&actions, "clear_brute_force_blocks", &token_for(USER)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body(&response),
        json!({"ok": true, "action": "clear_brute_force_blocks", "user_id": USER})
    );
    assert_eq!(api_calls(&server).await.len(), 1);
}

async fn mount_change_password(server: &MockServer, expected: Value, expect: u64) {
    Mock::given(method("POST"))
        .and(path("/dbconnections/change_password"))
        .and(body_json(expected))
        .respond_with(auth0::change_password_sent())
        .expect(expect)
        .mount(server)
        .await;
}

#[tokio::test]
async fn send_password_reset_uses_the_accounts_address_and_database_connection() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    mount_get_user(&server, user_json()).await;
    mount_change_password(
        &server,
        json!({"client_id": RESET_CLIENT_ID, "email": "jane+shop@example.com",
               "connection": "Username-Password-Authentication"}),
        1,
    )
    .await;
    let actions = actions(&server, &[]).await;
    let response = press(&actions, "send_password_reset", &token_for(USER)).await;
    assert_ok_from_the_card(
        &response,
        json!({"ok": true, "action": "send_password_reset", "user_id": USER}),
    );
    // The reset call carries no Management API token.
    let reset = api_calls(&server)
        .await
        .into_iter()
        .find(|r| r.url.path() == "/dbconnections/change_password")
        .unwrap();
    assert!(!reset.headers.contains_key("authorization"));
}

#[tokio::test]
async fn send_password_reset_honours_the_connection_override() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    let mut user = user_json();
    user["identities"] = json!([
        {"connection": "google-oauth2", "provider": "google-oauth2", "user_id": "1"},
        {"connection": "Username-Password-Authentication", "provider": "auth0", "user_id": "2"},
        {"connection": "Shop-Customers", "provider": "auth0", "user_id": "3"}
    ]);
    mount_get_user(&server, user).await;
    mount_change_password(
        &server,
        json!({"client_id": RESET_CLIENT_ID, "email": "jane+shop@example.com",
               "connection": "Shop-Customers"}),
        1,
    )
    .await;
    let actions = actions(&server, &[("AUTH0_RESET_CONNECTION", "Shop-Customers")]).await;
    let response = press(&actions, "send_password_reset", &token_for(USER)).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn password_reset_needs_an_address_and_a_database_account() {
    let _logs = logs();
    let social = json!({"user_id": USER, "email": "jane@example.com",
        "identities": [{"connection": "google-oauth2", "provider": "google-oauth2", "user_id": "1"}]});
    let no_email = json!({"user_id": USER,
        "identities": [{"connection": "Username-Password-Authentication", "provider": "auth0", "user_id": "1"}]});
    let cases = [
        (social, &[][..], 409, "not_database_user"),
        (no_email, &[][..], 409, "no_email"),
        // With an override the account must be on that connection.
        (
            user_json(),
            &[("AUTH0_RESET_CONNECTION", "Shop-Customers")][..],
            409,
            "not_database_user",
        ),
    ];
    for (user, extra, status, code) in cases {
        let server = auth0::start(M2M_TOKEN, 1).await;
        mount_get_user(&server, user).await;
        mount_change_password(&server, json!({}), 0).await;
        let actions = actions(&server, extra).await;
        let response = press(&actions, "send_password_reset", &token_for(USER)).await;
        assert_eq!(response.status(), status, "{code}");
        assert_eq!(body(&response)["error"]["code"], code);
        assert_cors(&response);
        server.verify().await;
    }
    // A user that no longer exists.
    let server = auth0::start(M2M_TOKEN, 1).await;
    let path = format!("/api/v2/users/{USER_ENCODED}");
    auth0::mount_user_not_found(&server, "GET", &path).await;
    mount_change_password(&server, json!({}), 0).await;
    let actions = actions(&server, &[]).await;
    let response = press(&actions, "send_password_reset", &token_for(USER)).await;
    assert_eq!(response.status(), 404);
    assert_eq!(body(&response)["error"]["code"], "not_found");
}

#[tokio::test]
async fn every_token_problem_is_the_same_403_and_nothing_is_written() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 0).await;
    let actions = actions(&server, &[]).await;
    let now = now_unix();
    let valid = token_for(USER);
    let (payload, mac) = valid.split_once('.').unwrap();
    let tampered = {
        // Another user's claims under this token's MAC.
        let other = mint_with(TOKEN_KEY, "auth0|attacker", &Action::ALL, now);
        format!("{}.{mac}", other.split_once('.').unwrap().0)
    };
    let cases: [(&str, Option<String>); 9] = [
        ("missing", None),
        ("empty", Some("Bearer ".into())),
        ("not bearer", Some(format!("Basic {valid}"))),
        ("garbage", Some("Bearer not-a-token".into())),
        ("tampered", Some(format!("Bearer {tampered}"))),
        (
            "truncated mac",
            Some(format!("Bearer {payload}.{}", &mac[..10])),
        ),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                mint_with(TOKEN_KEY, USER, &Action::ALL, now - 301)
            )),
        ),
        (
            "other user",
            Some(format!("Bearer {}", token_for("auth0|someone-else"))),
        ),
        (
            "other key",
            Some(format!(
                "Bearer {}",
                mint_with(OTHER_KEY, USER, &Action::ALL, now)
            )),
        ),
    ];
    let forbidden =
        json!({"error": {"code": "forbidden", "message": "This request is not allowed."}});
    for (what, authorization) in cases {
        let mut headers = vec![("Origin", ORIGIN)];
        if let Some(a) = &authorization {
            headers.push(("Authorization", a.as_str()));
        }
        let event = rest_event(
            "POST",
            &format!("/users/{USER_ENCODED}/block"),
            &headers,
            None,
        );
        let response = actions.handle(request(&event)).await;
        assert_eq!(response.status(), 403, "{what}");
        assert_eq!(body(&response), forbidden, "{what}");
        assert_cors(&response);
    }
    // A token for another action.
    let block_only = mint_with(TOKEN_KEY, USER, &[Action::Block], now);
    let response = change_email(&actions, &block_only, "x@example.com").await;
    assert_eq!(response.status(), 403);
    assert_eq!(body(&response), forbidden);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_input_is_a_4xx_json_and_nothing_is_written() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 0).await;
    let actions = actions(&server, &[]).await;
    let token = token_for(USER);
    let big = format!(r#"{{"email": "{}@example.com"}}"#, "a".repeat(5000));
    let cases: [(&str, lambda_http::Request, u16, &str); 7] = [
        (
            "malformed email",
            click(
                "change_email",
                &token,
                Some(r#"{"email": "jane@@example"}"#),
            ),
            400,
            "invalid_email",
        ),
        (
            "not JSON",
            click("change_email", &token, Some("email=jane@example.com")),
            400,
            "invalid_json",
        ),
        (
            "no body",
            click("change_email", &token, None),
            400,
            "invalid_json",
        ),
        (
            "extra field",
            click(
                "change_email",
                &token,
                Some(r#"{"email": "jane@example.com", "email_verified": true}"#),
            ),
            400,
            "bad_request",
        ),
        (
            "oversized change_email",
            click("change_email", &token, Some(&big)),
            413,
            "body_too_large",
        ),
        (
            "oversized block",
            click("block", &token, Some(&big)),
            413,
            "body_too_large",
        ),
        (
            "base64 oversized",
            request(&{
                let mut e = action_event(USER_ENCODED, "unblock", &token, None);
                e["body"] = json!(STANDARD.encode(vec![b'x'; 4097]));
                e["isBase64Encoded"] = json!(true);
                e
            }),
            413,
            "body_too_large",
        ),
    ];
    for (what, req, status, code) in cases {
        let response = actions.handle(req).await;
        assert_eq!(response.status(), status, "{what}");
        assert_eq!(body(&response)["error"]["code"], code, "{what}");
        assert_cors(&response);
    }
    // Routes and methods.
    let auth = format!("Bearer {token}");
    let headers = [("Origin", ORIGIN), ("Authorization", auth.as_str())];
    for (what, http_method, path, status) in [
        (
            "unknown action",
            "POST",
            format!("/users/{USER_ENCODED}/delete"),
            404,
        ),
        ("no action", "POST", format!("/users/{USER_ENCODED}"), 404),
        ("other resource", "POST", "/lookup".to_owned(), 404),
        ("GET", "GET", format!("/users/{USER_ENCODED}/block"), 405),
        (
            "DELETE",
            "DELETE",
            format!("/users/{USER_ENCODED}/block"),
            405,
        ),
    ] {
        let response = actions
            .handle(request(&rest_event(http_method, &path, &headers, None)))
            .await;
        assert_eq!(response.status(), status, "{what}");
        assert_cors(&response);
        if status == 405 {
            assert_eq!(response.headers()["allow"], "POST, OPTIONS");
            assert_eq!(body(&response)["error"]["code"], "method_not_allowed");
        } else {
            assert_eq!(body(&response)["error"]["code"], "not_found");
        }
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn preflight_and_origins() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    mount_patch(&server, json!({"blocked": true}), 1).await;
    let actions = actions(&server, &[]).await;
    let preflight = |origin: &'static str| {
        request(&rest_event(
            "OPTIONS",
            &format!("/users/{USER_ENCODED}/change_email"),
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "authorization,content-type",
                ),
            ],
            None,
        ))
    };
    let response = actions.handle(preflight(ORIGIN)).await;
    assert_eq!(response.status(), 204);
    assert_cors(&response);
    assert_eq!(
        response.headers()["access-control-allow-methods"],
        "GET, POST, OPTIONS"
    );
    assert_eq!(
        response.headers()["access-control-allow-headers"],
        "content-type, authorization"
    );
    let response = actions.handle(preflight("https://evil.example")).await;
    assert_eq!(response.status(), 403);
    assert_no_cors(&response);

    // A valid token from a page on another origin: refused, nothing written.
    let auth = format!("Bearer {}", token_for(USER));
    let path = format!("/users/{USER_ENCODED}/block");
    let from_evil = rest_event(
        "POST",
        &path,
        &[("Origin", "https://evil.example"), ("Authorization", &auth)],
        None,
    );
    let response = actions.handle(request(&from_evil)).await;
    assert_eq!(response.status(), 403);
    assert_no_cors(&response);
    assert!(api_calls(&server).await.is_empty());
    // No Origin at all (not a browser): the token decides.
    let no_origin = rest_event("POST", &path, &[("Authorization", &auth)], None);
    let response = actions.handle(request(&no_origin)).await;
    assert_eq!(response.status(), 200);
    assert_no_cors(&response);
}

#[tokio::test]
async fn auth0_failures_map_to_json_errors() {
    let _logs = logs();
    for (status, expected, code) in [
        (404, 404, "not_found"),
        (400, 409, "change_rejected"),
        (503, 503, "upstream_unavailable"),
        (429, 503, "upstream_unavailable"),
        (403, 502, "upstream_error"),
    ] {
        let server = auth0::start(M2M_TOKEN, 1).await;
        mount_get_user(&server, user_json()).await;
        Mock::given(method("PATCH"))
            .and(path(format!("/api/v2/users/{USER_ENCODED}")))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "statusCode": status, "error": "x",
                "message": "The specified new email already exists: jane@example.com"
            })))
            .mount(&server)
            .await;
        let actions = actions(&server, &[]).await;
        let response = change_email(&actions, &token_for(USER), "jane@example.com").await;
        assert_eq!(response.status(), expected, "Auth0 {status}");
        assert_eq!(body(&response)["error"]["code"], code, "Auth0 {status}");
        assert_cors(&response);
        let text = String::from_utf8(response.body().to_vec()).unwrap();
        assert!(!text.contains("jane"), "{text}");
    }
    // The reset email's own limit (one a minute per address): 503, not retried.
    let server = auth0::start(M2M_TOKEN, 1).await;
    mount_get_user(&server, user_json()).await;
    Mock::given(method("POST"))
        .and(path("/dbconnections/change_password"))
        .respond_with(
            ResponseTemplate::new(429).set_body_json(json!({"error": "too_many_attempts"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let actions = actions(&server, &[]).await;
    let response = press(&actions, "send_password_reset", &token_for(USER)).await;
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn every_attempt_is_audited_once_with_the_token_claims() {
    let logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    mount_get_user(&server, user_json()).await;
    mount_patch(&server, dixa::email_change("jane.new@example.com"), 1).await;
    Mock::given(method("DELETE"))
        .and(path(format!("/api/v2/user-blocks/{USER_ENCODED}")))
        .respond_with(ResponseTemplate::new(500).set_body_string("jane+shop@example.com"))
        .mount(&server)
        .await;
    let actions = actions(&server, &[]).await;
    let now = now_unix();
    let token = token_for(USER);

    let allowed = change_email(&actions, &token, "jane.new@example.com").await;
    assert_eq!(allowed.status(), 200);
    let expired = mint_with(TOKEN_KEY, USER, &Action::ALL, now - 400);
    assert_eq!(press(&actions, "block", &expired).await.status(), 403);
    let other_action = mint_with(TOKEN_KEY, USER, &[Action::Block], now);
    assert_eq!(
        press(&actions, "unblock", &other_action).await.status(),
        403
    );
    let failed = press(&actions, "clear_brute_force_blocks", &token).await;
    assert_eq!(failed.status(), 503);
    let bad = change_email(&actions, &token, "jane.new").await;
    assert_eq!(bad.status(), 400);
    // 404s and preflights are not action attempts: no audit line.
    let unknown = rest_event("POST", "/users/x/delete", &[("Origin", ORIGIN)], None);
    assert_eq!(actions.handle(request(&unknown)).await.status(), 404);

    let text = logs.text();
    assert!(!text.contains("jane"), "{text}");
    let agent = agent_ref(AGENT);
    let agent = agent.as_str();
    let expect = [
        json!({"audit": true, "message": "audit", "action": "change_email",
               "auth0_user_id": USER, "conversation_id": "8812345", "agent": agent,
               "outcome": "allowed"}),
        json!({"audit": true, "message": "audit", "action": "block", "auth0_user_id": USER,
               "outcome": "refused", "reason": "token_expired"}),
        json!({"audit": true, "message": "audit", "action": "unblock", "auth0_user_id": USER,
               "outcome": "refused", "reason": "token_action_not_allowed"}),
        json!({"audit": true, "message": "audit", "action": "clear_brute_force_blocks",
               "auth0_user_id": USER, "conversation_id": "8812345", "agent": agent,
               "outcome": "failed", "reason": "upstream_unavailable"}),
        json!({"audit": true, "message": "audit", "action": "change_email",
               "auth0_user_id": USER, "conversation_id": "8812345", "agent": agent,
               "outcome": "refused", "reason": "invalid_email"}),
    ];
    assert_eq!(audit_lines(&text), expect, "{text}");
}

/// Every `events/dixa/action_*.json` sample parses into a `lambda_http::Request` and gets
/// the status its name promises. `REPLACE_WITH_ACTION_TOKEN` is replaced by a token minted
/// now for the sample's path; the expired sample holds a real token signed with the test key.
#[tokio::test]
async fn action_samples_parse_and_get_the_expected_status_class() {
    let logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    Mock::given(method("PATCH"))
        .and(path(format!("/api/v2/users/{USER_ENCODED}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json()))
        .mount(&server)
        .await;
    let unknown = "/api/v2/users/auth0%7C000000000000000000000000";
    auth0::mount_user_not_found(&server, "PATCH", unknown).await;
    auth0::mount_get_user(&server, USER_ENCODED, M2M_TOKEN, user_json(), ..).await;
    mount_change_password(
        &server,
        json!({"client_id": RESET_CLIENT_ID, "email": "jane+shop@example.com",
               "connection": "Username-Password-Authentication"}),
        1,
    )
    .await;
    auth0::mount_delete_user_blocks(&server, USER_ENCODED, M2M_TOKEN).await;
    // restore_email: nobody has the address it gives back.
    auth0::mount_users_by_email(
        &server,
        "email=jane.old%40example.com",
        M2M_TOKEN,
        json!([]),
        1,
    )
    .await;
    // resend_verification: its sample is for an account whose address is not verified.
    let unverified_id = "auth0|64f0c0ffee0123456789abce";
    let mut unverified = auth0::user(unverified_id, "jane.unverified@example.com");
    unverified["email_verified"] = json!(false);
    let unverified_encoded = "auth0%7C64f0c0ffee0123456789abce";
    auth0::mount_get_user(&server, unverified_encoded, M2M_TOKEN, unverified, 1).await;
    auth0::mount_verification_email(
        &server,
        M2M_TOKEN,
        json!({"user_id": unverified_id, "client_id": RESET_CLIENT_ID}),
        1,
    )
    .await;
    for (what, status) in [
        ("sessions", 202),
        ("refresh-tokens", 204),
        ("authentication-methods", 204),
    ] {
        mount_user_delete(&server, what, status, 1).await;
    }
    auth0::mount_invalidate_remember_browser(&server, USER_ENCODED, M2M_TOKEN, 1).await;
    let actions = actions(&server, &[]).await;

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/dixa");
    let expected = [
        ("action_change_email.json", 200),
        ("action_send_password_reset.json", 200),
        ("action_block.json", 200),
        ("action_unblock.json", 200),
        ("action_clear_brute_force_blocks.json", 200),
        ("action_restore_email.json", 200),
        ("action_resend_verification.json", 200),
        ("action_sign_out_everywhere.json", 200),
        ("action_reset_mfa.json", 200),
        ("action_expired_token.json", 403),
        ("action_bad_email.json", 400),
        ("action_unknown_user.json", 404),
        ("action_preflight.json", 204),
    ];
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.starts_with("action_") {
            continue;
        }
        let status = expected
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{name}: add it to this table"))
            .1;
        let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
        let sample: Value = serde_json::from_str(&text).unwrap();
        let user_id = sample["pathParameters"]["user_id"].as_str().unwrap();
        // A restore's token binds the address it gives back, as the look-up mints it for a
        // moved account.
        let token = match sample["body"].as_str() {
            Some(body) if name == "action_restore_email.json" => {
                let address: Value = serde_json::from_str(body).unwrap();
                restore_token_for(user_id, address["email"].as_str().unwrap(), now_unix())
            }
            _ => token_for(user_id),
        };
        let text = text.replace("REPLACE_WITH_ACTION_TOKEN", &token);
        let req = lambda_http::request::from_str(&text)
            .unwrap_or_else(|e| panic!("{name} is not an API Gateway event: {e}"));
        let response = actions.handle(req).await;
        assert_eq!(
            response.status().as_u16() / 100,
            status / 100,
            "{name}: {}",
            response.status()
        );
        assert_eq!(response.status().as_u16(), status, "{name}");
        assert_cors(&response);
        seen += 1;
    }
    assert_eq!(seen, expected.len());
    // The expired sample is refused for its expiry, not its signature.
    assert!(
        logs.text().contains(r#""reason":"token_expired""#),
        "the expired sample must be signed with the test key"
    );
}
