//! Account-takeover recovery in the actions (issue 19): every email change recorded in the email
//! history, `restore_email`, `resend_verification`, `sign_out_everywhere` and `reset_mfa`, each
//! with its exact Auth0 requests, its refusals, and its audit line. Auth0 and EventBridge are
//! wiremock; the history is the local run's memory store, built by the function's own
//! `bootstrap` on `Platform::local`, or a store that fails.

mod common;

use common::{
    address, body, change_email, click, mint_with, mount_get_user, mount_put_events,
    mount_user_delete, press, restore_email, restore_token_for,
};
use dixa_access::{Action, agent_ref, now_unix};
use dixa_patch_user::{Actions, Config};
use email_history::{
    AddressKey, Change, ChangedBy, EmailHistory, HistoryError, HistoryKey, HistoryStore,
    StoreFuture,
};
use lambda_support::{Env, MemoryStores, Platform, SecretString, time::Clock};
use serde_json::{Value, json};
use std::sync::Arc;
use test_support::auth0::{self, EMAIL, M2M_TOKEN, USER, USER_ENCODED};
use test_support::dixa::{self, AGENT, CSID, HISTORY_KEY, RESET_CLIENT_ID, TOKEN_KEY};
use test_support::logs::{audit_lines, logs};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

const BUS: &str = "shop-test-email";
const TABLE: &str = "email-history";
/// The address the card was opened for, which the account had before.
const OLD: &str = EMAIL;
/// What the account has now (set by whoever took it over).
const TAKEN_OVER: &str = "mallory.new@example.org";

fn key() -> HistoryKey {
    HistoryKey::new(SecretString::from(HISTORY_KEY.to_owned())).unwrap()
}

fn env_pairs(
    server: &MockServer,
    bus: &MockServer,
    extra: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    let mut pairs = dixa::env(&server.uri(), extra);
    pairs.push(("EMAIL_BUS_NAME", BUS.into()));
    pairs.extend(test_support::aws::env_for(&bus.uri()));
    pairs
}

/// The actions as the local run builds them (`bootstrap` on `Platform::local`, the history in
/// memory), the Email bus on `bus`, and that history.
async fn with_memory_history(
    server: &MockServer,
    bus: &MockServer,
    extra: &[(&'static str, &str)],
) -> (Actions, EmailHistory) {
    let mut pairs = env_pairs(server, bus, extra);
    pairs.extend(dixa::history_env(TABLE));
    let platform = Platform::local(
        Env::from_pairs(pairs),
        MemoryStores::default(),
        Clock::default(),
    );
    let actions = dixa_patch_user::bootstrap(&platform).await.unwrap();
    let history = email_history::history(&platform).await.unwrap().unwrap();
    (actions, history)
}

/// The SendEmail details of every PutEvents `bus` received, kind → recipient (and the masked
/// new address of the old address's email).
async fn emails_put(bus: &MockServer) -> Vec<Value> {
    bus.received_requests()
        .await
        .unwrap()
        .iter()
        .flat_map(|r| {
            let put: Value = serde_json::from_slice(&r.body).unwrap();
            put["Entries"].as_array().cloned().unwrap_or_default()
        })
        .map(|entry| {
            let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
            json!([
                detail["kind"],
                detail["recipient"],
                detail["params"]["new_email_masked"]
            ])
        })
        .collect()
}

/// A token as the look-up mints it for a moved account: bound to the address it was opened for.
fn restore_token(bound: &str) -> String {
    restore_token_for(USER, bound, now_unix())
}

/// A token as the look-up mints it for a current account.
fn token(actions: &[Action]) -> String {
    mint_with(TOKEN_KEY, USER, actions, now_unix())
}

/// `(method, path)` of every Auth0 API request, the token grant left out.
async fn api_calls(server: &MockServer) -> Vec<(String, String)> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() != "/oauth/token")
        .map(|r| (r.method.to_string(), r.url.path().to_owned()))
        .collect()
}

fn call(m: &str, p: &str) -> (String, String) {
    (m.to_owned(), p.to_owned())
}

/// The moved account as Auth0 has it now.
fn taken_over_profile() -> Value {
    let mut user = auth0::user(USER, TAKEN_OVER);
    user["email_verified"] = json!(false);
    user
}

#[track_caller]
fn assert_nothing_personal_logged(text: &str, tokens: &[&str]) {
    for leaked in ["jane", "mallory", auth0::LAST_IP, TOKEN_KEY, M2M_TOKEN]
        .iter()
        .chain(tokens)
    {
        assert!(!text.contains(leaked), "{leaked} in the logs:\n{text}");
    }
}

/// Auth0 reading Jane's account and changing its address to `jane.new@example.com`, once each,
/// and an Email bus accepting the emails.
async fn auth0_and_bus_for_a_change() -> (MockServer, MockServer) {
    let server = auth0::start(M2M_TOKEN, 1).await;
    let bus = MockServer::start().await;
    mount_put_events(&bus, 0).await;
    mount_get_user(&server, auth0::user(USER, EMAIL)).await;
    let change = dixa::email_change("jane.new@example.com");
    let updated = auth0::user(USER, "jane.new@example.com");
    auth0::mount_patch_user(&server, USER_ENCODED, M2M_TOKEN, change, updated, 1).await;
    (server, bus)
}

/// An agent's `change_email` is recorded: the previous address (as its keyed hash) → the
/// account, by the agent in this conversation, at the request's time, with the source id of
/// `HistoryKey::agent_source_id`. The answer is today's.
#[tokio::test]
async fn change_email_records_the_change_in_the_history() {
    let logs = logs();
    let (server, bus) = auth0_and_bus_for_a_change().await;
    let (actions, history) = with_memory_history(&server, &bus, &[]).await;

    let before = Clock::default().now_s();
    let response = change_email(&actions, &token(&Action::ALL), "jane.new@example.com").await;
    let after = Clock::default().now_s();
    assert_eq!(response.status(), 200);
    assert_eq!(
        body(&response),
        json!({"ok": true, "action": "change_email", "user_id": USER, "notification": "queued"})
    );
    let recorded = history.changes_from(&address(EMAIL), 10).await.unwrap();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let change = &recorded[0];
    assert_eq!(change.previous, key().address_key(&address(EMAIL)));
    assert_eq!(change.user_id, USER);
    assert_eq!(
        change.by,
        ChangedBy::Agent {
            conversation_id: CSID.into()
        }
    );
    assert!((before..=after).contains(&change.changed_at));
    assert_eq!(change.new_address_masked, "j***@example.com");
    assert_eq!(
        change.source_id,
        key().agent_source_id(CSID, USER, &address("jane.new@example.com"))
    );
    let text = logs.text();
    assert!(
        text.contains("email change recorded in the email history"),
        "{text}"
    );
    assert_nothing_personal_logged(&text, &[]);
}

/// A store that refuses every write.
#[derive(Debug)]
struct FailingStore;

impl HistoryStore for FailingStore {
    fn record(&self, _: &Change, _: i64) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(Err(HistoryError::Store {
            operation: "PutItem",
            code: "ResourceNotFoundException".into(),
        })))
    }

    fn changes_of(&self, _: &AddressKey, _: usize, _: i64) -> StoreFuture<'_, Vec<Change>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }
}

/// The history write failing after the change: the address **was** changed and the customer
/// told, so the answer is 200 as today plus `"history": "not_recorded"`, with an ERROR line
/// (no address) and the audit reason `history_not_recorded`.
#[tokio::test]
async fn a_history_write_failure_is_a_200_saying_not_recorded() {
    let logs = logs();
    let (server, bus) = auth0_and_bus_for_a_change().await;
    let config = Config::from_env(
        &Env::from_pairs(env_pairs(&server, &bus, &[])),
        async || unreachable!("no ARN"),
    )
    .await
    .unwrap();
    let aws = Env::from_pairs(test_support::aws::env_for(&bus.uri()));
    let actions = Actions::new(config, lambda_support::aws_config_from(&aws))
        .unwrap()
        .with_history(Some(EmailHistory::new(Arc::new(FailingStore), key(), 90)));

    let response = change_email(&actions, &token(&Action::ALL), "jane.new@example.com").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body(&response),
        json!({"ok": true, "action": "change_email", "user_id": USER,
               "notification": "queued", "history": "not_recorded"})
    );
    assert_eq!(emails_put(&bus).await.len(), 2);
    let text = logs.text();
    assert!(
        text.contains("could not be recorded in the email history")
            && text.contains("ResourceNotFoundException")
            && text.contains(r#""level":"ERROR""#),
        "{text}"
    );
    assert_nothing_personal_logged(&text, &[]);
    assert_eq!(
        audit_lines(&text),
        [
            json!({"audit": true, "message": "audit", "action": "change_email",
                "auth0_user_id": USER, "conversation_id": CSID,
                "agent": agent_ref(AGENT).as_str(), "outcome": "allowed",
                "reason": "history_not_recorded"})
        ]
    );
}

/// What a restore reads first, each once: the account (`profile`) and who has [`OLD`] now
/// (`holders`, as `users-by-email` answers).
async fn mount_restore_reads(server: &MockServer, profile: Value, holders: Value) {
    mount_get_user(server, profile).await;
    let query = "email=jane%2Bshop%40example.com";
    auth0::mount_users_by_email(server, query, M2M_TOKEN, holders, 1).await;
}

/// `restore_email` gives the moved account back the address the card was opened for: read the
/// account and who has the address now (at once), then the same `PATCH` as `change_email`
/// (unverified, Auth0 sends its verification email); the address being replaced is told and
/// the restored one gets its email; the restore is recorded in the history. A Google account
/// with the same address does not stand in the way.
#[tokio::test]
async fn restore_email_gives_the_moved_account_its_address_back() {
    let logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    let bus = MockServer::start().await;
    mount_put_events(&bus, 0).await;
    mount_restore_reads(
        &server,
        taken_over_profile(),
        json!([auth0::social_user(OLD)]),
    )
    .await;
    let restored = auth0::user(USER, OLD);
    auth0::mount_patch_user(
        &server,
        USER_ENCODED,
        M2M_TOKEN,
        json!({"email": OLD, "email_verified": false, "verify_email": true}),
        restored,
        1,
    )
    .await;
    let (actions, history) = with_memory_history(&server, &bus, &[]).await;
    let token = restore_token(OLD);

    let response = restore_email(&actions, &token, "Jane+Shop@Example.com").await;
    assert_eq!(response.status(), 200, "{}", body(&response));
    assert_eq!(
        body(&response),
        json!({"ok": true, "action": "restore_email", "user_id": USER, "notification": "queued"})
    );
    let mut calls = api_calls(&server).await;
    let patch = calls.pop().unwrap();
    calls.sort();
    assert_eq!(
        calls,
        [
            call("GET", "/api/v2/users-by-email"),
            call("GET", &format!("/api/v2/users/{USER_ENCODED}")),
        ]
    );
    assert_eq!(
        patch,
        call("PATCH", &format!("/api/v2/users/{USER_ENCODED}"))
    );
    assert_eq!(
        emails_put(&bus).await,
        [
            json!(["email_changed_old_address", TAKEN_OVER, "j***@example.com"]),
            json!(["email_changed_new_address", OLD, null]),
        ]
    );
    // Recorded like a change_email: away from the address it had (the taken-over one).
    let recorded = history
        .changes_from(&address(TAKEN_OVER), 10)
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].user_id, USER);
    assert_eq!(recorded[0].new_address_masked, "j***@example.com");
    assert_eq!(
        recorded[0].source_id,
        key().agent_source_id(CSID, USER, &address(OLD))
    );
    let text = logs.text();
    assert_nothing_personal_logged(&text, &[&token]);
    assert_eq!(audit_lines(&text)[0]["outcome"], "allowed");
    assert_eq!(audit_lines(&text)[0]["action"], "restore_email");
}

/// Any other address than the bound one (403 `restore_other_address`), a token binding none
/// (403 `restore_not_allowed`: the look-up found no change of this account away from the
/// address), a stale token or one for another account (403 `forbidden`): nothing is read or
/// changed, and each says which.
#[tokio::test]
async fn restore_email_is_refused_for_another_address_or_without_a_binding() {
    let logs = logs();
    let server = auth0::start(M2M_TOKEN, 0).await;
    let bus = MockServer::start().await;
    let (actions, _) = with_memory_history(&server, &bus, &[]).await;
    let stale = restore_token_for(USER, OLD, now_unix() - 600);
    let other_user = restore_token_for("auth0|someone-else", OLD, now_unix());
    let cases = [
        (
            "another address",
            restore_token(OLD),
            r#"{"email": "mallory.other@example.org"}"#,
            403,
            "restore_other_address",
            "restore_other_address",
        ),
        (
            "no binding",
            token(&Action::ALL),
            r#"{"email": "jane+shop@example.com"}"#,
            403,
            "restore_not_allowed",
            "restore_not_bound",
        ),
        (
            "stale token",
            stale,
            r#"{"email": "jane+shop@example.com"}"#,
            403,
            "forbidden",
            "token_expired",
        ),
        (
            "token of another account",
            other_user,
            r#"{"email": "jane+shop@example.com"}"#,
            403,
            "forbidden",
            "token_wrong_user",
        ),
        (
            "no address",
            restore_token(OLD),
            r#"{"address": "jane+shop@example.com"}"#,
            400,
            "bad_request",
            "bad_request",
        ),
    ];
    for (what, token, body_text, status, code, _) in &cases {
        let response = actions
            .handle(click("restore_email", token, Some(body_text)))
            .await;
        assert_eq!(response.status(), *status, "{what}");
        let answer = body(&response);
        assert_eq!(answer["error"]["code"], *code, "{what}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(!message.contains('@'), "{what}: {message}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
    assert!(bus.received_requests().await.unwrap().is_empty());
    let reasons: Vec<Value> = audit_lines(&logs.text())
        .iter()
        .map(|a| a["reason"].clone())
        .collect();
    let expected: Vec<Value> = cases.iter().map(|c| json!(c.5)).collect();
    assert_eq!(reasons, expected);
    let answer =
        body(&restore_email(&actions, &restore_token(OLD), "mallory.other@example.org").await);
    assert_eq!(
        answer["error"]["message"],
        "This account can only be given back the address the conversation is about. Nothing was changed."
    );
}

/// Another database account on the same connection has the address now: 409 `email_taken`,
/// nothing patched, nothing sent, nothing recorded. The account having it already: 409
/// `same_email`.
#[tokio::test]
async fn restore_email_to_a_taken_or_the_same_address_changes_nothing() {
    let _logs = logs();
    for (what, profile, holders, code) in [
        (
            "taken",
            taken_over_profile(),
            json!([auth0::user("auth0|taker00000000000000000", OLD)]),
            "email_taken",
        ),
        (
            "same",
            auth0::user(USER, OLD),
            json!([auth0::user(USER, OLD)]),
            "same_email",
        ),
    ] {
        let server = auth0::start(M2M_TOKEN, 1).await;
        let bus = MockServer::start().await;
        mount_put_events(&bus, 0).await;
        mount_restore_reads(&server, profile, holders).await;
        Mock::given(method("PATCH"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let (actions, history) = with_memory_history(&server, &bus, &[]).await;
        let response = restore_email(&actions, &restore_token(OLD), "jane+shop@example.com").await;
        assert_eq!(response.status(), 409, "{what}");
        assert_eq!(body(&response)["error"]["code"], code, "{what}");
        assert!(emails_put(&bus).await.is_empty(), "{what}");
        for a in [TAKEN_OVER, OLD] {
            assert!(
                history
                    .changes_from(&address(a), 10)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
        server.verify().await;
    }
}

/// `resend_verification`: the account read, then Auth0's verification email job for it with
/// the storefront application's templates. An address already verified sends nothing (409).
#[tokio::test]
async fn resend_verification_queues_auth0s_verification_email() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    let bus = MockServer::start().await;
    let mut unverified = auth0::user(USER, EMAIL);
    unverified["email_verified"] = json!(false);
    auth0::mount_once(
        &server,
        auth0::management_call("GET", format!("/api/v2/users/{USER_ENCODED}"), M2M_TOKEN),
        ResponseTemplate::new(200).set_body_json(unverified),
    )
    .await;
    mount_get_user(&server, auth0::user(USER, EMAIL)).await;
    auth0::mount_verification_email(
        &server,
        M2M_TOKEN,
        json!({"user_id": USER, "client_id": RESET_CLIENT_ID}),
        1,
    )
    .await;
    let (actions, _) = with_memory_history(&server, &bus, &[]).await;
    let token = token(&[Action::ResendVerification]);
    let response = press(&actions, "resend_verification", &token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body(&response),
        json!({"ok": true, "action": "resend_verification", "user_id": USER})
    );
    // Verified since: nothing sent.
    let response = press(&actions, "resend_verification", &token).await;
    assert_eq!(response.status(), 409);
    assert_eq!(body(&response)["error"]["code"], "already_verified");
    let calls = api_calls(&server).await;
    let user_path = format!("/api/v2/users/{USER_ENCODED}");
    assert_eq!(
        calls,
        [
            call("GET", &user_path),
            call("POST", "/api/v2/jobs/verification-email"),
            call("GET", &user_path),
        ]
    );
    server.verify().await;
}

/// `sign_out_everywhere`: the sessions, then the refresh tokens (which survive a session
/// delete); the answer adds nothing.
#[tokio::test]
async fn sign_out_everywhere_ends_the_sessions_then_revokes_the_refresh_tokens() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    let bus = MockServer::start().await;
    mount_user_delete(&server, "sessions", 202, 1).await;
    mount_user_delete(&server, "refresh-tokens", 204, 1).await;
    let (actions, _) = with_memory_history(&server, &bus, &[]).await;
    let response = press(
        &actions,
        "sign_out_everywhere",
        &token(&[Action::SignOutEverywhere]),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body(&response),
        json!({"ok": true, "action": "sign_out_everywhere", "user_id": USER})
    );
    assert_eq!(
        api_calls(&server).await,
        [
            call("DELETE", &format!("/api/v2/users/{USER_ENCODED}/sessions")),
            call(
                "DELETE",
                &format!("/api/v2/users/{USER_ENCODED}/refresh-tokens")
            ),
        ]
    );
}

/// On a tenant whose plan has no sign-out-everywhere (not Enterprise), the agent reads so in
/// words (409 `sign_out_not_available`), nothing else is tried; with
/// `DIXA_SIGN_OUT_EVERYWHERE=false` it is refused before any call (403 `action_disabled`).
#[tokio::test]
async fn sign_out_is_409_in_words_without_enterprise_and_refused_when_turned_off() {
    let logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    let bus = MockServer::start().await;
    let not_on_plan = auth0::not_available_on_plan();
    auth0::mount_user_delete(&server, USER_ENCODED, "sessions", M2M_TOKEN, not_on_plan, 1).await;
    mount_user_delete(&server, "refresh-tokens", 204, 0).await;
    let (actions, _) = with_memory_history(&server, &bus, &[]).await;
    let token = token(&[Action::SignOutEverywhere]);
    let response = press(&actions, "sign_out_everywhere", &token).await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        body(&response),
        json!({"error": {"code": "sign_out_not_available",
            "message": "This Auth0 tenant's plan has no sign-out-everywhere (it needs an Enterprise plan). Nothing was revoked: change the password instead."}})
    );
    server.verify().await;

    let off = auth0::start(M2M_TOKEN, 0).await;
    let (actions, _) =
        with_memory_history(&off, &bus, &[("DIXA_SIGN_OUT_EVERYWHERE", "false")]).await;
    let response = press(&actions, "sign_out_everywhere", &token).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        body(&response),
        json!({"error": {"code": "action_disabled",
            "message": "Sign-out everywhere is turned off for this card. Nothing was revoked."}})
    );
    assert!(off.received_requests().await.unwrap().is_empty());
    let outcomes: Vec<Value> = audit_lines(&logs.text())
        .iter()
        .map(|a| json!([a["action"], a["outcome"], a["reason"]]))
        .collect();
    assert_eq!(
        outcomes,
        [
            json!(["sign_out_everywhere", "failed", "not_available_on_plan"]),
            json!(["sign_out_everywhere", "refused", "sign_out_disabled"]),
        ]
    );
}

/// `reset_mfa`: every factor removed, then remembered browsers forgotten.
#[tokio::test]
async fn reset_mfa_removes_the_factors_then_forgets_remembered_browsers() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    let bus = MockServer::start().await;
    mount_user_delete(&server, "authentication-methods", 204, 1).await;
    auth0::mount_invalidate_remember_browser(&server, USER_ENCODED, M2M_TOKEN, 1).await;
    let (actions, _) = with_memory_history(&server, &bus, &[]).await;
    let response = press(&actions, "reset_mfa", &token(&[Action::ResetMfa])).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body(&response),
        json!({"ok": true, "action": "reset_mfa", "user_id": USER})
    );
    let base = format!("/api/v2/users/{USER_ENCODED}");
    assert_eq!(
        api_calls(&server).await,
        [
            call("DELETE", &format!("{base}/authentication-methods")),
            call(
                "POST",
                &format!("{base}/multifactor/actions/invalidate-remember-browser")
            ),
        ]
    );
    // A token without the action (the look-up listed no factor) cannot do it.
    let response = press(&actions, "reset_mfa", &token(&[Action::Block])).await;
    assert_eq!(response.status(), 403);
    server.verify().await;
}
