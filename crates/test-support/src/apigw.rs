//! API Gateway REST (v1) proxy events and responses, as Lambda sees them.

use serde_json::{Map, Value, json};

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
