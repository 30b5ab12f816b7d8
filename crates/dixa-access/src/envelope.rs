//! The Lambda event loop of the HTTP functions: API Gateway's event → [`Request`] → handler →
//! API Gateway's response JSON, with a JSON answer for every invocation.
//!
//! `lambda_http::run` converts the event with `expect`/`unwrap` inside: an envelope it cannot
//! convert panics there (`isBase64Encoded: true` with a body that is not base64, an empty
//! `multiValueQueryStringParameters` list, a `Host` or `X-Forwarded-Proto` that makes no URL,
//! a query longer than `http::Uri` allows). The runtime catches the panic and fails the
//! invocation, and API Gateway answers 502 with a non-JSON body. Here the event is read as raw
//! JSON and converted by the same `lambda_http` code inside `catch_unwind`; anything that does
//! not convert is answered 400 `bad_request` in the shape of the event's API (REST or HTTP
//! API), with one log line that names no request data.

use crate::error::ApiError;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use lambda_http::request::{LambdaRequest, RequestOrigin};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Map, Value, json, value::RawValue};
use std::convert::Infallible;

/// The answer to an envelope that cannot be made into a request.
pub const UNREADABLE: ApiError = ApiError::BadRequest("The request cannot be read.");

/// Which API Gateway response shape the caller expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// REST API (payload 1.0): headers in `multiValueHeaders`.
    Rest,
    /// HTTP API / Function URL (payload 2.0): headers in `headers`, cookies apart.
    Http,
}

/// Why an event is not a request. Names no request data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the event is not an API Gateway request")]
    NotApiGateway,
    #[error("lambda_http cannot convert this API Gateway request")]
    Unconvertible,
}

/// The event as a request, or why not (with the shape to answer in).
pub fn convert(event: &str) -> Result<(Shape, Request), (Shape, EnvelopeError)> {
    let lambda_request: LambdaRequest =
        serde_json::from_str(event).map_err(|_| (Shape::Rest, EnvelopeError::NotApiGateway))?;
    let shape = match lambda_request.request_origin() {
        RequestOrigin::ApiGatewayV2 => Shape::Http,
        _ => Shape::Rest,
    };
    // The default hook would print the panic as a plain-text line; the outcome is logged
    // below as JSON instead. The function is single-threaded, so nothing else runs meanwhile.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let converted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Request::from(lambda_request)
    }));
    std::panic::set_hook(hook);
    converted
        .map(|request| (shape, request))
        .map_err(|_| (shape, EnvelopeError::Unconvertible))
}

/// The API Gateway response JSON for `response`, as `lambda_http` writes it.
pub fn to_event_response(shape: Shape, response: Response<Body>) -> Value {
    use base64::Engine;
    let (parts, body) = response.into_parts();
    let (is_base64, body) = match body {
        Body::Text(text) => (false, Some(text)),
        Body::Binary(bytes) => (
            true,
            Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
        _ => (false, None),
    };
    let mut out = json!({
        "statusCode": parts.status.as_u16(),
        "body": body,
        "isBase64Encoded": is_base64,
    });
    let mut single = Map::new();
    let mut multi = Map::new();
    for name in parts.headers.keys() {
        let values: Vec<&str> = parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        match shape {
            Shape::Rest => multi.insert(name.as_str().to_owned(), json!(values)),
            Shape::Http => single.insert(name.as_str().to_owned(), json!(values.join(","))),
        };
    }
    out["headers"] = Value::Object(single);
    out["multiValueHeaders"] = Value::Object(multi);
    if shape == Shape::Http {
        out["cookies"] = json!([]);
    }
    out
}

/// One invocation: convert, run `handler` (with the Lambda context attached), answer.
pub async fn answer<F, Fut>(handler: &F, event: LambdaEvent<Box<RawValue>>) -> Value
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    match convert(event.payload.get()) {
        Ok((shape, request)) => {
            let response = handler(request.with_lambda_context(event.context)).await;
            to_event_response(shape, response)
        }
        Err((shape, e)) => {
            tracing::warn!(error = %e, status = 400, "request refused before routing");
            to_event_response(shape, UNREADABLE.to_response())
        }
    }
}

/// Runs `handler` for every invocation, as `lambda_http::run` does, answering 400 JSON to an
/// envelope that cannot be converted.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            Ok::<_, Infallible>(answer(handler, event).await)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rest(overrides: Value) -> String {
        let mut event = json!({
            "resource": "/lookup", "path": "/lookup", "httpMethod": "GET",
            "headers": {"Host": "abc123.execute-api.eu-west-1.amazonaws.com"},
            "multiValueHeaders": {"Host": ["abc123.execute-api.eu-west-1.amazonaws.com"]},
            "queryStringParameters": {"email": "jane@example.com"},
            "multiValueQueryStringParameters": {"email": ["jane@example.com"]},
            "pathParameters": null, "stageVariables": null,
            "requestContext": {"stage": "Prod", "httpMethod": "GET", "path": "/Prod/lookup",
                               "accountId": "1", "apiId": "abc123", "resourcePath": "/lookup"},
            "body": null, "isBase64Encoded": false
        });
        for (k, v) in overrides.as_object().unwrap() {
            event[k] = v.clone();
        }
        event.to_string()
    }

    /// The envelopes `lambda_http` panics on (upstream), one per cause.
    pub fn unconvertible() -> Vec<(&'static str, String)> {
        let long = "a".repeat(70_000);
        vec![
            (
                "invalid base64 body",
                rest(json!({"httpMethod": "POST", "body": "not base64!", "isBase64Encoded": true})),
            ),
            (
                "empty multi-value query list",
                rest(json!({"multiValueQueryStringParameters": {"email": []}})),
            ),
            (
                "unparsable Host",
                rest(
                    json!({"headers": {"Host": "bad host"}, "multiValueHeaders": {"Host": ["bad host"]}}),
                ),
            ),
            (
                "unparsable X-Forwarded-Proto",
                rest(json!({
                    "headers": {"Host": "abc123.example", "X-Forwarded-Proto": "not a scheme"},
                    "multiValueHeaders": {"Host": ["abc123.example"], "X-Forwarded-Proto": ["not a scheme"]}
                })),
            ),
            (
                "query over 64 KB",
                rest(json!({
                    "queryStringParameters": {"q": long},
                    "multiValueQueryStringParameters": {"q": [long]}
                })),
            ),
        ]
    }

    #[test]
    fn lambda_http_panics_on_these_and_convert_does_not() {
        for (what, event) in unconvertible() {
            // Upstream: the conversion panics.
            let panicked = std::panic::catch_unwind(|| lambda_http::request::from_str(&event));
            assert!(panicked.is_err(), "{what}: lambda_http no longer panics");
            // Here: a clean refusal in the REST shape.
            assert_eq!(
                convert(&event).map(|(s, _)| s),
                Err((Shape::Rest, EnvelopeError::Unconvertible)),
                "{what}"
            );
        }
        let (shape, request) = convert(&rest(json!({}))).unwrap();
        assert_eq!(shape, Shape::Rest);
        assert_eq!(request.uri().path(), "/Prod/lookup");
        assert_eq!(
            convert(r#"{"hello": "world"}"#).map(|(s, _)| s),
            Err((Shape::Rest, EnvelopeError::NotApiGateway))
        );
    }

    #[test]
    fn responses_take_the_shape_of_the_api() {
        let response = || {
            let mut r = UNREADABLE.to_response();
            r.headers_mut().append(
                "vary",
                lambda_http::http::HeaderValue::from_static("origin"),
            );
            r
        };
        let rest = to_event_response(Shape::Rest, response());
        assert_eq!(rest["statusCode"], 400);
        assert_eq!(rest["isBase64Encoded"], false);
        assert_eq!(
            rest["multiValueHeaders"]["content-type"],
            json!(["application/json"])
        );
        assert_eq!(rest["headers"], json!({}));
        let body: Value = serde_json::from_str(rest["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "bad_request");
        let http = to_event_response(Shape::Http, response());
        assert_eq!(http["headers"]["content-type"], "application/json");
        assert_eq!(http["multiValueHeaders"], json!({}));
        let binary = to_event_response(Shape::Rest, Response::new(Body::Binary(vec![0xff, 0x00])));
        assert_eq!(binary["isBase64Encoded"], true);
        assert_eq!(binary["body"], "/wA=");
    }
}
