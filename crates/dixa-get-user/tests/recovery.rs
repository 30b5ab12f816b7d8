//! Account-takeover recovery in the look-up (issue 19): accounts that moved away from the
//! looked-up address (email history), each account's recent events and MFA factors, the
//! recovery actions each account is offered, and the look-up's two round trips. Auth0 is
//! wiremock; the history is the local run's memory store, built by the function's own
//! `bootstrap` on `Platform::local`, or a store that fails or hangs.

mod common;

use auth0_events::EmailAddress;
use common::{
    allows, body_json, look_up, mount_get_failing, mount_no_blocks, security_events, tokens,
};
use dixa_access::{Action, agent_ref};
use dixa_get_user::{Config, Lookup};
use email_history::{
    Change, ChangedBy, EmailHistory, HistoryError, HistoryKey, HistoryStore, MemoryHistory,
    StoreFuture,
};
use lambda_support::{Env, MemoryStores, Platform, SecretString, time::Clock, time::rfc3339};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use test_support::auth0::{self, EMAIL, LAST_IP, LOG_IP, M2M_TOKEN, USER, USER_ENCODED};
use test_support::dixa::{self, AGENT, HISTORY_KEY, LOOKUP_SECRET, TOKEN_KEY};
use test_support::logs::{audit_lines, logs};
use wiremock::{MockServer, ResponseTemplate, Times};

/// The table name of the history in memory.
const TABLE: &str = "email-history";
/// The address the account had before (the card is opened for it).
const OLD: &str = EMAIL;
/// [`OLD`] as `users-by-email` is asked for it.
const OLD_QUERY: &str = "email=jane%2Bshop%40example.com";
/// The address the moved account has now.
const NOW_ADDRESS: &str = "mallory.new@example.org";
const GOOGLE: &str = "google-oauth2%7C1234567890";
const DB: &str = "Username-Password-Authentication";

fn address(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn key() -> HistoryKey {
    HistoryKey::new(SecretString::from(HISTORY_KEY.to_owned())).unwrap()
}

/// The look-up as the local run builds it (its own `bootstrap` on `Platform::local`, the
/// history in memory), and that history, to record changes in.
async fn with_memory_history(
    server: &MockServer,
    extra: &[(&'static str, &str)],
) -> (Lookup, EmailHistory) {
    let mut pairs = dixa::env(&server.uri(), extra);
    pairs.extend(dixa::history_env(TABLE));
    let platform = Platform::local(
        Env::from_pairs(pairs),
        MemoryStores::default(),
        Clock::default(),
    );
    let lookup = dixa_get_user::bootstrap(&platform).await.unwrap();
    let history = email_history::history(&platform).await.unwrap().unwrap();
    (lookup, history)
}

/// The look-up with `store` as its history.
async fn with_store(
    server: &MockServer,
    extra: &[(&'static str, &str)],
    store: Arc<dyn HistoryStore>,
) -> Lookup {
    let env = Env::from_pairs(dixa::env(&server.uri(), extra));
    let config = Config::from_env(&env, async || unreachable!("no ARN"))
        .await
        .unwrap();
    Lookup::new(config)
        .unwrap()
        .with_history(Some(EmailHistory::new(store, key(), 90)))
}

/// The accounts that have [`OLD`] now, as `users-by-email` answers, expected `expect` times.
async fn mount_holders(server: &MockServer, users: Value, expect: impl Into<Times>) {
    auth0::mount_users_by_email(server, OLD_QUERY, M2M_TOKEN, users, expect).await;
}

/// Jane's database account as the one account with [`OLD`] now, and no blocks, each expected
/// `expect` times.
async fn mount_jane_current(server: &MockServer, expect: u64) {
    mount_holders(server, json!([auth0::user(USER, OLD)]), expect).await;
    mount_no_blocks(server, USER_ENCODED, expect).await;
}

/// The look-up with an empty history in memory.
async fn with_empty_history(server: &MockServer, extra: &[(&'static str, &str)]) -> Lookup {
    with_store(server, extra, Arc::new(MemoryHistory::default())).await
}

/// The change of `user_id` away from [`OLD`] to [`NOW_ADDRESS`], `ago_s` seconds ago.
fn change_away(user_id: &str, ago_s: i64, by: ChangedBy, source_id: &str) -> Change {
    Change::new(
        &key(),
        &address(OLD),
        &address(NOW_ADDRESS),
        user_id,
        Clock::default().now_s() - ago_s,
        by,
        source_id,
    )
}

/// Jane's account moved away from [`OLD`] by the customer a minute ago.
fn moved_a_minute_ago() -> Change {
    change_away(USER, 60, ChangedBy::Customer, "s")
}

fn agent(conversation: &str) -> ChangedBy {
    ChangedBy::Agent {
        conversation_id: conversation.to_owned(),
    }
}

/// The moved database account as Auth0 has it now: the new address, unverified.
fn moved_profile() -> Value {
    let mut user = auth0::user(USER, NOW_ADDRESS);
    user["email_verified"] = json!(false);
    user
}

/// `GET /api/v2/users/{USER}` answering [`moved_profile`], its blocks (none), its logs and one
/// MFA factor: what round 2 asks for the moved account.
async fn mount_moved(server: &MockServer) {
    auth0::mount_get_user(server, USER_ENCODED, M2M_TOKEN, moved_profile(), 1).await;
    mount_no_blocks(server, USER_ENCODED, 1).await;
    auth0::mount_account_details(
        server,
        USER_ENCODED,
        M2M_TOKEN,
        auth0::security_logs(),
        json!([auth0::totp_factor()]),
    )
    .await;
}

/// The Google account that has [`OLD`] now (another connection), with no events or factors,
/// never asked for blocks.
async fn mount_google(server: &MockServer) {
    mount_no_blocks(server, GOOGLE, 0).await;
    auth0::mount_account_details(server, GOOGLE, M2M_TOKEN, json!([]), json!([])).await;
}

fn without_token(account: &mut Value) -> String {
    account["action_token"]
        .take()
        .as_str()
        .expect("a token")
        .to_owned()
}

/// The card's account JSON of the moved account, `moved` as given.
fn moved_card(moved: Value) -> Value {
    json!({
        "user_id": USER, "email": NOW_ADDRESS, "email_verified": false,
        "connection": DB, "logins_count": 12,
        "last_login": "2026-11-20T10:00:00.000Z", "created_at": "2024-01-02T03:04:05.000Z",
        "blocked": false, "brute_force_blocked": false, "brute_force_block_count": 0,
        "moved": moved,
        "mfa_factors": 1,
        "events": security_events(),
        "action_token": null,
        "actions": ["change_email", "send_password_reset", "block", "restore_email",
                    "resend_verification", "sign_out_everywhere", "reset_mfa"]
    })
}

#[track_caller]
fn assert_nothing_personal_logged(text: &str, extra: &[&str]) {
    for leaked in [
        "jane",
        "mallory",
        LOG_IP,
        LAST_IP,
        TOKEN_KEY,
        LOOKUP_SECRET,
        M2M_TOKEN,
    ]
    .iter()
    .chain(extra)
    {
        assert!(!text.contains(leaked), "{leaked} in the logs:\n{text}");
    }
}

/// A customer changed the address in their account (email-transform recorded the `sce`); the
/// card is opened for the old address, which a Google account of theirs still has: the moved
/// account comes first, with its address now in full, when and by whom, and can be given the
/// old address back (the Google account is on another connection).
#[tokio::test]
async fn an_old_address_after_a_customers_change_shows_the_moved_account_first() {
    let logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    let google = auth0::social_user(OLD);
    mount_holders(&server, json!([google]), 1).await;
    mount_moved(&server).await;
    mount_google(&server).await;
    let (lookup, history) = with_memory_history(&server, &[]).await;
    let change = change_away(
        USER,
        3_600,
        ChangedBy::Customer,
        "90020261120095811043000000000000006",
    );
    history.record(&change).await.unwrap();

    let response = look_up(&lookup, OLD).await;
    assert_eq!(response.status(), 200);
    let mut card = body_json(&response);
    let token = without_token(&mut card["accounts"][0]);
    without_token(&mut card["accounts"][1]);
    assert_eq!(
        card,
        json!({
            "found": true, "count": 2, "email": OLD, "history": "ok", "token_expires_in": 300,
            "accounts": [
                moved_card(json!({"at": rfc3339(change.changed_at), "by": "customer"})),
                {
                    "user_id": "google-oauth2|1234567890", "email": OLD, "email_verified": true,
                    "connection": "google-oauth2", "logins_count": 3, "last_login": null,
                    "created_at": "2025-05-05T05:05:05.000Z", "blocked": false,
                    "brute_force_blocked": false, "brute_force_block_count": 0,
                    "mfa_factors": 0, "events": {"status": "ok", "items": []},
                    "action_token": null, "actions": ["block", "sign_out_everywhere"]
                }
            ]
        })
    );
    // The moved account's token allows the restore of the looked-up address, and no other.
    let now = dixa_access::now_unix();
    let claims = tokens()
        .verify(&token, USER, Action::RestoreEmail, now)
        .unwrap();
    assert!(tokens().may_restore(&claims, OLD));
    assert!(!tokens().may_restore(&claims, NOW_ADDRESS));
    assert_eq!(claims.csid, dixa::CSID);

    let text = logs.text();
    assert_nothing_personal_logged(&text, &[&token]);
    assert_eq!(
        audit_lines(&text),
        [
            json!({"audit": true, "message": "audit", "action": "lookup",
                "auth0_user_id": format!("{USER},google-oauth2|1234567890"),
                "conversation_id": dixa::CSID, "agent": agent_ref(AGENT).as_str(),
                "outcome": "allowed"})
        ]
    );
}

/// An agent changed the address in the Dixa card: dixa-patch-user recorded the change with the
/// conversation, and email-transform recorded the same change from its `sce` a moment later
/// (without the conversation). The card names the conversation. An account the history names
/// that has since been deleted is left out; one that has the address again is a current account.
#[tokio::test]
async fn an_old_address_after_an_agents_change_names_the_conversation() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    // An account (on another database connection) that changed back is found by
    // users-by-email: current, not moved.
    let (back_id, back_encoded) = (
        "auth0|back000000000000000000",
        "auth0%7Cback000000000000000000",
    );
    let mut back = auth0::user(back_id, OLD);
    back["identities"][0]["connection"] = json!("Shop-Customers");
    mount_holders(&server, json!([back]), 1).await;
    mount_no_blocks(&server, back_encoded, 1).await;
    auth0::mount_account_details(&server, back_encoded, M2M_TOKEN, json!([]), json!([])).await;
    mount_moved(&server).await;
    let gone = "/api/v2/users/auth0%7Cgone000000000000000000";
    auth0::mount_user_not_found(&server, "GET", gone).await;
    let (lookup, history) = with_memory_history(&server, &[]).await;
    let by_dixa = change_away(USER, 62, agent("77001"), "dixa:77001:x");
    for change in [
        by_dixa.clone(),
        change_away(
            USER,
            60,
            agent("unknown"),
            "90020261120095811043000000000000007",
        ),
        change_away("auth0|gone000000000000000000", 90, ChangedBy::Customer, "g"),
        change_away(back_id, 900, ChangedBy::Customer, "b"),
    ] {
        history.record(&change).await.unwrap();
    }

    let response = look_up(&lookup, OLD).await;
    assert_eq!(response.status(), 200);
    let mut card = body_json(&response);
    assert_eq!(
        (card["count"].clone(), card["history"].clone()),
        (json!(2), json!("ok"))
    );
    without_token(&mut card["accounts"][0]);
    assert_eq!(
        card["accounts"][0],
        moved_card(json!({"at": rfc3339(by_dixa.changed_at), "by": "agent",
                          "conversation_id": "77001"}))
    );
    // The account that has the address again is a current one.
    assert_eq!(card["accounts"][1]["user_id"], back_id);
    assert!(card["accounts"][1].get("moved").is_none());
    server.verify().await;
}

/// Another database account has taken the old address since: the moved account is shown, but
/// without `restore_email` (it could not work), and its token allows none.
#[tokio::test]
async fn no_restore_is_offered_when_another_account_took_the_address() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    let taker = auth0::user("auth0|taker00000000000000000", OLD);
    mount_holders(&server, json!([taker]), 1).await;
    mount_no_blocks(&server, "auth0%7Ctaker00000000000000000", 1).await;
    mount_moved(&server).await;
    let (lookup, history) = with_memory_history(&server, &[]).await;
    history.record(&moved_a_minute_ago()).await.unwrap();
    let mut card = body_json(&look_up(&lookup, OLD).await);
    let token = without_token(&mut card["accounts"][0]);
    assert_eq!(card["accounts"][0]["user_id"], USER);
    assert_eq!(
        card["accounts"][0]["actions"],
        json!([
            "change_email",
            "send_password_reset",
            "block",
            "resend_verification",
            "sign_out_everywhere",
            "reset_mfa"
        ])
    );
    let now = dixa_access::now_unix();
    assert!(!allows(&token, USER, Action::RestoreEmail, now));
}

/// A store that always fails, or never answers.
#[derive(Debug)]
enum BrokenStore {
    Fails,
    Hangs,
}

impl HistoryStore for BrokenStore {
    fn record(&self, _: &Change, _: i64) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn changes_of(
        &self,
        _: &email_history::AddressKey,
        _: usize,
        _: i64,
    ) -> StoreFuture<'_, Vec<Change>> {
        match self {
            Self::Fails => Box::pin(std::future::ready(Err(HistoryError::Store {
                operation: "Query",
                code: "ProvisionedThroughputExceededException".into(),
            }))),
            Self::Hangs => Box::pin(std::future::pending()),
        }
    }
}

/// The history failing or hanging costs the card its moved accounts, nothing else: 200 with
/// the current accounts, `"history": "unavailable"`, audited as such; a hanging store is cut
/// at a quarter of the look-up's time.
#[tokio::test]
async fn a_failing_or_hanging_history_leaves_the_look_up_working() {
    for (store, extra) in [
        (BrokenStore::Fails, &[][..]),
        (
            BrokenStore::Hangs,
            &[("DIXA_LOOKUP_TIMEOUT_MS", "2000")][..],
        ),
    ] {
        let logs = logs();
        let what = format!("{store:?}");
        let server = auth0::start(M2M_TOKEN, 1).await;
        mount_jane_current(&server, 1).await;
        auth0::mount_account_details(&server, USER_ENCODED, M2M_TOKEN, json!([]), json!([])).await;
        let lookup = with_store(&server, extra, Arc::new(store)).await;
        let started = Instant::now();
        let response = look_up(&lookup, OLD).await;
        let took = started.elapsed();
        assert_eq!(response.status(), 200, "{what}");
        let card = body_json(&response);
        assert_eq!(card["history"], "unavailable", "{what}");
        assert_eq!(card["found"], true, "{what}");
        assert_eq!(card["accounts"][0]["email"], OLD, "{what}");
        assert!(card["accounts"][0].get("moved").is_none(), "{what}");
        assert!(took < Duration::from_millis(1_500), "{what}: {took:?}");
        let text = logs.text();
        assert!(text.contains("email history"), "{what}: {text}");
        assert_eq!(
            audit_lines(&text)[0]["reason"],
            "history_unavailable",
            "{what}"
        );
        assert_nothing_personal_logged(&text, &[]);
        server.verify().await;
    }
}

/// No history configured: `"history": "off"`, and the look-up as before.
#[tokio::test]
async fn without_a_history_table_the_history_is_off() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    mount_holders(&server, json!([]), 1).await;
    let env = Env::from_pairs(dixa::env(&server.uri(), &[]));
    let platform = Platform::local(env, MemoryStores::default(), Clock::default());
    let lookup = dixa_get_user::bootstrap(&platform).await.unwrap();
    let card = body_json(&look_up(&lookup, OLD).await);
    assert_eq!(
        card,
        json!({"found": false, "count": 0, "email": OLD, "accounts": [], "history": "off"})
    );
}

/// A moved account Auth0 cannot give back (a 500 on its profile) is left off and the history is
/// `unavailable`; the current account is shown.
#[tokio::test]
async fn a_moved_account_that_cannot_be_read_is_left_off() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    mount_holders(&server, json!([auth0::social_user(OLD)]), 1).await;
    mount_google(&server).await;
    mount_get_failing(&server, format!("/api/v2/users/{USER_ENCODED}"), 500).await;
    let (lookup, history) = with_memory_history(&server, &[]).await;
    history.record(&moved_a_minute_ago()).await.unwrap();
    let response = look_up(&lookup, OLD).await;
    assert_eq!(response.status(), 200);
    let card = body_json(&response);
    assert_eq!(card["history"], "unavailable");
    assert_eq!(card["count"], 1);
    assert_eq!(card["accounts"][0]["user_id"], "google-oauth2|1234567890");
}

/// A 403 (scope missing), a 429 from the logs endpoint's own limit, or a timeout: that
/// account's events are unavailable, and the look-up answers 200 with everything else. An
/// authentication-methods failure leaves `mfa_factors` out and offers no `reset_mfa`.
#[tokio::test]
async fn logs_that_fail_leave_the_events_unavailable() {
    let reset = dixa_access::now_unix() + 60;
    let cases = [
        (
            "403",
            ResponseTemplate::new(403).set_body_json(json!({
                "statusCode": 403, "error": "Forbidden",
                "message": "Insufficient scope, expected any of: read:logs,read:logs_users",
                "errorCode": "insufficient_scope"
            })),
        ),
        (
            "429",
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-limit", "10")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str()),
        ),
        (
            "timeout",
            ResponseTemplate::new(200)
                .set_body_json(auth0::security_logs())
                .set_delay(Duration::from_millis(1_500)),
        ),
    ];
    for (what, logs_answer) in cases {
        let logs = logs();
        let server = auth0::start(M2M_TOKEN, 1).await;
        mount_jane_current(&server, 1).await;
        auth0::mount_user_logs(&server, USER_ENCODED, M2M_TOKEN, logs_answer, 1..).await;
        let methods = format!("/api/v2/users/{USER_ENCODED}/authentication-methods");
        mount_get_failing(&server, methods, 403).await;
        let lookup = with_empty_history(&server, &[("AUTH0_TIMEOUT_MS", "200")]).await;
        let started = Instant::now();
        let response = look_up(&lookup, OLD).await;
        assert_eq!(response.status(), 200, "{what}");
        assert!(started.elapsed() < Duration::from_secs(2), "{what}");
        let card = body_json(&response);
        let account = &card["accounts"][0];
        assert_eq!(
            account["events"],
            json!({"status": "unavailable"}),
            "{what}"
        );
        assert!(account.get("mfa_factors").is_none(), "{what}");
        assert_eq!(
            account["actions"],
            json!([
                "change_email",
                "send_password_reset",
                "block",
                "sign_out_everywhere"
            ]),
            "{what}"
        );
        assert_eq!(card["history"], "ok", "{what}");
        let text = logs.text();
        assert!(text.contains("Auth0 logs unavailable"), "{what}: {text}");
        assert_nothing_personal_logged(&text, &[]);
    }
}

/// `DIXA_SIGN_OUT_EVERYWHERE=false`: never offered, and the token does not allow it; and
/// `reset_mfa` only for an account with factors.
#[tokio::test]
async fn sign_out_can_be_turned_off_and_reset_mfa_needs_factors() {
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    mount_jane_current(&server, 2).await;
    auth0::mount_user_logs(
        &server,
        USER_ENCODED,
        M2M_TOKEN,
        ResponseTemplate::new(200).set_body_json(json!([])),
        2,
    )
    .await;
    // First with a factor, then without.
    auth0::management_call(
        "GET",
        format!("/api/v2/users/{USER_ENCODED}/authentication-methods"),
        M2M_TOKEN,
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!([auth0::totp_factor()])))
    .up_to_n_times(1)
    .expect(1)
    .mount(&server)
    .await;
    auth0::mount_authentication_methods(&server, USER_ENCODED, M2M_TOKEN, json!([]), 1).await;
    let lookup = with_empty_history(&server, &[("DIXA_SIGN_OUT_EVERYWHERE", "false")]).await;
    let now = dixa_access::now_unix();
    let expected = [
        json!(["change_email", "send_password_reset", "block", "reset_mfa"]),
        json!(["change_email", "send_password_reset", "block"]),
    ];
    for (i, actions) in expected.iter().enumerate() {
        let mut card = body_json(&look_up(&lookup, OLD).await);
        let token = without_token(&mut card["accounts"][0]);
        assert_eq!(&card["accounts"][0]["actions"], actions, "look-up {i}");
        assert_eq!(
            card["accounts"][0]["mfa_factors"],
            json!(1 - i),
            "look-up {i}"
        );
        assert!(!allows(&token, USER, Action::SignOutEverywhere, now));
    }
}

/// A history store whose answers are held back like Auth0's, over the memory store.
#[derive(Debug)]
struct SlowStore {
    inner: MemoryHistory,
    delay: Duration,
}

impl HistoryStore for SlowStore {
    fn record(&self, change: &Change, expires_at: i64) -> StoreFuture<'_, ()> {
        self.inner.record(change, expires_at)
    }

    fn changes_of(
        &self,
        previous: &email_history::AddressKey,
        limit: usize,
        now: i64,
    ) -> StoreFuture<'_, Vec<Change>> {
        let previous = previous.clone();
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.inner.changes_of(&previous, limit, now).await
        })
    }
}

/// Every Auth0 answer and the history's held back [`ROUND`]: with two current database accounts
/// and one moved account (eleven Management API calls), the look-up takes two rounds, not one per
/// account or per call. Made sequential again, the blocks alone would add a round per account.
#[tokio::test]
async fn a_look_up_of_two_accounts_takes_two_round_trips() {
    const ROUND: Duration = Duration::from_millis(200);
    let _logs = logs();
    let server = auth0::start(M2M_TOKEN, 1).await;
    let held = |body: Value| {
        ResponseTemplate::new(200)
            .set_body_json(body)
            .set_delay(ROUND)
    };
    let second = "auth0|second0000000000000000";
    let second_encoded = "auth0%7Csecond0000000000000000";
    let mut other_connection = auth0::user(second, OLD);
    other_connection["identities"][0]["connection"] = json!("Shop-Customers");
    let current = json!([
        auth0::user("auth0|first00000000000000000", OLD),
        other_connection
    ]);
    auth0::management_call("GET", "/api/v2/users-by-email", M2M_TOKEN)
        .and(auth0::RawQuery(OLD_QUERY))
        .respond_with(held(current))
        .expect(1)
        .mount(&server)
        .await;
    for (id, profile) in [
        ("auth0%7Cfirst00000000000000000", None),
        (second_encoded, None),
        (USER_ENCODED, Some(moved_profile())),
    ] {
        let mut calls = vec![
            (
                format!("/api/v2/user-blocks/{id}"),
                json!({"blocked_for": []}),
            ),
            (format!("/api/v2/users/{id}/logs"), auth0::security_logs()),
            (
                format!("/api/v2/users/{id}/authentication-methods"),
                json!([auth0::totp_factor()]),
            ),
        ];
        if let Some(profile) = profile {
            calls.push((format!("/api/v2/users/{id}"), profile));
        }
        for (call_path, body) in calls {
            auth0::management_call("GET", call_path, M2M_TOKEN)
                .respond_with(held(body))
                .expect(1)
                .mount(&server)
                .await;
        }
    }
    let history = SlowStore {
        inner: MemoryHistory::default(),
        delay: ROUND,
    };
    history
        .record(&moved_a_minute_ago(), i64::MAX)
        .await
        .unwrap();
    let lookup = with_store(&server, &[], Arc::new(history)).await;
    // The token is the runtime's business before the first request (`main`'s warm-up).
    lookup.warm_up().await;

    let started = Instant::now();
    let response = look_up(&lookup, OLD).await;
    let took = started.elapsed();
    assert_eq!(response.status(), 200);
    let card = body_json(&response);
    assert_eq!(card["count"], 3);
    assert_eq!(card["history"], "ok");
    let management_calls = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() != "/oauth/token")
        .count();
    assert_eq!(management_calls, 11);
    println!("two-account look-up with every answer held back {ROUND:?}: {took:?}");
    assert!(took >= ROUND * 2, "{took:?}");
    assert!(
        took < ROUND * 5 / 2,
        "{took:?}: more than two sequential round trips of {ROUND:?}"
    );
    server.verify().await;
}
