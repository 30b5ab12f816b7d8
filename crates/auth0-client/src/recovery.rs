//! Account-takeover recovery: resend the verification email, sign the user out everywhere,
//! and reset MFA.
//!
//! `POST /api/v2/jobs/verification-email` with JSON `{user_id, client_id?}` (scope
//! `update:users`) queues the email and answers `201 {"type":"verification_email",
//! "status":"pending","id":"job_..."}`; Auth0 logs `svr` when it is queued and `sv` when the
//! link is used. `DELETE /api/v2/users/{id}/sessions` (scope `delete:sessions`, 202, applied
//! eventually) and `DELETE /api/v2/users/{id}/refresh-tokens` (scope `delete:refresh_tokens`)
//! exist on Enterprise plans only, and refresh tokens survive a session delete, so a sign-out
//! revokes both; access tokens already issued stay valid until they expire. On other plans the
//! answer is [`SignOut::NotAvailableOnPlan`], not an error (see [`SignOut`] for how that answer
//! is recognised: UNVERIFIED). `GET /api/v2/users/{id}/authentication-methods` (scope
//! `read:authentication_methods`) lists the enrolled factors; `DELETE` on the same path (scope
//! `delete:authentication_methods`, 204) removes every one of them and cannot be undone;
//! `POST /api/v2/users/{id}/multifactor/actions/invalidate-remember-browser` (scope
//! `update:users`, 204) makes every browser ask for MFA again. User ids are percent-encoded as
//! one path segment; GETs, DELETEs and the invalidate POST are retried like every idempotent
//! call, the verification email is not (see [`Auth0Client::send_verification_email`]).

use crate::{
    Auth0Client, Deadline, decode,
    error::{Call, Error, ErrorKind},
    http::{self, MAX_RATE_LIMIT_WAIT, Policy, Req},
    logs::lenient,
    non_empty, path_segment,
};
use reqwest::Method;
use serde::{Deserialize, Serialize};

/// The job Auth0 queued for a verification email. Holds no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VerificationJob {
    /// `job_...`.
    pub id: String,
    /// `verification_email`.
    #[serde(default, rename = "type", deserialize_with = "lenient::string")]
    pub type_: Option<String>,
    /// `pending` when queued.
    #[serde(default, deserialize_with = "lenient::string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub created_at: Option<String>,
}

/// What a sign-out call (sessions, refresh tokens) came to.
///
/// # "Not available on this plan" (UNVERIFIED)
/// Both endpoints exist on Enterprise plans only, and what Auth0 answers elsewhere is not
/// documented. This client reads only the status and Auth0's fixed `errorCode` of an error
/// body (never its text), so the answer is classified on those:
/// - a 404, unless its `errorCode` is `inexistent_user` (the user is gone: [`ErrorKind::NotFound`]);
/// - a 403, unless its `errorCode` is `insufficient_scope` (Auth0's code for a missing
///   `delete:sessions` / `delete:refresh_tokens` scope: [`ErrorKind::Forbidden`]).
///
/// Check on a non-Enterprise dev tenant before relying on it. A 403 for a missing scope that
/// came without `insufficient_scope` would be read as "not available".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignOut {
    /// 2xx: Auth0 accepted the deletion (sessions: 202, applied eventually).
    Accepted,
    /// The tenant's plan does not offer this endpoint: say so, nothing was revoked.
    NotAvailableOnPlan,
}

/// One enrolled (or partly enrolled) MFA factor. Only these fields are kept: the answer can
/// also carry a factor's `name`, `phone_number` and `email`, which are not read, so `Debug`
/// has nothing personal to hide.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AuthenticationMethod {
    /// E.g. `totp|dev_...`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: Option<String>,
    /// E.g. `totp`, `phone`, `email`, `push`, `webauthn-roaming`, `passkey`, `recovery-code`.
    #[serde(default, rename = "type", deserialize_with = "lenient::string")]
    pub type_: Option<String>,
    /// `false` while enrolment is unfinished (or the field is missing).
    #[serde(default, deserialize_with = "lenient::flag")]
    pub confirmed: bool,
    /// ISO 8601.
    #[serde(default, deserialize_with = "lenient::string")]
    pub created_at: Option<String>,
    /// ISO 8601: when it was last used, if ever.
    #[serde(default, deserialize_with = "lenient::string")]
    pub last_auth_at: Option<String>,
}

#[derive(Serialize)]
struct VerificationEmail<'a> {
    user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
}

/// Sends an email: never re-sent once the request may have reached Auth0 (5xx, timeout,
/// broken connection). A 429 was refused before any work, so its reset is waited for.
const VERIFICATION_EMAIL: Policy = Policy {
    idempotent: false,
    rate_limit_wait_cap: MAX_RATE_LIMIT_WAIT,
};

impl Auth0Client {
    /// Queues the verification email for `user_id`, with the templates of application
    /// `client_id` when given. `POST /api/v2/jobs/verification-email` (scope `update:users`).
    ///
    /// Not idempotent (each call sends an email), so it is never retried after a timeout, a
    /// broken connection or a 5xx: the job may have been queued. Then the error is transient
    /// but the caller should not simply call again; asking the customer whether the email
    /// arrived (or looking for an `svr` log) comes first. A connect failure (nothing sent) is
    /// retried; a 429 waits for the reset like every call.
    pub async fn send_verification_email(
        &self,
        user_id: &str,
        client_id: Option<&str>,
        deadline: &Deadline,
    ) -> Result<VerificationJob, Error> {
        let call = Call::SendVerificationEmail;
        non_empty(call, user_id)?;
        let body = http::json_body(call, &VerificationEmail { user_id, client_id })?;
        let req = Req {
            call,
            method: Method::POST,
            url: self.url("/api/v2/jobs/verification-email"),
            body: Some(body),
            policy: VERIFICATION_EMAIL,
        };
        let body = self.management(&req, deadline).await?;
        decode(call, &body)
    }

    /// Ends every Auth0 session of the user (applied eventually; refresh tokens survive it:
    /// see [`Auth0Client::delete_refresh_tokens`]). `DELETE /api/v2/users/{id}/sessions`
    /// (scope `delete:sessions`, Enterprise plans only: otherwise
    /// [`SignOut::NotAvailableOnPlan`]).
    pub async fn delete_sessions(
        &self,
        user_id: &str,
        deadline: &Deadline,
    ) -> Result<SignOut, Error> {
        self.sign_out(Call::DeleteSessions, user_id, "sessions", deadline)
            .await
    }

    /// Revokes every refresh token of the user. `DELETE /api/v2/users/{id}/refresh-tokens`
    /// (scope `delete:refresh_tokens`, Enterprise plans only: otherwise
    /// [`SignOut::NotAvailableOnPlan`]).
    pub async fn delete_refresh_tokens(
        &self,
        user_id: &str,
        deadline: &Deadline,
    ) -> Result<SignOut, Error> {
        self.sign_out(
            Call::DeleteRefreshTokens,
            user_id,
            "refresh-tokens",
            deadline,
        )
        .await
    }

    /// The user's MFA factors, enrolled or partly enrolled; empty when there are none.
    /// `GET /api/v2/users/{id}/authentication-methods` (scope `read:authentication_methods`).
    pub async fn authentication_methods(
        &self,
        user_id: &str,
        deadline: &Deadline,
    ) -> Result<Vec<AuthenticationMethod>, Error> {
        let call = Call::AuthenticationMethods;
        let req = self.management_req(call, Method::GET, &methods_path(call, user_id)?);
        let body = self.management(&req, deadline).await?;
        let methods: Vec<serde_json::Value> = decode(call, &body)?;
        Ok(methods
            .into_iter()
            .filter_map(|method| serde_json::from_value(method).ok())
            .collect())
    }

    /// Removes every MFA factor of the user; cannot be undone. The user enrols again at the
    /// next login that asks for MFA. `DELETE /api/v2/users/{id}/authentication-methods`
    /// (scope `delete:authentication_methods`).
    pub async fn delete_authentication_methods(
        &self,
        user_id: &str,
        deadline: &Deadline,
    ) -> Result<(), Error> {
        let call = Call::DeleteAuthenticationMethods;
        let req = self.management_req(call, Method::DELETE, &methods_path(call, user_id)?);
        self.management(&req, deadline).await.map(drop)
    }

    /// Forgets every browser the user ticked "remember this browser" on, so each asks for MFA
    /// again. `POST /api/v2/users/{id}/multifactor/actions/invalidate-remember-browser`
    /// (scope `update:users`). Retried like a DELETE: doing it twice has the effect of once.
    pub async fn invalidate_remember_browser(
        &self,
        user_id: &str,
        deadline: &Deadline,
    ) -> Result<(), Error> {
        let call = Call::InvalidateRememberBrowser;
        let id = path_segment(call, user_id)?;
        let req = self.management_req(
            call,
            Method::POST,
            &format!("/api/v2/users/{id}/multifactor/actions/invalidate-remember-browser"),
        );
        self.management(&req, deadline).await.map(drop)
    }

    /// `DELETE /api/v2/users/{id}/{what}` on an Enterprise-only endpoint.
    async fn sign_out(
        &self,
        call: Call,
        user_id: &str,
        what: &str,
        deadline: &Deadline,
    ) -> Result<SignOut, Error> {
        let id = path_segment(call, user_id)?;
        let req = self.management_req(call, Method::DELETE, &format!("/api/v2/users/{id}/{what}"));
        match self.management(&req, deadline).await {
            Ok(_) => Ok(SignOut::Accepted),
            Err(e) if not_available_on_plan(&e) => {
                tracing::info!(
                    call = call.as_str(),
                    status = e.kind.status(),
                    error_code = e.error_code.as_deref(),
                    "Auth0 endpoint not available on this tenant's plan"
                );
                Ok(SignOut::NotAvailableOnPlan)
            }
            Err(e) => Err(e),
        }
    }
}

/// `/api/v2/users/{id}/authentication-methods`, the id encoded.
fn methods_path(call: Call, user_id: &str) -> Result<String, Error> {
    let id = path_segment(call, user_id)?;
    Ok(format!("/api/v2/users/{id}/authentication-methods"))
}

/// See [`SignOut`]: a 404 that is not `inexistent_user`, or a 403 that is not
/// `insufficient_scope`. UNVERIFIED.
fn not_available_on_plan(e: &Error) -> bool {
    let code = e.error_code.as_deref();
    match e.kind {
        ErrorKind::NotFound => code != Some("inexistent_user"),
        ErrorKind::Forbidden => code != Some("insufficient_scope"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, ADDRESS, IP, TOKEN};
    use serde_json::json;
    use std::time::{Duration, Instant};
    use test_support::logs::{Capture, assert_no_email_addresses};
    use wiremock::{
        Mock, MockServer, ResponseTemplate,
        matchers::{body_json, header, method, path},
    };

    fn deadline() -> Deadline {
        Deadline::after(Duration::from_secs(10))
    }

    fn bearer() -> String {
        format!("Bearer {TOKEN}")
    }

    fn job_json() -> serde_json::Value {
        json!({
            "type": "verification_email",
            "status": "pending",
            "created_at": "2026-11-20T10:00:00.000Z",
            "id": "job_0000000000000001"
        })
    }

    fn job() -> VerificationJob {
        VerificationJob {
            id: "job_0000000000000001".into(),
            type_: Some("verification_email".into()),
            status: Some("pending".into()),
            created_at: Some("2026-11-20T10:00:00.000Z".into()),
        }
    }

    const JOBS: &str = "/api/v2/jobs/verification-email";

    #[tokio::test]
    async fn verification_email_posts_the_exact_body_and_reads_the_job() {
        let (capture, _guard) = Capture::install();
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        Mock::given(method("POST"))
            .and(path(JOBS))
            .and(header("authorization", bearer().as_str()))
            .and(header("content-type", "application/json"))
            .and(body_json(
                json!({"user_id": "auth0|abc", "client_id": "storefront-client-id"}),
            ))
            .respond_with(ResponseTemplate::new(201).set_body_json(job_json()))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(JOBS))
            .and(header("authorization", bearer().as_str()))
            .and(body_json(json!({"user_id": "auth0|def"})))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "type": "verification_email", "status": "pending", "id": "job_2"
            })))
            .expect(1)
            .mount(&server)
            .await;
        let client = testing::client(&server);
        let sent = client
            .send_verification_email("auth0|abc", Some("storefront-client-id"), &deadline())
            .await
            .unwrap();
        assert_eq!(sent, job());
        let sent = client
            .send_verification_email("auth0|def", None, &deadline())
            .await
            .unwrap();
        assert_eq!(
            (sent.id.as_str(), sent.created_at),
            ("job_2", None::<String>)
        );
        assert_no_email_addresses(&capture.text());
    }

    #[tokio::test]
    async fn verification_email_is_not_resent_after_a_server_error() {
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        Mock::given(method("POST"))
            .and(path(JOBS))
            .respond_with(ResponseTemplate::new(503).set_body_string(ADDRESS))
            .expect(1)
            .mount(&server)
            .await;
        let err = testing::client(&server)
            .send_verification_email("auth0|abc", None, &deadline())
            .await
            .unwrap_err();
        assert_eq!(
            (err.call, &err.kind),
            (
                Call::SendVerificationEmail,
                &ErrorKind::Server { status: 503 }
            )
        );
        testing::assert_clean(&format!("{err} {err:?}"));
    }

    #[tokio::test]
    async fn verification_email_is_not_resent_after_a_timeout() {
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        Mock::given(method("POST"))
            .and(path(JOBS))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(job_json())
                    .set_delay(Duration::from_millis(1_000)),
            )
            .expect(1)
            .mount(&server)
            .await;
        let mut config = testing::config(&server);
        config.timeout = Duration::from_millis(200);
        let started = Instant::now();
        let err = crate::Auth0Client::new(config)
            .unwrap()
            .send_verification_email("auth0|abc", None, &deadline())
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
        assert!(started.elapsed() < Duration::from_millis(800));
    }

    #[tokio::test]
    async fn verification_email_waits_out_a_rate_limit() {
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        Mock::given(method("POST"))
            .and(path(JOBS))
            .respond_with(ResponseTemplate::new(429))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(JOBS))
            .respond_with(ResponseTemplate::new(201).set_body_json(job_json()))
            .expect(1)
            .mount(&server)
            .await;
        let sent = testing::client(&server)
            .send_verification_email("auth0|abc", None, &deadline())
            .await
            .unwrap();
        assert_eq!(sent, job());
    }

    #[tokio::test]
    async fn sign_out_deletes_sessions_and_refresh_tokens() {
        let (capture, _guard) = Capture::install();
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        for (what, status) in [("sessions", 202), ("refresh-tokens", 204)] {
            Mock::given(method("DELETE"))
                .and(path(format!("/api/v2/users/auth0%7Cabc/{what}")))
                .and(header("authorization", bearer().as_str()))
                .respond_with(ResponseTemplate::new(status))
                .expect(1)
                .mount(&server)
                .await;
        }
        let client = testing::client(&server);
        assert_eq!(
            client.delete_sessions("auth0|abc", &deadline()).await,
            Ok(SignOut::Accepted)
        );
        assert_eq!(
            client.delete_refresh_tokens("auth0|abc", &deadline()).await,
            Ok(SignOut::Accepted)
        );
        assert_no_email_addresses(&capture.text());
    }

    #[tokio::test]
    async fn sign_out_is_retried_on_a_server_error() {
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        Mock::given(method("DELETE"))
            .and(path("/api/v2/users/auth0%7Cabc/refresh-tokens"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path("/api/v2/users/auth0%7Cabc/refresh-tokens"))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        let revoked = testing::client(&server)
            .delete_refresh_tokens("auth0|abc", &deadline())
            .await;
        assert_eq!(revoked, Ok(SignOut::Accepted));
    }

    /// The UNVERIFIED classification of [`SignOut`], for both calls: each answer once, never
    /// retried, and no body text in an error or a log line.
    #[tokio::test]
    async fn not_available_on_plan_is_told_apart_from_a_missing_scope_and_a_missing_user() {
        let (capture, _guard) = Capture::install();
        let not_available = Ok(SignOut::NotAvailableOnPlan);
        let forbidden = |call| {
            Err(Error {
                call,
                kind: ErrorKind::Forbidden,
                error_code: Some("insufficient_scope".into()),
            })
        };
        let not_found = |call| {
            Err(Error {
                call,
                kind: ErrorKind::NotFound,
                error_code: Some("inexistent_user".into()),
            })
        };
        for (call, what) in [
            (Call::DeleteSessions, "sessions"),
            (Call::DeleteRefreshTokens, "refresh-tokens"),
        ] {
            let cases = [
                // No route on this plan.
                (
                    404,
                    json!({"statusCode": 404, "error": "Not Found", "message": "Not Found"}),
                    not_available.clone(),
                ),
                // A plan refusal without a code ("error" "Forbidden" is kept as the code).
                (
                    403,
                    json!({"statusCode": 403, "error": "Forbidden",
                           "message": "This feature is only available on Enterprise plans."}),
                    not_available.clone(),
                ),
                // A plan refusal with some other code.
                (
                    403,
                    json!({"statusCode": 403, "error": "Forbidden",
                           "message": "Please upgrade your subscription to enable this feature.",
                           "errorCode": "operation_not_supported"}),
                    not_available.clone(),
                ),
                // The scope is missing: the operator must fix the grant.
                (
                    403,
                    json!({"statusCode": 403, "error": "Forbidden",
                           "message": format!("Insufficient scope, expected any of: delete:{what} for {ADDRESS}"),
                           "errorCode": "insufficient_scope"}),
                    forbidden(call),
                ),
                // The user is gone.
                (
                    404,
                    json!({"statusCode": 404, "error": "Not Found",
                           "message": format!("The user {ADDRESS} from {IP} does not exist."),
                           "errorCode": "inexistent_user"}),
                    not_found(call),
                ),
            ];
            for (status, body, expected) in cases {
                let server = MockServer::start().await;
                testing::mount_token(&server, TOKEN, 86_400, 1).await;
                Mock::given(method("DELETE"))
                    .and(path(format!("/api/v2/users/auth0%7Cabc/{what}")))
                    .respond_with(ResponseTemplate::new(status).set_body_json(&body))
                    .expect(1)
                    .mount(&server)
                    .await;
                let client = testing::client(&server);
                let got = match call {
                    Call::DeleteSessions => client.delete_sessions("auth0|abc", &deadline()).await,
                    _ => client.delete_refresh_tokens("auth0|abc", &deadline()).await,
                };
                assert_eq!(got, expected, "{what} {status} {body}");
                if let Err(err) = &got {
                    testing::assert_clean(&format!("{err} {err:?}"));
                    assert!(!format!("{err}").contains("Insufficient"), "{err}");
                }
            }
        }
        let logs = capture.text();
        assert_no_email_addresses(&logs);
        testing::assert_clean(&logs);
        assert!(
            logs.contains("not available on this tenant's plan"),
            "{logs}"
        );
        for text in ["Enterprise plans", "upgrade", "Insufficient"] {
            assert!(!logs.contains(text), "{text:?} in {logs}");
        }
    }

    #[tokio::test]
    async fn other_calls_keep_403_and_404_as_errors() {
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        Mock::given(method("GET"))
            .and(path("/api/v2/users/auth0%7Cabc/authentication-methods"))
            .respond_with(ResponseTemplate::new(403).set_body_json(json!({
                "statusCode": 403, "error": "Forbidden",
                "message": "This feature is not available on your plan."
            })))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path("/api/v2/users/auth0%7Cabc/authentication-methods"))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({
                "statusCode": 404, "error": "Not Found", "message": "Not Found"
            })))
            .expect(1)
            .mount(&server)
            .await;
        let client = testing::client(&server);
        let err = client
            .authentication_methods("auth0|abc", &deadline())
            .await
            .unwrap_err();
        assert_eq!(
            (err.call, err.kind),
            (Call::AuthenticationMethods, ErrorKind::Forbidden)
        );
        let err = client
            .delete_authentication_methods("auth0|abc", &deadline())
            .await
            .unwrap_err();
        assert_eq!(
            (err.call, err.kind),
            (Call::DeleteAuthenticationMethods, ErrorKind::NotFound)
        );
    }

    #[tokio::test]
    async fn authentication_methods_are_read_leniently_without_names_or_numbers() {
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        Mock::given(method("GET"))
            .and(path("/api/v2/users/auth0%7Cabc/authentication-methods"))
            .and(header("authorization", bearer().as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                {
                    "id": "totp|dev_0000000000000001",
                    "type": "totp",
                    "confirmed": true,
                    "created_at": "2021-09-23T22:57:30.206Z",
                    "last_auth_at": "2021-09-23T22:57:51.652Z"
                },
                {
                    "id": "phone|dev_0000000000000002",
                    "type": "phone",
                    "confirmed": false,
                    "name": "Jane's phone",
                    "phone_number": "+49 170 0000000",
                    "preferred_authentication_method": "sms",
                    "created_at": "2026-11-20T09:59:00.000Z"
                },
                {"id": "email|dev_3", "type": "email", "email": ADDRESS, "confirmed": null},
                "junk"
            ])))
            .expect(1)
            .mount(&server)
            .await;
        let methods = testing::client(&server)
            .authentication_methods("auth0|abc", &deadline())
            .await
            .unwrap();
        assert_eq!(
            methods,
            vec![
                AuthenticationMethod {
                    id: Some("totp|dev_0000000000000001".into()),
                    type_: Some("totp".into()),
                    confirmed: true,
                    created_at: Some("2021-09-23T22:57:30.206Z".into()),
                    last_auth_at: Some("2021-09-23T22:57:51.652Z".into()),
                },
                AuthenticationMethod {
                    id: Some("phone|dev_0000000000000002".into()),
                    type_: Some("phone".into()),
                    confirmed: false,
                    created_at: Some("2026-11-20T09:59:00.000Z".into()),
                    last_auth_at: None,
                },
                AuthenticationMethod {
                    id: Some("email|dev_3".into()),
                    type_: Some("email".into()),
                    ..AuthenticationMethod::default()
                },
            ]
        );
        let debug = format!("{methods:?}");
        testing::assert_clean(&debug);
        assert!(!debug.contains("+49") && !debug.contains("Jane"), "{debug}");
    }

    #[tokio::test]
    async fn mfa_reset_deletes_the_factors_and_forgets_the_browsers() {
        let server = MockServer::start().await;
        testing::mount_token(&server, TOKEN, 86_400, 1).await;
        Mock::given(method("DELETE"))
            .and(path("/api/v2/users/auth0%7Cabc/authentication-methods"))
            .and(header("authorization", bearer().as_str()))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        let invalidate =
            "/api/v2/users/auth0%7Cabc/multifactor/actions/invalidate-remember-browser";
        // Idempotent in effect: a 5xx is retried.
        Mock::given(method("POST"))
            .and(path(invalidate))
            .respond_with(ResponseTemplate::new(502))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(invalidate))
            .and(header("authorization", bearer().as_str()))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        let client = testing::client(&server);
        client
            .delete_authentication_methods("auth0|abc", &deadline())
            .await
            .unwrap();
        client
            .invalidate_remember_browser("auth0|abc", &deadline())
            .await
            .unwrap();
        // No body on the POST.
        let posts: Vec<_> = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == invalidate)
            .collect();
        assert_eq!(posts.len(), 2);
        assert!(posts.iter().all(|r| r.body.is_empty()));
    }

    #[tokio::test]
    async fn an_empty_or_dot_user_id_sends_nothing() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(204))
            .expect(0)
            .mount(&server)
            .await;
        let client = testing::client(&server);
        let d = deadline();
        for id in ["", ".", ".."] {
            let errors = [
                client.delete_sessions(id, &d).await.map(drop),
                client.delete_refresh_tokens(id, &d).await.map(drop),
                client.authentication_methods(id, &d).await.map(drop),
                client.delete_authentication_methods(id, &d).await,
                client.invalidate_remember_browser(id, &d).await,
            ];
            for err in errors {
                assert_eq!(err.unwrap_err().kind, ErrorKind::InvalidInput, "{id:?}");
            }
        }
        let err = client
            .send_verification_email("", None, &d)
            .await
            .unwrap_err();
        assert_eq!(
            (err.call, err.kind),
            (Call::SendVerificationEmail, ErrorKind::InvalidInput)
        );
    }
}
