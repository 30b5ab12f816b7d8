//! Authentication API: the reset-password email.
//!
//! `POST {base}/dbconnections/change_password` with JSON `{client_id, email, connection}`, no
//! bearer token. Auth0 answers 200 `text/plain` whether or not the user exists, so `Ok` means
//! "accepted", not "an email went out". The call sends an email, so it is not retried after
//! the request may have reached Auth0 (5xx, timeout); only a connect failure is retried. Its
//! limit is about one call per minute per IP and address: a 429 is returned at once as
//! [`crate::ErrorKind::RateLimited`], never waited for.

use crate::{
    Auth0Client, Deadline,
    error::{Call, Error},
    http::{self, Policy, Req},
};
use auth0_events::EmailAddress;
use reqwest::Method;
use serde::Serialize;
use std::time::Duration;

#[derive(Serialize)]
struct ChangePassword<'a> {
    client_id: &'a str,
    email: &'a str,
    connection: &'a str,
}

const POLICY: Policy = Policy {
    idempotent: false,
    rate_limit_wait_cap: Duration::ZERO,
};

impl Auth0Client {
    /// Asks Auth0 to email `email` a reset-password link for the database `connection`,
    /// using the email templates of application `client_id`.
    pub async fn change_password(
        &self,
        email: &EmailAddress,
        connection: &str,
        client_id: &str,
        deadline: &Deadline,
    ) -> Result<(), Error> {
        let call = Call::ChangePassword;
        let body = http::json_body(
            call,
            &ChangePassword {
                client_id,
                email: email.as_str(),
                connection,
            },
        )?;
        let req = Req {
            call,
            method: Method::POST,
            url: self.url("/dbconnections/change_password"),
            body: Some(body),
            policy: POLICY,
        };
        // The reply text is a fixed sentence; it is neither needed nor logged.
        self.inner.http.send(&req, None, deadline).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ErrorKind,
        testing::{self, ADDRESS},
    };
    use serde_json::json;
    use std::time::Instant;
    use test_support::logs::{Capture, assert_no_email_addresses};
    use wiremock::{
        Mock, MockServer, Request, ResponseTemplate,
        matchers::{body_json, header, method, path},
    };

    fn deadline() -> Deadline {
        Deadline::after(Duration::from_secs(10))
    }

    async fn mount(server: &MockServer, response: ResponseTemplate, expect: u64) {
        Mock::given(method("POST"))
            .and(path("/dbconnections/change_password"))
            .and(header("content-type", "application/json"))
            .and(body_json(json!({
                "client_id": "storefront-client-id",
                "email": ADDRESS,
                "connection": "Username-Password-Authentication"
            })))
            .respond_with(response)
            .expect(expect)
            .mount(server)
            .await;
    }

    async fn call(server: &MockServer) -> Result<(), Error> {
        call_with(&testing::client(server)).await
    }

    async fn call_with(client: &crate::Auth0Client) -> Result<(), Error> {
        client
            .change_password(
                &testing::address(),
                "Username-Password-Authentication",
                "storefront-client-id",
                &deadline(),
            )
            .await
    }

    #[tokio::test]
    async fn posts_the_exact_body_without_a_token() {
        let (capture, _guard) = Capture::install();
        let server = MockServer::start().await;
        mount(&server, test_support::auth0::change_password_sent(), 1).await;
        assert_eq!(call(&server).await, Ok(()));
        // No token was fetched and no Authorization header was sent.
        let requests: Vec<Request> = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1);
        assert!(!requests[0].headers.contains_key("authorization"));
        assert_no_email_addresses(&capture.text());
    }

    #[tokio::test]
    async fn a_429_is_rate_limited_at_once_and_not_retried() {
        let (capture, _guard) = Capture::install();
        let server = MockServer::start().await;
        let reset = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 1;
        mount(
            &server,
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-reset", reset.to_string())
                .set_body_json(json!({
                    "error": "too_many_attempts",
                    "error_description": format!("Too many requests for {ADDRESS}")
                })),
            1,
        )
        .await;
        let started = Instant::now();
        let err = call(&server).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(500));
        assert_eq!(err.call, Call::ChangePassword);
        assert!(matches!(err.kind, ErrorKind::RateLimited { .. }), "{err:?}");
        assert_eq!(err.error_code.as_deref(), Some("too_many_attempts"));
        assert!(err.is_transient());
        testing::assert_clean(&format!("{err} {err:?}"));
        assert_no_email_addresses(&capture.text());
    }

    #[tokio::test]
    async fn server_errors_and_timeouts_are_not_retried() {
        let server = MockServer::start().await;
        mount(&server, ResponseTemplate::new(500), 1).await;
        let err = call(&server).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Server { status: 500 });

        let server = MockServer::start().await;
        mount(
            &server,
            ResponseTemplate::new(200).set_delay(Duration::from_millis(800)),
            1,
        )
        .await;
        let mut config = testing::config(&server);
        config.timeout = Duration::from_millis(200);
        let client = crate::Auth0Client::new(config).unwrap();
        let err = call_with(&client).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
    }

    #[tokio::test]
    async fn a_bad_request_is_not_retried_and_quotes_nothing() {
        let server = MockServer::start().await;
        mount(
            &server,
            ResponseTemplate::new(400).set_body_json(json!({
                "error": "bad.connection",
                "error_description": format!("connection not found for {ADDRESS}")
            })),
            1,
        )
        .await;
        let err = call(&server).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadRequest { status: 400 });
        assert_eq!(err.error_code.as_deref(), Some("bad.connection"));
        testing::assert_clean(&format!("{err} {err:?}"));
    }
}
