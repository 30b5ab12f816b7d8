//! API Gateway REST (v1) proxy events and responses, as Lambda sees them: any event
//! ([`rest_event`]), the Dixa routes' ([`lookup_event`], [`action_event`]), and what a function
//! run as Lambda runs it answers ([`invoke`]).

use crate::dixa::{AGENT, CSID, ORIGIN};
use crate::runtime::{LambdaProcess, Outcome};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// The resource of Dixa's look-up route.
pub const LOOKUP_RESOURCE: &str = "/lookup";
/// The resource of the card's action route.
pub const ACTION_RESOURCE: &str = "/users/{user_id}/{action}";

/// An API Gateway REST (v1) proxy event, stage `Prod`, as API Gateway sends it to Lambda:
/// headers in both `headers` and `multiValueHeaders`, query values decoded.
pub fn rest_event(
    resource: &str,
    http_method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Value {
    let mut single = Map::new();
    let mut multi = Map::new();
    for (k, v) in [("Host", "abc123.execute-api.eu-west-1.amazonaws.com")]
        .iter()
        .chain(headers)
    {
        single.insert((*k).to_owned(), json!(v));
        multi.insert((*k).to_owned(), json!([v]));
    }
    let (qs, mqs) = if query.is_empty() {
        (Value::Null, Value::Null)
    } else {
        (
            query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), json!(v)))
                .collect(),
            query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), json!([v])))
                .collect(),
        )
    };
    json!({
        "resource": resource,
        "path": path,
        "httpMethod": http_method,
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": qs,
        "multiValueQueryStringParameters": mqs,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "resourcePath": resource,
            "stage": "Prod", "httpMethod": http_method, "path": format!("/Prod{path}"),
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "52.17.249.106"}
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// A look-up as Dixa sends it: `GET /lookup` with its three placeholders (`email`, `csid`
/// [`CSID`], `agent` [`AGENT`]) and, when given, the secret in `x-dixa-card-secret`.
pub fn lookup_event(email: &str, secret: Option<&str>) -> Value {
    let headers: Vec<(&str, &str)> = secret
        .map(|s| vec![("x-dixa-card-secret", s)])
        .unwrap_or_default();
    rest_event(
        LOOKUP_RESOURCE,
        "GET",
        "/lookup",
        &[("email", email), ("csid", CSID), ("agent", AGENT)],
        &headers,
        None,
    )
}

/// A button click on the card as its script sends it: `POST /users/{user_encoded}/{action}`
/// from [`ORIGIN`], the action token as bearer, a JSON content type, and `body`.
pub fn action_event(user_encoded: &str, action: &str, token: &str, body: Option<&str>) -> Value {
    let auth = format!("Bearer {token}");
    rest_event(
        ACTION_RESOURCE,
        "POST",
        &format!("/users/{user_encoded}/{action}"),
        &[],
        &[
            ("Origin", ORIGIN),
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body,
    )
}

/// Invokes `lambda` with an API Gateway event and returns its proxy response: the status, the
/// headers ([`response_headers`]) and the whole response JSON ([`response_body`] parses the
/// body). Panics on a Lambda error: an HTTP function answers every request.
pub async fn invoke(
    lambda: &mut LambdaProcess,
    event: Value,
    timeout: Duration,
) -> (u64, Value, Value) {
    match lambda.invoke(event, timeout).await {
        Outcome::Response(r) => (
            r["statusCode"].as_u64().expect("a statusCode"),
            response_headers(&r),
            r,
        ),
        other => panic!("a Lambda error instead of an HTTP response: {other:?}"),
    }
}

/// The body of an API Gateway proxy response, parsed as JSON.
pub fn response_body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().expect("a text body")).expect("a JSON body")
}

/// The headers of an API Gateway REST proxy response, lower-case name → first value.
/// `lambda_http` puts them in `multiValueHeaders` (and leaves `headers` empty, as API Gateway
/// would otherwise merge the two into duplicates).
pub fn response_headers(response: &Value) -> Value {
    let mut headers = Map::new();
    for field in ["headers", "multiValueHeaders"] {
        for (name, value) in response[field].as_object().into_iter().flatten() {
            let first = value.as_array().and_then(|a| a.first()).unwrap_or(value);
            headers.insert(name.to_ascii_lowercase(), first.clone());
        }
    }
    Value::Object(headers)
}
