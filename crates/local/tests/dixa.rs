//! The Dixa API routes through the local system: real HTTP requests, translated as API Gateway
//! would, to the real dixa-get-user / dixa-patch-user handlers, against the Auth0 sandbox.

mod common;

use local::hops::What;
use serde_json::{Value, json};
use std::time::Duration;
// Every test of this binary installs a capture: with tracing-core 0.1, a callsite first hit on
// a thread without a subscriber while exactly one scoped subscriber exists is cached as disabled
// for every thread (see `test_support::logs::Logs`). Dropping it checks for addresses too.
use test_support::logs::{assert_no_email_addresses, logs};

const JANE: &str = "auth0|64f0c0ffee0123456789abcd";

struct Api {
    base: String,
    http: reqwest::Client,
    secret: (String, String),
    origin: String,
}

impl Api {
    fn new(system: &local::LocalSystem) -> Self {
        let d = system.dixa_secrets();
        Self {
            base: system
                .endpoints()
                .api
                .clone()
                .expect("API routes in the template"),
            http: reqwest::Client::new(),
            secret: (d.lookup_header.clone(), d.lookup_secret.clone()),
            origin: d.allowed_origin.clone(),
        }
    }

    async fn lookup(&self, email: &str, with_secret: bool) -> (u16, Value) {
        let url = format!(
            "{}/lookup?email={}&csid=8812345&agent=agent.smith%40shop.example",
            self.base,
            lambda_support::encode_component(email)
        );
        let mut req = self.http.get(url);
        if with_secret {
            req = req.header(&self.secret.0, &self.secret.1);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Returns the status, the body and API Gateway's request id (the hops' trace).
    async fn act(
        &self,
        user_id: &str,
        action: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value, String) {
        let url = format!(
            "{}/users/{}/{action}",
            self.base,
            lambda_support::encode_component(user_id)
        );
        let mut req = self
            .http
            .post(url)
            .header("origin", &self.origin)
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let id = res.headers()["x-amzn-requestid"]
            .to_str()
            .unwrap()
            .to_owned();
        (status, res.json().await.unwrap_or(Value::Null), id)
    }
}

fn token_for(lookup: &Value, user_id: &str) -> String {
    lookup["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["user_id"] == user_id)
        .and_then(|a| a["action_token"].as_str())
        .unwrap_or_else(|| panic!("no token for {user_id} in {lookup}"))
        .to_owned()
}

#[tokio::test]
async fn lookup_then_block_changes_the_auth0_sandbox() {
    let logs = logs();
    let system = common::start().await;
    let api = Api::new(&system);
    let auth0 = system.auth0().unwrap();

    // Without the generated secret: refused.
    let (status, body) = api.lookup("jane+shop@example.com", false).await;
    assert_eq!(status, 401, "{body}");

    // With it: both accounts of the address (two connections), each with its own token.
    let (status, card) = api.lookup("jane+shop@example.com", true).await;
    assert_eq!(status, 200, "{card}");
    assert_eq!(card["found"], true);
    assert_eq!(card["count"], 2);
    let jane = card["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["user_id"] == JANE)
        .unwrap();
    assert_eq!(jane["blocked"], false);
    assert_eq!(jane["brute_force_blocked"], true);
    let token = token_for(&card, JANE);

    assert_eq!(auth0.user(JANE).unwrap()["blocked"], false);
    let (status, body, _) = api.act(JANE, "block", &token, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"ok": true, "action": "block", "user_id": JANE})
    );
    assert_eq!(auth0.user(JANE).unwrap()["blocked"], true);

    // The same token for another account is refused, and nothing changes there.
    let google = "google-oauth2|109876543210987654321";
    let (status, _, _) = api.act(google, "block", &token, None).await;
    assert_eq!(status, 403);
    assert_eq!(auth0.user(google).unwrap()["blocked"], false);

    let (status, body, _) = api
        .act(JANE, "clear_brute_force_blocks", &token, None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        auth0
            .blocks_for_identifier("jane+shop@example.com")
            .is_empty()
    );

    // The browser's preflight is answered for the allowed origin only.
    let preflight = |origin: &str| {
        api.http
            .request(
                reqwest::Method::OPTIONS,
                format!(
                    "{}/users/{}/block",
                    api.base,
                    lambda_support::encode_component(JANE)
                ),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let ok = preflight(&api.origin).await.unwrap();
    assert_eq!(ok.status().as_u16(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"]
            .to_str()
            .unwrap(),
        api.origin
    );
    assert_eq!(
        preflight("https://evil.example")
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );

    // A route the template does not have: API Gateway's own answer.
    let other = api
        .http
        .get(format!("{}/users", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 403);
    assert_eq!(
        other.json::<Value>().await.unwrap()["message"],
        "Missing Authentication Token"
    );

    system.settle(&[], Duration::from_secs(5)).await.unwrap();
    // Every request went through the function with its calls recorded, addresses redacted.
    let hops = system.hops().all();
    assert!(hops.iter().any(|h| matches!(&h.what,
        What::ProviderCall { function, method, path, .. }
            if function == "dixa-patch-user" && method == "PATCH" && path == "/api/v2/users/auth0%7C64f0c0ffee0123456789abcd")));
    assert!(hops.iter().any(|h| matches!(&h.what,
        What::ApiRequest { path, .. } if path.starts_with("/lookup?email=<address>"))));
    assert_no_email_addresses(&logs.text());
    assert!(logs.text().contains("audit"), "audit lines captured");
    system.shutdown().await;
}

#[tokio::test]
async fn change_email_is_logged_as_sce_and_ends_as_both_emails() {
    let _logs = logs();
    let system = common::start().await;
    let api = Api::new(&system);
    let auth0 = system.auth0().unwrap();
    let (_, card) = api.lookup("jane+shop@example.com", true).await;
    let token = token_for(&card, JANE);

    let (status, body, request_id) = api
        .act(
            JANE,
            "change_email",
            &token,
            Some(json!({"email": "Jane.New@Example.org"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    system
        .settle(std::slice::from_ref(&request_id), Duration::from_secs(20))
        .await
        .unwrap();

    let user = auth0.user(JANE).unwrap();
    assert_eq!(user["email"], "jane.new@example.org");
    assert_eq!(user["email_verified"], false);
    assert_eq!(auth0.verification_emails(), ["jane.new@example.org"]);
    // The sandbox logged `sce` onto the Auth0 partner bus; the email flow told both addresses.
    let mut got: Vec<(String, String)> = system
        .outbox()
        .entries()
        .into_iter()
        .map(|e| (e.kind, e.recipient))
        .collect();
    got.sort();
    let want = [
        ("auth0_verify_email", "jane.new@example.org"),
        ("email_changed_new_address", "jane.new@example.org"),
        ("email_changed_old_address", "jane+shop@example.com"),
    ];
    assert_eq!(
        got,
        want.map(|(k, r)| (k.to_owned(), r.to_owned())),
        "{}",
        local::hops::tree(&system.hops().all())
    );
    system.shutdown().await;
}
