//! The Management API access token: client-credentials grant, cached per client.
//!
//! `POST {base}/oauth/token` with JSON `{grant_type: "client_credentials", client_id,
//! client_secret, audience}`. The token is kept until `expires_in` less the refresh margin
//! (at most half its lifetime, so a short-lived token is still reused), then fetched anew.
//! The cache is one `tokio::sync::Mutex`: concurrent callers on a cold or stale cache wait for
//! one fetch instead of each hitting `/oauth/token` (itself rate-limited). After a 401 from an
//! API call the token that was refused is dropped and the next caller fetches a new one.
//!
//! The token is a [`SecretString`]: it is never in `Debug`, a log line or an error.

use crate::{
    config::Credentials,
    error::{Call, Error, ErrorKind},
    http::{self, Http, Policy, Req},
};
use lambda_support::{
    ExposeSecret, SecretString,
    retry::Deadline,
    token_cache::{self, Fetched},
};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Auth0's documented default lifetime, used when a reply has no `expires_in`.
const DEFAULT_EXPIRES_IN: u64 = 86_400;

pub(crate) struct TokenCache {
    cache: token_cache::TokenCache,
    url: String,
    audience: String,
    credentials: Credentials,
    margin: Duration,
}

#[derive(Serialize)]
struct TokenRequest<'a> {
    grant_type: &'static str,
    client_id: &'a str,
    client_secret: &'a str,
    audience: &'a str,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

pub(crate) use token_cache::use_for;

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("audience", &self.audience)
            .field("client_id", &self.credentials.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub fn new(
        base_url: &str,
        audience: String,
        credentials: Credentials,
        margin: Duration,
    ) -> Self {
        Self {
            cache: token_cache::TokenCache::new(margin),
            url: format!("{base_url}/oauth/token"),
            audience,
            credentials,
            margin,
        }
    }

    /// The cached token, or a new one if there is none or it is due for refresh. Errors name
    /// [`Call::Token`].
    pub async fn get(&self, http: &Http, deadline: &Deadline) -> Result<SecretString, Error> {
        self.cache
            .get(
                deadline,
                || Error::new(Call::Token, ErrorKind::Timeout),
                || self.fetch(http, deadline),
            )
            .await
    }

    /// Drops `refused` if it is still the cached token (a concurrent caller may already have
    /// replaced it).
    pub async fn invalidate(&self, refused: &SecretString) {
        self.cache.invalidate(refused).await;
    }

    async fn fetch(&self, http: &Http, deadline: &Deadline) -> Result<Fetched, Error> {
        let body = http::json_body(
            Call::Token,
            &TokenRequest {
                grant_type: "client_credentials",
                client_id: &self.credentials.client_id,
                client_secret: self.credentials.client_secret.expose_secret(),
                audience: &self.audience,
            },
        )?;
        let req = Req {
            call: Call::Token,
            method: Method::POST,
            url: self.url.clone(),
            body: Some(body),
            // Asking for another token is harmless, so 5xx and timeouts are retried.
            policy: Policy::IDEMPOTENT,
        };
        let reply = http.send(&req, None, deadline).await?;
        let parsed: TokenResponse = serde_json::from_slice(&reply)
            .map_err(|_| Error::new(Call::Token, ErrorKind::Decode))?;
        if parsed.access_token.is_empty() {
            return Err(Error::new(Call::Token, ErrorKind::Decode));
        }
        let expires_in = parsed.expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
        let use_for = use_for(Duration::from_secs(expires_in), self.margin);
        tracing::info!(
            call = Call::Token.as_str(),
            expires_in,
            refresh_in_s = use_for.as_secs(),
            "fetched an Auth0 Management API token"
        );
        Ok(Fetched {
            token: SecretString::from(parsed.access_token),
            expires_in: Duration::from_secs(expires_in),
        })
    }

    #[cfg(test)]
    pub(crate) async fn expire_now(&self) {
        self.cache.expire_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, ADDRESS, TOKEN};
    use serde_json::json;
    use test_support::auth0;
    use test_support::logs::{Capture, assert_no_email_addresses};
    use wiremock::{
        Mock, MockServer, ResponseTemplate,
        matchers::{body_json, header, method, path},
    };

    fn deadline() -> Deadline {
        Deadline::after(Duration::from_secs(10))
    }

    async fn mount_user(server: &MockServer, token: &str, expect: u64) {
        auth0::mount_get_user(server, "auth0%7Cabc", token, testing::user_json(), expect).await;
    }

    /// A first grant of `token` for `expires_in` seconds (a bare answer: no `token_type`),
    /// after which the next token mock answers.
    async fn mount_first_token(server: &MockServer, token: &str, expires_in: u64) {
        let grant = json!({"access_token": token, "expires_in": expires_in});
        let response = ResponseTemplate::new(200).set_body_json(grant);
        auth0::mount_once(server, auth0::token_endpoint(), response).await;
    }

    #[test]
    fn a_token_is_used_for_its_lifetime_less_the_margin_but_at_least_half() {
        let s = Duration::from_secs;
        assert_eq!(use_for(s(86_400), s(300)), s(86_100));
        assert_eq!(use_for(s(600), s(300)), s(300));
        assert_eq!(use_for(s(120), s(300)), s(60));
        assert_eq!(use_for(s(0), s(300)), s(0));
        assert_eq!(use_for(s(3_600), s(0)), s(3_600));
    }

    #[tokio::test]
    async fn the_token_request_is_exact_and_the_token_is_sent_as_bearer() {
        let (capture, _guard) = Capture::install();
        let server = MockServer::start().await;
        auth0::token_endpoint()
            .and(header("content-type", "application/json"))
            .and(body_json(json!({
                "grant_type": "client_credentials",
                "client_id": "m2m-client-id",
                "client_secret": "m2m-client-secret",
                "audience": "https://shop.eu.auth0.com/api/v2/"
            })))
            .respond_with(auth0::token_response(TOKEN, 86_400))
            .expect(1)
            .mount(&server)
            .await;
        mount_user(&server, TOKEN, 1).await;
        let client = testing::client(&server);
        let user = client.get_user("auth0|abc", &deadline()).await.unwrap();
        assert_eq!(user.map(|u| u.user_id).as_deref(), Some("auth0|abc"));
        let logs = capture.text();
        assert_no_email_addresses(&logs);
        assert!(!logs.contains(TOKEN) && !logs.contains("m2m-client-secret"));
        let debug = format!("{client:?}");
        assert!(
            !debug.contains(TOKEN) && !debug.contains("m2m-client-secret"),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn two_calls_and_two_concurrent_calls_fetch_the_token_once() {
        let server = auth0::start(TOKEN, 1).await;
        mount_user(&server, TOKEN, 4).await;
        let client = testing::client(&server);
        let d = deadline();
        client.get_user("auth0|abc", &d).await.unwrap();
        client.get_user("auth0|abc", &d).await.unwrap();

        // A fresh client (cold cache): two concurrent callers share one fetch.
        let server2 = MockServer::start().await;
        testing::mount_token(&server2, TOKEN, 86_400, 1).await;
        mount_user(&server2, TOKEN, 2).await;
        let client2 = testing::client(&server2);
        let (a, b) = tokio::join!(
            client2.get_user("auth0|abc", &d),
            client2.get_user("auth0|abc", &d)
        );
        a.unwrap();
        b.unwrap();
        // Clones share the cache.
        let clone = client.clone();
        clone.get_user("auth0|abc", &d).await.unwrap();
        client.get_user("auth0|abc", &d).await.unwrap();
    }

    #[tokio::test]
    async fn a_warm_up_beside_the_first_call_fetches_the_token_once() {
        let server = auth0::start(TOKEN, 1).await;
        mount_user(&server, TOKEN, 2).await;
        let client = testing::client(&server);
        // As `main` runs it: the prefetch and the first call side by side, then a warm call.
        let d = deadline();
        let ((), first) = tokio::join!(client.warm_up(), client.get_user("auth0|abc", &d));
        first.unwrap();
        client.get_user("auth0|abc", &deadline()).await.unwrap();
    }

    #[tokio::test]
    async fn a_failed_warm_up_is_logged_and_the_first_call_fetches_again() {
        let (capture, _guard) = Capture::install();
        let server = MockServer::start().await;
        auth0::mount_once(
            &server,
            auth0::token_endpoint(),
            ResponseTemplate::new(401).set_body_json(json!({
                "error": "access_denied", "error_description": "Unauthorized"
            })),
        )
        .await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        mount_user(&server, TOKEN, 1).await;
        let client = testing::client(&server);
        client.warm_up().await;
        assert!(
            capture.text().contains("token prefetch failed"),
            "{}",
            capture.text()
        );
        client.get_user("auth0|abc", &deadline()).await.unwrap();
    }

    #[tokio::test]
    async fn a_token_due_for_refresh_is_replaced() {
        let server = MockServer::start().await;
        // 1 s lifetime: reused for 0.5 s (half), then replaced.
        mount_first_token(&server, "tok-old", 1).await;
        testing::mount_token(&server, "tok-new", 86_400, 2).await;
        mount_user(&server, "tok-old", 2).await;
        mount_user(&server, "tok-new", 2).await;
        let client = testing::client(&server);
        let d = deadline();
        client.get_user("auth0|abc", &d).await.unwrap();
        client.get_user("auth0|abc", &d).await.unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        client.get_user("auth0|abc", &d).await.unwrap();
        // Near expiry by the margin, without waiting: the cache says refresh.
        client.inner.tokens.expire_now().await;
        let server_calls = server.received_requests().await.unwrap().len();
        client.get_user("auth0|abc", &d).await.unwrap();
        // One token request plus the user request.
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            server_calls + 2
        );
    }

    #[tokio::test]
    async fn a_401_refreshes_the_token_once_and_succeeds() {
        let (capture, _guard) = Capture::install();
        let server = MockServer::start().await;
        mount_first_token(&server, "tok-revoked", 86400).await;
        testing::mount_token(&server, "tok-fresh", 86_400, 1).await;
        Mock::given(method("GET"))
            .and(header("authorization", "Bearer tok-revoked"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                "statusCode": 401, "error": "Unauthorized", "message": "Invalid token"
            })))
            .expect(1)
            .mount(&server)
            .await;
        mount_user(&server, "tok-fresh", 1).await;
        let client = testing::client(&server);
        let user = client.get_user("auth0|abc", &deadline()).await.unwrap();
        assert!(user.is_some());
        assert_no_email_addresses(&capture.text());
        assert!(!capture.text().contains("tok-"));
    }

    #[tokio::test]
    async fn a_second_401_is_unauthorized_after_exactly_two_token_fetches() {
        let (capture, _guard) = Capture::install();
        let server = auth0::start(TOKEN, 2).await;
        Mock::given(method("GET"))
            .and(path("/api/v2/users-by-email"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                "statusCode": 401, "error": "Unauthorized",
                "message": format!("Invalid token for {ADDRESS}")
            })))
            .expect(2)
            .mount(&server)
            .await;
        let client = testing::client(&server);
        let err = client
            .users_by_email(&testing::address(), &deadline())
            .await
            .unwrap_err();
        assert_eq!(err.call, Call::UsersByEmail);
        assert_eq!(err.kind, ErrorKind::Unauthorized);
        assert!(!err.is_transient());
        testing::assert_clean(&err.to_string());
        testing::assert_clean(&format!("{err:?}"));
        assert_no_email_addresses(&capture.text());
    }

    #[tokio::test]
    async fn refused_credentials_are_a_token_error_without_the_secret() {
        let (capture, _guard) = Capture::install();
        let server = MockServer::start().await;
        auth0::token_endpoint()
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                "error": "access_denied",
                "error_description": "Unauthorized m2m-client-secret"
            })))
            .expect(1)
            .mount(&server)
            .await;
        let client = testing::client(&server);
        let err = client
            .users_by_email(&testing::address(), &deadline())
            .await
            .unwrap_err();
        assert_eq!(err.call, Call::UsersByEmail);
        assert_eq!(
            err.kind,
            ErrorKind::Token(Box::new(ErrorKind::Unauthorized))
        );
        assert_eq!(err.error_code.as_deref(), Some("access_denied"));
        assert!(!err.is_transient());
        let text = format!("{err} {err:?}");
        testing::assert_clean(&text);
        assert!(!text.contains("m2m-client-secret"), "{text}");
        assert_no_email_addresses(&capture.text());
    }

    #[tokio::test]
    async fn a_token_reply_without_a_token_is_a_decode_error() {
        let server = MockServer::start().await;
        auth0::token_endpoint()
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": ""})))
            .expect(1)
            .mount(&server)
            .await;
        let err = testing::client(&server)
            .get_user("auth0|abc", &deadline())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Token(Box::new(ErrorKind::Decode)));
    }

    #[tokio::test]
    async fn a_token_endpoint_server_error_is_retried() {
        let server = MockServer::start().await;
        auth0::mount_once(&server, auth0::token_endpoint(), ResponseTemplate::new(503)).await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        mount_user(&server, TOKEN, 1).await;
        let client = testing::client(&server);
        assert!(
            client
                .get_user("auth0|abc", &deadline())
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn invalidate_keeps_a_token_that_already_replaced_the_refused_one() {
        let server = auth0::start(TOKEN, 1).await;
        let client = testing::client(&server);
        let cache = &client.inner.tokens;
        let got = cache.get(&client.inner.http, &deadline()).await.unwrap();
        cache
            .invalidate(&SecretString::from("some-older-token"))
            .await;
        let again = cache.get(&client.inner.http, &deadline()).await.unwrap();
        assert_eq!(got.expose_secret(), again.expose_secret());
    }
}
