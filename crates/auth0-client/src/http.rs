//! The one place that sends a request: bearer auth, per-attempt timeout, retries within the
//! caller's deadline, and the mapping of a status to an [`ErrorKind`].
//!
//! Policy, per attempt:
//! - 2xx: the body is read (capped) and returned.
//! - 429: wait until `x-ratelimit-reset` (Unix epoch seconds; else `Retry-After` seconds) when
//!   that wait is at most the call's cap ([`MAX_RATE_LIMIT_WAIT`], zero for change-password)
//!   and the deadline still allows a full attempt after it; with no usable header, capped
//!   exponential backoff with full jitter. Otherwise [`ErrorKind::RateLimited`] at once.
//! - 5xx, timeouts and network errors: backoff and retry, for idempotent calls only. A connect
//!   failure (nothing was sent) is retried for every call.
//! - Any other status: returned at once, never retried (401 is handled a level up, by the
//!   token cache).
//!
//! Attempts stop at `max_attempts`, and no sleep ever runs past the deadline: a retry is made
//! only when `deadline.allows(wait, timeout)`.

use crate::error::{Call, Error, ErrorKind};
use lambda_support::{
    ExposeSecret, SecretString,
    retry::{Backoff, Deadline},
};
use reqwest::{Method, StatusCode, header};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest a call waits for a rate limit to reset before giving up with `RateLimited`.
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(10);

/// Error bodies are read up to this many bytes, only to pick out `errorCode`.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Success bodies larger than this are refused (`Decode`).
const MAX_BODY: usize = 8 * 1024 * 1024;

pub(crate) use lambda_support::encode_component as encode;

/// How a call may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// 5xx, timeouts and network errors may be retried (GET, DELETE, PATCH, the token grant).
    pub idempotent: bool,
    /// The longest wait for a 429 reset; zero: a 429 is returned at once.
    pub rate_limit_wait_cap: Duration,
}

impl Policy {
    pub const IDEMPOTENT: Policy = Policy {
        idempotent: true,
        rate_limit_wait_cap: MAX_RATE_LIMIT_WAIT,
    };
}

/// One request, re-sent as is on each attempt.
#[derive(Clone)]
pub(crate) struct Req {
    pub call: Call,
    pub method: Method,
    /// Full URL, every dynamic part already encoded with [`encode`]. Never logged.
    pub url: String,
    /// A JSON body.
    pub body: Option<Vec<u8>>,
    pub policy: Policy,
}

/// A JSON request body. Serializing the crate's request types cannot fail (string keys only).
pub(crate) fn json_body<T: serde::Serialize>(call: Call, value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|_| Error::new(call, ErrorKind::InvalidInput))
}

/// The reqwest client (connection pool, TLS) plus the retry settings, built once.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    timeout: Duration,
    backoff: Backoff,
    pacer: Option<lambda_support::pace::Pacer>,
}

impl Http {
    pub fn new(timeout: Duration, backoff: Backoff) -> Result<Self, reqwest::Error> {
        let client = lambda_support::http::client_builder()
            .timeout(timeout)
            // A redirected POST would become a GET elsewhere, and a redirect could carry the
            // bearer token to another host: report the 3xx instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            client,
            timeout,
            backoff,
            pacer: None,
        })
    }

    /// Spaces this container's calls at no more than `per_second` (see `lambda_support::pace`).
    pub fn paced(mut self, per_second: Option<std::num::NonZeroU32>) -> Self {
        self.pacer = per_second.map(lambda_support::pace::Pacer::per_second);
        self
    }

    /// Sends `req` until it succeeds or the policy, the attempts or the deadline say stop.
    /// Returns the 2xx body.
    pub async fn send(
        &self,
        req: &Req,
        bearer: Option<&SecretString>,
        deadline: &Deadline,
    ) -> Result<Vec<u8>, Error> {
        let call = req.call;
        let max_attempts = self.backoff.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            if let Some(pacer) = &self.pacer {
                let wait = pacer.reserve();
                if !deadline.allows(wait, Duration::ZERO) {
                    return Err(Error::new(call, ErrorKind::Timeout));
                }
                tokio::time::sleep(wait).await;
            }
            let remaining = deadline.remaining();
            if remaining.is_zero() {
                return Err(Error::new(call, ErrorKind::Timeout));
            }
            let (err, wait) = match self.attempt(req, bearer, self.timeout.min(remaining)).await {
                Ok(body) => return Ok(body),
                Err(failure) => self.classify(req, failure, attempt),
            };
            let status = err.kind.status();
            match wait {
                Some(wait) if attempt < max_attempts && deadline.allows(wait, self.timeout) => {
                    tracing::warn!(
                        call = call.as_str(),
                        status,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        error = %err.kind,
                        "Auth0 call failed, retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => {
                    tracing::debug!(
                        call = call.as_str(),
                        status,
                        attempt,
                        error = %err.kind,
                        "Auth0 call failed, not retrying"
                    );
                    return Err(err);
                }
            }
        }
    }

    /// One HTTP exchange.
    async fn attempt(
        &self,
        req: &Req,
        bearer: Option<&SecretString>,
        timeout: Duration,
    ) -> Result<Vec<u8>, Failure> {
        let mut builder = self
            .client
            .request(req.method.clone(), &req.url)
            .timeout(timeout);
        if let Some(token) = bearer {
            builder = builder.bearer_auth(token.expose_secret());
        }
        if let Some(body) = &req.body {
            builder = builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = builder.send().await.map_err(Failure::Transport)?;
        let status = response.status();
        if status.is_success() {
            let body = read_capped(response, MAX_BODY)
                .await
                .map_err(Failure::Transport)?;
            if body.len() >= MAX_BODY {
                return Err(Failure::TooLarge);
            }
            return Ok(body);
        }
        let wait_hint = rate_limit_hint(response.headers());
        // The body only names the error code; a failed read just loses that.
        let body = read_capped(response, MAX_ERROR_BODY)
            .await
            .unwrap_or_default();
        Err(Failure::Status {
            status,
            error_code: crate::error::error_code(&body),
            wait_hint,
        })
    }

    /// The error for a failed attempt, and the wait before retrying it (None: do not retry).
    fn classify(&self, req: &Req, failure: Failure, attempt: u32) -> (Error, Option<Duration>) {
        let call = req.call;
        let policy = req.policy;
        let backoff = || self.backoff.delay(attempt);
        match failure {
            Failure::Transport(e) if e.is_connect() => {
                // Nothing reached Auth0: safe to retry whatever the method.
                (Error::new(call, ErrorKind::Transport), Some(backoff()))
            }
            Failure::Transport(e) => {
                let kind = if e.is_timeout() {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Transport
                };
                (Error::new(call, kind), policy.idempotent.then(backoff))
            }
            Failure::TooLarge => (Error::new(call, ErrorKind::Decode), None),
            Failure::Status {
                status,
                error_code,
                wait_hint,
            } => {
                let kind = kind_for(status, wait_hint);
                let wait = if status == StatusCode::TOO_MANY_REQUESTS {
                    match wait_hint {
                        _ if policy.rate_limit_wait_cap.is_zero() => None,
                        Some(hint) if hint > policy.rate_limit_wait_cap => None,
                        Some(hint) if !hint.is_zero() => Some(hint),
                        // No header, or the reset has already passed: jittered backoff.
                        _ => Some(backoff().min(policy.rate_limit_wait_cap)),
                    }
                } else if status.is_server_error() && policy.idempotent {
                    Some(backoff())
                } else {
                    None
                };
                (
                    Error {
                        call,
                        kind,
                        error_code,
                    },
                    wait,
                )
            }
        }
    }
}

/// What went wrong in one attempt, before classification.
enum Failure {
    Transport(reqwest::Error),
    TooLarge,
    Status {
        status: StatusCode,
        error_code: Option<String>,
        wait_hint: Option<Duration>,
    },
}

fn kind_for(status: StatusCode, wait_hint: Option<Duration>) -> ErrorKind {
    match status {
        StatusCode::TOO_MANY_REQUESTS => ErrorKind::RateLimited {
            retry_after: wait_hint,
        },
        StatusCode::UNAUTHORIZED => ErrorKind::Unauthorized,
        StatusCode::FORBIDDEN => ErrorKind::Forbidden,
        StatusCode::NOT_FOUND => ErrorKind::NotFound,
        s if s.is_client_error() => ErrorKind::BadRequest { status: s.as_u16() },
        s if s.is_server_error() => ErrorKind::Server { status: s.as_u16() },
        s => ErrorKind::UnexpectedStatus { status: s.as_u16() },
    }
}

/// How long until the rate limit resets: `x-ratelimit-reset` (Unix epoch seconds), else
/// `Retry-After` (seconds). Zero when the reset time has passed.
fn rate_limit_hint(headers: &header::HeaderMap) -> Option<Duration> {
    let number =
        |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
    if let Some(reset) = number("x-ratelimit-reset") {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
        return Some(Duration::from_secs(reset).saturating_sub(now));
    }
    number(header::RETRY_AFTER.as_str()).map(Duration::from_secs)
}

/// The body, at most `cap` bytes of it.
async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, reqwest::Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = cap.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if buf.len() >= cap {
            break;
        }
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use wiremock::{
        Mock, MockServer, ResponseTemplate,
        matchers::{header as header_is, method, path},
    };

    fn http(max_attempts: u32, timeout_ms: u64) -> Http {
        Http::new(
            Duration::from_millis(timeout_ms),
            Backoff {
                max_attempts,
                base: Duration::from_millis(20),
                cap: Duration::from_millis(50),
            },
        )
        .unwrap()
    }

    fn get(server: &MockServer, policy: Policy) -> Req {
        Req {
            call: Call::GetUser,
            method: Method::GET,
            url: format!("{}/x", server.uri()),
            body: None,
            policy,
        }
    }

    fn epoch_secs() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(encode("jane+shop@example.com"), "jane%2Bshop%40example.com");
        assert_eq!(encode("auth0|abc"), "auth0%7Cabc");
        assert_eq!(encode("a b/c?d#e&f=g%"), "a%20b%2Fc%3Fd%23e%26f%3Dg%25");
        assert_eq!(encode("A-z_0.9~"), "A-z_0.9~");
        assert_eq!(encode("ü"), "%C3%BC");
    }

    #[test]
    fn rate_limit_hint_prefers_the_reset_header() {
        let mut h = header::HeaderMap::new();
        assert_eq!(rate_limit_hint(&h), None);
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(rate_limit_hint(&h), Some(Duration::from_secs(7)));
        h.insert(
            "x-ratelimit-reset",
            (epoch_secs() + 5).to_string().parse().unwrap(),
        );
        let hint = rate_limit_hint(&h).unwrap();
        assert!(
            hint > Duration::from_secs(4) && hint <= Duration::from_secs(5),
            "{hint:?}"
        );
        h.insert("x-ratelimit-reset", "1000".parse().unwrap());
        assert_eq!(rate_limit_hint(&h), Some(Duration::ZERO));
    }

    #[tokio::test]
    async fn sends_the_bearer_token_and_returns_the_body() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/x"))
            .and(header_is("authorization", "Bearer tok-1"))
            .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
            .expect(1)
            .mount(&server)
            .await;
        let body = http(3, 2_000)
            .send(
                &get(&server, Policy::IDEMPOTENT),
                Some(&SecretString::from("tok-1")),
                &Deadline::after(Duration::from_secs(5)),
            )
            .await
            .unwrap();
        assert_eq!(body, b"[]");
    }

    /// A paced container spaces its calls (4 a second: the fourth goes 750 ms after the
    /// first), and a pace that leaves no time before the deadline is a timeout, not a call.
    #[tokio::test]
    async fn a_paced_container_spaces_its_calls() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
            .expect(4)
            .mount(&server)
            .await;
        let h = http(1, 2_000).paced(std::num::NonZeroU32::new(4));
        let req = get(&server, Policy::IDEMPOTENT);
        let started = std::time::Instant::now();
        for _ in 0..4 {
            h.send(&req, None, &Deadline::after(Duration::from_secs(5)))
                .await
                .unwrap();
        }
        assert!(
            started.elapsed() >= Duration::from_millis(750),
            "{:?}",
            started.elapsed()
        );
        let err = h
            .send(&req, None, &Deadline::after(Duration::from_millis(100)))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
    }

    #[tokio::test]
    async fn a_429_without_headers_backs_off_and_the_attempts_are_bounded() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429))
            .expect(3)
            .mount(&server)
            .await;
        let err = http(3, 2_000)
            .send(
                &get(&server, Policy::IDEMPOTENT),
                None,
                &Deadline::after(Duration::from_secs(5)),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::RateLimited { retry_after: None });
    }

    #[tokio::test]
    async fn a_429_is_returned_at_once_when_the_policy_allows_no_wait() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("x-ratelimit-reset", (epoch_secs() + 1).to_string()),
            )
            .expect(1)
            .mount(&server)
            .await;
        let req = Req {
            method: Method::POST,
            policy: Policy {
                idempotent: false,
                rate_limit_wait_cap: Duration::ZERO,
            },
            ..get(&server, Policy::IDEMPOTENT)
        };
        let started = Instant::now();
        let err = http(4, 2_000)
            .send(&req, None, &Deadline::after(Duration::from_secs(5)))
            .await
            .unwrap_err();
        assert!(matches!(
            err.kind,
            ErrorKind::RateLimited {
                retry_after: Some(_)
            }
        ));
        assert!(started.elapsed() < Duration::from_millis(500));
    }

    #[tokio::test]
    async fn a_reset_beyond_the_wait_cap_is_not_waited_for() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
            .expect(1)
            .mount(&server)
            .await;
        let started = Instant::now();
        let err = http(4, 2_000)
            .send(
                &get(&server, Policy::IDEMPOTENT),
                None,
                &Deadline::after(Duration::from_secs(600)),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(3600))
            }
        );
        assert!(started.elapsed() < Duration::from_millis(500));
    }

    #[tokio::test]
    async fn server_errors_are_not_retried_for_a_non_idempotent_call() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .expect(1)
            .mount(&server)
            .await;
        let req = Req {
            method: Method::POST,
            policy: Policy {
                idempotent: false,
                rate_limit_wait_cap: Duration::ZERO,
            },
            ..get(&server, Policy::IDEMPOTENT)
        };
        let err = http(4, 2_000)
            .send(&req, None, &Deadline::after(Duration::from_secs(5)))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Server { status: 503 });
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(302).insert_header("location", "http://127.0.0.1:1/"),
            )
            .expect(1)
            .mount(&server)
            .await;
        let err = http(4, 2_000)
            .send(
                &get(&server, Policy::IDEMPOTENT),
                Some(&SecretString::from("tok-1")),
                &Deadline::after(Duration::from_secs(5)),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::UnexpectedStatus { status: 302 });
    }

    #[tokio::test]
    async fn nothing_listening_is_retried_then_a_transport_error() {
        let port = test_support::moto::free_port();
        let req = Req {
            call: Call::ChangePassword,
            method: Method::POST,
            url: format!("http://127.0.0.1:{port}/x"),
            body: None,
            policy: Policy {
                idempotent: false,
                rate_limit_wait_cap: Duration::ZERO,
            },
        };
        let err = http(2, 2_000)
            .send(&req, None, &Deadline::after(Duration::from_secs(5)))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Transport);
    }

    #[tokio::test]
    async fn a_spent_deadline_sends_nothing() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let err = http(4, 2_000)
            .send(
                &get(&server, Policy::IDEMPOTENT),
                None,
                &Deadline::after(Duration::ZERO),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
    }

    #[tokio::test]
    async fn the_attempt_timeout_is_capped_by_the_deadline() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
            .mount(&server)
            .await;
        let started = Instant::now();
        let err = http(4, 2_000)
            .send(
                &get(&server, Policy::IDEMPOTENT),
                None,
                &Deadline::after(Duration::from_millis(300)),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
        let took = started.elapsed();
        assert!(took < Duration::from_millis(800), "{took:?}");
    }
}
