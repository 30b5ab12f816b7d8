//! A user's recent tenant logs, newest first, for a support agent checking an account that
//! may have been taken over.
//!
//! `GET /api/v2/users/{id}/logs?page=0&per_page=N&sort=date:-1` (scope `read:logs` or
//! `read:logs_users`; id percent-encoded as one path segment) returns an array of log entries:
//! at most 100 per page and 1,000 in all, kept only as long as the plan's retention (1 day on
//! Starter, 30 on Enterprise) and appearing with a delay. Every field of an entry is optional in
//! practice, so each is read leniently (missing, `null` or wrong-typed → `None`) and an entry
//! that is not an object is skipped; `type` stays the raw code (`s`, `f`, `limit_wc`, `sce`, ...).
//! `user_name`, `user_id` and `details` are not kept (the caller knows the user; `details` can
//! hold addresses). On Essentials and Professional the endpoint has its own small rate limit
//! (10 burst, then 100/minute): a 403 (scope missing), a 429 or a timeout comes back as the
//! usual [`ErrorKind`](crate::ErrorKind), so a caller can show the account without its history.

use crate::{
    Auth0Client, Deadline, decode,
    error::{Call, Error},
    path_segment,
};
use reqwest::Method;
use serde::Deserialize;
use std::fmt;

/// The most entries Auth0 returns on one page.
pub const MAX_LOGS_PER_PAGE: u32 = 100;

/// One tenant log entry. `Debug` hides the IP, the user agent and the description (which for
/// `limit_wc` names the address typed), and the city.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LogEntry {
    /// ISO 8601, as Auth0 sends it.
    #[serde(default, deserialize_with = "lenient::string")]
    pub date: Option<String>,
    /// The raw log type code, e.g. `s`, `fp`, `limit_wc`, `scp`, `sce`, `sapi`.
    #[serde(default, rename = "type", deserialize_with = "lenient::string")]
    pub type_: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub ip: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub user_agent: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub client_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub connection: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub log_id: Option<String>,
    /// Where the IP was placed, when Auth0 knew (not on every entry).
    #[serde(default, deserialize_with = "lenient::location")]
    pub location_info: Option<LocationInfo>,
}

/// `location_info`: the fields an agent reads; the others (`time_zone`, coordinates, ...) are
/// ignored. `Debug` hides the city.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LocationInfo {
    #[serde(default, deserialize_with = "lenient::string")]
    pub country_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub country_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub city_name: Option<String>,
}

impl Auth0Client {
    /// The user's most recent log entries, newest first: the first page of `per_page`
    /// (clamped to 1..=[`MAX_LOGS_PER_PAGE`]). An empty list is an ordinary answer (no logs
    /// within the retention, or none yet). `GET /api/v2/users/{id}/logs` (scope `read:logs`
    /// or `read:logs_users`); retried like every GET.
    pub async fn user_logs(
        &self,
        user_id: &str,
        per_page: u32,
        deadline: &Deadline,
    ) -> Result<Vec<LogEntry>, Error> {
        let call = Call::UserLogs;
        let id = path_segment(call, user_id)?;
        let per_page = per_page.clamp(1, MAX_LOGS_PER_PAGE);
        let req = self.management_req(
            call,
            Method::GET,
            &format!("/api/v2/users/{id}/logs?page=0&per_page={per_page}&sort=date:-1"),
        );
        let body = self.management(&req, deadline).await?;
        let entries: Vec<serde_json::Value> = decode(call, &body)?;
        Ok(entries
            .into_iter()
            .filter_map(|entry| serde_json::from_value(entry).ok())
            .collect())
    }
}

/// `Some(<redacted>)` or `None`: says whether the field was there, never what it held.
pub(crate) struct Redacted<'a, T>(pub &'a Option<T>);

impl<T> fmt::Debug for Redacted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("Some(<redacted>)"),
            None => f.write_str("None"),
        }
    }
}

impl fmt::Debug for LogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogEntry")
            .field("date", &self.date)
            .field("type_", &self.type_)
            .field("description", &Redacted(&self.description))
            .field("ip", &Redacted(&self.ip))
            .field("user_agent", &Redacted(&self.user_agent))
            .field("client_id", &self.client_id)
            .field("client_name", &self.client_name)
            .field("connection", &self.connection)
            .field("log_id", &self.log_id)
            .field("location_info", &self.location_info)
            .finish()
    }
}

impl fmt::Debug for LocationInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocationInfo")
            .field("country_code", &self.country_code)
            .field("country_name", &self.country_name)
            .field("city_name", &Redacted(&self.city_name))
            .finish()
    }
}

/// Deserializers that turn a missing, `null` or wrong-typed field into its empty value.
pub(crate) mod lenient {
    use super::LocationInfo;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => Some(s),
            _ => None,
        })
    }

    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => b,
            Value::String(s) => s == "true",
            _ => false,
        })
    }

    pub fn location<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LocationInfo>, D::Error> {
        Ok(match Value::deserialize(d)? {
            v @ Value::Object(_) => serde_json::from_value(v).ok(),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ErrorKind,
        testing::{self, ADDRESS, IP, TOKEN},
    };
    use serde_json::json;
    use std::time::{Duration, Instant};
    use test_support::auth0::RawQuery;
    use test_support::logs::{Capture, assert_no_email_addresses};
    use wiremock::{
        Mock, MockServer, ResponseTemplate,
        matchers::{header, method, path},
    };

    const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0";

    fn deadline() -> Deadline {
        Deadline::after(Duration::from_secs(10))
    }

    /// Two entries as Auth0 returns them (with fields we do not keep), then junk.
    fn logs_json() -> serde_json::Value {
        json!([
            {
                "date": "2026-11-20T10:00:00.000Z",
                "type": "limit_wc",
                "description": format!("Too many failed login attempts for {ADDRESS}"),
                "connection": "Username-Password-Authentication",
                "connection_id": "con_abc",
                "client_id": "storefront-client-id",
                "client_name": "Storefront",
                "ip": IP,
                "user_agent": UA,
                "user_id": "auth0|abc",
                "user_name": ADDRESS,
                "details": {"body": {"email": ADDRESS}},
                "log_id": "90020261120100000000000000000000001",
                "isMobile": false,
                "location_info": {
                    "country_code": "DE", "country_code3": "DEU", "country_name": "Germany",
                    "city_name": "Hamburg", "latitude": 53.55, "longitude": 9.99,
                    "time_zone": "Europe/Berlin", "continent_code": "EU"
                }
            },
            {
                "date": "2026-11-20T09:58:00.000Z",
                "type": "s",
                "client_id": null,
                "ip": 17,
                "location_info": "unknown",
                "log_id": "90020261120095800000000000000000002"
            },
            "not an entry"
        ])
    }

    fn expected() -> Vec<LogEntry> {
        vec![
            LogEntry {
                date: Some("2026-11-20T10:00:00.000Z".into()),
                type_: Some("limit_wc".into()),
                description: Some(format!("Too many failed login attempts for {ADDRESS}")),
                ip: Some(IP.into()),
                user_agent: Some(UA.into()),
                client_id: Some("storefront-client-id".into()),
                client_name: Some("Storefront".into()),
                connection: Some("Username-Password-Authentication".into()),
                log_id: Some("90020261120100000000000000000000001".into()),
                location_info: Some(LocationInfo {
                    country_code: Some("DE".into()),
                    country_name: Some("Germany".into()),
                    city_name: Some("Hamburg".into()),
                }),
            },
            LogEntry {
                date: Some("2026-11-20T09:58:00.000Z".into()),
                type_: Some("s".into()),
                log_id: Some("90020261120095800000000000000000002".into()),
                ..LogEntry::default()
            },
        ]
    }

    async fn mount_logs(server: &MockServer, query: &'static str, response: ResponseTemplate) {
        Mock::given(method("GET"))
            .and(path("/api/v2/users/auth0%7Cabc/logs"))
            .and(RawQuery(query))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(response)
            .expect(1)
            .mount(server)
            .await;
    }

    #[tokio::test]
    async fn user_logs_sends_the_exact_request_and_reads_entries_leniently() {
        let (capture, _guard) = Capture::install();
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        mount_logs(
            &server,
            "page=0&per_page=10&sort=date:-1",
            ResponseTemplate::new(200).set_body_json(logs_json()),
        )
        .await;
        let logs = testing::client(&server)
            .user_logs("auth0|abc", 10, &deadline())
            .await
            .unwrap();
        assert_eq!(logs, expected());
        assert_no_email_addresses(&capture.text());
    }

    #[tokio::test]
    async fn per_page_is_clamped_to_what_auth0_allows() {
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        mount_logs(
            &server,
            "page=0&per_page=100&sort=date:-1",
            ResponseTemplate::new(200).set_body_json(json!([])),
        )
        .await;
        mount_logs(
            &server,
            "page=0&per_page=1&sort=date:-1",
            ResponseTemplate::new(200).set_body_json(json!([])),
        )
        .await;
        let client = testing::client(&server);
        let none = client.user_logs("auth0|abc", 500, &deadline()).await;
        assert_eq!(none, Ok(vec![]));
        let none = client.user_logs("auth0|abc", 0, &deadline()).await;
        assert_eq!(none, Ok(vec![]));
    }

    #[tokio::test]
    async fn a_missing_scope_is_forbidden_at_once_and_quotes_nothing() {
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        mount_logs(
            &server,
            "page=0&per_page=10&sort=date:-1",
            ResponseTemplate::new(403).set_body_json(json!({
                "statusCode": 403, "error": "Forbidden",
                "message": "Insufficient scope, expected any of: read:logs,read:logs_users",
                "errorCode": "insufficient_scope"
            })),
        )
        .await;
        let err = testing::client(&server)
            .user_logs("auth0|abc", 10, &deadline())
            .await
            .unwrap_err();
        assert_eq!(
            (err.call, &err.kind, err.error_code.as_deref()),
            (
                Call::UserLogs,
                &ErrorKind::Forbidden,
                Some("insufficient_scope")
            )
        );
        assert!(!err.is_transient());
        assert_eq!(
            err.to_string(),
            "Auth0 user-logs failed: forbidden (HTTP 403), check the scopes (errorCode insufficient_scope)"
        );
    }

    #[tokio::test]
    async fn a_rate_limit_resetting_after_the_deadline_is_rate_limited_at_once() {
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        let reset = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 60;
        mount_logs(
            &server,
            "page=0&per_page=10&sort=date:-1",
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-limit", "10")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string())
                .set_body_json(json!({
                    "statusCode": 429, "error": "Too Many Requests",
                    "message": "Global limit has been reached", "errorCode": "too_many_requests"
                })),
        )
        .await;
        let started = Instant::now();
        let err = testing::client(&server)
            .user_logs("auth0|abc", 10, &Deadline::after(Duration::from_secs(3)))
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(500));
        assert!(
            matches!(err.kind, ErrorKind::RateLimited { retry_after: Some(d) } if d > Duration::from_secs(50)),
            "{err}"
        );
        assert!(err.is_transient());
        assert!(err.retry_after().is_some());
    }

    #[tokio::test]
    async fn a_slow_answer_is_a_timeout_after_bounded_retries() {
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        Mock::given(method("GET"))
            .and(path("/api/v2/users/auth0%7Cabc/logs"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(logs_json())
                    .set_delay(Duration::from_millis(1_500)),
            )
            .expect(2)
            .mount(&server)
            .await;
        let mut config = testing::config(&server);
        config.timeout = Duration::from_millis(200);
        config.backoff.max_attempts = 2;
        let started = Instant::now();
        let err = crate::Auth0Client::new(config)
            .unwrap()
            .user_logs("auth0|abc", 10, &deadline())
            .await
            .unwrap_err();
        assert_eq!((err.call, &err.kind), (Call::UserLogs, &ErrorKind::Timeout));
        assert!(err.is_transient());
        assert!(started.elapsed() < Duration::from_millis(1_200));
    }

    #[tokio::test]
    async fn a_body_that_is_not_a_list_is_a_decode_error_and_a_bad_id_sends_nothing() {
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        mount_logs(
            &server,
            "page=0&per_page=10&sort=date:-1",
            ResponseTemplate::new(200).set_body_json(json!({"logs": [], "user_name": ADDRESS})),
        )
        .await;
        let client = testing::client(&server);
        let err = client
            .user_logs("auth0|abc", 10, &deadline())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Decode);
        testing::assert_clean(&format!("{err} {err:?}"));
        for id in ["", ".", ".."] {
            let err = client.user_logs(id, 10, &deadline()).await.unwrap_err();
            assert_eq!(
                (err.call, err.kind),
                (Call::UserLogs, ErrorKind::InvalidInput)
            );
        }
    }

    #[test]
    fn debug_hides_the_ip_the_user_agent_the_description_and_the_city() {
        let debug = format!("{:?}", expected());
        testing::assert_clean(&debug);
        for hidden in ["Mozilla", "Too many", "Hamburg"] {
            assert!(!debug.contains(hidden), "{hidden:?} in {debug}");
        }
        for shown in [
            "limit_wc",
            "Storefront",
            "Germany",
            "2026-11-20T10:00:00.000Z",
        ] {
            assert!(debug.contains(shown), "{shown:?} not in {debug}");
        }
    }
}
