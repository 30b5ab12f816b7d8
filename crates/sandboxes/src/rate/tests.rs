//! The bucket on a manual clock, then each sandbox's answers at its limit, driven through its
//! router: the exact 429, its headers and body, no side effect, the counters.

use super::*;
use crate::{
    Auth0Sandbox, Auth0Settings, BloomreachSandbox, BloomreachSettings, HybrisSandbox,
    HybrisSettings, Sandbox, auth0, hybris, outbox::Outbox, text::random_hex,
};
use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode},
};
use base64::Engine;
use serde_json::{Value, json};
use std::path::PathBuf;
use tower::ServiceExt;

/// 2030-01-15T08:00:00.250Z: a quarter past a whole second, so rounding up shows.
const T0: Duration = Duration::from_millis(1_894_608_000_250);
const T0_S: u64 = 1_894_608_000;

fn rps(n: u32) -> Option<RateLimit> {
    NonZeroU32::new(n).map(RateLimit::per_second)
}

/// A limiter at `n` a second on a manual clock at [`T0`].
fn limited_at(n: u32, limiter: &Limiter) -> RateClock {
    let clock = RateClock::manual(T0);
    limiter.set_clock(clock.clone());
    limiter.set_limit(rps(n));
    clock
}

#[test]
fn n_in_a_second_pass_the_next_is_refused_and_the_next_second_passes_again() {
    let limiter = Limiter::default();
    let clock = limited_at(3, &limiter);
    let remaining: Vec<Decision> = (0..3).map(|_| limiter.check()).collect();
    assert_eq!(
        remaining,
        [2, 1, 0].map(|remaining| Decision::Accepted(Quota {
            limit: 3,
            remaining,
            // Full again after (3 - remaining) / 3 s, rounded up to a whole second.
            reset: T0_S + 1 + u64::from(remaining == 0),
            retry_after: 0,
        }))
    );
    // The next token comes 1/3 s after T0: the second after, T0_S + 1.
    let refused = Quota {
        limit: 3,
        remaining: 0,
        reset: T0_S + 1,
        retry_after: 1,
    };
    assert_eq!(limiter.check(), Decision::Refused(refused));
    clock.advance(Duration::from_millis(200));
    assert_eq!(limiter.check(), Decision::Refused(refused), "0.6 tokens");
    clock.advance(Duration::from_millis(800));
    for _ in 0..3 {
        assert!(matches!(limiter.check(), Decision::Accepted(_)));
    }
    assert!(matches!(limiter.check(), Decision::Refused(_)));
    assert_eq!(
        limiter.stats(),
        RateStats {
            limit_per_second: Some(3),
            burst: Some(3),
            accepted: 6,
            refused: 3,
            peak_accepted_per_second: 3,
        }
    );
}

#[test]
fn the_bucket_refills_continuously_up_to_its_burst() {
    let limiter = Limiter::default();
    let clock = limited_at(4, &limiter);
    for _ in 0..4 {
        assert!(matches!(limiter.check(), Decision::Accepted(_)));
    }
    // A quarter second is one token at 4/s.
    clock.advance(Duration::from_millis(250));
    assert!(matches!(limiter.check(), Decision::Accepted(_)));
    assert!(matches!(limiter.check(), Decision::Refused(_)));
    // A long pause fills the bucket to its burst, no more.
    clock.advance(Duration::from_secs(60));
    let passed = (0..10)
        .filter(|_| matches!(limiter.check(), Decision::Accepted(_)))
        .count();
    assert_eq!(passed, 4);
    // Fixed one-second windows: 4 + 1 in [T0_S, T0_S + 1) (T0 + 0.25 s is still in it).
    assert_eq!(limiter.stats().peak_accepted_per_second, 5);
}

#[test]
fn unlimited_by_default_and_still_counted() {
    let limiter = Limiter::default();
    limiter.set_clock(RateClock::manual(T0));
    for _ in 0..1000 {
        assert_eq!(limiter.check(), Decision::Unlimited);
    }
    assert_eq!(
        limiter.stats(),
        RateStats {
            limit_per_second: None,
            burst: None,
            accepted: 1000,
            refused: 0,
            peak_accepted_per_second: 1000,
        }
    );
}

/// A temporary outbox directory, removed on drop.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn outbox() -> (Outbox, Dir) {
    let dir = std::env::temp_dir().join(format!("rate-sandbox-{}", random_hex(6)));
    (Outbox::create(&dir).unwrap(), Dir(dir))
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// Sends one request through `router`: `(name, value)` headers, a body as given.
async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: String,
) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

const JSON: (&str, &str) = ("content-type", "application/json");
const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const JANE: &str = "/api/v2/users/auth0%7C6650f1c2a3b4c5d6e7f80912";

async fn stats(router: &Router) -> RateStats {
    let answer = call(router, "GET", "/_local/stats", &[], String::new()).await;
    assert_eq!(answer.status, StatusCode::OK);
    serde_json::from_value(answer.body).unwrap()
}

fn auth0_tenant() -> (Auth0Sandbox, Router, Dir) {
    let (outbox, dir) = outbox();
    let settings = Auth0Settings {
        domain: "tenant.example.com".into(),
        client_id: "m2m-client".into(),
        client_secret: "m2m-secret".into(),
    };
    let sandbox = Auth0Sandbox::new(settings, auth0::DEFAULT_SEED, outbox).unwrap();
    let router = sandbox.router();
    (sandbox, router, dir)
}

async fn auth0_token(router: &Router) -> Answer {
    let body = json!({
        "grant_type": "client_credentials",
        "client_id": "m2m-client",
        "client_secret": "m2m-secret",
        "audience": "https://tenant.example.com/api/v2/"
    });
    call(router, "POST", "/oauth/token", &[JSON], body.to_string()).await
}

#[tokio::test]
async fn auth0_answers_with_its_headers_within_the_limit_and_its_429_beyond_it() {
    let (sandbox, router, _dir) = auth0_tenant();
    let clock = limited_at(2, sandbox.rate());

    let token = auth0_token(&router).await;
    assert_eq!(token.status, StatusCode::OK);
    // The Authentication API takes from the tenant's bucket too.
    assert_eq!(token.header("x-ratelimit-remaining"), Some("1"));
    let bearer = format!("Bearer {}", token.body["access_token"].as_str().unwrap());
    let auth = [("authorization", bearer.as_str()), JSON];

    let user = call(&router, "GET", JANE, &auth, String::new()).await;
    assert_eq!(user.status, StatusCode::OK);
    assert_eq!(user.header("x-ratelimit-limit"), Some("2"));
    assert_eq!(user.header("x-ratelimit-remaining"), Some("0"));
    // Empty at T0 + 0.25 s, full one second later: rounded up, T0_S + 2.
    let full = (T0_S + 2).to_string();
    assert_eq!(user.header("x-ratelimit-reset"), Some(full.as_str()));
    let logs_before = sandbox.user_logs("auth0|6650f1c2a3b4c5d6e7f80912").len();

    let patch = json!({"email": "jane.new@example.com", "verify_email": true}).to_string();
    let refused = call(&router, "PATCH", JANE, &auth, patch.clone()).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.body,
        json!({"statusCode": 429, "error": "Too Many Requests",
               "message": "Global limit has been reached", "errorCode": "too_many_requests"})
    );
    assert_eq!(refused.header("x-ratelimit-limit"), Some("2"));
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));
    // The next token comes half a second after T0: T0_S + 1 (rounded up).
    let next = (T0_S + 1).to_string();
    assert_eq!(refused.header("x-ratelimit-reset"), Some(next.as_str()));
    assert_eq!(refused.header("retry-after"), None, "only M2M-quota 429s");
    assert_eq!(refused.header("content-type"), Some("application/json"));
    // No side effect: the user, its history and the outbox are as before.
    let jane = sandbox.user("auth0|6650f1c2a3b4c5d6e7f80912").unwrap();
    assert_eq!(jane["email"], "jane.doe@example.com");
    let logs_after = sandbox.user_logs("auth0|6650f1c2a3b4c5d6e7f80912").len();
    assert_eq!(logs_after, logs_before);
    assert!(sandbox.verification_emails().is_empty());

    // The Authentication API refuses in OAuth's shape, and records no reset.
    let reset = json!({"email": "jane.doe@example.com", "connection": "Username-Password-Authentication", "client_id": "spa"});
    let refused = call(
        &router,
        "POST",
        "/dbconnections/change_password",
        &[JSON],
        reset.to_string(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.body,
        json!({"error": "too_many_requests", "error_description": "Global limit has been reached"})
    );
    assert_eq!(refused.header("x-ratelimit-reset"), Some(next.as_str()));
    assert!(sandbox.password_resets().is_empty());

    // Neither `/_local` route is limited or counted.
    let state = call(&router, "GET", "/_local/state", &[], String::new()).await;
    assert_eq!(state.status, StatusCode::OK);
    assert!(state.headers.get("x-ratelimit-limit").is_none());

    clock.advance(Duration::from_secs(1));
    let changed = call(&router, "PATCH", JANE, &auth, patch).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["email"], "jane.new@example.com");
    assert_eq!(sandbox.verification_emails(), ["jane.new@example.com"]);
    assert_eq!(
        stats(&router).await,
        RateStats {
            limit_per_second: Some(2),
            burst: Some(2),
            accepted: 3,
            refused: 2,
            peak_accepted_per_second: 2,
        }
    );
}

#[tokio::test]
async fn auth0_unlimited_by_default_answers_as_before_and_counts() {
    let (_sandbox, router, _dir) = auth0_tenant();
    let token = auth0_token(&router).await;
    let bearer = format!("Bearer {}", token.body["access_token"].as_str().unwrap());
    for _ in 0..50 {
        let user = call(
            &router,
            "GET",
            JANE,
            &[("authorization", &bearer)],
            String::new(),
        )
        .await;
        assert_eq!(user.status, StatusCode::OK);
        assert!(user.headers.get("x-ratelimit-limit").is_none());
        assert!(user.headers.get("x-ratelimit-reset").is_none());
    }
    let stats = stats(&router).await;
    assert_eq!((stats.limit_per_second, stats.burst), (None, None));
    assert_eq!((stats.accepted, stats.refused), (51, 0));
    assert!(stats.peak_accepted_per_second >= 1);
}

fn bloomreach_project() -> (BloomreachSandbox, Router, Outbox, Dir) {
    let (outbox, dir) = outbox();
    let settings = BloomreachSettings {
        project_token: "project".into(),
        key_id: "key".into(),
        key_secret: "secret".into(),
        templates: vec![crate::template_id(auth0_events::EmailKind::ALL[0])],
    };
    let sandbox = BloomreachSandbox::new(settings, outbox.clone());
    let router = sandbox.router();
    (sandbox, router, outbox, dir)
}

/// A send that fails validation (no template id): counted, never recorded.
async fn bloomreach_send(router: &Router) -> Answer {
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("key:secret")
    );
    let body = json!({"recipient": {"email": "someone@example.com"}, "email_content": {}});
    let uri = "/email/v2/projects/project/sync";
    let auth = [("authorization", basic.as_str()), JSON];
    call(router, "POST", uri, &auth, body.to_string()).await
}

#[tokio::test]
async fn bloomreach_refuses_beyond_its_limit_with_retry_after_and_sends_nothing() {
    let (sandbox, router, outbox, _dir) = bloomreach_project();
    let clock = limited_at(1, sandbox.rate());
    let first = bloomreach_send(&router).await;
    assert_eq!(first.status, StatusCode::BAD_REQUEST, "let through");
    assert_eq!(first.header("retry-after"), None);

    let refused = bloomreach_send(&router).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.body,
        json!({"success": false, "errors": ["Too many requests"]})
    );
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.header("x-ratelimit-limit"), None, "not documented");
    assert!(sandbox.sent().is_empty());
    assert!(outbox.entries().is_empty());

    clock.advance(Duration::from_secs(1));
    assert_eq!(
        bloomreach_send(&router).await.status,
        StatusCode::BAD_REQUEST
    );
    let stats = stats(&router).await;
    assert_eq!((stats.accepted, stats.refused), (2, 1));
    assert_eq!(stats.peak_accepted_per_second, 1);
}

#[tokio::test]
async fn bloomreach_429_has_no_side_effect_on_a_valid_send() {
    let (sandbox, router, outbox, _dir) = bloomreach_project();
    limited_at(1, sandbox.rate());
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("key:secret")
    );
    let template = crate::template_id(auth0_events::EmailKind::ALL[0]);
    let body = json!({
        "campaign_name": "c",
        "recipient": {"email": "someone@example.com", "customer_ids": {"registered": "someone@example.com"}},
        "email_content": {"template_id": template, "params": {}},
    })
    .to_string();
    let uri = "/email/v2/projects/project/sync";
    let auth = [("authorization", basic.as_str()), JSON];
    // The bucket's one token goes to a request that records nothing.
    assert_eq!(
        bloomreach_send(&router).await.status,
        StatusCode::BAD_REQUEST
    );
    let refused = call(&router, "POST", uri, &auth, body).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(sandbox.sent().is_empty());
    assert!(outbox.entries().is_empty());
}

#[tokio::test]
async fn hybris_refuses_beyond_its_limit_in_occ_shape_and_starts_no_reset() {
    let (outbox, _dir) = outbox();
    let settings = HybrisSettings {
        client_id: "client".into(),
        client_secret: "secret".into(),
        base_site: String::new(),
    };
    let sandbox = HybrisSandbox::new(settings, hybris::DEFAULT_SEED, outbox.clone()).unwrap();
    let router = sandbox.router();
    let clock = limited_at(1, sandbox.rate());
    let token = call(
        &router,
        "POST",
        "/authorizationserver/oauth/token",
        &[FORM],
        "grant_type=client_credentials&client_id=client&client_secret=secret".into(),
    )
    .await;
    assert_eq!(token.status, StatusCode::OK);
    let bearer = format!("Bearer {}", token.body["access_token"].as_str().unwrap());
    let auth = [("authorization", bearer.as_str()), JSON];
    let reset = || {
        call(
            &router,
            "POST",
            "/occ/v2/shop-uk/passwordRestoreToken",
            &auth,
            json!({"loginId": "legacy.customer@example.com"}).to_string(),
        )
    };
    let refused = reset().await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.body,
        json!({"errors": [{"type": "TooManyRequestsError", "message": "Too many requests"}]})
    );
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(sandbox.resets().is_empty());
    assert!(outbox.entries().is_empty());

    clock.advance(Duration::from_secs(1));
    assert_eq!(reset().await.status, StatusCode::ACCEPTED);
    assert_eq!(sandbox.resets().len(), 1);
    let stats = stats(&router).await;
    assert_eq!(
        (stats.limit_per_second, stats.accepted, stats.refused),
        (Some(1), 2, 1)
    );
}
