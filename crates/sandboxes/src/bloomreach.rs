//! A Bloomreach Engagement sandbox: `POST /email/v2/projects/{token}/sync` with HTTP Basic
//! auth, answering as the transactional email API does, and recording every email it is asked
//! to send into the outbox (a readable page plus the request JSON).
//!
//! | situation | answer |
//! |---|---|
//! | wrong or missing Basic credentials | 401 |
//! | another project token | 403 |
//! | body not JSON, no `recipient.email` or `email_content.template_id` | 400 |
//! | template id unknown to the project | 400 "Template not found" |
//! | the template does not render with these params (strict undefined) | 400 "Template could not be rendered: ..." |
//! | otherwise | 200 `{"success": true}`, email recorded |
//!
//! With a rate limit ([`BloomreachSandbox::rate`], `local up --bloomreach-rps N`; see
//! [`crate::rate`]) a send beyond it is answered `429 {"success": false, "errors": ["Too many
//! requests"]}` with `Retry-After` (whole seconds until the next send passes) and records
//! nothing. UNVERIFIED: Bloomreach documents a 429 for this API but no limit, body or headers
//! (reference bloomreach.md); the body is its 400s' shape and `Retry-After` is what
//! send-email reads. `GET /_local/stats` gives the counters.
//!
//! The project's template ids are the four `local-<kind>` ids; each renders the starter
//! template of its kind from `templates/email/` (see [`super::templates`]), as Bloomreach
//! renders the template a real id names.

use super::templates::{self, Rendered};
use crate::{
    Recorded,
    outbox::{Email, Outbox},
    rate::{self, Limiter, Quota},
};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct BloomreachSettings {
    pub project_token: String,
    pub key_id: String,
    pub key_secret: String,
    /// Template ids the project has.
    pub templates: Vec<String>,
}

#[derive(Clone)]
pub struct BloomreachSandbox {
    settings: Arc<BloomreachSettings>,
    sent: Arc<Mutex<Vec<Value>>>,
    outbox: Outbox,
    rate: Limiter,
}

impl BloomreachSandbox {
    pub fn new(settings: BloomreachSettings, outbox: Outbox) -> Self {
        Self {
            settings: Arc::new(settings),
            sent: Arc::default(),
            outbox,
            rate: Limiter::default(),
        }
    }

    pub fn settings(&self) -> &BloomreachSettings {
        &self.settings
    }

    /// Every request body it accepted, in order.
    pub fn sent(&self) -> Vec<Value> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The project's rate limit and counters (unlimited until set).
    pub fn rate(&self) -> &Limiter {
        &self.rate
    }

    fn routes(&self) -> Router {
        let api = Router::new().route("/email/v2/projects/{token}/sync", post(sync));
        let provider = rate::Provider {
            refused: too_many,
            accepted: None,
        };
        rate::limited(api, &self.rate, provider)
            .route("/_local/sent", get(sent))
            .route("/_local/stats", rate::stats_route(&self.rate))
            .with_state(self.clone())
    }
}

/// A send beyond the limit (UNVERIFIED shape, see the module's notes).
fn too_many(quota: &Quota) -> Response {
    let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
    rate::retry_after(&mut response, quota);
    response
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"success": false, "errors": [message]}))).into_response()
}

async fn sync(
    State(s): State<BloomreachSandbox>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", s.settings.key_id, s.settings.key_secret))
    );
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth != Some(expected.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized: invalid API key");
    }
    if token != s.settings.project_token {
        return error(StatusCode::FORBIDDEN, "Access to the project denied");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Request body is not valid JSON");
    };
    let (Some(recipient), Some(template)) = (
        request["recipient"]["email"].as_str(),
        request["email_content"]["template_id"].as_str(),
    ) else {
        return error(
            StatusCode::BAD_REQUEST,
            "recipient.email and email_content.template_id are required",
        );
    };
    if !s.settings.templates.iter().any(|t| t == template) {
        return error(StatusCode::BAD_REQUEST, "Template not found");
    }
    let params: Vec<(String, String)> = request["email_content"]["params"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let Some(kind) = super::kind_of_template(template) else {
        return error(StatusCode::BAD_REQUEST, "Template not found");
    };
    let rendered: Rendered = match templates::render_security(
        templates::shared(),
        kind,
        &request["email_content"]["params"],
    ) {
        Ok(r) => r,
        // Names the template and the failing expression; a real project would answer with its
        // own render error, which send-email treats as a rejected request.
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Template could not be rendered: {e}"),
            );
        }
    };
    let text = |v: &Value| {
        v.as_str()
            .map_or_else(|| "(not set)".to_owned(), str::to_owned)
    };
    let facts = vec![
        ("To".to_owned(), recipient.to_owned()),
        (
            "Customer ids".to_owned(),
            request["recipient"]["customer_ids"].to_string(),
        ),
        (
            "Language".to_owned(),
            text(&request["recipient"]["language"]),
        ),
        ("Template id".to_owned(), template.to_owned()),
        ("Campaign".to_owned(), text(&request["campaign_name"])),
        (
            "Sender".to_owned(),
            format!(
                "{} <{}>",
                text(&request["email_content"]["sender_name"]),
                text(&request["email_content"]["sender_address"])
            ),
        ),
        ("Integration".to_owned(), text(&request["integration_id"])),
        ("Project".to_owned(), token.clone()),
    ];
    let from = match (
        request["email_content"]["sender_name"].as_str(),
        request["email_content"]["sender_address"].as_str(),
    ) {
        (Some(n), Some(a)) => format!("{n} <{a}>"),
        (None, Some(a)) => a.to_owned(),
        // Bloomreach would use the project's default sender.
        (Some(n), None) => format!("{n} <project default sender>"),
        (None, None) => "(the project's default sender)".to_owned(),
    };
    let entry = match s
        .outbox
        .record(Email {
            kind: kind.as_str(),
            provider: "bloomreach",
            recipient,
            from,
            email: rendered,
            facts,
            params,
            request: &request,
        })
        .await
    {
        Ok(entry) => entry,
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not record the email",
            );
        }
    };
    s.sent
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(request.clone());
    let mut response =
        Json(json!({"success": true, "message": "Email was sent successfully."})).into_response();
    response.extensions_mut().insert(Recorded(entry.html));
    response
}

async fn sent(State(s): State<BloomreachSandbox>) -> Json<Value> {
    Json(Value::Array(s.sent()))
}

impl crate::Sandbox for BloomreachSandbox {
    const NAME: &'static str = "bloomreach";
    const URL_SETTINGS: &'static [&'static str] = &["BLOOMREACH_API_BASE"];

    fn router(&self) -> Router {
        self.routes()
    }

    fn function_env(&self, base_url: &str) -> Vec<(String, String)> {
        let s = &self.settings;
        let mut env: Vec<(String, String)> = vec![
            ("BLOOMREACH_API_BASE".into(), base_url.to_owned()),
            ("BLOOMREACH_PROJECT_TOKEN".into(), s.project_token.clone()),
            ("BLOOMREACH_API_KEY_ID".into(), s.key_id.clone()),
            ("BLOOMREACH_API_SECRET".into(), s.key_secret.clone()),
        ];
        // The template ids this project has, under the names send-email reads them by
        // (`BLOOMREACH_TEMPLATE_<KIND>`).
        env.extend(auth0_events::EmailKind::ALL.into_iter().map(|kind| {
            let name = format!("BLOOMREACH_TEMPLATE_{}", kind.as_str().to_ascii_uppercase());
            (name, crate::template_id(kind))
        }));
        env
    }
}
