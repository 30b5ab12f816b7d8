//! Bloomreach Engagement's transactional email API: one typed request, one call, one classified
//! outcome.
//!
//! `POST {base}/email/v2/projects/{project_token}/sync` with HTTP Basic auth (private API key)
//! and a JSON [`Email`]. The email is sent during the request and the API has no idempotency
//! key, so the caller decides whether to retry from the [`SendError`] class.
//!
//! Bloomreach error bodies can echo the recipient address, so a body is read (capped) only to
//! classify it by substring; no body text, address, parameter or credential ever reaches an
//! error string.

use crate::config::{ApiConfig, Credentials};
use lambda_support::ExposeSecret;
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};
use std::{collections::BTreeMap, fmt, time::Duration};

/// Error bodies are read up to this many bytes for classification.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The request body.
#[derive(Serialize, Clone, PartialEq)]
pub struct Email<'a> {
    pub campaign_name: &'a str,
    pub recipient: Recipient<'a>,
    pub email_content: EmailContent<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<&'a str>,
}

#[derive(Serialize, Clone, PartialEq)]
pub struct Recipient<'a> {
    /// E.g. `{"registered": "<address>"}`: Bloomreach needs it even when `email` is given.
    pub customer_ids: BTreeMap<&'a str, &'a str>,
    pub email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<&'a str>,
}

#[derive(Serialize, Clone, PartialEq)]
pub struct EmailContent<'a> {
    pub template_id: &'a str,
    /// A JSON object (not a string) of template variables.
    pub params: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<&'a str>,
}

impl fmt::Debug for Email<'_> {
    /// Only what identifies the template: the recipient and params are personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("campaign_name", &self.campaign_name)
            .field("template_id", &self.email_content.template_id)
            .finish_non_exhaustive()
    }
}

/// Why a send did not succeed. Display strings carry classes and status codes only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying: rate limit, server error, render timeout, network failure.
    #[error("transient Bloomreach failure: {cause}")]
    Transient {
        cause: TransientCause,
        /// `Retry-After` (seconds) when the response gave one.
        retry_after: Option<Duration>,
    },
    /// The address or its domain is on the project's suppression list.
    #[error("Bloomreach refused: recipient is on the suppression list")]
    Suppressed,
    #[error("Bloomreach refused: template not found")]
    TemplateNotFound,
    /// Bad credentials or missing "Transactional email API" permission.
    #[error("Bloomreach refused the credentials (HTTP {status})")]
    Unauthorized { status: u16 },
    /// Any other client error: the request itself is wrong.
    #[error("Bloomreach rejected the request (HTTP {status})")]
    Rejected { status: u16 },
}

impl SendError {
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransientCause {
    /// 408, 429 or 5xx.
    Status(u16),
    /// A 400 saying the template render failed or hit "context deadline exceeded".
    RenderFailed,
    /// No complete answer within the client timeout. The email may have been sent.
    Timeout,
    /// Could not connect.
    Connect,
    /// Any other transport failure.
    Network,
}

impl fmt::Display for TransientCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransientCause::Status(s) => write!(f, "HTTP {s}"),
            TransientCause::RenderFailed => f.write_str("HTTP 400, template render failed"),
            TransientCause::Timeout => f.write_str("request timed out"),
            TransientCause::Connect => f.write_str("could not connect"),
            TransientCause::Network => f.write_str("network error"),
        }
    }
}

/// The HTTP client could not be built (TLS backend initialisation).
#[derive(Debug, thiserror::Error)]
#[error("could not build the Bloomreach HTTP client")]
pub struct BuildError(#[source] reqwest::Error);

/// The API client: one `reqwest::Client` (connection pool, TLS config) per container.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    url: String,
    credentials: Credentials,
    timeout: Duration,
    pacer: Option<lambda_support::pace::Pacer>,
}

impl Client {
    pub fn new(api: &ApiConfig) -> Result<Self, BuildError> {
        let http = lambda_support::http::client_builder()
            .timeout(api.timeout)
            // A redirected POST would become a GET elsewhere: report the 3xx instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(BuildError)?;
        Ok(Self {
            http,
            url: format!(
                "{}/email/v2/projects/{}/sync",
                api.base_url, api.project_token
            ),
            credentials: api.credentials.clone(),
            timeout: api.timeout,
            pacer: api
                .max_per_second
                .map(lambda_support::pace::Pacer::per_second),
        })
    }

    /// How long to wait before the next call to keep this container's pace
    /// (`BLOOMREACH_MAX_PER_SECOND`); zero without one. Takes the slot.
    pub fn pace(&self) -> Duration {
        self.pacer
            .as_ref()
            .map_or(Duration::ZERO, lambda_support::pace::Pacer::reserve)
    }

    /// The longest one [`Client::send`] can take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one email. `Ok` on any 2xx.
    pub async fn send(&self, email: &Email<'_>) -> Result<(), SendError> {
        self.send_within(email, self.timeout).await
    }

    /// [`Client::send`] with the whole call (connect to last byte) bounded by `timeout`, so
    /// the caller can fit it into what is left of the invocation.
    pub async fn send_within(&self, email: &Email<'_>, timeout: Duration) -> Result<(), SendError> {
        let response = self
            .http
            .post(&self.url)
            .timeout(timeout)
            .basic_auth(
                self.credentials.key_id.expose_secret(),
                Some(self.credentials.secret.expose_secret()),
            )
            .json(email)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if status.is_success() {
            // Drain for connection reuse; the email is sent whatever happens to the body.
            let _ = read_capped(response).await;
            return Ok(());
        }
        let retry_after = lambda_support::retry::retry_after(response.headers());
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(SendError::Unauthorized {
                status: status.as_u16(),
            }),
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                Err(SendError::Transient {
                    cause: TransientCause::Status(status.as_u16()),
                    retry_after,
                })
            }
            StatusCode::BAD_REQUEST => {
                let body = read_capped(response).await.map_err(transport)?;
                Err(classify_bad_request(&body))
            }
            s if s.is_server_error() => Err(SendError::Transient {
                cause: TransientCause::Status(s.as_u16()),
                retry_after,
            }),
            s => Err(SendError::Rejected { status: s.as_u16() }),
        }
    }
}

/// A 400's class, from its body (lower-cased). The body is never kept.
fn classify_bad_request(body: &str) -> SendError {
    if body.contains("suppression") {
        SendError::Suppressed
    } else if body.contains("context deadline exceeded") {
        SendError::Transient {
            cause: TransientCause::RenderFailed,
            retry_after: None,
        }
    } else if body.contains("template") && body.contains("not found") {
        SendError::TemplateNotFound
    } else if body.contains("failed to render") {
        SendError::Transient {
            cause: TransientCause::RenderFailed,
            retry_after: None,
        }
    } else {
        SendError::Rejected { status: 400 }
    }
}

/// reqwest's own message names the URL (with the project token): classify, never quote.
fn transport(e: reqwest::Error) -> SendError {
    let cause = if e.is_timeout() {
        TransientCause::Timeout
    } else if e.is_connect() {
        TransientCause::Connect
    } else {
        TransientCause::Network
    };
    SendError::Transient {
        cause,
        retry_after: None,
    }
}

/// The body, lower-cased, at most [`MAX_ERROR_BODY`] bytes of it.
async fn read_capped(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_ERROR_BODY.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if buf.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&buf).to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use lambda_support::SecretString;
    use serde_json::json;
    use wiremock::{
        Mock, MockServer, ResponseTemplate,
        matchers::{body_json, header, method, path},
    };

    const ADDRESS: &str = "jane.doe+shop@example.com";
    const PATH: &str = "/email/v2/projects/project-token-1/sync";

    fn api(base_url: &str, timeout: Duration) -> ApiConfig {
        ApiConfig {
            base_url: base_url.to_owned(),
            project_token: "project-token-1".to_owned(),
            credentials: Credentials {
                key_id: SecretString::from("key-id-1"),
                secret: SecretString::from("secret-1"),
            },
            timeout,
            max_per_second: None,
        }
    }

    fn client(server: &MockServer) -> Client {
        Client::new(&api(&server.uri(), Duration::from_secs(2))).unwrap()
    }

    fn basic() -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("key-id-1:secret-1")
        )
    }

    fn full_email() -> Email<'static> {
        let mut params = Map::new();
        params.insert("occurred_at".into(), json!("2026-11-20T10:00:00.000Z"));
        params.insert("email_kind".into(), json!("password_changed"));
        Email {
            campaign_name: "security-password-changed",
            recipient: Recipient {
                customer_ids: BTreeMap::from([("registered", ADDRESS)]),
                email: ADDRESS,
                language: Some("de"),
            },
            email_content: EmailContent {
                template_id: "tpl-1",
                params,
                sender_address: Some("security@shop.example"),
                sender_name: Some("Shop Security"),
            },
            integration_id: Some("integration-1"),
        }
    }

    fn minimal_email() -> Email<'static> {
        Email {
            campaign_name: "security-account-blocked",
            recipient: Recipient {
                customer_ids: BTreeMap::from([("registered", ADDRESS)]),
                email: ADDRESS,
                language: None,
            },
            email_content: EmailContent {
                template_id: "tpl-2",
                params: Map::new(),
                sender_address: None,
                sender_name: None,
            },
            integration_id: None,
        }
    }

    #[tokio::test]
    async fn posts_the_exact_request_and_200_is_ok() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH))
            .and(header("authorization", basic().as_str()))
            .and(header("content-type", "application/json"))
            .and(body_json(json!({
                "campaign_name": "security-password-changed",
                "recipient": {
                    "customer_ids": {"registered": ADDRESS},
                    "email": ADDRESS,
                    "language": "de"
                },
                "email_content": {
                    "template_id": "tpl-1",
                    "params": {
                        "occurred_at": "2026-11-20T10:00:00.000Z",
                        "email_kind": "password_changed"
                    },
                    "sender_address": "security@shop.example",
                    "sender_name": "Shop Security"
                },
                "integration_id": "integration-1"
            })))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    json!({"message": "Email was sent successfully.", "success": true}),
                ),
            )
            .expect(1)
            .mount(&server)
            .await;
        assert_eq!(client(&server).send(&full_email()).await, Ok(()));
    }

    #[tokio::test]
    async fn unset_optional_fields_are_omitted() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(PATH))
            .and(header("authorization", basic().as_str()))
            .and(body_json(json!({
                "campaign_name": "security-account-blocked",
                "recipient": {"customer_ids": {"registered": ADDRESS}, "email": ADDRESS},
                "email_content": {"template_id": "tpl-2", "params": {}}
            })))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        assert_eq!(client(&server).send(&minimal_email()).await, Ok(()));
    }

    #[tokio::test]
    async fn base_url_with_a_path_prefix_is_kept() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/proxy{PATH}")))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let c = Client::new(&api(
            &format!("{}/proxy", server.uri()),
            Duration::from_secs(2),
        ))
        .unwrap();
        assert_eq!(c.send(&minimal_email()).await, Ok(()));
    }

    fn transient(status: u16, retry_after: Option<u64>) -> SendError {
        SendError::Transient {
            cause: TransientCause::Status(status),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    const RENDER_FAILED: SendError = SendError::Transient {
        cause: TransientCause::RenderFailed,
        retry_after: None,
    };

    #[tokio::test]
    async fn each_status_maps_to_its_class_without_quoting_the_body() {
        let echo = format!("address {ADDRESS} bodytext");
        let cases: Vec<(ResponseTemplate, SendError)> = vec![
            (ResponseTemplate::new(429), transient(429, None)),
            (
                ResponseTemplate::new(429).insert_header("Retry-After", "7"),
                transient(429, Some(7)),
            ),
            (
                // HTTP-date form is not used as a hint.
                ResponseTemplate::new(429)
                    .insert_header("Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT"),
                transient(429, None),
            ),
            (ResponseTemplate::new(408), transient(408, None)),
            (
                ResponseTemplate::new(502).set_body_json(json!({"errors": ["429 from ESP"]})),
                transient(502, None),
            ),
            (ResponseTemplate::new(503), transient(503, None)),
            (
                ResponseTemplate::new(503).insert_header("Retry-After", "2"),
                transient(503, Some(2)),
            ),
            (ResponseTemplate::new(500).set_body_string(echo.clone()), transient(500, None)),
            (
                ResponseTemplate::new(400).set_body_json(json!({"errors": [
                    format!("Failed to render the template for {ADDRESS}: context deadline exceeded bodytext")
                ]})),
                RENDER_FAILED,
            ),
            (
                ResponseTemplate::new(400)
                    .set_body_json(json!({"errors": ["Failed to render template bodytext"]})),
                RENDER_FAILED,
            ),
            (
                ResponseTemplate::new(400).set_body_json(json!({"errors": [
                    format!("Email address or domain {ADDRESS} is on the suppression list bodytext")
                ]})),
                SendError::Suppressed,
            ),
            (
                ResponseTemplate::new(400).set_body_json(json!({"errors": [
                    "Email address or domain is in the suppression list"
                ]})),
                SendError::Suppressed,
            ),
            (
                ResponseTemplate::new(400).set_body_json(json!({"errors": {
                    "email_content": {"template_id": ["The template you have asked for is NOT FOUND! bodytext"]}
                }})),
                SendError::TemplateNotFound,
            ),
            (
                ResponseTemplate::new(400).set_body_json(json!({"errors": {
                    "recipient": [format!("{ADDRESS} is not valid bodytext")]
                }})),
                SendError::Rejected { status: 400 },
            ),
            (
                ResponseTemplate::new(401).set_body_string(echo.clone()),
                SendError::Unauthorized { status: 401 },
            ),
            (
                ResponseTemplate::new(403),
                SendError::Unauthorized { status: 403 },
            ),
            (
                ResponseTemplate::new(404).set_body_string(echo.clone()),
                SendError::Rejected { status: 404 },
            ),
            (ResponseTemplate::new(422), SendError::Rejected { status: 422 }),
            (
                ResponseTemplate::new(302).insert_header("Location", "/elsewhere"),
                SendError::Rejected { status: 302 },
            ),
        ];
        for (response, expected) in cases {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path(PATH))
                .respond_with(response)
                .expect(1)
                .mount(&server)
                .await;
            let err = client(&server).send(&full_email()).await.unwrap_err();
            assert_eq!(err, expected);
            let text = format!("{err} {err:?}");
            assert!(
                !text.contains("bodytext") && !text.contains('@') && !text.contains("secret-1"),
                "{text}"
            );
        }
    }

    #[tokio::test]
    async fn a_slow_answer_is_a_transient_timeout() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(1_500)))
            .expect(1)
            .mount(&server)
            .await;
        let c = Client::new(&api(&server.uri(), Duration::from_millis(200))).unwrap();
        let started = std::time::Instant::now();
        assert_eq!(
            c.send(&full_email()).await,
            Err(SendError::Transient {
                cause: TransientCause::Timeout,
                retry_after: None
            })
        );
        assert!(started.elapsed() < Duration::from_millis(1_000));
    }

    #[tokio::test]
    async fn nothing_listening_is_a_transient_connect_error() {
        let port = test_support::moto::free_port();
        let c = Client::new(&api(
            &format!("http://127.0.0.1:{port}"),
            Duration::from_secs(2),
        ))
        .unwrap();
        assert_eq!(
            c.send(&full_email()).await,
            Err(SendError::Transient {
                cause: TransientCause::Connect,
                retry_after: None
            })
        );
    }

    #[test]
    fn debug_hides_recipient_and_params() {
        let text = format!("{:?}", full_email());
        assert!(
            !text.contains('@') && !text.contains("occurred_at"),
            "{text}"
        );
    }
}
