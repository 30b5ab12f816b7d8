//! Request plumbing shared by `dixa-get-user` and `dixa-patch-user`: route segments, query
//! parameters, body reading with a size cap, the CORS-on-every-response wrapper, response
//! helpers, the invocation deadline and the agent reference taken from the look-up query.
//!
//! # Paths
//! [`path_segments`] splits the request path into percent-decoded segments, empty ones
//! dropped. Handlers match the **tail** of that list (`[.., "lookup"]`,
//! `[.., "users", user_id, action]`), so the same code routes
//!
//! - a REST API event, whose path `lambda_http` prefixes with the stage (`/Prod/users/...`),
//!   or not when `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set;
//! - a custom domain with a base path mapping (`/dixa/users/...`);
//! - an HTTP API or Function URL event (`cargo lambda watch`).
//!
//! REST APIs and Function URLs deliver the path still percent-encoded (`auth0%7C123`), HTTP
//! APIs decoded; decoding `auth0|123` again leaves it unchanged. A malformed escape (`%G1`,
//! `%E9` alone) makes the path unroutable (`None`), never a panic.
//!
//! # Query parameters
//! API Gateway decodes query values before Lambda sees them; [`query_param`] reads them from
//! the event (`multiValueQueryStringParameters` first, as `lambda_http` does) and takes the
//! first value. `+` is kept as `+` (Dixa sends placeholders URL-encoded, so a plus address
//! arrives as `%2B` and is decoded to `+`).
//!
//! # Bodies
//! [`body_bytes`] refuses anything over the cap with 413 before looking at it; [`json_body`]
//! adds 400 `invalid_json` for a body that is not JSON (an empty body included).

use crate::audit::{AgentRef, agent_ref};
use crate::cors::Cors;
use crate::error::{ApiError, json_response};
use lambda_http::http::{HeaderMap, HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use lambda_support::retry::Deadline;
use std::time::Duration;

/// The largest request body the endpoints read (a change-email body is a few dozen bytes).
pub const MAX_BODY_BYTES: usize = 4 * 1024;

/// The request path as percent-decoded segments, empty segments dropped; `None` when a
/// segment holds a malformed escape or decodes to invalid UTF-8.
pub fn path_segments(req: &Request) -> Option<Vec<String>> {
    req.uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

/// `%XX` escapes decoded (`+` stays `+`); `None` for a malformed escape or invalid UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex_value(*bytes.get(i + 1)?)?;
            let lo = hex_value(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The first value of query parameter `name`, or `None` when absent or blank.
///
/// From the API Gateway event's (already decoded) parameters; a request built without them
/// (a plain `http::Request`) falls back to decoding the URI's query.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    let value = match req.query_string_parameters_ref() {
        Some(params) => params.first(name).map(str::to_owned),
        None => req.uri().query().and_then(|query| {
            query.split('&').find_map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(key)? == name).then(|| percent_decode(value))?
            })
        }),
    };
    value.filter(|v| !v.trim().is_empty())
}

/// The raw body, or 413 `body_too_large` when it is longer than `limit` bytes.
pub fn body_bytes(req: &Request, limit: usize) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > limit {
        Err(ApiError::BodyTooLarge)
    } else {
        Ok(bytes)
    }
}

/// The body as JSON: 413 over `limit`, 400 `invalid_json` when it does not parse (empty
/// included). serde's message is dropped: it can quote the input.
pub fn json_body(req: &Request, limit: usize) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(body_bytes(req, limit)?).map_err(|_| ApiError::InvalidJson)
}

/// 200 with `body` as JSON (and `cache-control: no-store`, see [`json_response`]).
pub fn ok_json(body: &impl serde::Serialize) -> Response<Body> {
    json_response(StatusCode::OK, body)
}

/// An error in the [`ApiError`] shape for a case it has no variant for (e.g. 409
/// `not_database_user`). Code and message are fixed texts, never request data.
pub fn error_json(status: StatusCode, code: &'static str, message: &'static str) -> Response<Body> {
    json_response(status, &crate::error::ErrorBody::new(code, message))
}

/// 405 `method_not_allowed` with the route's `Allow` header (e.g. `"POST, OPTIONS"`).
pub fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = ApiError::MethodNotAllowed.to_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// 502 `upstream_error`, or 503 `upstream_unavailable` when a later retry may succeed
/// (`auth0_client::Error::is_transient`).
pub fn upstream_failure(transient: bool) -> ApiError {
    if transient {
        ApiError::UpstreamUnavailable
    } else {
        ApiError::UpstreamError
    }
}

/// Runs `handler` and adds the CORS headers for the request's `Origin` to whatever it
/// returns ([`Cors::apply`]): success, refusal, 404 and 405 alike, so the card's JavaScript
/// can read every answer. `vary: origin` is always set.
pub async fn with_cors<F, Fut>(cors: &Cors, req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let mut origin = HeaderMap::new();
    if let Some(value) = req.headers().get(header::ORIGIN) {
        origin.insert(header::ORIGIN, value.clone());
    }
    let mut response = handler(req).await;
    cors.apply(&origin, &mut response);
    response
}

/// Whether the request names an `Origin` that is not on the allow-list. A browser page on
/// another origin gets no answer it could read; `dixa-patch-user` also refuses to act for it.
/// No `Origin` at all (a server-side caller, curl) is not foreign: the token decides.
pub fn foreign_origin(cors: &Cors, req: &Request) -> bool {
    req.headers()
        .get(header::ORIGIN)
        .is_some_and(|origin| !cors.is_allowed(Some(origin)))
}

/// The work deadline: Lambda's deadline less `margin`, and never more than `cap` from now.
/// Without a Lambda context (a request built in a test), `cap` from now.
pub fn deadline(req: &Request, margin: Duration, cap: Duration) -> Deadline {
    let left = req
        .lambda_context_ref()
        .map(|ctx| Deadline::from_epoch_millis(ctx.deadline, margin).remaining())
        .unwrap_or(cap);
    Deadline::after(left.min(cap))
}

/// The agent reference for a look-up's `agent` query value (`{{agent_email}}`): the
/// [`agent_ref`] of the address, or [`unknown_agent`] when none was sent.
pub fn agent_from_query(value: Option<&str>) -> AgentRef {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(address) => agent_ref(address),
        None => unknown_agent(),
    }
}

/// The reference a token carries when the look-up named no agent: `agent_ref("")`
/// (`e3b0c44298fc1c14`, the SHA-256 of nothing). Audit lines leave `agent` out instead.
pub fn unknown_agent() -> AgentRef {
    agent_ref("")
}

/// The agent as an audit record takes it: `None` for [`unknown_agent`].
pub fn known_agent(agent: &AgentRef) -> Option<&AgentRef> {
    (*agent != unknown_agent()).then_some(agent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::Method;

    fn request(method: &str, uri: &str) -> lambda_http::http::request::Builder {
        lambda_http::http::Request::builder()
            .method(method)
            .uri(uri)
    }

    fn rest_event(path: &str, stage: &str, query: serde_json::Value) -> Request {
        let event = serde_json::json!({
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": "GET",
            "headers": {"Host": "abc123.execute-api.eu-west-1.amazonaws.com"},
            "multiValueHeaders": {"Host": ["abc123.execute-api.eu-west-1.amazonaws.com"]},
            "queryStringParameters": query,
            "multiValueQueryStringParameters": null,
            "pathParameters": null,
            "requestContext": {"stage": stage, "httpMethod": "GET", "path": format!("/{stage}{path}")},
            "body": null,
            "isBase64Encoded": false,
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn segments_are_decoded_and_empty_ones_dropped() {
        let req = request("POST", "https://x.example/Prod/users/auth0%7C123/block/")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(
            path_segments(&req).unwrap(),
            vec!["Prod", "users", "auth0|123", "block"]
        );
        // A REST event: the stage is added by lambda_http, the id stays encoded until here.
        let req = rest_event("/users/auth0%7C64f0/change_email", "Prod", json_null());
        assert_eq!(
            path_segments(&req).unwrap(),
            vec!["Prod", "users", "auth0|64f0", "change_email"]
        );
        // Upper- and lower-case escapes, multi-byte UTF-8, `+` kept.
        assert_eq!(percent_decode("a%2fb%2F%C3%A9+").unwrap(), "a/b/é+");
    }

    #[test]
    fn malformed_escapes_are_unroutable() {
        for bad in ["%", "%4", "%G1", "%+1", "%E9", "a%zz"] {
            assert_eq!(percent_decode(bad), None, "{bad}");
        }
        let req = request("GET", "https://x.example/users/%E9/block")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(path_segments(&req), None);
    }

    fn json_null() -> serde_json::Value {
        serde_json::Value::Null
    }

    #[test]
    fn query_values_come_from_the_event_decoded() {
        let req = rest_event(
            "/lookup",
            "Prod",
            serde_json::json!({"email": "jane+shop@example.com", "csid": "42", "agent": " "}),
        );
        assert_eq!(
            query_param(&req, "email").as_deref(),
            Some("jane+shop@example.com")
        );
        assert_eq!(query_param(&req, "csid").as_deref(), Some("42"));
        assert_eq!(query_param(&req, "agent"), None, "blank is absent");
        assert_eq!(query_param(&req, "missing"), None);
        // Without the event's parameters: the URI query, decoded, `+` kept.
        let req = request(
            "GET",
            "https://x.example/lookup?csid=7&email=jane%2Bshop%40example.com&flag",
        )
        .body(Body::Empty)
        .unwrap();
        assert_eq!(
            query_param(&req, "email").as_deref(),
            Some("jane+shop@example.com")
        );
        assert_eq!(query_param(&req, "csid").as_deref(), Some("7"));
        assert_eq!(query_param(&req, "flag"), None);
    }

    #[test]
    fn bodies_are_capped_and_parsed() {
        let with = |body: Body| request("POST", "https://x.example/").body(body).unwrap();
        let exact = "x".repeat(MAX_BODY_BYTES);
        assert_eq!(
            body_bytes(&with(Body::Text(exact.clone())), MAX_BODY_BYTES)
                .unwrap()
                .len(),
            MAX_BODY_BYTES
        );
        let over = Body::Binary(vec![b'x'; MAX_BODY_BYTES + 1]);
        assert_eq!(
            body_bytes(&with(over), MAX_BODY_BYTES),
            Err(ApiError::BodyTooLarge)
        );
        assert_eq!(
            json_body(&with(Body::Text(r#"{"email":"a@b.example"}"#.into())), 64).unwrap(),
            serde_json::json!({"email": "a@b.example"})
        );
        for bad in [
            Body::Empty,
            Body::Text("email=x".into()),
            Body::Text("{".into()),
        ] {
            assert_eq!(json_body(&with(bad), 64), Err(ApiError::InvalidJson));
        }
        assert_eq!(
            json_body(&with(Body::Text(format!("\"{exact}\""))), MAX_BODY_BYTES),
            Err(ApiError::BodyTooLarge)
        );
    }

    #[test]
    fn helper_responses_have_the_error_shape() {
        let r = method_not_allowed("POST, OPTIONS");
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()["allow"], "POST, OPTIONS");
        assert_eq!(r.headers()["content-type"], "application/json");
        let r = error_json(
            StatusCode::CONFLICT,
            "no_email",
            "The account has no email.",
        );
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert!(matches!(
            r.body(),
            Body::Text(t) if t == r#"{"error":{"code":"no_email","message":"The account has no email."}}"#
        ));
        assert_eq!(ok_json(&serde_json::json!({"ok": true})).status(), 200);
        assert_eq!(upstream_failure(true), ApiError::UpstreamUnavailable);
        assert_eq!(upstream_failure(false), ApiError::UpstreamError);
    }

    #[tokio::test]
    async fn with_cors_adds_headers_to_every_answer() {
        let cors = Cors::from_list("https://shop.dixa.com").unwrap();
        let req = request("POST", "https://x.example/users/a/block")
            .header("origin", "https://shop.dixa.com")
            .body(Body::Empty)
            .unwrap();
        assert!(!foreign_origin(&cors, &req));
        let response = with_cors(&cors, req, async |req: Request| {
            assert_eq!(req.method(), Method::POST);
            ApiError::NotFound.to_response()
        })
        .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "https://shop.dixa.com"
        );
        assert_eq!(response.headers()["vary"], "origin");

        let req = request("POST", "https://x.example/")
            .header("origin", "https://evil.example")
            .body(Body::Empty)
            .unwrap();
        assert!(foreign_origin(&cors, &req));
        let response = with_cors(&cors, req, async |_| ok_json(&serde_json::json!({}))).await;
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        assert_eq!(response.headers()["vary"], "origin");
        let no_origin = request("POST", "https://x.example/")
            .body(Body::Empty)
            .unwrap();
        assert!(!foreign_origin(&cors, &no_origin));
    }

    #[test]
    fn deadline_is_capped() {
        let req = request("GET", "https://x.example/")
            .body(Body::Empty)
            .unwrap();
        let d = deadline(&req, Duration::from_millis(300), Duration::from_secs(2));
        assert!(d.remaining() <= Duration::from_secs(2));
        assert!(d.remaining() > Duration::from_millis(1_900));
    }

    #[test]
    fn unknown_agent_is_left_out_of_audit_lines() {
        assert_eq!(unknown_agent().as_str(), "e3b0c44298fc1c14");
        assert_eq!(agent_from_query(None), unknown_agent());
        assert_eq!(agent_from_query(Some("  ")), unknown_agent());
        let agent = agent_from_query(Some("Jane.Doe@Shop.Example"));
        assert_eq!(agent, agent_ref("jane.doe@shop.example"));
        assert_eq!(known_agent(&agent), Some(&agent));
        assert_eq!(known_agent(&unknown_agent()), None);
    }
}
