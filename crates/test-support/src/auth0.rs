//! An Auth0 tenant on a wiremock server, as the function tests use it.

use serde_json::json;
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate, matchers};

/// The `AUTH0_*` settings that point a function's Auth0 client at `base_url`, with fast,
/// bounded retries (two attempts, 10–20 ms backoff) so failure tests stay quick.
pub fn env(base_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AUTH0_DOMAIN", "shop.eu.auth0.com".to_owned()),
        ("AUTH0_BASE_URL", base_url.to_owned()),
        ("AUTH0_CLIENT_ID", "m2m".to_owned()),
        ("AUTH0_CLIENT_SECRET", "auth0-s3cret".to_owned()),
        ("AUTH0_MAX_ATTEMPTS", "2".to_owned()),
        ("AUTH0_BACKOFF_BASE_MS", "10".to_owned()),
        ("AUTH0_BACKOFF_CAP_MS", "20".to_owned()),
    ]
}

/// `POST /oauth/token` answering `token`, expected `expect` times.
pub async fn mount_token(server: &MockServer, token: &str, expect: u64) {
    Mock::given(matchers::method("POST"))
        .and(matchers::path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": token, "expires_in": 86400, "token_type": "Bearer"}),
        ))
        .expect(expect)
        .mount(server)
        .await;
}

/// Matches the raw (still percent-encoded) query string exactly, e.g. to prove `+` went as `%2B`.
pub struct RawQuery(pub &'static str);

impl Match for RawQuery {
    fn matches(&self, request: &Request) -> bool {
        request.url.query() == Some(self.0)
    }
}
