//! Users: look up by email (`GET /api/v2/users-by-email`, exact and immediately consistent;
//! never the eventually consistent Lucene search), read by id, and a narrow PATCH.
//!
//! User ids contain `|` (`auth0|abc`) and may contain `/`: they are percent-encoded as one path
//! segment. The email is sent as a properly encoded query value (`+` → `%2B`, `@` → `%40`).

use crate::{
    Auth0Client, Deadline, decode,
    error::{Call, Error, ErrorKind},
    http::{self, encode},
    path_segment,
};
use auth0_events::EmailAddress;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A user as the Management API returns it: the fields the Lambdas read; others are ignored.
///
/// Optional fields are read leniently: a missing, `null` or wrong-typed one becomes its empty
/// value instead of failing the whole answer. `Debug` never prints the email, name or IP.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    /// E.g. `auth0|abc`.
    pub user_id: String,
    /// `None` when absent or not a valid address; lower-cased.
    #[serde(default, deserialize_with = "lenient::email")]
    pub email: Option<EmailAddress>,
    #[serde(default, deserialize_with = "lenient::flag")]
    pub email_verified: bool,
    #[serde(default, deserialize_with = "lenient::identities")]
    pub identities: Vec<Identity>,
    #[serde(default, deserialize_with = "lenient::count")]
    pub logins_count: Option<u64>,
    /// ISO 8601, as Auth0 sends it.
    #[serde(default, deserialize_with = "lenient::string")]
    pub last_login: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub updated_at: Option<String>,
    /// The admin block flag (not brute-force blocks: see [`crate::blocks`]).
    #[serde(default, deserialize_with = "lenient::flag")]
    pub blocked: bool,
    #[serde(default, deserialize_with = "lenient::string")]
    pub last_ip: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
}

impl User {
    /// Whether one of the user's identities is on `connection`.
    pub fn has_connection(&self, connection: &str) -> bool {
        self.identities.iter().any(|i| i.connection == connection)
    }
}

/// One identity (connection) of a user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Identity {
    /// E.g. `Username-Password-Authentication`.
    #[serde(default, deserialize_with = "lenient::text")]
    pub connection: String,
    /// E.g. `auth0`, `google-oauth2`.
    #[serde(default, deserialize_with = "lenient::text")]
    pub provider: String,
    /// The id within the provider (a number for some social providers, kept as text).
    #[serde(default, deserialize_with = "lenient::text")]
    pub user_id: String,
}

struct Redacted<'a, T>(&'a Option<T>);

impl<T> fmt::Debug for Redacted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("Some(<redacted>)"),
            None => f.write_str("None"),
        }
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("user_id", &self.user_id)
            .field("email", &Redacted(&self.email))
            .field("email_verified", &self.email_verified)
            .field("identities", &self.identities)
            .field("logins_count", &self.logins_count)
            .field("last_login", &self.last_login)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("blocked", &self.blocked)
            .field("last_ip", &Redacted(&self.last_ip))
            .field("name", &Redacted(&self.name))
            .finish()
    }
}

/// The only attributes this client can write. Unset fields are omitted from the body.
///
/// Root attributes are replaced. When changing `email`, `verify_email: Some(true)` makes Auth0
/// send a verification email and overrides `email_verified`; `client_id` picks the application
/// whose email templates apply; `connection` is needed only for a secondary identity.
/// Enterprise users cannot change their email.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_email: Option<bool>,
    /// The admin block flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl Auth0Client {
    /// Every user whose email is exactly `email` (one per connection; often none or one).
    /// `GET /api/v2/users-by-email?email=` (scope `read:users`).
    pub async fn users_by_email(
        &self,
        email: &EmailAddress,
        deadline: &Deadline,
    ) -> Result<Vec<User>, Error> {
        let call = Call::UsersByEmail;
        let req = self.management_req(
            call,
            Method::GET,
            &format!("/api/v2/users-by-email?email={}", encode(email.as_str())),
        );
        let body = self.management(&req, deadline).await?;
        decode(call, &body)
    }

    /// The user, or `None` on 404. `GET /api/v2/users/{id}` (scope `read:users`).
    pub async fn get_user(
        &self,
        user_id: &str,
        deadline: &Deadline,
    ) -> Result<Option<User>, Error> {
        let call = Call::GetUser;
        let id = path_segment(call, user_id)?;
        let req = self.management_req(call, Method::GET, &format!("/api/v2/users/{id}"));
        match self.management(&req, deadline).await {
            Ok(body) => decode(call, &body).map(Some),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Applies `patch` and returns the updated user. `PATCH /api/v2/users/{id}` (scope
    /// `update:users`). Retried like a GET: the same PATCH twice has the same effect.
    pub async fn patch_user(
        &self,
        user_id: &str,
        patch: &UserPatch,
        deadline: &Deadline,
    ) -> Result<User, Error> {
        let call = Call::PatchUser;
        let id = path_segment(call, user_id)?;
        let mut req = self.management_req(call, Method::PATCH, &format!("/api/v2/users/{id}"));
        req.body = Some(http::json_body(call, patch)?);
        let body = self.management(&req, deadline).await?;
        decode(call, &body)
    }
}

/// Deserializers that turn a missing, `null` or wrong-typed field into its empty value.
mod lenient {
    use super::Identity;
    use auth0_events::EmailAddress;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => Some(s),
            _ => None,
        })
    }

    /// A string or a number, as text; anything else is empty.
    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        })
    }

    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => b,
            Value::String(s) => s == "true",
            _ => false,
        })
    }

    pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(Value::deserialize(d)?.as_u64())
    }

    pub fn email<'de, D: Deserializer<'de>>(d: D) -> Result<Option<EmailAddress>, D::Error> {
        Ok(string(d)?.and_then(|s| EmailAddress::parse(&s).ok()))
    }

    /// Malformed identities are skipped, not fatal.
    pub fn identities<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Identity>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).ok())
                .collect(),
            _ => Vec::new(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::{self, ADDRESS, IP, TOKEN};
    use serde_json::json;
    use std::time::{Duration, Instant};
    use test_support::auth0;
    use test_support::logs::{Capture, assert_no_email_addresses};
    use wiremock::{
        Mock, MockServer, ResponseTemplate,
        matchers::{body_json, header, method, path},
    };

    fn deadline() -> Deadline {
        Deadline::after(Duration::from_secs(10))
    }

    fn expected_user() -> User {
        User {
            user_id: "auth0|abc".into(),
            email: Some(testing::address()),
            email_verified: true,
            identities: vec![Identity {
                connection: "Username-Password-Authentication".into(),
                provider: "auth0".into(),
                user_id: "abc".into(),
            }],
            logins_count: Some(12),
            last_login: Some("2026-11-20T10:00:00.000Z".into()),
            created_at: Some("2024-01-02T03:04:05.000Z".into()),
            updated_at: Some("2026-11-20T10:00:00.000Z".into()),
            blocked: false,
            last_ip: Some(IP.into()),
            name: Some(ADDRESS.into()),
        }
    }

    #[tokio::test]
    async fn users_by_email_sends_the_encoded_lower_cased_address() {
        let (capture, _guard) = Capture::install();
        let server = auth0::start(TOKEN, 1).await;
        let google = auth0::social_user(ADDRESS);
        let users = json!([testing::user_json(), google]);
        let query = "email=jane%2Bshop%40example.com";
        auth0::mount_users_by_email(&server, query, TOKEN, users, 1).await;
        let client = testing::client(&server);
        // Upper case in, lower case out (EmailAddress canonicalises).
        let email = EmailAddress::parse("Jane+Shop@Example.COM").unwrap();
        let users = client.users_by_email(&email, &deadline()).await.unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0], expected_user());
        assert_eq!(users[1].user_id, "google-oauth2|1234567890");
        assert_eq!(users[1].identities[0].user_id, "1234567890");
        assert!(users[1].has_connection("google-oauth2"));
        assert!(!users[1].has_connection("Username-Password-Authentication"));
        // Never the Lucene search.
        for r in server.received_requests().await.unwrap() {
            assert_ne!(r.url.path(), "/api/v2/users");
        }
        assert_no_email_addresses(&capture.text());
    }

    #[tokio::test]
    async fn get_user_encodes_the_id_and_reads_the_documented_fields() {
        let server = auth0::start(TOKEN, 1).await;
        auth0::mount_get_user(&server, "auth0%7Cabc", TOKEN, testing::user_json(), 1).await;
        let odd = "samlp%7CCorp%7Cjane%2Fx";
        auth0::mount_get_user(&server, odd, TOKEN, testing::user_json(), 1).await;
        let client = testing::client(&server);
        let user = client.get_user("auth0|abc", &deadline()).await.unwrap();
        assert_eq!(user, Some(expected_user()));
        assert!(
            client
                .get_user("samlp|Corp|jane/x", &deadline())
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn get_user_404_is_none() {
        let server = auth0::start(TOKEN, 1).await;
        auth0::mount_user_not_found(&server, "GET", "/api/v2/users/auth0%7Cgone").await;
        let client = testing::client(&server);
        assert_eq!(client.get_user("auth0|gone", &deadline()).await, Ok(None));
    }

    #[tokio::test]
    async fn server_errors_on_a_get_are_retried() {
        let (capture, _guard) = Capture::install();
        let server = auth0::start(TOKEN, 1).await;
        Mock::given(method("GET"))
            .and(path("/api/v2/users/auth0%7Cabc"))
            .respond_with(ResponseTemplate::new(503).set_body_string(ADDRESS))
            .up_to_n_times(2)
            .expect(2)
            .mount(&server)
            .await;
        auth0::mount_get_user(&server, "auth0%7Cabc", TOKEN, testing::user_json(), 1).await;
        let client = testing::client(&server);
        let user = client.get_user("auth0|abc", &deadline()).await.unwrap();
        assert_eq!(user, Some(expected_user()));
        let logs = capture.text();
        assert_no_email_addresses(&logs);
        assert!(
            logs.contains("\"status\":503") && logs.contains("\"attempt\":2"),
            "{logs}"
        );
    }

    #[tokio::test]
    async fn persistent_server_errors_stop_after_max_attempts() {
        let server = auth0::start(TOKEN, 1).await;
        Mock::given(method("GET"))
            .and(path("/api/v2/users-by-email"))
            .respond_with(ResponseTemplate::new(500))
            .expect(4)
            .mount(&server)
            .await;
        let err = testing::client(&server)
            .users_by_email(&testing::address(), &deadline())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Server { status: 500 });
        assert!(err.is_transient());
    }

    #[tokio::test]
    async fn other_client_errors_are_not_retried_and_quote_nothing() {
        let (capture, _guard) = Capture::install();
        for (status, kind, code) in [
            (
                400,
                ErrorKind::BadRequest { status: 400 },
                Some("invalid_query_string"),
            ),
            (403, ErrorKind::Forbidden, Some("insufficient_scope")),
            (409, ErrorKind::BadRequest { status: 409 }, None),
        ] {
            let server = auth0::start(TOKEN, 1).await;
            let mut body = json!({
                "statusCode": status, "error": "Bad Request",
                "message": format!("Query validation error for {ADDRESS} from {IP}"),
            });
            if let Some(code) = code {
                body["errorCode"] = json!(code);
            }
            Mock::given(method("GET"))
                .and(path("/api/v2/users-by-email"))
                .respond_with(ResponseTemplate::new(status).set_body_json(body))
                .expect(1)
                .mount(&server)
                .await;
            let err = testing::client(&server)
                .users_by_email(&testing::address(), &deadline())
                .await
                .unwrap_err();
            assert_eq!(err.call, Call::UsersByEmail);
            assert_eq!(err.kind, kind);
            assert_eq!(err.error_code.as_deref(), code);
            assert!(!err.is_transient());
            testing::assert_clean(&format!("{err} {err:?}"));
        }
        assert_no_email_addresses(&capture.text());
    }

    #[tokio::test]
    async fn a_slow_answer_is_a_timeout_after_bounded_retries() {
        let server = auth0::start(TOKEN, 1).await;
        Mock::given(method("GET"))
            .and(path("/api/v2/users/auth0%7Cabc"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(testing::user_json())
                    .set_delay(Duration::from_millis(1_500)),
            )
            .expect(2)
            .mount(&server)
            .await;
        let mut config = testing::config(&server);
        config.timeout = Duration::from_millis(200);
        config.backoff.max_attempts = 2;
        let client = crate::Auth0Client::new(config).unwrap();
        let started = Instant::now();
        let err = client.get_user("auth0|abc", &deadline()).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
        assert!(err.is_transient());
        assert!(started.elapsed() < Duration::from_millis(1_200));
    }

    #[tokio::test]
    async fn an_unexpected_body_is_a_decode_error_that_quotes_nothing() {
        let server = auth0::start(TOKEN, 1).await;
        Mock::given(method("GET"))
            .and(path("/api/v2/users-by-email"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"email": ADDRESS})))
            .expect(1)
            .mount(&server)
            .await;
        let err = testing::client(&server)
            .users_by_email(&testing::address(), &deadline())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Decode);
        testing::assert_clean(&format!("{err} {err:?}"));
    }

    #[tokio::test]
    async fn patch_user_sends_only_the_set_fields() {
        let (capture, _guard) = Capture::install();
        let server = auth0::start(TOKEN, 1).await;
        auth0::management_call("PATCH", "/api/v2/users/auth0%7Cabc", TOKEN)
            .and(header("content-type", "application/json"))
            .and(body_json(json!({
                "email": ADDRESS,
                "verify_email": true,
                "connection": "Username-Password-Authentication",
                "client_id": "storefront-client-id"
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(testing::user_json()))
            .expect(1)
            .mount(&server)
            .await;
        let unblock = json!({"blocked": false});
        let user = testing::user_json();
        auth0::mount_patch_user(&server, "auth0%7Cabc", TOKEN, unblock, user, 1).await;
        let client = testing::client(&server);
        let patch = UserPatch {
            email: Some(EmailAddress::parse("JANE+shop@example.com").unwrap()),
            verify_email: Some(true),
            connection: Some("Username-Password-Authentication".into()),
            client_id: Some("storefront-client-id".into()),
            ..UserPatch::default()
        };
        let user = client
            .patch_user("auth0|abc", &patch, &deadline())
            .await
            .unwrap();
        assert_eq!(user, expected_user());
        let unblock = UserPatch {
            blocked: Some(false),
            ..UserPatch::default()
        };
        client
            .patch_user("auth0|abc", &unblock, &deadline())
            .await
            .unwrap();
        assert_no_email_addresses(&capture.text());
        assert!(!format!("{patch:?}").contains('@'));
    }

    #[test]
    fn an_empty_patch_is_an_empty_object() {
        assert_eq!(
            serde_json::to_value(UserPatch::default()).unwrap(),
            json!({})
        );
        let all = UserPatch {
            email: Some(testing::address()),
            email_verified: Some(false),
            verify_email: Some(false),
            blocked: Some(true),
            connection: Some("c".into()),
            client_id: Some("id".into()),
        };
        assert_eq!(
            serde_json::to_value(all).unwrap(),
            json!({
                "email": ADDRESS, "email_verified": false, "verify_email": false,
                "blocked": true, "connection": "c", "client_id": "id"
            })
        );
    }

    #[tokio::test]
    async fn patch_is_retried_on_a_server_error() {
        let server = auth0::start(TOKEN, 1).await;
        auth0::mount_once(
            &server,
            Mock::given(method("PATCH")),
            ResponseTemplate::new(502),
        )
        .await;
        Mock::given(method("PATCH"))
            .respond_with(ResponseTemplate::new(200).set_body_json(testing::user_json()))
            .expect(1)
            .mount(&server)
            .await;
        let patch = UserPatch {
            email_verified: Some(true),
            ..UserPatch::default()
        };
        testing::client(&server)
            .patch_user("auth0|abc", &patch, &deadline())
            .await
            .unwrap();
    }

    /// `""`, `.` and `..` would address `/users/` (a list) or `/api/v2/` (`%2E%2E` too: URL
    /// parsers read it as `..`): refused, nothing sent.
    #[tokio::test]
    async fn an_empty_or_dot_user_id_sends_nothing() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user_id": "x"})))
            .expect(0)
            .mount(&server)
            .await;
        let client = testing::client(&server);
        for id in ["", ".", ".."] {
            let err = client.get_user(id, &deadline()).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidInput, "{id:?}");
            let err = client
                .patch_user(id, &UserPatch::default(), &deadline())
                .await
                .unwrap_err();
            assert_eq!(
                (err.call, err.kind),
                (Call::PatchUser, ErrorKind::InvalidInput),
                "{id:?}"
            );
            let err = client.get_user_blocks(id, &deadline()).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidInput, "{id:?}");
            let err = client
                .delete_user_blocks(id, &deadline())
                .await
                .unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidInput, "{id:?}");
        }
        // Why encoding cannot save them: a percent-encoded dot segment is still one.
        let url = reqwest::Url::parse("https://t.example/api/v2/users/%2E%2E").unwrap();
        assert_eq!(url.path(), "/api/v2/");
    }

    #[test]
    fn lenient_fields_and_a_redacted_debug() {
        let user: User = serde_json::from_value(json!({
            "user_id": "auth0|abc",
            "email": "not an address",
            "email_verified": null,
            "identities": [{"connection": "c", "provider": "auth0", "user_id": "abc"}, "junk"],
            "logins_count": "many",
            "last_login": null,
            "blocked": true,
            "last_ip": IP,
            "name": "Jane Shopper"
        }))
        .unwrap();
        assert_eq!(user.email, None);
        assert!(!user.email_verified && user.blocked);
        assert_eq!(user.identities.len(), 1);
        assert_eq!(
            (user.logins_count, user.last_login.as_deref()),
            (None, None)
        );
        let minimal: User = serde_json::from_value(json!({"user_id": "auth0|x"})).unwrap();
        assert!(minimal.identities.is_empty() && minimal.email.is_none());
        assert!(serde_json::from_value::<User>(json!({"email": ADDRESS})).is_err());

        let debug = format!("{:?}", expected_user());
        testing::assert_clean(&debug);
        assert!(
            debug.contains("auth0|abc") && debug.contains("Username-Password"),
            "{debug}"
        );
        assert!(!format!("{user:?}").contains("Shopper"));
    }
}
