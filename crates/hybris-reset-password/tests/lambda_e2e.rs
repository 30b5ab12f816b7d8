//! The real hybris-reset-password binary, run as Lambda runs it (Runtime API), against
//! wiremock Hybris and Auth0 servers.

use serde_json::{Value, json};
use std::time::Duration;
use test_support::{
    logs,
    runtime::{LambdaProcess, Outcome},
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_json, header, method, path, query_param},
};

const BIN: &str = env!("CARGO_BIN_EXE_hybris-reset-password");
const UID: &str = "legacy.customer@example.com";
const PLUS_UID: &str = "legacy.customer+shop@example.com";
const TIMEOUT: Duration = Duration::from_secs(10);

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/../../events/auth0/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

struct Peers {
    hybris: MockServer,
    auth0: MockServer,
}

impl Peers {
    async fn start() -> Self {
        Self {
            hybris: MockServer::start().await,
            auth0: MockServer::start().await,
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("HYBRIS_BASE_URL", self.hybris.uri()),
            ("HYBRIS_BASE_SITE", "shop-uk".into()),
            ("HYBRIS_CLIENT_ID", "lambda".into()),
            ("HYBRIS_CLIENT_SECRET", "hybris-s3cret".into()),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG".into()),
        ];
        env.extend(test_support::auth0::env(&self.auth0.uri()));
        env
    }

    /// Token endpoints, each to be called `tokens` times over the test.
    async fn tokens(&self, tokens: u64) {
        Mock::given(method("POST"))
            .and(path("/authorizationserver/oauth/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": "hyb-tok-9Qz7", "expires_in": 43199})),
            )
            .expect(tokens)
            .mount(&self.hybris)
            .await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .and(body_json(
                json!({"grant_type": "client_credentials", "client_id": "m2m",
                "client_secret": "auth0-s3cret", "audience": "https://shop.eu.auth0.com/api/v2/"}),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "a0-tok-4Wx2", "expires_in": 86400, "token_type": "Bearer"}),
            ))
            .expect(tokens)
            .mount(&self.auth0)
            .await;
    }

    async fn customer(&self, status: u16, expect: u64) {
        self.customer_for(UID, status, expect).await;
    }

    async fn customer_for(&self, uid: &str, status: u16, expect: u64) {
        let response = match status {
            200 => ResponseTemplate::new(200).set_body_json(json!({"uid": uid})),
            400 => ResponseTemplate::new(400).set_body_json(json!({"errors": [{"type": "UnknownIdentifierError", "message": format!("Cannot find user with uid '{uid}'")}]})),
            s => ResponseTemplate::new(s),
        };
        Mock::given(method("GET"))
            .and(path(format!(
                "/occ/v2/shop-uk/users/{}",
                lambda_support::encode_component(uid)
            )))
            .and(header("authorization", "Bearer hyb-tok-9Qz7"))
            .respond_with(response)
            .expect(expect)
            .mount(&self.hybris)
            .await;
    }

    async fn reset(&self, status: u16, expect: u64) {
        self.reset_for(UID, status, expect).await;
    }

    async fn reset_for(&self, uid: &str, status: u16, expect: u64) {
        Mock::given(method("POST"))
            .and(path("/occ/v2/shop-uk/passwordRestoreToken"))
            .and(body_json(json!({"loginId": uid})))
            .respond_with(ResponseTemplate::new(status))
            .expect(expect)
            .mount(&self.hybris)
            .await;
    }

    async fn unblock(&self, status: u16, expect: u64) {
        self.unblock_for(UID, status, expect).await;
    }

    async fn unblock_for(&self, uid: &str, status: u16, expect: u64) {
        Mock::given(method("DELETE"))
            .and(path("/api/v2/user-blocks"))
            .and(query_param("identifier", uid))
            .and(header("authorization", "Bearer a0-tok-4Wx2"))
            .respond_with(ResponseTemplate::new(status))
            .expect(expect)
            .mount(&self.auth0)
            .await;
    }

    async fn verify_and_reset(&self) {
        self.hybris.verify().await;
        self.auth0.verify().await;
        self.hybris.reset().await;
        self.auth0.reset().await;
    }
}

#[tokio::test]
async fn fcpr_flows_as_lambda_runs_them() {
    let peers = Peers::start().await;
    let mut lambda = LambdaProcess::spawn(BIN, "hybris-reset-password", &peers.env()).await;

    // Known to Hybris: reset, then unblock. Twice in one container: each token fetched once.
    peers.tokens(1).await;
    peers.customer(200, 2).await;
    peers.reset(201, 2).await;
    peers.unblock(204, 2).await;
    // The upper-case, plus-addressed sample: the uid is trimmed and lower-cased, `+` kept.
    peers.customer_for(PLUS_UID, 200, 1).await;
    peers.reset_for(PLUS_UID, 201, 1).await;
    peers.unblock_for(PLUS_UID, 204, 1).await;
    for name in ["fcpr", "fcpr", "fcpr_uppercase_plus"] {
        match lambda.invoke(sample(name), TIMEOUT).await {
            Outcome::Response(v) => {
                assert_eq!(v["outcome"], "reset_started", "{name}");
                assert_eq!(v["auth0_blocks_cleared"], true);
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    peers.verify_and_reset().await;

    // Unknown to Hybris: no reset, no unblock.
    peers.customer(400, 1).await;
    peers.reset(201, 0).await;
    peers.unblock(204, 0).await;
    match lambda.invoke(sample("fcpr"), TIMEOUT).await {
        Outcome::Response(v) => assert_eq!(v["outcome"], "not_in_hybris"),
        other => panic!("unknown: {other:?}"),
    }
    peers.verify_and_reset().await;

    // Hybris down: an error for Lambda to retry, and no unblock.
    peers.customer(503, 1).await;
    peers.unblock(204, 0).await;
    match lambda.invoke(sample("fcpr"), TIMEOUT).await {
        Outcome::Error {
            error_type,
            error_message,
        } => {
            assert_eq!(error_type, "HybrisUnavailable");
            assert!(
                error_message.contains("hybris-get-customer"),
                "{error_message}"
            );
        }
        other => panic!("hybris 503: {other:?}"),
    }
    peers.verify_and_reset().await;

    // Reset fails: still no unblock.
    peers.customer(200, 1).await;
    peers.reset(500, 1).await;
    peers.unblock(204, 0).await;
    match lambda.invoke(sample("fcpr"), TIMEOUT).await {
        Outcome::Error { error_type, .. } => assert_eq!(error_type, "HybrisUnavailable"),
        other => panic!("reset 500: {other:?}"),
    }
    peers.verify_and_reset().await;

    // Auth0 refuses even a fresh token: a clear permanent error, after exactly one refresh.
    peers.customer(200, 1).await;
    peers.reset(201, 1).await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "a0-tok-4Wx2", "expires_in": 86400})),
        )
        .expect(1)
        .mount(&peers.auth0)
        .await;
    peers.unblock(401, 2).await;
    match lambda.invoke(sample("fcpr"), TIMEOUT).await {
        Outcome::Error {
            error_type,
            error_message,
        } => {
            assert_eq!(error_type, "Auth0Refused");
            assert!(
                error_message.contains("reset email sent"),
                "{error_message}"
            );
        }
        other => panic!("auth0 401: {other:?}"),
    }
    peers.verify_and_reset().await;

    // Nothing to act on: skipped, no call at all.
    match lambda.invoke(sample("fcpr_no_email"), TIMEOUT).await {
        Outcome::Response(v) => assert_eq!(v["reason"], "no_address"),
        other => panic!("no email: {other:?}"),
    }
    match lambda.invoke(sample("scp"), TIMEOUT).await {
        Outcome::Response(v) => assert_eq!(v["reason"], "unhandled_type"),
        other => panic!("scp: {other:?}"),
    }
    match lambda
        .invoke(sample("malformed_flat_detail"), TIMEOUT)
        .await
    {
        Outcome::Error { error_type, .. } => assert_eq!(error_type, "MalformedEvent"),
        other => panic!("flat: {other:?}"),
    }
    assert!(peers.hybris.received_requests().await.unwrap().is_empty());

    let output = lambda.output();
    logs::assert_no_email_addresses(&output);
    for secret in ["s3cret", "a0-tok-4Wx2", "hyb-tok-9Qz7"] {
        let leaks: Vec<&str> = output.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret} in output: {leaks:#?}");
    }
}

#[tokio::test]
async fn a_missing_setting_stops_start_up_naming_it() {
    let mut lambda = LambdaProcess::spawn(BIN, "hybris-reset-password", &[]).await;
    let code = lambda.wait_exit(TIMEOUT).await;
    assert!(matches!(code, Some(c) if c != 0), "exit code {code:?}");
    assert!(
        lambda
            .output()
            .contains("missing required setting HYBRIS_BASE_URL"),
        "{}",
        lambda.output()
    );
}

/// The dedupe table as infra/template.yaml declares it, on moto.
async fn dedupe_table(moto: &test_support::moto::Moto) -> (aws_sdk_dynamodb::Client, String) {
    let dynamo =
        aws_sdk_dynamodb::Client::new(&test_support::aws::sdk_config(moto.endpoint()).await);
    let table = test_support::unique("dedupe");
    test_support::aws::create_dedupe_table(&dynamo, &table).await;
    (dynamo, table)
}

/// A flood of `fcpr` for one customer, as Lambda runs it with the template's settings (the
/// reset window's record in a real DynamoDB table on moto): one Hybris look-up, one reset, one
/// unblock; the repeats call nobody. A failed reset gives the window back for the retry.
#[tokio::test]
async fn a_flood_of_fcpr_resets_once_per_window() {
    let moto = test_support::moto::server().await;
    let (dynamo, table) = dedupe_table(&moto).await;
    let peers = Peers::start().await;
    let mut env = peers.env();
    env.extend(test_support::aws::env_for(moto.endpoint()));
    env.push(("DEDUPE_TABLE_NAME", table.clone()));
    let mut lambda = LambdaProcess::spawn(BIN, "hybris-reset-password", &env).await;

    peers.tokens(1).await;
    peers.customer(200, 1).await;
    peers.reset(201, 1).await;
    peers.unblock(204, 1).await;
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        match lambda.invoke(sample("fcpr"), TIMEOUT).await {
            Outcome::Response(v) => outcomes.push(v),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(outcomes[0]["outcome"], "reset_started");
    for v in &outcomes[1..] {
        assert_eq!(v["outcome"], "skipped", "{v}");
        assert_eq!(v["reason"], "repeat_within_window", "{v}");
    }
    peers.verify_and_reset().await;

    // Another customer's reset fails at Hybris: the error goes to Lambda, and its retry (the
    // same event again) finds the window free and resets.
    Mock::given(method("POST"))
        .and(path("/occ/v2/shop-uk/passwordRestoreToken"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&peers.hybris)
        .await;
    peers.customer_for(PLUS_UID, 200, 2).await;
    peers.reset_for(PLUS_UID, 201, 1).await;
    peers.unblock_for(PLUS_UID, 204, 1).await;
    match lambda.invoke(sample("fcpr_uppercase_plus"), TIMEOUT).await {
        Outcome::Error { error_type, .. } => assert_eq!(error_type, "HybrisUnavailable"),
        other => panic!("reset 503: {other:?}"),
    }
    match lambda.invoke(sample("fcpr_uppercase_plus"), TIMEOUT).await {
        Outcome::Response(v) => assert_eq!(v["outcome"], "reset_started", "{v}"),
        other => panic!("retry: {other:?}"),
    }
    peers.verify_and_reset().await;

    // Two windows in the table, keyed by a hash: no address stored.
    let items = dynamo
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    assert_eq!(items.len(), 2, "{items:?}");
    for item in &items {
        let key = item["dedupe_key"].as_s().unwrap();
        assert!(key.starts_with("window:hybris_reset:"), "{key}");
        assert!(!format!("{item:?}").contains("legacy.customer"), "{item:?}");
        assert!(item.contains_key("expires_at"), "{item:?}");
    }
    logs::assert_no_email_addresses(&lambda.output());
}
