//! A client for the parts of Auth0's Management API v2 and Authentication API that the
//! Lambdas use: look users up by email or id, change a user's email/verification/block flag,
//! read and clear brute-force blocks, and trigger the reset-password email.
//!
//! Build one [`Auth0Client`] per container ([`Auth0Config::from_env`] at start-up) and reuse it
//! across invocations: it holds the connection pool and the access token. It is cheap to clone
//! (clones share both).
//!
//! # Token caching
//! Management API calls carry `Authorization: Bearer <token>` from the client-credentials
//! grant (`POST /oauth/token`, audience `https://{tenant}/api/v2/`). The token is cached in the
//! client and fetched again `AUTH0_TOKEN_REFRESH_MARGIN_S` before `expires_in` runs out (at
//! most half its lifetime early). Concurrent callers on a cold cache wait for one fetch. A
//! 401 from an API call drops the token and the call is made once more with a new one; a
//! second 401 is [`ErrorKind::Unauthorized`]. The token is a `SecretString`: it is never in
//! `Debug`, a log line or an error.
//!
//! # Deadlines, retries and 429
//! Every call takes the invocation's [`Deadline`]: no attempt's timeout and no sleep runs past
//! it. Each HTTP attempt is bounded by `AUTH0_TIMEOUT_MS`, and a call makes at most
//! `AUTH0_MAX_ATTEMPTS` attempts.
//! - 429: Auth0's limits are token buckets per endpoint and tenant. The client waits until
//!   `x-ratelimit-reset` (Unix epoch seconds) when that is at most
//!   [`MAX_RATE_LIMIT_WAIT`] (10 s) away and the deadline still allows a full attempt after it;
//!   without the header it backs off (capped exponential, full jitter). Otherwise it returns
//!   [`ErrorKind::RateLimited`] with the time to the reset, at once. `change_password` never
//!   waits: its limit is about one call a minute per address.
//! - 5xx, timeouts, network errors: retried with backoff for idempotent calls only (GET,
//!   DELETE, PATCH, and the token grant); a connect failure (nothing sent) for every call.
//! - Any other 4xx: never retried.
//!
//! # Errors
//! An [`Error`] names the [`Call`] that failed and its [`ErrorKind`]; [`Error::is_transient`]
//! says whether a later retry may succeed. Errors and log lines carry call names, statuses,
//! attempt counts and waits only: never a token, secret, email address, user identifier or IP,
//! and never Auth0's error body text (which can echo the input); Auth0's fixed `errorCode` is
//! kept in [`Error::error_code`].

pub mod authentication;
pub mod blocks;
pub mod config;
pub mod error;
mod http;
pub mod logs;
pub mod recovery;
mod token;
pub mod users;

pub use blocks::{BlockedFor, UserBlocks};
pub use config::{Auth0Config, Credentials};
pub use error::{BuildError, Call, Error, ErrorKind};
pub use http::MAX_RATE_LIMIT_WAIT;
pub use lambda_support::retry::Deadline;
pub use logs::{LocationInfo, LogEntry, MAX_LOGS_PER_PAGE};
pub use recovery::{AuthenticationMethod, SignOut, VerificationJob};
pub use users::{Identity, User, UserPatch};

use http::{Http, Policy, Req};
use lambda_support::SecretString;
use reqwest::Method;
use std::sync::Arc;
use token::TokenCache;

/// The Auth0 client. See the [crate docs](crate) for caching, retries and errors.
#[derive(Debug, Clone)]
pub struct Auth0Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: Http,
    tokens: TokenCache,
    /// Without a trailing slash.
    base_url: String,
}

impl Auth0Client {
    /// Builds the HTTP client (TLS, pool) once. Makes no network call: the first API call
    /// fetches the token.
    pub fn new(config: Auth0Config) -> Result<Self, BuildError> {
        let http = Http::new(config.timeout, config.backoff)
            .map_err(BuildError)?
            .paced(config.max_per_second);
        let base_url = config.base_url.trim_end_matches('/').to_owned();
        let tokens = TokenCache::new(
            &base_url,
            config.audience,
            config.credentials,
            config.token_refresh_margin,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                tokens,
                base_url,
            }),
        })
    }

    /// `{base}{path_and_query}`; every dynamic part must already be encoded.
    fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.inner.base_url)
    }

    /// An idempotent Management API request.
    fn management_req(&self, call: Call, method: Method, path_and_query: &str) -> Req {
        Req {
            call,
            method,
            url: self.url(path_and_query),
            body: None,
            policy: Policy::IDEMPOTENT,
        }
    }

    /// Sends a Management API request with the cached token; after a 401, once more with a
    /// new token. Returns the 2xx body.
    async fn management(&self, req: &Req, deadline: &Deadline) -> Result<Vec<u8>, Error> {
        let mut refreshed = false;
        loop {
            let token = self.token(req.call, deadline).await?;
            match self.inner.http.send(req, Some(&token), deadline).await {
                Err(e) if e.kind == ErrorKind::Unauthorized && !refreshed => {
                    tracing::info!(
                        call = req.call.as_str(),
                        status = 401,
                        "Auth0 refused the token, fetching a new one"
                    );
                    self.inner.tokens.invalidate(&token).await;
                    refreshed = true;
                }
                other => return other,
            }
        }
    }

    /// Fetches the access token ahead of the first API call. `main` runs it beside the
    /// runtime's first poll for work, so a cold start's token request overlaps that poll
    /// instead of preceding the first call. A failure is only logged: the first call then
    /// fetches the token itself and reports what goes wrong.
    pub async fn warm_up(&self) {
        let deadline = Deadline::after(lambda_support::token_cache::WARM_UP_BUDGET);
        if let Err(e) = self.token(Call::Token, &deadline).await {
            tracing::warn!(error = %e, "Auth0 token prefetch failed; the first call fetches it");
        }
    }

    /// The access token; a failure is reported against `call` as [`ErrorKind::Token`].
    async fn token(&self, call: Call, deadline: &Deadline) -> Result<SecretString, Error> {
        self.inner
            .tokens
            .get(&self.inner.http, deadline)
            .await
            .map_err(|e| Error {
                call,
                kind: ErrorKind::Token(Box::new(e.kind)),
                error_code: e.error_code,
            })
    }
}

/// A user id as one encoded path segment; empty, `.` and `..` would address another endpoint
/// (`/users/` lists users, `/users/..` is `/api/v2/`): refused before anything is sent.
fn path_segment(call: Call, value: &str) -> Result<String, Error> {
    lambda_support::encode_path_segment(value)
        .ok_or_else(|| Error::new(call, ErrorKind::InvalidInput))
}

/// An empty identifier would address another endpoint (`/users/` lists users).
fn non_empty(call: Call, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        Err(Error::new(call, ErrorKind::InvalidInput))
    } else {
        Ok(())
    }
}

/// Decodes a 2xx JSON body. serde's messages can quote the input, so only the class is kept.
fn decode<T: serde::de::DeserializeOwned>(call: Call, body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|_| Error::new(call, ErrorKind::Decode))
}

#[cfg(test)]
pub(crate) mod testing {
    //! This crate's test fixtures: a client pointed at wiremock; the token mock and the user
    //! body are `test_support::auth0`'s.

    use super::*;
    use auth0_events::EmailAddress;
    use lambda_support::retry::Backoff;
    use serde_json::Value;
    use std::time::Duration;
    use test_support::auth0;
    use wiremock::MockServer;

    /// Plus-addressed, so a missing `%2B` or a leak is caught.
    pub const ADDRESS: &str = auth0::EMAIL;
    pub const TOKEN: &str = "tok-abc123";
    /// The last IP of [`user_json`].
    pub const IP: &str = auth0::LAST_IP;

    pub fn address() -> EmailAddress {
        EmailAddress::parse(ADDRESS).unwrap()
    }

    pub fn config(server: &MockServer) -> Auth0Config {
        Auth0Config {
            domain: "shop.eu.auth0.com".into(),
            base_url: server.uri(),
            audience: "https://shop.eu.auth0.com/api/v2/".into(),
            credentials: Credentials {
                client_id: "m2m-client-id".into(),
                client_secret: SecretString::from("m2m-client-secret"),
            },
            timeout: Duration::from_secs(2),
            backoff: Backoff {
                max_attempts: 4,
                base: Duration::from_millis(20),
                cap: Duration::from_millis(100),
            },
            token_refresh_margin: Duration::from_secs(300),
            max_per_second: None,
        }
    }

    pub fn client(server: &MockServer) -> Auth0Client {
        Auth0Client::new(config(server)).unwrap()
    }

    pub async fn mount_token(server: &MockServer, token: &str, expires_in: u64, expect: u64) {
        auth0::token_endpoint()
            .respond_with(auth0::token_response(token, expires_in))
            .expect(expect)
            .mount(server)
            .await;
    }

    /// A database user `auth0|abc` as `GET /api/v2/users/{id}` returns it, with fields we do
    /// not read.
    pub fn user_json() -> Value {
        auth0::user("auth0|abc", ADDRESS)
    }

    /// Panics if `text` holds the address, any `@`, the token, the secret or the IP.
    #[track_caller]
    pub fn assert_clean(text: &str) {
        for needle in [ADDRESS, "jane", "@", TOKEN, "m2m-client-secret", IP] {
            assert!(!text.contains(needle), "{needle:?} in {text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};
    use test_support::auth0;
    use test_support::logs::{Capture, assert_no_email_addresses};
    use testing::TOKEN;
    use wiremock::{
        Mock, ResponseTemplate,
        matchers::{method, path},
    };

    fn epoch_secs() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    /// Sleeps to just after a whole second, so "reset = now + 1" means a wait of about 1 s.
    async fn align_to_second() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let into = Duration::from_nanos(u64::from(now.subsec_nanos()));
        tokio::time::sleep(Duration::from_secs(1) - into + Duration::from_millis(5)).await;
    }

    #[tokio::test]
    async fn a_429_waits_for_the_reset_and_then_succeeds() {
        let (capture, _guard) = Capture::install();
        let server = auth0::start(TOKEN, 1).await;
        align_to_second().await;
        let reset = epoch_secs() + 1;
        let limited = ResponseTemplate::new(429)
            .insert_header("x-ratelimit-limit", "10")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", reset.to_string())
            .set_body_json(serde_json::json!({
                "statusCode": 429, "error": "Too Many Requests",
                "message": "Global limit has been reached", "errorCode": "too_many_requests"
            }));
        let call = Mock::given(method("GET")).and(path("/api/v2/users-by-email"));
        auth0::mount_once(&server, call, limited).await;
        Mock::given(method("GET"))
            .and(path("/api/v2/users-by-email"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
            .expect(1)
            .mount(&server)
            .await;
        let client = testing::client(&server);
        let started = Instant::now();
        let users = client
            .users_by_email(
                &testing::address(),
                &Deadline::after(Duration::from_secs(10)),
            )
            .await
            .unwrap();
        let took = started.elapsed();
        assert!(users.is_empty());
        // The retry went out once the limit had reset (measured against the clock the header
        // speaks in, not from the test's start: on a loaded machine the 429 itself can come late).
        let finished = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        assert!(
            finished >= Duration::from_secs(reset),
            "retried {:?} before the reset",
            Duration::from_secs(reset) - finished
        );
        assert!(took < Duration::from_millis(2_500), "{took:?}");
        let api_calls = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/api/v2/users-by-email")
            .count();
        assert_eq!(api_calls, 2);
        let logs = capture.text();
        assert_no_email_addresses(&logs);
        assert!(
            logs.contains("wait_ms") && logs.contains("users-by-email"),
            "{logs}"
        );
    }

    #[tokio::test]
    async fn a_429_resetting_after_the_deadline_is_rate_limited_at_once() {
        let (capture, _guard) = Capture::install();
        let server = auth0::start(TOKEN, 1).await;
        Mock::given(method("GET"))
            .and(path("/api/v2/users-by-email"))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("x-ratelimit-reset", (epoch_secs() + 5).to_string()),
            )
            .expect(1)
            .mount(&server)
            .await;
        let client = testing::client(&server);
        let started = Instant::now();
        let err = client
            .users_by_email(
                &testing::address(),
                &Deadline::after(Duration::from_secs(3)),
            )
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(500));
        assert_eq!(err.call, Call::UsersByEmail);
        let ErrorKind::RateLimited {
            retry_after: Some(wait),
        } = err.kind
        else {
            panic!("{err:?}");
        };
        assert!(wait > Duration::from_secs(3) && wait <= Duration::from_secs(5));
        assert!(err.is_transient());
        assert_eq!(err.retry_after(), Some(wait));
        testing::assert_clean(&format!("{err} {err:?}"));
        assert_no_email_addresses(&capture.text());
    }

    #[tokio::test]
    async fn a_trailing_slash_on_the_base_url_is_ignored() {
        let server = auth0::start(TOKEN, 1).await;
        let user = testing::user_json();
        auth0::mount_get_user(&server, "auth0%7Cabc", TOKEN, user, 1).await;
        let mut config = testing::config(&server);
        config.base_url = format!("{}/", server.uri());
        let client = Auth0Client::new(config).unwrap();
        let d = Deadline::after(Duration::from_secs(5));
        assert!(client.get_user("auth0|abc", &d).await.unwrap().is_some());
    }
}
