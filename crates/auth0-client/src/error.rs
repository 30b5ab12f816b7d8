//! Why a call failed, and which call it was.
//!
//! Auth0 error bodies can echo the input (an address, a user id, an IP), so no body text ever
//! reaches an error: only the status class and, when present, Auth0's fixed `errorCode` (or,
//! from the Authentication API, the OAuth `error` code), and only when it looks like a code.
//! reqwest's own error messages name the URL (which holds the address or user id): they are
//! classified, never quoted.

use std::{fmt, time::Duration};

/// The API call, named in errors and log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// `POST /oauth/token` (client credentials).
    Token,
    /// `GET /api/v2/users-by-email`.
    UsersByEmail,
    /// `GET /api/v2/users/{id}`.
    GetUser,
    /// `PATCH /api/v2/users/{id}`.
    PatchUser,
    /// `GET /api/v2/user-blocks/{id}`.
    GetUserBlocks,
    /// `GET /api/v2/user-blocks?identifier=`.
    GetUserBlocksByIdentifier,
    /// `DELETE /api/v2/user-blocks/{id}`.
    DeleteUserBlocks,
    /// `DELETE /api/v2/user-blocks?identifier=`.
    DeleteUserBlocksByIdentifier,
    /// `POST /dbconnections/change_password`.
    ChangePassword,
    /// `GET /api/v2/users/{id}/logs`.
    UserLogs,
    /// `POST /api/v2/jobs/verification-email`.
    SendVerificationEmail,
    /// `DELETE /api/v2/users/{id}/sessions`.
    DeleteSessions,
    /// `DELETE /api/v2/users/{id}/refresh-tokens`.
    DeleteRefreshTokens,
    /// `GET /api/v2/users/{id}/authentication-methods`.
    AuthenticationMethods,
    /// `DELETE /api/v2/users/{id}/authentication-methods`.
    DeleteAuthenticationMethods,
    /// `POST /api/v2/users/{id}/multifactor/actions/invalidate-remember-browser`.
    InvalidateRememberBrowser,
}

impl Call {
    pub fn as_str(self) -> &'static str {
        match self {
            Call::Token => "oauth-token",
            Call::UsersByEmail => "users-by-email",
            Call::GetUser => "get-user",
            Call::PatchUser => "patch-user",
            Call::GetUserBlocks => "get-user-blocks",
            Call::GetUserBlocksByIdentifier => "get-user-blocks-by-identifier",
            Call::DeleteUserBlocks => "delete-user-blocks",
            Call::DeleteUserBlocksByIdentifier => "delete-user-blocks-by-identifier",
            Call::ChangePassword => "change-password",
            Call::UserLogs => "user-logs",
            Call::SendVerificationEmail => "send-verification-email",
            Call::DeleteSessions => "delete-sessions",
            Call::DeleteRefreshTokens => "delete-refresh-tokens",
            Call::AuthenticationMethods => "authentication-methods",
            Call::DeleteAuthenticationMethods => "delete-authentication-methods",
            Call::InvalidateRememberBrowser => "invalidate-remember-browser",
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed call: which one, why, and Auth0's error code when it sent one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Auth0 {call} failed: {kind}{}", code_suffix(.error_code))]
pub struct Error {
    pub call: Call,
    pub kind: ErrorKind,
    /// Auth0's `errorCode` (e.g. `inexistent_user`, `invalid_body`) or OAuth `error`
    /// (e.g. `access_denied`): a fixed code, kept only if it is `[A-Za-z][A-Za-z0-9_.]{0,63}`
    /// (so never an address, an IP or a user id).
    pub error_code: Option<String>,
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_deref()
        .map(|c| format!(" (errorCode {c})"))
        .unwrap_or_default()
}

impl Error {
    pub(crate) fn new(call: Call, kind: ErrorKind) -> Self {
        Self {
            call,
            kind,
            error_code: None,
        }
    }

    /// Worth trying again later (another invocation, a redelivery): rate limit, 5xx, timeout,
    /// network, or a token fetch that failed for one of those.
    pub fn is_transient(&self) -> bool {
        self.kind.is_transient()
    }

    /// `Some(wait)` when Auth0 said when the rate limit resets.
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.kind {
            ErrorKind::RateLimited { retry_after } => *retry_after,
            ErrorKind::Token(inner) => match **inner {
                ErrorKind::RateLimited { retry_after } => retry_after,
                _ => None,
            },
            _ => None,
        }
    }
}

/// Why a call failed. Display strings carry classes and status codes only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// 429, and waiting for the reset did not fit the deadline, the wait cap or the attempts.
    RateLimited {
        /// Until `x-ratelimit-reset` (or `Retry-After`), when the response said.
        retry_after: Option<Duration>,
    },
    /// 401 with a freshly fetched token (or the token endpoint refused the credentials).
    Unauthorized,
    /// 403: typically a missing scope (`read:users`, `update:users`).
    Forbidden,
    /// 404 where "absent" is not an ordinary answer.
    NotFound,
    /// Any other 4xx (not retried).
    BadRequest { status: u16 },
    /// 5xx, after the retries the call allows.
    Server { status: u16 },
    /// Any other status (e.g. a 3xx: redirects are not followed).
    UnexpectedStatus { status: u16 },
    /// No complete answer within the per-attempt timeout or the caller's deadline.
    Timeout,
    /// Could not connect, or the connection failed.
    Transport,
    /// No access token could be obtained; the inner kind says why.
    Token(Box<ErrorKind>),
    /// A 2xx whose body is not what the API documents.
    Decode,
    /// An empty user id or identifier (it would change which endpoint is called), or a body
    /// that cannot be encoded: nothing was sent.
    InvalidInput,
}

impl ErrorKind {
    pub fn is_transient(&self) -> bool {
        match self {
            ErrorKind::RateLimited { .. }
            | ErrorKind::Server { .. }
            | ErrorKind::Timeout
            | ErrorKind::Transport => true,
            ErrorKind::Token(inner) => inner.is_transient(),
            ErrorKind::Unauthorized
            | ErrorKind::Forbidden
            | ErrorKind::NotFound
            | ErrorKind::BadRequest { .. }
            | ErrorKind::UnexpectedStatus { .. }
            | ErrorKind::Decode
            | ErrorKind::InvalidInput => false,
        }
    }

    /// The HTTP status behind this kind, for log lines.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            ErrorKind::RateLimited { .. } => Some(429),
            ErrorKind::Unauthorized => Some(401),
            ErrorKind::Forbidden => Some(403),
            ErrorKind::NotFound => Some(404),
            ErrorKind::BadRequest { status }
            | ErrorKind::Server { status }
            | ErrorKind::UnexpectedStatus { status } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::RateLimited {
                retry_after: Some(d),
            } => write!(f, "rate limited (HTTP 429), resets in {} ms", d.as_millis()),
            ErrorKind::RateLimited { retry_after: None } => f.write_str("rate limited (HTTP 429)"),
            ErrorKind::Unauthorized => f.write_str("unauthorized (HTTP 401)"),
            ErrorKind::Forbidden => f.write_str("forbidden (HTTP 403), check the scopes"),
            ErrorKind::NotFound => f.write_str("not found (HTTP 404)"),
            ErrorKind::BadRequest { status } => write!(f, "request rejected (HTTP {status})"),
            ErrorKind::Server { status } => write!(f, "server error (HTTP {status})"),
            ErrorKind::UnexpectedStatus { status } => write!(f, "unexpected HTTP {status}"),
            ErrorKind::Timeout => f.write_str("timed out"),
            ErrorKind::Transport => f.write_str("network error"),
            ErrorKind::Token(inner) => write!(f, "could not get an access token: {inner}"),
            ErrorKind::Decode => f.write_str("response body not as documented"),
            ErrorKind::InvalidInput => f.write_str("invalid input, nothing sent"),
        }
    }
}

/// The HTTP client could not be built (TLS backend initialisation).
#[derive(Debug, thiserror::Error)]
#[error("could not build the Auth0 HTTP client")]
pub struct BuildError(#[source] pub(crate) reqwest::Error);

/// `errorCode`, else `error`, from an error body, if it looks like a fixed code.
pub(crate) fn error_code(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["errorCode", "error"]
        .into_iter()
        .filter_map(|key| json.get(key)?.as_str())
        .find(|c| is_code(c))
        .map(str::to_owned)
}

fn is_code(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_code_shaped_values_are_kept() {
        let code = |body: &str| error_code(body.as_bytes());
        assert_eq!(
            code(
                r#"{"statusCode":404,"error":"Not Found","message":"The user does not exist.","errorCode":"inexistent_user"}"#
            ),
            Some("inexistent_user".into())
        );
        assert_eq!(
            code(r#"{"error":"access_denied","error_description":"Unauthorized"}"#),
            Some("access_denied".into())
        );
        // A reason phrase, an echoed address, an IP, a user id: none is a code.
        assert_eq!(code(r#"{"error":"Bad Request","message":"x"}"#), None);
        assert_eq!(code(r#"{"errorCode":"jane+shop@example.com"}"#), None);
        assert_eq!(code(r#"{"errorCode":"1.2.3.4"}"#), None);
        assert_eq!(code(r#"{"errorCode":"2001:db8::1"}"#), None);
        assert_eq!(
            code(r#"{"error":"bad.connection"}"#),
            Some("bad.connection".into())
        );
        assert_eq!(code(r#"{"errorCode":"auth0|abc"}"#), None);
        assert_eq!(
            code(&format!(r#"{{"errorCode":"{}"}}"#, "a".repeat(65))),
            None
        );
        assert_eq!(code("not json jane@example.com"), None);
    }

    #[test]
    fn display_names_the_call_and_the_class() {
        let mut e = Error::new(Call::GetUser, ErrorKind::NotFound);
        assert_eq!(e.to_string(), "Auth0 get-user failed: not found (HTTP 404)");
        e.error_code = Some("inexistent_user".into());
        assert_eq!(
            e.to_string(),
            "Auth0 get-user failed: not found (HTTP 404) (errorCode inexistent_user)"
        );
        let e = Error::new(
            Call::UsersByEmail,
            ErrorKind::Token(Box::new(ErrorKind::Server { status: 503 })),
        );
        assert_eq!(
            e.to_string(),
            "Auth0 users-by-email failed: could not get an access token: server error (HTTP 503)"
        );
        assert!(e.is_transient());
    }

    #[test]
    fn transient_classes() {
        use ErrorKind::*;
        for k in [
            RateLimited { retry_after: None },
            Server { status: 500 },
            Timeout,
            Transport,
            Token(Box::new(Timeout)),
        ] {
            assert!(k.is_transient(), "{k}");
        }
        for k in [
            Unauthorized,
            Forbidden,
            NotFound,
            BadRequest { status: 400 },
            UnexpectedStatus { status: 302 },
            Decode,
            InvalidInput,
            Token(Box::new(Unauthorized)),
        ] {
            assert!(!k.is_transient(), "{k}");
        }
    }

    #[test]
    fn retry_after_is_exposed_also_through_a_token_failure() {
        let d = Some(Duration::from_secs(3));
        let e = Error::new(Call::GetUser, ErrorKind::RateLimited { retry_after: d });
        assert_eq!(e.retry_after(), d);
        let e = Error::new(
            Call::GetUser,
            ErrorKind::Token(Box::new(ErrorKind::RateLimited { retry_after: d })),
        );
        assert_eq!(e.retry_after(), d);
        assert_eq!(
            Error::new(Call::GetUser, ErrorKind::Timeout).retry_after(),
            None
        );
    }
}
