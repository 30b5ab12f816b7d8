//! An API Gateway (REST API, Lambda proxy integration) stand-in for the template's `Api` routes.
//!
//! A real HTTP request is matched against the template's routes (`Path` with `{param}`
//! segments, `Method`), turned into the proxy event API Gateway would send (`resource`, `path`,
//! `httpMethod`, single and multi-value headers and query parameters, decoded
//! `pathParameters`, `requestContext` with a request id and the source IP, the body) and given to
//! the function through `lambda_http`'s own conversion, exactly as the Lambda runtime does.
//! The function's `Response` is sent back as API Gateway would (plus `x-amzn-RequestId`).
//!
//! As API Gateway: an unknown path or method answers 403 `Missing Authentication Token`; a
//! function error or timeout answers 502 `Internal server error`.

use super::{
    hops::{NewHop, What},
    shared::Shared,
    util::{now_ms, redact_path},
};
use crate::aws::apigw::{Received, proxy_event};
use axum::{
    Json, Router,
    body::{Body, to_bytes},
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// The Dixa card's secrets, generated at start-up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DixaSecrets {
    pub lookup_header: String,
    pub lookup_secret: String,
    pub action_token_key: String,
    pub allowed_origin: String,
    /// The API's own origin, also allowed: the card preview's same-origin mode.
    #[serde(default)]
    pub preview_origin: Option<String>,
    /// `DIXA_ALLOW_NULL_ORIGIN`: on locally, so the preview's sandboxed iframe works.
    #[serde(default)]
    pub allow_null_origin: bool,
}

impl DixaSecrets {
    /// `api_url`: the local API's base URL, whose origin the card preview may call from.
    pub(crate) fn generate(api_url: Option<&str>) -> Self {
        Self {
            lookup_header: "x-dixa-card-secret".into(),
            lookup_secret: sandboxes::text::random_hex(32),
            action_token_key: sandboxes::text::random_hex(32),
            allowed_origin: "https://local.dixa.example".into(),
            preview_origin: api_url.map(str::to_owned),
            allow_null_origin: true,
        }
    }
}

/// The client id whose password-reset templates dixa-patch-user asks Auth0 to use locally.
pub const RESET_CLIENT_ID: &str = "local-storefront-app";
pub const RESET_CONNECTION: &str = "Username-Password-Authentication";
/// Largest request body taken (API Gateway's limit is 10 MB; the Dixa routes need little).
const MAX_BODY: usize = 1 << 20;

/// The Dixa functions' local settings: generated secrets, the agent UI origin, the reset app.
pub fn dixa_env(d: &DixaSecrets) -> Vec<(String, String)> {
    let origins = match &d.preview_origin {
        Some(preview) => format!("{},{preview}", d.allowed_origin),
        None => d.allowed_origin.clone(),
    };
    [
        ("DIXA_LOOKUP_SECRET", d.lookup_secret.as_str()),
        ("DIXA_ACTION_TOKEN_KEY", d.action_token_key.as_str()),
        ("DIXA_LOOKUP_HEADER", d.lookup_header.as_str()),
        ("DIXA_ALLOWED_ORIGINS", origins.as_str()),
        (
            "DIXA_ALLOW_NULL_ORIGIN",
            if d.allow_null_origin { "true" } else { "false" },
        ),
        ("AUTH0_RESET_CLIENT_ID", RESET_CLIENT_ID),
        ("AUTH0_RESET_CONNECTION", RESET_CONNECTION),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The template's routes, plus the Dixa card preview ([`crate::dixa_card`]) under `/dixa/card`.
pub(crate) fn router(shared: Arc<Shared>, preview: crate::dixa_card::Preview) -> Router {
    Router::new()
        .fallback(gateway)
        .with_state(shared)
        .merge(crate::dixa_card::routes(preview))
}

fn gateway_error(status: StatusCode, message: &str, request_id: &str) -> Response {
    let mut r = (status, Json(json!({ "message": message }))).into_response();
    if let Ok(v) = request_id.parse() {
        r.headers_mut().insert("x-amzn-requestid", v);
    }
    r.headers_mut().insert(
        "x-amzn-errortype",
        axum::http::HeaderValue::from_static(if status == StatusCode::FORBIDDEN {
            "MissingAuthenticationTokenException"
        } else {
            "InternalServerErrorException"
        }),
    );
    r
}

async fn gateway(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let request_id = Uuid::new_v4().to_string();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let routes = &shared.topology.api_routes;
    let route = routes
        .iter()
        .filter(|r| r.method == method || r.method == "ANY")
        .find_map(|r| r.path_parameters(&path).map(|p| (r, p)));
    let Some((route, path_parameters)) = route else {
        return gateway_error(
            StatusCode::FORBIDDEN,
            "Missing Authentication Token",
            &request_id,
        );
    };
    let (parts, body) = req.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return gateway_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            &request_id,
        );
    };
    let event = proxy_event(
        route,
        path_parameters.into_iter().collect(),
        &Received {
            method: parts.method.clone(),
            path: &path,
            query: &query,
            headers: &parts.headers,
            body: &body,
            request_id: &request_id,
            now_ms: now_ms(),
        },
    );
    let shown = if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{query}")
    };
    let function = route.function.clone();
    let hops = &shared.tracker.hops;
    hops.start(NewHop {
        trace: request_id.clone(),
        parent: None,
        id: Some(request_id.clone()),
        what: What::ApiRequest {
            method: method.clone(),
            resource: route.resource.clone(),
            path: redact_path(&shown),
            function: function.clone(),
            request_id: request_id.clone(),
        },
    });
    // As the Lambda runtime does: `lambda_http`'s own conversion of the proxy event.
    let http_request =
        lambda_http::Request::from(lambda_http::request::LambdaRequest::ApiGatewayV1(event));
    let outcome = shared
        .run(
            &function,
            &request_id,
            &request_id,
            &request_id,
            move |c, ctx| Box::pin(async move { c.handler.invoke_http(http_request, ctx).await }),
        )
        .await;
    let response = match outcome {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let bytes: Vec<u8> = match body {
                lambda_http::Body::Empty => Vec::new(),
                lambda_http::Body::Text(t) => t.into_bytes(),
                lambda_http::Body::Binary(b) => b,
                _ => Vec::new(),
            };
            let mut r = Response::from_parts(parts, Body::from(bytes));
            if let Ok(v) = request_id.parse() {
                r.headers_mut().insert("x-amzn-requestid", v);
            }
            r
        }
        Err(d) => {
            hops.push(NewHop {
                trace: request_id.clone(),
                parent: Some(request_id.clone()),
                id: None,
                what: What::failed(&function, &request_id, d, "API Gateway answers 502"),
            });
            gateway_error(
                StatusCode::BAD_GATEWAY,
                "Internal server error",
                &request_id,
            )
        }
    };
    hops.finish(NewHop {
        trace: request_id.clone(),
        parent: Some(request_id.clone()),
        id: None,
        what: What::ApiResponded {
            request_id: request_id.clone(),
            status: response.status().as_u16(),
        },
    });
    response
}
