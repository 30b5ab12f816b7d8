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
            http: lambda_support::http::client_builder().build().unwrap(),
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

fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
    want.iter()
        .map(|(k, r)| ((*k).to_owned(), (*r).to_owned()))
        .collect()
}

/// The results of every invocation of `function`, in order.
fn results_of(system: &local::LocalSystem, function: &str) -> Vec<Value> {
    system
        .hops()
        .all()
        .into_iter()
        .filter_map(|h| match h.what {
            What::Succeeded {
                function: f,
                result,
                ..
            } if f == function => Some(result),
            _ => None,
        })
        .collect()
}

/// One email change through the API with the Auth0 sandbox logging `sce` for it
/// (`logs_sce`) or not: either way the customer gets each email once, both put by
/// dixa-patch-user; the `sce`, when logged, is skipped by email-transform.
async fn change_email_once(logs_sce: bool) {
    let logs = logs();
    let mut options = common::options();
    options.auth0_logs_sce = logs_sce;
    let system = local::LocalSystem::start(options).await.unwrap();
    let api = Api::new(&system);
    let auth0 = system.auth0().unwrap();
    assert_eq!(auth0.logs_sce(), logs_sce);
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
    assert_eq!(
        body,
        json!({"ok": true, "action": "change_email", "user_id": JANE, "notification": "queued"})
    );
    system
        .settle(std::slice::from_ref(&request_id), Duration::from_secs(20))
        .await
        .unwrap();

    let user = auth0.user(JANE).unwrap();
    assert_eq!(user["email"], "jane.new@example.org");
    assert_eq!(user["email_verified"], false);
    assert_eq!(auth0.verification_emails(), ["jane.new@example.org"]);
    let tree = local::hops::tree(&system.hops().all());
    assert_eq!(
        common::outbox_kinds(&system),
        pairs(&[
            ("auth0_verify_email", "jane.new@example.org"),
            ("email_changed_new_address", "jane.new@example.org"),
            ("email_changed_old_address", "jane+shop@example.com"),
        ]),
        "{tree}"
    );
    // The old address learns the new one masked, never in full.
    let old = system
        .outbox()
        .entries()
        .into_iter()
        .find(|e| e.kind == "email_changed_old_address")
        .unwrap();
    let html = std::fs::read_to_string(&old.html).unwrap();
    assert!(html.contains("j***@example.org"), "{html}");
    let letter = html.split("<details").next().unwrap_or(&html);
    assert!(!letter.contains("jane.new@example.org"), "{letter}");

    // Who sent them: dixa-patch-user's own pair; email-transform skipped the sce, if any.
    let sent = results_of(&system, "send-email");
    assert_eq!(sent.len(), 2, "{tree}");
    for r in &sent {
        assert_eq!(r["status"], "sent", "{tree}");
        assert!(r["log_id"].as_str().unwrap().starts_with("dixa"), "{r}");
    }
    let transformed = results_of(&system, "email-transform");
    if logs_sce {
        assert_eq!(
            transformed,
            [json!({
                "log_id": transformed[0]["log_id"],
                "log_type": "sce",
                "published": [],
                "skipped": ["changed_by_support", "changed_by_support"],
            })],
            "{tree}"
        );
    } else {
        assert!(transformed.is_empty(), "{tree}");
    }
    assert_no_email_addresses(&logs.text());
    system.shutdown().await;
}

#[tokio::test]
async fn change_email_when_auth0_logs_sce_sends_each_email_once() {
    change_email_once(true).await;
}

#[tokio::test]
async fn change_email_when_auth0_logs_no_sce_sends_each_email_once() {
    change_email_once(false).await;
}

/// A double click (the same request twice at once, same token) and a later retry: one change,
/// each email once. The second request either changes the email again from the same old
/// address (same dedupe keys: send-email answers `duplicate`) or finds it already changed (409
/// `same_email`, nothing sent); the retry finds it changed.
#[tokio::test]
async fn the_same_change_retried_sends_no_email_twice() {
    let logs = logs();
    let system = common::start().await;
    let api = Api::new(&system);
    let (_, card) = api.lookup("jane+shop@example.com", true).await;
    let token = token_for(&card, JANE);
    let change = || {
        api.act(
            JANE,
            "change_email",
            &token,
            Some(json!({"email": "jane.new@example.org"})),
        )
    };

    let (first, second) = tokio::join!(change(), change());
    let retry = change().await;
    let ids: Vec<String> = [&first, &second, &retry]
        .iter()
        .map(|r| r.2.clone())
        .collect();
    system.settle(&ids, Duration::from_secs(20)).await.unwrap();
    let tree = local::hops::tree(&system.hops().all());

    let statuses = [first.0, second.0];
    let changed = statuses.iter().filter(|s| **s == 200).count();
    assert!(changed >= 1, "{statuses:?} {:?} {:?}", first.1, second.1);
    for (status, body, _) in [&first, &second, &retry] {
        if *status != 200 {
            assert_eq!(*status, 409, "{body}");
            assert_eq!(body["error"]["code"], "same_email");
        }
    }
    assert_eq!(retry.0, 409, "the retry finds the change made: {}", retry.1);
    assert_eq!(
        common::outbox_kinds(&system)
            .into_iter()
            .filter(|(k, _)| k.starts_with("email_changed"))
            .collect::<Vec<_>>(),
        pairs(&[
            ("email_changed_new_address", "jane.new@example.org"),
            ("email_changed_old_address", "jane+shop@example.com"),
        ]),
        "{tree}"
    );
    // Every pair put after the first was recognised by its dedupe keys: `duplicate`, after
    // (while the first was still being sent) `DuplicateInProgress`, which sends the record back
    // to the queue until it finds the email sent.
    let (mut done, mut in_progress) = (Vec::new(), Vec::new());
    for hop in system.hops().all() {
        match hop.what {
            What::Succeeded {
                function, result, ..
            } if function == "send-email" => {
                done.push(result["status"].as_str().unwrap_or_default().to_owned());
            }
            What::Failed {
                function,
                error_type,
                ..
            } if function == "send-email" => in_progress.push(error_type),
            _ => {}
        }
    }
    let sent = done.iter().filter(|s| *s == "sent").count();
    let duplicate = done.iter().filter(|s| *s == "duplicate").count();
    assert_eq!(
        (sent, duplicate, done.len()),
        (2, 2 * (changed - 1), 2 * changed),
        "{done:?}\n{tree}"
    );
    assert!(
        in_progress.iter().all(|e| e == "DuplicateInProgress"),
        "{in_progress:?}\n{tree}"
    );
    assert_no_email_addresses(&logs.text());
    system.shutdown().await;
}
