//! The proxy event API Gateway (REST API, Lambda proxy integration) sends for one HTTP request
//! on one of the template's routes, as `aws_lambda_events`' own type: the same value the Lambda
//! runtime deserialises on AWS.

use super::topology::{ApiRoute, STACK_NAME};
use base64::Engine;
use lambda_http::aws_lambda_events::{
    apigw::{ApiGatewayProxyRequest, ApiGatewayProxyRequestContext, ApiGatewayRequestIdentity},
    http::{HeaderMap, Method},
    query_map::QueryMap,
};
use percent_encoding::percent_decode_str;
use std::collections::HashMap;

/// One request as API Gateway received it.
pub struct Received<'a> {
    pub method: Method,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub request_id: &'a str,
    pub now_ms: u64,
}

/// The proxy event for `request` on `route`, with the route's decoded `pathParameters`.
pub fn proxy_event(
    route: &ApiRoute,
    path_parameters: HashMap<String, String>,
    request: &Received<'_>,
) -> ApiGatewayProxyRequest {
    let query = query_params(request.query);
    let mut context = ApiGatewayProxyRequestContext::default();
    context.account_id = Some(super::eventbridge::ACCOUNT.to_owned());
    context.apiid = Some("local".to_owned());
    context.resource_id = Some("local".to_owned());
    context.resource_path = Some(route.resource.clone());
    context.stage = Some(STACK_NAME.to_owned());
    context.http_method = request.method.clone();
    context.path = Some(format!("/{STACK_NAME}{}", request.path));
    context.protocol = Some("HTTP/1.1".to_owned());
    context.request_id = Some(request.request_id.to_owned());
    context.request_time_epoch = i64::try_from(request.now_ms).unwrap_or(i64::MAX);
    let mut identity = ApiGatewayRequestIdentity::default();
    identity.source_ip = Some("127.0.0.1".to_owned());
    identity.user_agent = request
        .headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    context.identity = identity;

    let (body, is_base64_encoded) = match request.body {
        [] => (None, false),
        bytes => match std::str::from_utf8(bytes) {
            Ok(text) => (Some(text.to_owned()), false),
            Err(_) => (
                Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
                true,
            ),
        },
    };
    let mut event = ApiGatewayProxyRequest::default();
    event.resource = Some(route.resource.clone());
    event.path = Some(request.path.to_owned());
    event.http_method = request.method.clone();
    event.headers = request.headers.clone();
    event.multi_value_headers = request.headers.clone();
    event.query_string_parameters = QueryMap::from(query.clone());
    event.multi_value_query_string_parameters = QueryMap::from(query);
    event.path_parameters = path_parameters;
    event.request_context = context;
    event.body = body;
    event.is_base64_encoded = is_base64_encoded;
    event
}

/// `a=1&b=x%40y&a=2` → multi-value map of decoded values (`+` kept: API Gateway keeps it).
fn query_params(query: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        out.entry(decode(k)).or_default().push(decode(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_as_api_gateway_sends_it() {
        let route = ApiRoute {
            method: "GET".into(),
            resource: "/lookup".into(),
            function: "dixa-get-user".into(),
        };
        let mut headers = HeaderMap::new();
        headers.insert("user-agent", "curl/8".parse().unwrap());
        headers.append("x-multi", "1".parse().unwrap());
        headers.append("x-multi", "2".parse().unwrap());
        let received = Received {
            method: Method::GET,
            path: "/lookup",
            query: "email=jane%2Bshop%40example.com&csid=1&csid=2&plus=a+b",
            headers: &headers,
            body: b"",
            request_id: "req-1",
            now_ms: 1_795_168_692_000,
        };
        let event = proxy_event(&route, HashMap::new(), &received);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["resource"], "/lookup");
        assert_eq!(json["httpMethod"], "GET");
        assert_eq!(json["headers"]["user-agent"], "curl/8");
        assert_eq!(
            json["multiValueHeaders"]["x-multi"],
            serde_json::json!(["1", "2"])
        );
        assert_eq!(
            json["queryStringParameters"]["email"],
            "jane+shop@example.com"
        );
        assert_eq!(json["queryStringParameters"]["plus"], "a+b");
        assert_eq!(
            json["multiValueQueryStringParameters"]["csid"],
            serde_json::json!(["1", "2"])
        );
        assert_eq!(json["requestContext"]["requestId"], "req-1");
        assert_eq!(json["requestContext"]["stage"], STACK_NAME);
        assert_eq!(json["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(json["isBase64Encoded"], false);
        assert!(json["body"].is_null());

        let binary = Received {
            body: &[0xff, 0x00],
            method: Method::POST,
            ..received
        };
        let event = proxy_event(&route, HashMap::new(), &binary);
        assert!(event.is_base64_encoded);
        assert_eq!(event.body.as_deref(), Some("/wA="));
    }
}
