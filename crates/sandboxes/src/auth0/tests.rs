//! The account-recovery routes and the per-user logs, driven through the router.

use super::*;
use crate::Sandbox;
use axum::{body::Body, http::Request};
use std::path::PathBuf;
use tower::ServiceExt;

const MARIA: &str = "auth0|6650f1c2a3b4c5d6e7f80913";
const TAKEN_OVER: &str = "auth0|6650f1c2a3b4c5d6e7f80914";
const JANE_DOE: &str = "auth0|6650f1c2a3b4c5d6e7f80912";
const LEE: &str = "auth0|6650f1c2a3b4c5d6e7f80918";
const NOBODY: &str = "auth0|000000000000000000000000";

/// The seeded sandbox, its router, a valid token and its outbox directory (removed on drop).
struct Tenant {
    sandbox: Auth0Sandbox,
    router: Router,
    token: String,
    dir: PathBuf,
}

impl Drop for Tenant {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn settings() -> Auth0Settings {
    Auth0Settings {
        domain: "tenant.example.com".into(),
        client_id: "m2m-client".into(),
        client_secret: "m2m-secret".into(),
    }
}

/// `/api/v2/users/{id}{rest}` with the id percent-encoded as the client sends it.
fn user_uri(id: &str, rest: &str) -> String {
    format!("/api/v2/users/{}{rest}", id.replace('|', "%7C"))
}

impl Tenant {
    async fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("auth0-sandbox-{}", random_hex(6)));
        let outbox = Outbox::create(&dir).unwrap();
        let sandbox = Auth0Sandbox::new(settings(), DEFAULT_SEED, outbox).unwrap();
        let router = sandbox.router();
        let mut tenant = Self {
            sandbox,
            router,
            token: String::new(),
            dir,
        };
        let (status, body) = tenant
            .call(
                "POST",
                "/oauth/token",
                None,
                Some(json!({
                    "grant_type": "client_credentials",
                    "client_id": "m2m-client",
                    "client_secret": "m2m-secret",
                    "audience": "https://tenant.example.com/api/v2/"
                })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        tenant.token = body["access_token"].as_str().unwrap().to_owned();
        tenant
    }

    /// Sends a request (JSON body if any, bearer `token` if any); the status and the body as
    /// JSON (`null` when empty, a string when not JSON).
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::USER_AGENT, "sandbox-test/1.0");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(b) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, body)
    }

    /// A management call with the valid token.
    async fn api(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, uri, Some(&self.token.clone()), body)
            .await
    }

    async fn logs(&self, id: &str, query: &str) -> Vec<Value> {
        let (status, body) = self
            .api("GET", &user_uri(id, &format!("/logs{query}")), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().unwrap().clone()
    }

    async fn state(&self) -> Value {
        self.call("GET", "/_local/state", None, None).await.1
    }
}

fn types(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect()
}

/// An entry the sandbox wrote just now: its date to the millisecond, loopback, the M2M
/// application (for management calls), the caller's user agent, a fresh numeric log id.
fn assert_sandbox_entry(entry: &Value, user_id: &str, client_id: Option<&str>) {
    let date = entry["date"].as_str().unwrap();
    assert_eq!(date.len(), 24, "{entry}");
    assert!(date.ends_with('Z') && &date[19..20] == ".", "{entry}");
    assert_eq!(entry["ip"], "127.0.0.1", "{entry}");
    assert_eq!(entry["user_agent"], "sandbox-test/1.0", "{entry}");
    assert_eq!(entry["user_id"], user_id, "{entry}");
    assert_eq!(entry["connection"], "Username-Password-Authentication");
    assert_eq!(entry["client_id"].as_str(), client_id, "{entry}");
    let log_id = entry["log_id"].as_str().unwrap();
    assert!(log_id.starts_with("900") && log_id.len() == 35, "{log_id}");
    assert!(entry.get("location_info").is_none(), "{entry}");
}

#[tokio::test]
async fn seeded_logs_are_paged_newest_first() {
    let t = Tenant::new().await;
    let all = t
        .logs(TAKEN_OVER, "?page=0&per_page=100&sort=date:-1")
        .await;
    assert_eq!(
        types(&all),
        [
            "gd_enrollment_complete",
            "s",
            "sce",
            "scp",
            "s",
            "fp",
            "limit_wc",
            "fp",
            "f",
            "fp",
            "fp",
            "s",
            "s"
        ]
    );
    let dates: Vec<&str> = all.iter().map(|e| e["date"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
    // The attacker's logins come from another country than the owner's.
    assert_eq!(all[2]["location_info"]["country_code"], "BR");
    assert_eq!(all[12]["location_info"]["country_code"], "DE");
    assert!(all.iter().any(|e| e.get("location_info").is_none()));
    assert_eq!(
        all[2]["details"]["body"]["newEmail"],
        "new.address@example.org"
    );

    // The default order and paging, oldest first, totals.
    assert_eq!(t.logs(TAKEN_OVER, "").await, all);
    assert_eq!(t.logs(TAKEN_OVER, "?page=1&per_page=5").await, all[5..10]);
    assert_eq!(t.logs(TAKEN_OVER, "?page=2&per_page=5").await, all[10..]);
    assert!(t.logs(TAKEN_OVER, "?page=3&per_page=5").await.is_empty());
    let mut oldest_first = all.clone();
    oldest_first.reverse();
    assert_eq!(t.logs(TAKEN_OVER, "?sort=date:1").await, oldest_first);
    let uri = user_uri(TAKEN_OVER, "/logs?page=0&per_page=2&include_totals=true");
    let (status, body) = t.api("GET", &uri, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            &body["start"],
            &body["limit"],
            &body["length"],
            &body["total"]
        ),
        (&json!(0), &json!(2), &json!(2), &json!(13))
    );
    assert_eq!(body["logs"], json!(all[..2]));

    // A user with no history, and the refusals.
    assert!(
        t.logs("auth0|6650f1c2a3b4c5d6e7f80915", "")
            .await
            .is_empty()
    );
    let (status, body) = t
        .api("GET", &user_uri(TAKEN_OVER, "/logs?per_page=101"), None)
        .await;
    assert_eq!(
        (status, &body["errorCode"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_query_string"))
    );
    let (status, body) = t.api("GET", &user_uri(NOBODY, "/logs"), None).await;
    assert_eq!(
        (status, &body["errorCode"]),
        (StatusCode::NOT_FOUND, &json!("inexistent_user"))
    );
    let (status, _) = t
        .call("GET", &user_uri(TAKEN_OVER, "/logs"), None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t
        .call("GET", &user_uri(TAKEN_OVER, "/logs"), Some("forged"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_email_change_appends_sce_then_sapi_and_ends_the_sessions() {
    let t = Tenant::new().await;
    let streamed = Arc::new(Mutex::new(Vec::<Value>::new()));
    let sink = Arc::clone(&streamed);
    t.sandbox.set_log_stream(Arc::new(move |_, envelope| {
        sink.lock().unwrap().push(envelope);
    }));
    let before = t.logs(MARIA, "").await;
    assert_eq!(
        (t.sandbox.sessions(MARIA), t.sandbox.refresh_tokens(MARIA)),
        (2, 1)
    );

    let patch = json!({"email": "maria.new@example.org", "client_id": "m2m-client"});
    let (status, _) = t
        .api("PATCH", &user_uri(MARIA, ""), Some(patch.clone()))
        .await;
    assert_eq!(status, StatusCode::OK);

    let after = t.logs(MARIA, "?page=0&per_page=10&sort=date:-1").await;
    assert_eq!(types(&after[..2]), ["sapi", "sce"]);
    assert_eq!(after[2..], before[..]);
    let (sapi, sce) = (&after[0], &after[1]);
    assert_sandbox_entry(sce, MARIA, Some("m2m-client"));
    assert_sandbox_entry(sapi, MARIA, Some("m2m-client"));
    assert_eq!(sce["client_name"], accounts::M2M_CLIENT_NAME);
    assert_eq!(sce["user_name"], "maria.rossi@example.com");
    assert_eq!(
        sce["details"]["body"],
        json!({"email": "maria.rossi@example.com", "newEmail": "maria.new@example.org",
               "connection": "Username-Password-Authentication"})
    );
    assert_eq!(
        sapi["details"]["request"],
        json!({"method": "patch", "path": format!("/api/v2/users/{MARIA}"), "channel": "api",
               "ip": "127.0.0.1", "body": patch})
    );
    assert_eq!(sapi["details"]["response"]["statusCode"], 200);
    assert!(sce["date"].as_str() <= sapi["date"].as_str());
    assert_eq!(after, t.sandbox.user_logs(MARIA));

    // The stream got the same log; the sessions ended, the refresh tokens did not.
    let streamed = streamed.lock().unwrap().clone();
    assert_eq!(streamed.len(), 1);
    assert_eq!(streamed[0]["detail"]["log_id"], sce["log_id"]);
    assert_eq!(streamed[0]["detail"]["data"]["date"], sce["date"]);
    assert_eq!(streamed[0]["detail"]["data"]["type"], "sce");
    assert_eq!(streamed[0]["detail"]["data"]["strategy"], "auth0");
    assert_eq!(
        (t.sandbox.sessions(MARIA), t.sandbox.refresh_tokens(MARIA)),
        (0, 1)
    );
}

/// The storefront backend's token (the tenant's second M2M application, with the secret made
/// at start-up) changes an email as the storefront does for a signed-in customer: the `sce` and
/// `sapi` carry its client id and name, not the Dixa card's. A wrong secret gets no token.
#[tokio::test]
async fn the_storefront_backends_email_change_is_logged_under_its_own_client() {
    let t = Tenant::new().await;
    let grant = |secret: &str| {
        json!({
            "grant_type": "client_credentials",
            "client_id": super::STOREFRONT_CLIENT_ID,
            "client_secret": secret,
            "audience": "https://tenant.example.com/api/v2/"
        })
    };
    let (status, _) = t
        .call("POST", "/oauth/token", None, Some(grant("m2m-secret")))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let secret = t.sandbox.storefront_secret().to_owned();
    assert_eq!(secret.len(), 32);
    let (status, body) = t
        .call("POST", "/oauth/token", None, Some(grant(&secret)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();

    let patch = json!({"email": "maria.new@example.org"});
    let (status, _) = t
        .call("PATCH", &user_uri(MARIA, ""), Some(&token), Some(patch))
        .await;
    assert_eq!(status, StatusCode::OK);
    let after = t.logs(MARIA, "?page=0&per_page=2&sort=date:-1").await;
    assert_eq!(types(&after), ["sapi", "sce"]);
    for entry in &after {
        assert_sandbox_entry(entry, MARIA, Some(super::STOREFRONT_CLIENT_ID));
        assert_eq!(entry["client_name"], accounts::STOREFRONT_CLIENT_NAME);
    }
}

#[tokio::test]
async fn the_user_history_gets_sce_when_the_stream_hook_is_off() {
    let t = Tenant::new().await;
    let streamed = Arc::new(Mutex::new(0));
    let sink = Arc::clone(&streamed);
    t.sandbox
        .set_log_stream(Arc::new(move |_, _| *sink.lock().unwrap() += 1));
    t.sandbox.set_logs_sce(false);
    let (status, _) = t
        .api(
            "PATCH",
            &user_uri(TAKEN_OVER, ""),
            Some(json!({"email": "old.address@example.com", "verify_email": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        types(&t.logs(TAKEN_OVER, "?per_page=2").await),
        ["sapi", "sce"]
    );
    assert_eq!(*streamed.lock().unwrap(), 0);
    // The verification email went out as before, and a PATCH logs no `svr`.
    assert_eq!(t.sandbox.verification_emails(), ["old.address@example.com"]);
    let sent = t.sandbox.outbox.entries();
    assert_eq!(
        (
            sent.len(),
            sent[0].kind.as_str(),
            sent[0].recipient.as_str()
        ),
        (1, "auth0_verify_email", "old.address@example.com")
    );
}

#[tokio::test]
async fn a_patch_without_an_email_change_logs_only_sapi_and_a_refused_one_nothing() {
    let t = Tenant::new().await;
    let before = t.sandbox.user_logs(JANE_DOE);
    let (status, _) = t
        .api(
            "PATCH",
            &user_uri(JANE_DOE, ""),
            Some(json!({"blocked": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let after = t.sandbox.user_logs(JANE_DOE);
    assert_eq!(types(&after[..1]), ["sapi"]);
    assert_eq!(after[1..], before[..]);
    assert_eq!(t.sandbox.sessions(JANE_DOE), 1);
    let (status, _) = t
        .api("PATCH", &user_uri(JANE_DOE, ""), Some(json!({"name": "x"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(t.sandbox.user_logs(JANE_DOE), after);
}

#[tokio::test]
async fn sign_out_deletes_sessions_and_refresh_tokens_on_enterprise() {
    let t = Tenant::new().await;
    assert!(t.sandbox.enterprise());
    let (status, body) = t
        .api("DELETE", &user_uri(TAKEN_OVER, "/sessions"), None)
        .await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, Value::Null));
    assert_eq!(
        (
            t.sandbox.sessions(TAKEN_OVER),
            t.sandbox.refresh_tokens(TAKEN_OVER)
        ),
        (0, 2)
    );
    let (status, _) = t
        .api("DELETE", &user_uri(TAKEN_OVER, "/refresh-tokens"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(t.sandbox.refresh_tokens(TAKEN_OVER), 0);
    let logs = t.sandbox.user_logs(TAKEN_OVER);
    assert_eq!(
        types(&logs[..3]),
        ["sapi", "sapi", "gd_enrollment_complete"]
    );
    assert_eq!(
        logs[0]["details"]["request"]["path"],
        format!("/api/v2/users/{TAKEN_OVER}/refresh-tokens")
    );
    assert_eq!(
        logs[1]["details"]["request"]["path"],
        format!("/api/v2/users/{TAKEN_OVER}/sessions")
    );
    assert_sandbox_entry(&logs[0], TAKEN_OVER, Some("m2m-client"));
    // Again: nothing left, still accepted.
    let (status, _) = t
        .api("DELETE", &user_uri(TAKEN_OVER, "/sessions"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    for what in ["/sessions", "/refresh-tokens"] {
        let (status, body) = t.api("DELETE", &user_uri(NOBODY, what), None).await;
        assert_eq!(
            (status, &body["errorCode"]),
            (StatusCode::NOT_FOUND, &json!("inexistent_user"))
        );
        let (status, _) = t
            .call("DELETE", &user_uri(TAKEN_OVER, what), None, None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn non_enterprise_sign_out_is_refused_and_changes_nothing() {
    let t = Tenant::new().await;
    let state = t.state().await;
    t.sandbox.set_enterprise(false);
    for what in ["/sessions", "/refresh-tokens"] {
        let (status, body) = t.api("DELETE", &user_uri(TAKEN_OVER, what), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
        assert_eq!(
            body,
            json!({"statusCode": 403, "error": "Forbidden", "message": recovery::NOT_ON_PLAN,
                   "errorCode": "operation_not_supported"})
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("This feature is not available on your plan.")
        );
        // The token is checked first.
        let (status, _) = t
            .call("DELETE", &user_uri(TAKEN_OVER, what), None, None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let after = t.state().await;
    assert_eq!(after["enterprise"], false);
    let mut unchanged = after.clone();
    unchanged["enterprise"] = json!(true);
    assert_eq!(unchanged, state);
    assert_eq!(
        (
            t.sandbox.sessions(TAKEN_OVER),
            t.sandbox.refresh_tokens(TAKEN_OVER)
        ),
        (1, 2)
    );
    // Back on Enterprise, the same call works.
    t.sandbox.set_enterprise(true);
    let (status, _) = t
        .api("DELETE", &user_uri(TAKEN_OVER, "/sessions"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn authentication_methods_are_listed_and_deleted() {
    let t = Tenant::new().await;
    let (status, body) = t
        .api(
            "GET",
            &user_uri(TAKEN_OVER, "/authentication-methods"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([{"id": "totp|dev_7cY2dF5gH8jK1lM4", "type": "totp", "confirmed": true,
                "created_at": "2026-11-20T10:03:27.512Z",
                "last_auth_at": "2026-11-20T10:03:27.512Z"}])
    );
    let (_, body) = t
        .api("GET", &user_uri(MARIA, "/authentication-methods"), None)
        .await;
    let kinds: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["phone", "recovery-code"]);

    let (status, body) = t
        .api("DELETE", &user_uri(MARIA, "/authentication-methods"), None)
        .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    assert!(t.sandbox.authentication_methods(MARIA).is_empty());
    let (_, body) = t
        .api("GET", &user_uri(MARIA, "/authentication-methods"), None)
        .await;
    assert_eq!(body, json!([]));
    let logs = t.sandbox.user_logs(MARIA);
    assert_eq!(types(&logs[..3]), ["sapi", "gd_unenroll", "gd_unenroll"]);
    assert_eq!(
        logs[1]["details"]["authenticator"],
        json!({"id": "recovery-code|dev_9hK4pR6sT1uV3wX8", "type": "recovery-code"})
    );
    assert_sandbox_entry(&logs[1], MARIA, Some("m2m-client"));
    // Nothing left: still 204, only `sapi`.
    let (status, _) = t
        .api("DELETE", &user_uri(MARIA, "/authentication-methods"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(types(&t.sandbox.user_logs(MARIA)[..2]), ["sapi", "sapi"]);
    // The plan does not matter here.
    t.sandbox.set_enterprise(false);
    let (status, _) = t
        .api(
            "DELETE",
            &user_uri(TAKEN_OVER, "/authentication-methods"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    for method in ["GET", "DELETE"] {
        let (status, _) = t
            .api(method, &user_uri(NOBODY, "/authentication-methods"), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = t
            .call(
                method,
                &user_uri(MARIA, "/authentication-methods"),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn invalidating_remembered_browsers_is_recorded() {
    let t = Tenant::new().await;
    let uri = user_uri(
        TAKEN_OVER,
        "/multifactor/actions/invalidate-remember-browser",
    );
    let (status, body) = t.api("POST", &uri, None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let done = t.sandbox.remember_browser_invalidations();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["user_id"], TAKEN_OVER);
    assert_eq!(
        t.state().await["remember_browser_invalidations"],
        json!(done)
    );
    let logs = t.sandbox.user_logs(TAKEN_OVER);
    assert_eq!(logs[0]["type"], "sapi");
    assert_eq!(logs[0]["details"]["response"]["statusCode"], 204);
    let (status, _) = t
        .api(
            "POST",
            &user_uri(NOBODY, "/multifactor/actions/invalidate-remember-browser"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t.call("POST", &uri, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.sandbox.remember_browser_invalidations().len(), 1);
}

#[tokio::test]
async fn a_verification_job_queues_auth0s_email() {
    let t = Tenant::new().await;
    let request = json!({"user_id": TAKEN_OVER, "client_id": "storefront"});
    let (status, job) = t
        .api(
            "POST",
            "/api/v2/jobs/verification-email",
            Some(request.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (&job["type"], &job["status"]),
        (&json!("verification_email"), &json!("pending"))
    );
    let id = job["id"].as_str().unwrap();
    assert!(id.starts_with("job_") && id.len() == 20, "{id}");
    assert_eq!(job["created_at"].as_str().unwrap().len(), 24);
    assert_eq!(job.as_object().unwrap().len(), 4);

    let jobs = t.sandbox.verification_jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (
            &jobs[0]["id"],
            &jobs[0]["user_id"],
            &jobs[0]["client_id"],
            &jobs[0]["email"]
        ),
        (
            &job["id"],
            &json!(TAKEN_OVER),
            &json!("storefront"),
            &json!("new.address@example.org")
        )
    );
    assert_eq!(t.state().await["verification_jobs"], json!(jobs));
    assert_eq!(t.sandbox.verification_emails(), ["new.address@example.org"]);
    let sent = t.sandbox.outbox.entries();
    assert_eq!(
        (
            sent.len(),
            sent[0].kind.as_str(),
            sent[0].recipient.as_str()
        ),
        (1, "auth0_verify_email", "new.address@example.org")
    );
    let logs = t.sandbox.user_logs(TAKEN_OVER);
    assert_eq!(types(&logs[..2]), ["sapi", "svr"]);
    assert_sandbox_entry(&logs[1], TAKEN_OVER, Some("m2m-client"));
    assert_eq!(logs[0]["details"]["request"]["body"], request);

    // Without client_id; then the refusals, which send nothing.
    let (status, _) = t
        .api(
            "POST",
            "/api/v2/jobs/verification-email",
            Some(json!({"user_id": MARIA})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(t.sandbox.verification_jobs()[1]["client_id"], Value::Null);
    for (body, want) in [
        (json!({"user_id": NOBODY}), StatusCode::NOT_FOUND),
        (json!({"client_id": "x"}), StatusCode::BAD_REQUEST),
        (
            json!({"user_id": MARIA, "client_id": 7}),
            StatusCode::BAD_REQUEST,
        ),
        (json!("junk"), StatusCode::BAD_REQUEST),
    ] {
        let (status, _) = t
            .api(
                "POST",
                "/api/v2/jobs/verification-email",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, want, "{body}");
    }
    let (status, _) = t
        .call(
            "POST",
            "/api/v2/jobs/verification-email",
            None,
            Some(request),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.sandbox.verification_jobs().len(), 2);
    assert_eq!(t.sandbox.outbox.entries().len(), 2);
}

#[tokio::test]
async fn clearing_brute_force_blocks_logs_ublkdu() {
    let t = Tenant::new().await;
    let (status, _) = t
        .api("DELETE", &format!("/api/v2/user-blocks/{LEE}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let logs = t.sandbox.user_logs(LEE);
    assert_eq!(types(&logs[..3]), ["sapi", "ublkdu", "limit_wc"]);
    assert_eq!(logs[1]["details"]["released_blocks"], 2);
    assert_sandbox_entry(&logs[1], LEE, Some("m2m-client"));
    // No blocks left: the call is still logged, the release is not.
    let (status, _) = t
        .api("DELETE", &format!("/api/v2/user-blocks/{LEE}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        types(&t.sandbox.user_logs(LEE)[..3]),
        ["sapi", "sapi", "ublkdu"]
    );

    // By identifier: the user whose address it is.
    let (status, _) = t
        .api(
            "DELETE",
            "/api/v2/user-blocks?identifier=Jane.Doe%40example.com",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let logs = t.sandbox.user_logs(JANE_DOE);
    assert_eq!(types(&logs[..3]), ["sapi", "ublkdu", "limit_wc"]);
    assert_eq!(logs[0]["details"]["request"]["path"], "/api/v2/user-blocks");
    // An identifier of no user: nobody's history changes.
    let before = t.state().await["logs"].clone();
    let (status, _) = t
        .api(
            "DELETE",
            "/api/v2/user-blocks?identifier=legacy.customer%40example.com",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(t.state().await["logs"], before);
}

#[tokio::test]
async fn a_reset_request_logs_scpr_for_an_existing_user_only() {
    let t = Tenant::new().await;
    let before = t.state().await["logs"].clone();
    let (status, _) = t
        .call(
            "POST",
            "/dbconnections/change_password",
            None,
            Some(
                json!({"client_id": "storefront", "email": "nobody@example.com",
                        "connection": "Username-Password-Authentication"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t.state().await["logs"], before);
    let (status, _) = t
        .call(
            "POST",
            "/dbconnections/change_password",
            None,
            Some(
                json!({"client_id": "storefront", "email": "Maria.Rossi@example.com",
                        "connection": "Username-Password-Authentication"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let logs = t.sandbox.user_logs(MARIA);
    assert_eq!(logs[0]["type"], "scpr");
    assert_sandbox_entry(&logs[0], MARIA, Some("storefront"));
    assert!(logs[0].get("client_name").is_none());
    assert_eq!(
        logs[0]["details"]["body"]["email"],
        "Maria.Rossi@example.com"
    );
    assert_eq!(logs[1]["type"], "scp");
}

#[tokio::test]
async fn local_state_shows_every_users_recovery_state() {
    let t = Tenant::new().await;
    let state = t.state().await;
    assert_eq!(state["enterprise"], true);
    let users = state["users"].as_array().unwrap();
    for key in [
        "logs",
        "sessions",
        "refresh_tokens",
        "authentication_methods",
    ] {
        assert_eq!(state[key].as_object().unwrap().len(), users.len(), "{key}");
    }
    assert_eq!(state["sessions"][TAKEN_OVER], 1);
    assert_eq!(state["sessions"][LEE], 0);
    assert_eq!(state["refresh_tokens"][MARIA], 1);
    assert_eq!(
        state["authentication_methods"][TAKEN_OVER][0]["type"],
        "totp"
    );
    assert_eq!(state["authentication_methods"][LEE], json!([]));
    assert_eq!(
        state["logs"][TAKEN_OVER],
        json!(t.sandbox.user_logs(TAKEN_OVER))
    );
    assert_eq!(state["verification_jobs"], json!([]));
    assert_eq!(state["remember_browser_invalidations"], json!([]));
    // What was there before stays.
    for key in ["domain", "blocks", "password_resets", "verification_emails"] {
        assert!(state.get(key).is_some(), "{key}");
    }
}

/// The seed's histories: about seeded users, in the endpoint's shape, on documentation
/// addresses only, some placed and some not; and the takeover story in order.
#[test]
fn the_seeded_histories_are_plausible() {
    let seed: Value = serde_json::from_str(DEFAULT_SEED).unwrap();
    let ids: Vec<&str> = seed["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user_id"].as_str().unwrap())
        .collect();
    let documentation_ip = |ip: &str| {
        ["192.0.2.", "198.51.100.", "203.0.113."]
            .iter()
            .any(|p| ip.starts_with(p))
    };
    let (mut placed, mut unplaced) = (0, 0);
    for (id, entries) in seed["logs"].as_object().unwrap() {
        assert!(ids.contains(&id.as_str()), "{id}");
        for e in entries.as_array().unwrap() {
            assert_eq!(e["user_id"], id.as_str(), "{e}");
            let date = e["date"].as_str().unwrap();
            assert!(date.len() == 24 && date.ends_with('Z'), "{e}");
            assert!(documentation_ip(e["ip"].as_str().unwrap()), "{e}");
            let name = e["user_name"].as_str().unwrap();
            assert!(
                name.ends_with("@example.com") || name.ends_with("@example.org"),
                "{e}"
            );
            for field in ["type", "description", "log_id", "client_id", "user_agent"] {
                assert!(e[field].is_string(), "{field} in {e}");
            }
            match e.get("location_info") {
                Some(l) => {
                    placed += 1;
                    for field in ["country_code", "country_name", "city_name"] {
                        assert!(l[field].is_string(), "{field} in {e}");
                    }
                }
                None => unplaced += 1,
            }
        }
    }
    assert!(placed > 0 && unplaced > 0);
    let story: Vec<&str> = seed["logs"][TAKEN_OVER]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    let at = |t: &str| story.iter().position(|s| *s == t).unwrap();
    assert!(at("fp") < at("limit_wc") && at("limit_wc") < at("scp") && at("scp") < at("sce"));
    assert!(story.contains(&"f"));
    for key in ["sessions", "refresh_tokens", "authentication_methods"] {
        for id in seed[key].as_object().unwrap().keys() {
            assert!(ids.contains(&id.as_str()), "{key}: {id}");
        }
    }
}
