//! SAP Commerce (Hybris) OCC REST API v2: "does this customer exist" and "send the reset email".
//!
//! - Token: `POST {base}/authorizationserver/oauth/token`, form body
//!   `grant_type=client_credentials&client_id&client_secret`; cached per container
//!   ([`lambda_support::token_cache`]), dropped and fetched once more after a 401.
//!   The OAuth client needs `ROLE_TRUSTED_CLIENT` to read customers.
//! - Exists: `GET {base}/occ/v2/{site}/users/{uid}?fields=BASIC` → 200 yes; 400 or 404 whose
//!   body names `UnknownIdentifierError` → no (older releases answer 400; the type is what is
//!   checked, so a release answering 404 works too); anything else is an error.
//! - Reset, chosen by `HYBRIS_RESET_ENDPOINT` because it depends on the release:
//!   `password-restore-token` (2205 and later): `POST .../passwordRestoreToken` JSON
//!   `{"loginId": uid}` → 201; `forgotten-password-tokens` (legacy, deprecated in 2205):
//!   `POST .../forgottenpasswordtokens` form `userId=uid` → 202. Any 2xx counts as done.
//!
//! A 429 (SAP Commerce documents no limit; a gateway in front of it may set one) is retried in
//! the invocation, up to [`RATE_LIMITED_ATTEMPTS`] attempts, after its `Retry-After` or a
//! jittered backoff, while the wait and another call fit the deadline; only then does it fail
//! the invocation (`HybrisUnavailable`) and cost one of Lambda's two retries.
//!
//! The uid lookup does not lower-case, so the uid is always the lower-cased [`EmailAddress`].
//! Error bodies can echo the uid: they are parsed for the error *type* only.

use crate::config::{HybrisConfig, ResetEndpoint};
use auth0_events::EmailAddress;
use lambda_support::{
    ExposeSecret, SecretString, encode_component,
    retry::{Backoff, Deadline},
    token_cache::{Fetched, TokenCache},
};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use std::time::Duration;

/// Attempts of one call that Hybris answers 429, the first included.
pub const RATE_LIMITED_ATTEMPTS: u32 = 3;
/// The wait before a 429's retry without `Retry-After`: full jitter, 250 ms doubling to 2 s.
const RATE_LIMITED_BACKOFF: Backoff = Backoff {
    max_attempts: RATE_LIMITED_ATTEMPTS,
    base: Duration::from_millis(250),
    cap: Duration::from_secs(2),
};
/// A `Retry-After` longer than this is not waited out in the invocation.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Which call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HybrisCall {
    Token,
    GetCustomer,
    StartReset,
}

impl HybrisCall {
    pub fn as_str(self) -> &'static str {
        match self {
            HybrisCall::Token => "hybris-token",
            HybrisCall::GetCustomer => "hybris-get-customer",
            HybrisCall::StartReset => "hybris-start-reset",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HybrisErrorKind {
    /// 401 even with a freshly fetched token, or the token request refused.
    Unauthorized,
    /// 403: e.g. the OAuth client lacks `ROLE_TRUSTED_CLIENT`.
    Forbidden,
    /// 429 or 5xx.
    Unavailable {
        status: u16,
    },
    /// Another unexpected status.
    Status {
        status: u16,
    },
    Timeout,
    Transport,
    Decode,
}

/// A failed Hybris call: which one and why. Never holds a token, secret, body or address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} failed: {}", call.as_str(), describe(kind))]
pub struct HybrisError {
    pub call: HybrisCall,
    pub kind: HybrisErrorKind,
}

fn describe(kind: &HybrisErrorKind) -> String {
    match kind {
        HybrisErrorKind::Unauthorized => "unauthorized (401 after a token refresh)".into(),
        HybrisErrorKind::Forbidden => "forbidden (403)".into(),
        HybrisErrorKind::Unavailable { status } => format!("unavailable (HTTP {status})"),
        HybrisErrorKind::Status { status } => format!("unexpected HTTP {status}"),
        HybrisErrorKind::Timeout => "timed out".into(),
        HybrisErrorKind::Transport => "network error".into(),
        HybrisErrorKind::Decode => "unreadable reply".into(),
    }
}

impl HybrisError {
    /// Whether a later retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            HybrisErrorKind::Unavailable { .. }
                | HybrisErrorKind::Timeout
                | HybrisErrorKind::Transport
        )
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default, rename = "type")]
    kind: String,
}

/// The client: one HTTP pool and one token per container.
#[derive(Debug)]
pub struct HybrisClient {
    http: reqwest::Client,
    config: HybrisConfig,
    token: TokenCache,
}

/// The body of one request, rebuilt for the retry after a 401.
enum Body<'a> {
    None,
    Json(serde_json::Value),
    Form(&'a [(&'a str, &'a str)]),
}

impl HybrisClient {
    pub fn new(config: HybrisConfig) -> Result<Self, reqwest::Error> {
        let http = lambda_support::http::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let token = TokenCache::new(config.token_refresh_margin);
        Ok(Self {
            http,
            config,
            token,
        })
    }

    fn occ(&self, rest: &str) -> String {
        format!(
            "{}/occ/v2/{}/{rest}",
            self.config.base_url,
            encode_component(&self.config.base_site)
        )
    }

    /// Whether Hybris knows a customer with this uid (their email, lower-cased).
    pub async fn customer_exists(
        &self,
        email: &EmailAddress,
        deadline: &Deadline,
    ) -> Result<bool, HybrisError> {
        let url = self.occ(&format!(
            "users/{}?fields=BASIC",
            encode_component(email.as_str())
        ));
        let call = HybrisCall::GetCustomer;
        let (status, body) = self
            .authorized(call, Method::GET, &url, Body::None, deadline)
            .await?;
        if status == StatusCode::OK {
            return Ok(true);
        }
        if matches!(status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND) {
            let parsed: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
            if parsed
                .errors
                .iter()
                .any(|e| e.kind == "UnknownIdentifierError")
            {
                return Ok(false);
            }
        }
        Err(classify(call, status))
    }

    /// Has Hybris create a reset token and send its reset email.
    pub async fn start_reset(
        &self,
        email: &EmailAddress,
        deadline: &Deadline,
    ) -> Result<(), HybrisError> {
        let call = HybrisCall::StartReset;
        let form = [("userId", email.as_str())];
        let (url, body) = match self.config.reset_endpoint {
            ResetEndpoint::PasswordRestoreToken => (
                self.occ("passwordRestoreToken"),
                Body::Json(serde_json::json!({ "loginId": email.as_str() })),
            ),
            ResetEndpoint::ForgottenPasswordTokens => {
                (self.occ("forgottenpasswordtokens"), Body::Form(&form))
            }
        };
        let (status, _) = self
            .authorized(call, Method::POST, &url, body, deadline)
            .await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(classify(call, status))
        }
    }

    /// Sends with the cached token; on 401 drops it and tries once more with a new one.
    async fn authorized(
        &self,
        call: HybrisCall,
        method: Method,
        url: &str,
        body: Body<'_>,
        deadline: &Deadline,
    ) -> Result<(StatusCode, Vec<u8>), HybrisError> {
        for attempt in 1..=2 {
            let token = self.token(deadline).await?;
            let mut req = self
                .http
                .request(method.clone(), url)
                .bearer_auth(token.expose_secret());
            req = match &body {
                Body::None => req,
                Body::Json(v) => req.json(v),
                Body::Form(f) => req.form(f),
            };
            let (status, bytes) = self.send(call, req, deadline).await?;
            if status != StatusCode::UNAUTHORIZED {
                return Ok((status, bytes));
            }
            tracing::warn!(
                call = call.as_str(),
                attempt,
                "Hybris refused the token; fetching a new one"
            );
            self.token.invalidate(&token).await;
        }
        Err(HybrisError {
            call,
            kind: HybrisErrorKind::Unauthorized,
        })
    }

    /// Fetches the OAuth token ahead of the first call (see `Handler::warm_up`); a failure is
    /// only logged, and the first call fetches it itself.
    pub async fn warm_up(&self) {
        let deadline = Deadline::after(lambda_support::token_cache::WARM_UP_BUDGET);
        if let Err(e) = self.token(&deadline).await {
            tracing::warn!(error = %e, "Hybris token prefetch failed; the first call fetches it");
        }
    }

    async fn token(&self, deadline: &Deadline) -> Result<SecretString, HybrisError> {
        let call = HybrisCall::Token;
        self.token
            .get(
                deadline,
                || HybrisError {
                    call,
                    kind: HybrisErrorKind::Timeout,
                },
                || async {
                    let creds = &self.config.credentials;
                    let form = [
                        ("grant_type", "client_credentials"),
                        ("client_id", creds.client_id.as_str()),
                        ("client_secret", creds.client_secret.expose_secret()),
                    ];
                    let url = format!("{}/authorizationserver/oauth/token", self.config.base_url);
                    let (status, bytes) = self
                        .send(call, self.http.post(url).form(&form), deadline)
                        .await?;
                    if !status.is_success() {
                        return Err(match status {
                            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED => HybrisError {
                                call,
                                kind: HybrisErrorKind::Unauthorized,
                            },
                            s => classify(call, s),
                        });
                    }
                    let parsed: TokenResponse =
                        serde_json::from_slice(&bytes).map_err(|_| HybrisError {
                            call,
                            kind: HybrisErrorKind::Decode,
                        })?;
                    if parsed.access_token.is_empty() {
                        return Err(HybrisError {
                            call,
                            kind: HybrisErrorKind::Decode,
                        });
                    }
                    Ok(Fetched {
                        token: SecretString::from(parsed.access_token),
                        expires_in: Duration::from_secs(parsed.expires_in.unwrap_or(3_600)),
                    })
                },
            )
            .await
    }

    /// One HTTP exchange, bounded by the configured timeout and the deadline; a 429 is sent
    /// again (see the module doc) while that fits the deadline.
    async fn send(
        &self,
        call: HybrisCall,
        mut req: reqwest::RequestBuilder,
        deadline: &Deadline,
    ) -> Result<(StatusCode, Vec<u8>), HybrisError> {
        let mut attempt = 1;
        loop {
            // JSON and form bodies are bytes: the builder clones.
            let again = req.try_clone();
            let (status, retry_after, bytes) = self.exchange(call, req, deadline).await?;
            if status != StatusCode::TOO_MANY_REQUESTS || attempt >= RATE_LIMITED_ATTEMPTS {
                return Ok((status, bytes));
            }
            let wait = match retry_after {
                Some(d) if d > MAX_RETRY_AFTER => return Ok((status, bytes)),
                Some(d) => d,
                None => RATE_LIMITED_BACKOFF.delay(attempt),
            };
            match again {
                Some(next) if deadline.allows(wait, self.config.timeout) => {
                    tracing::warn!(
                        call = call.as_str(),
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "Hybris answered 429; waiting before the next attempt"
                    );
                    tokio::time::sleep(wait).await;
                    req = next;
                    attempt += 1;
                }
                _ => return Ok((status, bytes)),
            }
        }
    }

    async fn exchange(
        &self,
        call: HybrisCall,
        req: reqwest::RequestBuilder,
        deadline: &Deadline,
    ) -> Result<(StatusCode, Option<Duration>, Vec<u8>), HybrisError> {
        let timeout = self.config.timeout.min(deadline.remaining());
        if timeout.is_zero() {
            return Err(HybrisError {
                call,
                kind: HybrisErrorKind::Timeout,
            });
        }
        // reqwest's error text names the URL, which holds the address: classify, never quote.
        let fail = |e: reqwest::Error| HybrisError {
            call,
            kind: if e.is_timeout() {
                HybrisErrorKind::Timeout
            } else {
                HybrisErrorKind::Transport
            },
        };
        let response = req.timeout(timeout).send().await.map_err(fail)?;
        let status = response.status();
        let retry_after = lambda_support::retry::retry_after(response.headers());
        let bytes = response.bytes().await.map_err(fail)?;
        tracing::debug!(
            call = call.as_str(),
            status = status.as_u16(),
            "Hybris replied"
        );
        Ok((status, retry_after, bytes.to_vec()))
    }
}

fn classify(call: HybrisCall, status: StatusCode) -> HybrisError {
    let kind = match status {
        StatusCode::UNAUTHORIZED => HybrisErrorKind::Unauthorized,
        StatusCode::FORBIDDEN => HybrisErrorKind::Forbidden,
        s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
            HybrisErrorKind::Unavailable { status: s.as_u16() }
        }
        s => HybrisErrorKind::Status { status: s.as_u16() },
    };
    HybrisError { call, kind }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HybrisConfig, HybrisCredentials};
    use serde_json::json;
    use test_support::logs::{Capture, assert_no_email_addresses};
    use wiremock::{
        Mock, MockServer, ResponseTemplate,
        matchers::{body_json, body_string, header, method, path, query_param},
    };

    const TOKEN: &str = "hybris-token-1";
    const ADDRESS: &str = "Jane+Shop@Example.com";

    fn config(server: &MockServer, reset: ResetEndpoint) -> HybrisConfig {
        HybrisConfig {
            base_url: server.uri(),
            base_site: "shop-uk".into(),
            credentials: HybrisCredentials {
                client_id: "lambda".into(),
                client_secret: SecretString::from("s3cret-value".to_owned()),
            },
            reset_endpoint: reset,
            timeout: Duration::from_millis(500),
            token_refresh_margin: Duration::from_secs(60),
        }
    }

    fn email() -> EmailAddress {
        EmailAddress::parse(ADDRESS).unwrap()
    }

    fn deadline() -> Deadline {
        Deadline::after(Duration::from_secs(5))
    }

    async fn mount_token(server: &MockServer, token: &str, expect: u64) {
        Mock::given(method("POST"))
            .and(path("/authorizationserver/oauth/token"))
            .and(body_string(
                "grant_type=client_credentials&client_id=lambda&client_secret=s3cret-value",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"access_token": token, "token_type": "bearer", "expires_in": 43199, "scope": "basic openid"}),
            ))
            .expect(expect)
            .mount(server)
            .await;
    }

    fn unknown_user() -> ResponseTemplate {
        // Hybris echoes the uid in the message: it must not reach errors or logs.
        ResponseTemplate::new(400).set_body_json(json!({"errors": [{
            "type": "UnknownIdentifierError",
            "message": "Cannot find user with uid 'jane+shop@example.com'"
        }]}))
    }

    #[tokio::test]
    async fn exists_sends_the_encoded_lower_cased_uid_with_the_bearer_token() {
        let (capture, _g) = Capture::install();
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, 1).await;
        Mock::given(method("GET"))
            // The raw path: `+` and `@` percent-encoded, lower-cased.
            .and(path("/occ/v2/shop-uk/users/jane%2Bshop%40example.com"))
            .and(query_param("fields", "BASIC"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"uid": "jane+shop@example.com", "name": "Jane"})),
            )
            .expect(2)
            .mount(&server)
            .await;
        let client =
            HybrisClient::new(config(&server, ResetEndpoint::PasswordRestoreToken)).unwrap();
        // Two invocations in one container: one token fetch.
        assert!(client.customer_exists(&email(), &deadline()).await.unwrap());
        assert!(client.customer_exists(&email(), &deadline()).await.unwrap());
        assert_no_email_addresses(&capture.text());
    }

    #[tokio::test]
    async fn unknown_identifier_is_not_found_and_other_400s_are_errors() {
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, 1).await;
        Mock::given(method("GET"))
            .respond_with(unknown_user())
            .up_to_n_times(1)
            .mount(&server)
            .await;
        let client =
            HybrisClient::new(config(&server, ResetEndpoint::PasswordRestoreToken)).unwrap();
        assert!(!client.customer_exists(&email(), &deadline()).await.unwrap());

        server.reset().await;
        mount_token(&server, TOKEN, 0).await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"errors": [{"type": "ValidationError", "message": "jane+shop@example.com"}]})))
            .mount(&server)
            .await;
        let err = client
            .customer_exists(&email(), &deadline())
            .await
            .unwrap_err();
        assert_eq!(err.kind, HybrisErrorKind::Status { status: 400 });
        assert!(!err.is_transient());
        assert!(!err.to_string().contains('@'), "{err}");
    }

    #[tokio::test]
    async fn server_errors_and_timeouts_are_transient() {
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, 1).await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        let client =
            HybrisClient::new(config(&server, ResetEndpoint::PasswordRestoreToken)).unwrap();
        let err = client
            .customer_exists(&email(), &deadline())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            HybrisError {
                call: HybrisCall::GetCustomer,
                kind: HybrisErrorKind::Unavailable { status: 503 }
            }
        );
        assert!(err.is_transient());

        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
            .mount(&server)
            .await;
        let err = client
            .customer_exists(&email(), &deadline())
            .await
            .unwrap_err();
        assert_eq!(err.kind, HybrisErrorKind::Timeout);
        assert!(err.is_transient());
    }

    #[tokio::test]
    async fn a_401_refreshes_the_token_once_then_fails_clearly() {
        let server = MockServer::start().await;
        // First token refused by the API, second accepted.
        Mock::given(method("POST"))
            .and(path("/authorizationserver/oauth/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": "stale", "expires_in": 3600})),
            )
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        mount_token(&server, TOKEN, 1).await;
        Mock::given(method("GET"))
            .and(header("authorization", "Bearer stale"))
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_json(json!({"errors": [{"type": "InvalidTokenError"}]})),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"uid": "x"})))
            .expect(1)
            .mount(&server)
            .await;
        let client =
            HybrisClient::new(config(&server, ResetEndpoint::PasswordRestoreToken)).unwrap();
        assert!(client.customer_exists(&email(), &deadline()).await.unwrap());
        server.verify().await;

        // Always 401: exactly one refresh, then Unauthorized.
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, 2).await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(401))
            .expect(2)
            .mount(&server)
            .await;
        let client =
            HybrisClient::new(config(&server, ResetEndpoint::PasswordRestoreToken)).unwrap();
        let err = client
            .customer_exists(&email(), &deadline())
            .await
            .unwrap_err();
        assert_eq!(err.kind, HybrisErrorKind::Unauthorized);
        assert!(!err.is_transient());
        assert!(!err.to_string().contains(TOKEN) && !format!("{err:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn forbidden_is_permanent() {
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, 1).await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(403))
            .expect(1)
            .mount(&server)
            .await;
        let client =
            HybrisClient::new(config(&server, ResetEndpoint::PasswordRestoreToken)).unwrap();
        let err = client
            .customer_exists(&email(), &deadline())
            .await
            .unwrap_err();
        assert_eq!(err.kind, HybrisErrorKind::Forbidden);
        assert!(!err.is_transient());
    }

    #[tokio::test]
    async fn reset_with_password_restore_token_posts_the_login_id() {
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, 1).await;
        Mock::given(method("POST"))
            .and(path("/occ/v2/shop-uk/passwordRestoreToken"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(body_json(json!({"loginId": "jane+shop@example.com"})))
            .respond_with(ResponseTemplate::new(201))
            .expect(1)
            .mount(&server)
            .await;
        let client =
            HybrisClient::new(config(&server, ResetEndpoint::PasswordRestoreToken)).unwrap();
        client.start_reset(&email(), &deadline()).await.unwrap();
    }

    #[tokio::test]
    async fn reset_with_legacy_forgotten_password_tokens_posts_the_form() {
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, 1).await;
        Mock::given(method("POST"))
            .and(path("/occ/v2/shop-uk/forgottenpasswordtokens"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .and(body_string("userId=jane%2Bshop%40example.com"))
            .respond_with(ResponseTemplate::new(202))
            .expect(1)
            .mount(&server)
            .await;
        let client =
            HybrisClient::new(config(&server, ResetEndpoint::ForgottenPasswordTokens)).unwrap();
        client.start_reset(&email(), &deadline()).await.unwrap();
    }

    #[tokio::test]
    async fn reset_failures_are_classified() {
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, 1).await;
        Mock::given(method("POST"))
            .and(path("/occ/v2/shop-uk/passwordRestoreToken"))
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/occ/v2/shop-uk/passwordRestoreToken"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        let client =
            HybrisClient::new(config(&server, ResetEndpoint::PasswordRestoreToken)).unwrap();
        let err = client.start_reset(&email(), &deadline()).await.unwrap_err();
        assert_eq!(
            err,
            HybrisError {
                call: HybrisCall::StartReset,
                kind: HybrisErrorKind::Unavailable { status: 500 }
            }
        );
        // A 404 here means the configured endpoint does not exist on this release.
        let err = client.start_reset(&email(), &deadline()).await.unwrap_err();
        assert_eq!(err.kind, HybrisErrorKind::Status { status: 404 });
        assert_eq!(
            err.to_string(),
            "hybris-start-reset failed: unexpected HTTP 404"
        );
    }

    /// A 429 is waited out in the invocation: its `Retry-After` (whole seconds), then the same
    /// request again; after three 429s, or a `Retry-After` too long to wait, it fails as
    /// unavailable for Lambda to retry.
    #[tokio::test]
    async fn a_429_is_retried_after_its_retry_after_then_given_up() {
        let server = MockServer::start().await;
        mount_token(&server, TOKEN, 1).await;
        let reset = || {
            Mock::given(method("POST"))
                .and(path("/occ/v2/shop-uk/passwordRestoreToken"))
                .and(body_json(json!({"loginId": "jane+shop@example.com"})))
        };
        reset()
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        reset()
            .respond_with(ResponseTemplate::new(201))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        let client =
            HybrisClient::new(config(&server, ResetEndpoint::PasswordRestoreToken)).unwrap();
        let started = std::time::Instant::now();
        client.start_reset(&email(), &deadline()).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After honoured"
        );
        server.verify().await;
        server.reset().await;

        // Three 429s without Retry-After: three attempts, then unavailable.
        reset()
            .respond_with(ResponseTemplate::new(429))
            .expect(u64::from(RATE_LIMITED_ATTEMPTS))
            .mount(&server)
            .await;
        let err = client.start_reset(&email(), &deadline()).await.unwrap_err();
        assert_eq!(err.kind, HybrisErrorKind::Unavailable { status: 429 });
        assert!(err.is_transient());
        server.verify().await;
        server.reset().await;

        // A Retry-After beyond what the invocation waits: one attempt.
        reset()
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
            .expect(1)
            .mount(&server)
            .await;
        let err = client.start_reset(&email(), &deadline()).await.unwrap_err();
        assert_eq!(err.kind, HybrisErrorKind::Unavailable { status: 429 });
    }

    #[tokio::test]
    async fn refused_client_credentials_are_unauthorized() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/authorizationserver/oauth/token"))
            .respond_with(
                ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let client =
            HybrisClient::new(config(&server, ResetEndpoint::PasswordRestoreToken)).unwrap();
        let err = client
            .customer_exists(&email(), &deadline())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            HybrisError {
                call: HybrisCall::Token,
                kind: HybrisErrorKind::Unauthorized
            }
        );
    }
}
