//! Errors: [`ApiError`], what a caller of the endpoints sees (a JSON body and a status), and
//! [`AccessError`], why an access check refused (for the audit record and the log only).
//!
//! Every error body has the same shape:
//!
//! ```json
//! {"error": {"code": "forbidden", "message": "This request is not allowed."}}
//! ```
//!
//! | variant | status | `code` |
//! |---|---|---|
//! | [`ApiError::BadRequest`] | 400 | `bad_request` |
//! | [`ApiError::InvalidEmail`] | 400 | `invalid_email` |
//! | [`ApiError::InvalidJson`] | 400 | `invalid_json` |
//! | [`ApiError::Unauthenticated`] | 401 | `unauthenticated` |
//! | [`ApiError::Forbidden`] | 403 | `forbidden` |
//! | [`ApiError::NotFound`] | 404 | `not_found` |
//! | [`ApiError::MethodNotAllowed`] | 405 | `method_not_allowed` |
//! | [`ApiError::BodyTooLarge`] | 413 | `body_too_large` |
//! | [`ApiError::UpstreamError`] | 502 | `upstream_error` |
//! | [`ApiError::UpstreamUnavailable`] | 503 | `upstream_unavailable` |
//!
//! Messages are fixed texts (`&'static str`), so no address or other request data can end up
//! in a response body by accident. Refusals say nothing about the reason: every failed
//! look-up secret check is the same 401 and every failed action-token check the same 403.

use lambda_http::{
    Body, Response,
    http::{HeaderValue, StatusCode, header},
};

/// An error answered to the caller as `{"error": {"code", "message"}}` with its status.
///
/// Return it as `Ok(err.to_response())` from an HTTP handler: an `Err` from the handler
/// becomes a bare 502 from API Gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiError {
    /// 400 with a fixed explanation chosen by the handler (e.g. "Missing field action.").
    BadRequest(&'static str),
    InvalidEmail,
    InvalidJson,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    BodyTooLarge,
    UpstreamError,
    UpstreamUnavailable,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::InvalidEmail | Self::InvalidJson => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UpstreamError => StatusCode::BAD_GATEWAY,
            Self::UpstreamUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The machine-readable code, stable for the card's JavaScript to switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::InvalidEmail => "invalid_email",
            Self::InvalidJson => "invalid_json",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::BodyTooLarge => "body_too_large",
            Self::UpstreamError => "upstream_error",
            Self::UpstreamUnavailable => "upstream_unavailable",
        }
    }

    /// The human-readable text (what `Display` prints).
    pub fn message(&self) -> &'static str {
        match self {
            Self::BadRequest(text) => text,
            Self::InvalidEmail => "The email address is not valid.",
            Self::InvalidJson => "The request body is not valid JSON.",
            Self::Unauthenticated => "Authentication is required.",
            Self::Forbidden => "This request is not allowed.",
            Self::NotFound => "No such resource.",
            Self::MethodNotAllowed => "This method is not allowed here.",
            Self::BodyTooLarge => "The request body is too large.",
            Self::UpstreamError => "The account service returned an error.",
            Self::UpstreamUnavailable => "The account service is unavailable. Try again shortly.",
        }
    }

    /// The JSON response. A 405 needs an `Allow` header, which the handler adds (it knows
    /// the route's methods).
    pub fn to_response(&self) -> Response<Body> {
        json_response(self.status(), &ErrorBody::new(self.code(), self.message()))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ApiError {}

impl From<ApiError> for Response<Body> {
    fn from(err: ApiError) -> Self {
        err.to_response()
    }
}

/// A JSON response with `content-type: application/json` and `cache-control: no-store`
/// Every error answer's body: `{"error": {"code": ..., "message": ...}}`, fixed texts only.
#[derive(Debug, serde::Serialize)]
pub struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Debug, serde::Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

impl<'a> ErrorBody<'a> {
    pub fn new(code: &'a str, message: &'a str) -> Self {
        Self {
            error: ErrorDetail { code, message },
        }
    }
}

/// (bodies hold account data or refusals; neither may be cached by a browser or proxy).
pub fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response<Body> {
    // Only maps with non-string keys fail to serialise, and no body here has one.
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Why an access check refused. For the audit record ([`AccessError::reason`]) and the log;
/// the caller only ever sees [`AccessError::public`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("look-up secret header missing")]
    SecretMissing,
    #[error("look-up secret header does not match")]
    SecretMismatch,
    #[error("action token missing")]
    TokenMissing,
    #[error("action token malformed")]
    TokenMalformed,
    #[error("action token signature matches no key")]
    TokenBadSignature,
    #[error("action token version unsupported")]
    TokenUnsupportedVersion,
    #[error("action token expired")]
    TokenExpired,
    #[error("action token issued for another user")]
    TokenWrongUser,
    #[error("action token does not allow this action")]
    TokenActionNotAllowed,
}

impl AccessError {
    /// A short machine code for the audit record's `reason` field.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::SecretMissing => "secret_missing",
            Self::SecretMismatch => "secret_mismatch",
            Self::TokenMissing => "token_missing",
            Self::TokenMalformed => "token_malformed",
            Self::TokenBadSignature => "token_bad_signature",
            Self::TokenUnsupportedVersion => "token_unsupported_version",
            Self::TokenExpired => "token_expired",
            Self::TokenWrongUser => "token_wrong_user",
            Self::TokenActionNotAllowed => "token_action_not_allowed",
        }
    }

    /// The one refusal the caller sees: 401 for every look-up secret failure, 403 for every
    /// action-token failure. It never says which check failed.
    pub fn public(&self) -> ApiError {
        match self {
            Self::SecretMissing | Self::SecretMismatch => ApiError::Unauthenticated,
            Self::TokenMissing
            | Self::TokenMalformed
            | Self::TokenBadSignature
            | Self::TokenUnsupportedVersion
            | Self::TokenExpired
            | Self::TokenWrongUser
            | Self::TokenActionNotAllowed => ApiError::Forbidden,
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(err: AccessError) -> Self {
        err.public()
    }
}

/// Defined with the other secret rules in [`crate::secret`]; also named here, where it was first.
pub use crate::secret::WeakSecret;

#[cfg(test)]
mod tests {
    use super::*;

    fn body_json(response: &Response<Body>) -> serde_json::Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            other => panic!("expected a text body, got {other:?}"),
        }
    }

    #[test]
    fn each_api_error_has_its_status_and_exact_body() {
        let cases = [
            (
                ApiError::BadRequest("Missing field action."),
                400,
                "bad_request",
                "Missing field action.",
            ),
            (
                ApiError::InvalidEmail,
                400,
                "invalid_email",
                "The email address is not valid.",
            ),
            (
                ApiError::InvalidJson,
                400,
                "invalid_json",
                "The request body is not valid JSON.",
            ),
            (
                ApiError::Unauthenticated,
                401,
                "unauthenticated",
                "Authentication is required.",
            ),
            (
                ApiError::Forbidden,
                403,
                "forbidden",
                "This request is not allowed.",
            ),
            (ApiError::NotFound, 404, "not_found", "No such resource."),
            (
                ApiError::MethodNotAllowed,
                405,
                "method_not_allowed",
                "This method is not allowed here.",
            ),
            (
                ApiError::BodyTooLarge,
                413,
                "body_too_large",
                "The request body is too large.",
            ),
            (
                ApiError::UpstreamError,
                502,
                "upstream_error",
                "The account service returned an error.",
            ),
            (
                ApiError::UpstreamUnavailable,
                503,
                "upstream_unavailable",
                "The account service is unavailable. Try again shortly.",
            ),
        ];
        for (err, status, code, message) in cases {
            let response = err.to_response();
            assert_eq!(response.status().as_u16(), status, "{err:?}");
            assert_eq!(
                body_json(&response),
                serde_json::json!({"error": {"code": code, "message": message}}),
                "{err:?}"
            );
            // The exact bytes, not only an equal JSON value.
            let expected = format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#);
            assert!(
                matches!(response.body(), Body::Text(t) if *t == expected),
                "{err:?}"
            );
            assert_eq!(response.headers()["content-type"], "application/json");
            assert_eq!(response.headers()["cache-control"], "no-store");
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn every_token_refusal_looks_the_same_to_the_caller() {
        let token_failures = [
            AccessError::TokenMissing,
            AccessError::TokenMalformed,
            AccessError::TokenBadSignature,
            AccessError::TokenUnsupportedVersion,
            AccessError::TokenExpired,
            AccessError::TokenWrongUser,
            AccessError::TokenActionNotAllowed,
        ];
        let first = body_json(&ApiError::from(token_failures[0]).to_response());
        for failure in token_failures {
            let response = ApiError::from(failure).to_response();
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert_eq!(body_json(&response), first);
        }
        for failure in [AccessError::SecretMissing, AccessError::SecretMismatch] {
            assert_eq!(failure.public(), ApiError::Unauthenticated);
        }
        // Reasons are distinct, for the audit trail.
        let mut reasons: Vec<_> = token_failures.iter().map(AccessError::reason).collect();
        reasons.sort_unstable();
        reasons.dedup();
        assert_eq!(reasons.len(), token_failures.len());
    }
}
