//! Both real binaries, run as Lambda runs them (Runtime API), fed API Gateway REST (v1)
//! proxy events, against one wiremock Auth0 and, for the emails of an email change, an Email
//! bus on moto (a rule → SQS queue shows what reached it): the look-up (`dixa-get-user`) mints
//! the token, the card's button (`dixa-patch-user`) uses it.
//!
//! Cargo gives a test only its own package's binaries; `dixa-get-user` is taken from the
//! same target directory and must be built and current: run
//! `cargo test -p dixa-get-user -p dixa-patch-user` (or the whole workspace).

use auth0_events::send_email;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use test_support::apigw::{action_event as click, lookup_event, response_body as body};
use test_support::auth0::{self, CLIENT_SECRET, EMAIL, M2M_TOKEN, USER, USER_ENCODED};
use test_support::dixa::{self, LOOKUP_SECRET, ORIGIN, TOKEN_KEY};
use test_support::{
    aws::BusWithQueue,
    logs,
    runtime::{self, LambdaProcess},
};
use wiremock::MockServer;

const BIN: &str = env!("CARGO_BIN_EXE_dixa-patch-user");
const TIMEOUT: Duration = Duration::from_secs(10);

/// The `dixa-get-user` binary next to ours, refusing a missing or stale one.
fn get_user_binary() -> PathBuf {
    let binary =
        Path::new(BIN).with_file_name(format!("dixa-get-user{}", std::env::consts::EXE_SUFFIX));
    let how = "run `cargo test -p dixa-get-user -p dixa-patch-user` (or the whole workspace)";
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is not built: {how}", binary.display()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for dir in [
        "dixa-get-user/src",
        "dixa-access/src",
        "auth0-client/src",
        "email-history/src",
    ] {
        let newest = newest_mtime(&root.join(dir));
        assert!(
            built >= newest,
            "{} is older than crates/{dir}: {how}",
            binary.display()
        );
    }
    binary
}

fn newest_mtime(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let mtime = if path.is_dir() {
            newest_mtime(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).unwrap()
        };
        newest = newest.max(mtime);
    }
    newest
}

/// The settings both functions share (the token key above all), the reset client among them,
/// plus an Email bus name (no AWS endpoint: see [`with_bus`]).
fn env(auth0: &MockServer) -> Vec<(&'static str, String)> {
    let extra = [
        ("EMAIL_BUS_NAME", "no-such-bus"),
        ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
    ];
    dixa::env(&auth0.uri(), &extra)
}

/// `env` with the Email bus on moto: its name and the AWS endpoint and credentials Lambda
/// would set.
fn with_bus(
    mut env: Vec<(&'static str, String)>,
    moto: &str,
    bus: &str,
) -> Vec<(&'static str, String)> {
    env.retain(|(k, _)| *k != "EMAIL_BUS_NAME");
    env.push(("EMAIL_BUS_NAME", bus.to_owned()));
    env.extend(test_support::aws::env_for(moto));
    env
}

/// A REST response: status, headers (lower-case → first value) and the raw response JSON.
async fn call(lambda: &mut LambdaProcess, event: Value) -> (u64, Value, Value) {
    test_support::apigw::invoke(lambda, event, TIMEOUT).await
}

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/dixa/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn mount_auth0(server: &MockServer) {
    // Any number of grants: each function fetches its own token.
    auth0::mount_token(server, M2M_TOKEN, ..).await;
    let user = auth0::user(USER, EMAIL);
    let users = json!([user.clone()]);
    let query = "email=jane%2Bshop%40example.com";
    auth0::mount_users_by_email(server, query, M2M_TOKEN, users, 1).await;
    let none = json!({"blocked_for": []});
    auth0::mount_user_blocks(server, USER_ENCODED, M2M_TOKEN, none, 1).await;
    // change_email reads the old address first.
    auth0::mount_get_user(server, USER_ENCODED, M2M_TOKEN, user.clone(), 1).await;
    let change = dixa::email_change("jane.new@example.com");
    auth0::mount_patch_user(server, USER_ENCODED, M2M_TOKEN, change, user.clone(), 1).await;
    let block = json!({"blocked": true});
    auth0::mount_patch_user(server, USER_ENCODED, M2M_TOKEN, block, user, 1).await;
}

#[tokio::test]
async fn look_up_then_act_with_the_minted_token() {
    let auth0 = MockServer::start().await;
    mount_auth0(&auth0).await;
    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let pattern = json!({"source": [send_email::SOURCE], "detail-type": [send_email::DETAIL_TYPE]});
    let bus = BusWithQueue::create(&sdk, &test_support::unique("email"), &pattern).await;
    let env = with_bus(env(&auth0), moto.endpoint(), &bus.bus_name);
    let mut get_user =
        LambdaProcess::spawn(get_user_binary().to_str().unwrap(), "dixa-get-user", &env).await;
    let mut patch_user = LambdaProcess::spawn(BIN, "dixa-patch-user", &env).await;

    // 1. Dixa's server-side look-up.
    let lookup = lookup_event("jane+shop@example.com", Some(LOOKUP_SECRET));
    let (status, _, response) = call(&mut get_user, lookup).await;
    assert_eq!(status, 200);
    let card = body(&response);
    assert_eq!(card["accounts"][0]["user_id"], USER);
    let token = card["accounts"][0]["action_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // 2. The browser's preflight, then the buttons, with that token.
    let (status, headers, _) = call(&mut patch_user, sample("action_preflight.json")).await;
    assert_eq!(status, 204);
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
    assert_eq!(
        headers["access-control-allow-headers"],
        "content-type, authorization"
    );

    let (status, headers, response) = call(
        &mut patch_user,
        click(
            USER_ENCODED,
            "change_email",
            &token,
            Some(r#"{"email":"Jane.New@Example.com"}"#),
        ),
    )
    .await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
    assert_eq!(headers["vary"], "origin");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(response["isBase64Encoded"], false);
    assert_eq!(
        body(&response),
        json!({"ok": true, "action": "change_email", "user_id": USER, "notification": "queued"})
    );
    // Both emails reached the Email bus and its SendEmail rule, once each.
    let mut got = bus.receive(2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2, "{got:?}");
    got.sort_by_key(|e| e["detail"]["kind"].as_str().unwrap_or_default().to_owned());
    let recipients: Vec<(&str, &str)> = got
        .iter()
        .map(|e| {
            (
                e["detail"]["kind"].as_str().unwrap(),
                e["detail"]["recipient"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        recipients,
        [
            ("email_changed_new_address", "jane.new@example.com"),
            ("email_changed_old_address", "jane+shop@example.com"),
        ]
    );
    let log_id = got[0]["detail"]["log_id"].as_str().unwrap();
    assert!(log_id.starts_with("dixa") && log_id.len() == 44, "{log_id}");
    assert_eq!(got[1]["detail"]["log_id"], log_id);
    assert_eq!(got[1]["detail"]["log_type"], "dixa_change_email");
    assert_eq!(
        got[1]["detail"]["params"]["new_email_masked"],
        "j***@example.com"
    );
    let (status, _, response) =
        call(&mut patch_user, click(USER_ENCODED, "block", &token, None)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body(&response),
        json!({"ok": true, "action": "block", "user_id": USER})
    );

    // The same token for another account, a tampered one, an expired one, none: 403.
    let other_user = click("auth0%7Csomeone-else", "block", &token, None);
    let tampered = click(USER_ENCODED, "block", &format!("{token}x"), None);
    let mut no_token = click(USER_ENCODED, "unblock", "", None);
    no_token["headers"]
        .as_object_mut()
        .unwrap()
        .remove("Authorization");
    no_token["multiValueHeaders"]
        .as_object_mut()
        .unwrap()
        .remove("Authorization");
    for (what, event) in [
        ("other user", other_user),
        ("tampered", tampered),
        ("expired", sample("action_expired_token.json")),
        ("no token", no_token),
    ] {
        let (status, headers, response) = call(&mut patch_user, event).await;
        assert_eq!(status, 403, "{what}");
        assert_eq!(headers["access-control-allow-origin"], ORIGIN, "{what}");
        assert_eq!(body(&response)["error"]["code"], "forbidden", "{what}");
    }
    // Bad input and unknown routes: JSON 4xx, never a Lambda error.
    let (status, _, response) = call(
        &mut patch_user,
        click(USER_ENCODED, "change_email", &token, Some("not json")),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body(&response)["error"]["code"], "invalid_json");
    let (status, _, _) = call(&mut patch_user, click(USER_ENCODED, "delete", &token, None)).await;
    assert_eq!(status, 404);
    let mut get = click(USER_ENCODED, "block", &token, None);
    get["httpMethod"] = json!("GET");
    get["requestContext"]["httpMethod"] = json!("GET");
    let (status, headers, _) = call(&mut patch_user, get).await;
    assert_eq!(status, 405);
    assert_eq!(headers["allow"], "POST, OPTIONS");
    auth0.verify().await;

    let secrets = [LOOKUP_SECRET, TOKEN_KEY, CLIENT_SECRET, M2M_TOKEN, &token];
    for output in [get_user.output(), patch_user.output()] {
        logs::assert_no_email_addresses(&output);
        logs::assert_no_secrets(&output, &secrets);
    }
    // One audit line per look-up and per action attempt (not for the preflight, 404, 405).
    let lookup_audits = logs::audit_lines(&get_user.output());
    assert_eq!(lookup_audits.len(), 1);
    assert_eq!(lookup_audits[0]["outcome"], "allowed");
    let action_audits = logs::audit_lines(&patch_user.output());
    let outcomes: Vec<(&str, &str)> = action_audits
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap(),
                a["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("change_email", "allowed"),
            ("block", "allowed"),
            ("block", "refused"),
            ("block", "refused"),
            ("block", "refused"),
            ("unblock", "refused"),
            ("change_email", "refused"),
        ]
    );
    // The allowed ones carry the look-up's conversation and agent.
    assert_eq!(action_audits[0]["conversation_id"], "8812345");
    assert_eq!(
        action_audits[0]["agent"], lookup_audits[0]["agent"],
        "{action_audits:?}"
    );
}

/// The email history's table on moto, as `EmailHistoryTable` has it.
async fn create_history_table(sdk: &aws_types::SdkConfig) -> (aws_sdk_dynamodb::Client, String) {
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    let table = test_support::unique("email-history");
    test_support::aws::create_email_history_table(&dynamo, &table).await;
    (dynamo, table)
}

/// Account-takeover recovery through both binaries and the history's DynamoDB table (moto): an
/// agent changes Jane's address; the card for her old address then shows the account as moved
/// (by the agent, in this conversation) with `restore_email`, whose token gives the old
/// address back, and both changes are in the table.
#[tokio::test]
async fn a_change_then_the_old_address_then_a_restore_through_dynamodb() {
    let auth0 = MockServer::start().await;
    auth0::mount_token(&auth0, M2M_TOKEN, ..).await;
    let jane = auth0::user(USER, EMAIL);
    let mut moved = auth0::user(USER, "jane.new@example.com");
    moved["email_verified"] = json!(false);
    let query = "email=jane%2Bshop%40example.com";
    let by_email = auth0::management_call("GET", "/api/v2/users-by-email", M2M_TOKEN)
        .and(auth0::RawQuery(query));
    auth0::mount_once(
        &auth0,
        by_email,
        wiremock::ResponseTemplate::new(200).set_body_json(json!([jane.clone()])),
    )
    .await;
    auth0::mount_users_by_email(&auth0, query, M2M_TOKEN, json!([]), 2).await;
    let user_path = format!("/api/v2/users/{USER_ENCODED}");
    auth0::mount_once(
        &auth0,
        auth0::management_call("GET", &user_path, M2M_TOKEN),
        wiremock::ResponseTemplate::new(200).set_body_json(jane.clone()),
    )
    .await;
    auth0::mount_get_user(&auth0, USER_ENCODED, M2M_TOKEN, moved.clone(), 2).await;
    let none = json!({"blocked_for": []});
    auth0::mount_user_blocks(&auth0, USER_ENCODED, M2M_TOKEN, none, 2).await;
    let logs_answer = wiremock::ResponseTemplate::new(200).set_body_json(auth0::security_logs());
    auth0::mount_user_logs(&auth0, USER_ENCODED, M2M_TOKEN, logs_answer, 2).await;
    auth0::mount_authentication_methods(&auth0, USER_ENCODED, M2M_TOKEN, json!([]), 2).await;
    let change = dixa::email_change("jane.new@example.com");
    auth0::mount_patch_user(&auth0, USER_ENCODED, M2M_TOKEN, change, moved, 1).await;
    let restore = dixa::email_change(EMAIL);
    auth0::mount_patch_user(&auth0, USER_ENCODED, M2M_TOKEN, restore, jane, 1).await;

    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let pattern = json!({"source": [send_email::SOURCE], "detail-type": [send_email::DETAIL_TYPE]});
    let bus = BusWithQueue::create(&sdk, &test_support::unique("email"), &pattern).await;
    let (dynamo, table) = create_history_table(&sdk).await;
    let mut env = with_bus(env(&auth0), moto.endpoint(), &bus.bus_name);
    env.extend(dixa::history_env(&table));
    let mut get_user =
        LambdaProcess::spawn(get_user_binary().to_str().unwrap(), "dixa-get-user", &env).await;
    let mut patch_user = LambdaProcess::spawn(BIN, "dixa-patch-user", &env).await;
    let lookup = || lookup_event("jane+shop@example.com", Some(LOOKUP_SECRET));

    // 1. The card for Jane's address, and the agent changes it.
    let (status, _, response) = call(&mut get_user, lookup()).await;
    assert_eq!(status, 200);
    let card = body(&response);
    assert_eq!(card["history"], "ok");
    let token = card["accounts"][0]["action_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let change = click(
        USER_ENCODED,
        "change_email",
        &token,
        Some(r#"{"email":"jane.new@example.com"}"#),
    );
    let (status, _, response) = call(&mut patch_user, change).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(
        body(&response),
        json!({"ok": true, "action": "change_email", "user_id": USER, "notification": "queued"})
    );

    // 2. The card for the old address: the account moved, by this agent, in this conversation.
    let (status, _, response) = call(&mut get_user, lookup()).await;
    assert_eq!(status, 200);
    let mut card = body(&response);
    let restore_token = card["accounts"][0]["action_token"]
        .take()
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        (&card["found"], &card["count"], &card["history"]),
        (&json!(true), &json!(1), &json!("ok"))
    );
    let account = &card["accounts"][0];
    assert_eq!(account["email"], "jane.new@example.com");
    assert_eq!(account["moved"]["by"], "agent");
    assert_eq!(account["moved"]["conversation_id"], dixa::CSID);
    assert_eq!(account["events"]["items"][0]["what"], "Email changed");
    assert!(
        account["actions"]
            .as_array()
            .unwrap()
            .contains(&json!("restore_email")),
        "{account}"
    );

    // 3. The old address given back, with the moved account's token.
    let restore = click(
        USER_ENCODED,
        "restore_email",
        &restore_token,
        Some(r#"{"email":"jane+shop@example.com"}"#),
    );
    let (status, _, response) = call(&mut patch_user, restore).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(
        body(&response),
        json!({"ok": true, "action": "restore_email", "user_id": USER, "notification": "queued"})
    );

    // Both changes are in the table, four emails reached the bus.
    let items = dynamo.scan().table_name(&table).send().await.unwrap();
    assert_eq!(items.items().len(), 2);
    for item in items.items() {
        assert_eq!(item["changed_by"].as_s().unwrap(), "agent");
        assert_eq!(item["conversation_id"].as_s().unwrap(), dixa::CSID);
        let text = format!("{item:?}");
        assert!(
            !text.contains("jane+shop") && !text.contains("jane.new@"),
            "{text}"
        );
    }
    let got = bus.receive(4, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 4, "{got:?}");
    auth0.verify().await;
    let secrets = [
        LOOKUP_SECRET,
        TOKEN_KEY,
        CLIENT_SECRET,
        M2M_TOKEN,
        &token,
        &restore_token,
    ];
    for output in [get_user.output(), patch_user.output()] {
        logs::assert_no_email_addresses(&output);
        logs::assert_no_secrets(&output, &secrets);
        assert!(!output.contains(auth0::LOG_IP), "{output}");
    }
}

#[tokio::test]
async fn a_missing_setting_stops_start_up_naming_it() {
    runtime::assert_start_up_stops_for(BIN, "dixa-patch-user", &[], "AUTH0_RESET_CLIENT_ID").await;
    // Every other setting given: the Email bus is named.
    let auth0 = MockServer::start().await;
    let mut env = env(&auth0);
    env.retain(|(k, _)| *k != "EMAIL_BUS_NAME");
    runtime::assert_start_up_stops_for(BIN, "dixa-patch-user", &env, "EMAIL_BUS_NAME").await;
}

/// What Lambda's log-level filter passes to CloudWatch at `level`: JSON lines whose `level`
/// ranks at or above it; a line without a readable level counts as INFO.
fn kept_by_lambda(output: &str, level: &str) -> Vec<Value> {
    const RANKS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    let rank = |l: &str| RANKS.iter().position(|r| r.eq_ignore_ascii_case(l));
    let min = rank(level).unwrap();
    output
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|_| json!({"raw": l})))
        .filter(|v| v["level"].as_str().and_then(rank).unwrap_or(2) >= min)
        .collect()
}

/// With the function's application log level at ERROR (Lambda's advanced logging controls),
/// an audit line still reaches CloudWatch; ordinary INFO lines do not.
#[tokio::test]
async fn audit_lines_survive_log_level_error() {
    let auth0 = MockServer::start().await;
    let mut env = env(&auth0);
    env.retain(|(k, _)| *k != "AWS_LAMBDA_LOG_LEVEL");
    env.push(("AWS_LAMBDA_LOG_LEVEL", "ERROR".into()));
    let mut patch_user = LambdaProcess::spawn(BIN, "dixa-patch-user", &env).await;

    let (status, _, _) = call(&mut patch_user, sample("action_expired_token.json")).await;
    assert_eq!(status, 403);

    let output = patch_user.output();
    let kept = kept_by_lambda(&output, "ERROR");
    let audits: Vec<&Value> = kept.iter().filter(|l| l["target"] == "audit").collect();
    assert_eq!(
        audits.len(),
        1,
        "kept at ERROR: {kept:#?}\nall output:\n{output}"
    );
    assert_eq!(audits[0]["level"], "FATAL");
    assert_eq!(audits[0]["fields"]["audit"], true);
    assert_eq!(audits[0]["fields"]["outcome"], "refused");
    assert!(
        kept.iter()
            .all(|l| l["target"] == "audit" || l["level"] == "ERROR"),
        "{kept:#?}"
    );
    logs::assert_no_email_addresses(&output);
}

/// Envelopes `lambda_http` panics on while converting (the invocation would fail and API
/// Gateway answer 502 with a non-JSON body): each gets a 400 JSON answer from the real binary.
#[tokio::test]
async fn unconvertible_envelopes_get_a_json_400() {
    let auth0 = MockServer::start().await;
    let mut patch_user = LambdaProcess::spawn(BIN, "dixa-patch-user", &env(&auth0)).await;
    let base = || click(USER_ENCODED, "block", "t", None);
    let long = "a".repeat(70_000);
    let mut cases = vec![];
    let mut e = base();
    e["body"] = json!("not base64!");
    e["isBase64Encoded"] = json!(true);
    cases.push(("invalid base64 body", e));
    let mut e = base();
    e["multiValueQueryStringParameters"] = json!({"x": []});
    cases.push(("empty multi-value query list", e));
    let mut e = base();
    e["headers"]["Host"] = json!("bad host");
    e["multiValueHeaders"]["Host"] = json!(["bad host"]);
    cases.push(("unparsable Host", e));
    let mut e = base();
    e["headers"]["X-Forwarded-Proto"] = json!("not a scheme");
    e["multiValueHeaders"]["X-Forwarded-Proto"] = json!(["not a scheme"]);
    cases.push(("unparsable X-Forwarded-Proto", e));
    let mut e = base();
    e["queryStringParameters"] = json!({"q": long});
    e["multiValueQueryStringParameters"] = json!({"q": [long]});
    cases.push(("query over 64 KB", e));

    for (what, event) in cases {
        let (status, headers, response) = call(&mut patch_user, event).await;
        assert_eq!(status, 400, "{what}: {response}");
        assert_eq!(headers["content-type"], "application/json", "{what}");
        assert_eq!(body(&response)["error"]["code"], "bad_request", "{what}");
    }
    // The container lives on and answers the next request normally.
    let (status, _, _) = call(&mut patch_user, sample("action_expired_token.json")).await;
    assert_eq!(status, 403);
    let output = patch_user.output();
    assert!(!output.contains("panicked"), "{output}");
    assert_eq!(
        output.matches("request refused before routing").count(),
        5,
        "{output}"
    );
    logs::assert_no_email_addresses(&output);
}
