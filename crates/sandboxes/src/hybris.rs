//! A SAP Commerce (Hybris) OCC sandbox seeded from `seed/hybris.json`.
//!
//! | route | answer |
//! |---|---|
//! | `POST /authorizationserver/oauth/token` | client-credentials grant (form); 401 `invalid_client` on bad credentials |
//! | `GET /occ/v2/{site}/users/{uid}` | 200 the customer, or 400 `UnknownIdentifierError` |
//! | `POST /occ/v2/{site}/passwordRestoreToken` | JSON `{"loginId"}` → 202, reset recorded (2205 and later) |
//! | `POST /occ/v2/{site}/forgottenpasswordtokens` | form `userId` → 202, reset recorded (legacy) |
//! | `GET /_local/state` | customers and recorded resets |
//! | `GET /_local/stats` | the rate limit's counters ([`crate::rate::RateStats`]) |
//!
//! With a rate limit ([`HybrisSandbox::rate`], `local up --hybris-rps N`; see [`crate::rate`])
//! every route but `/_local` ones, the token endpoint included, is answered beyond it with
//! `429 {"errors":[{"type":"TooManyRequestsError","message":"Too many requests"}]}` and
//! `Retry-After` (whole seconds), and changes nothing. UNVERIFIED: the reference documents no
//! rate limit for OCC; the body is OCC's error shape and the type name is made up.
//!
//! OCC routes need a bearer token from the token endpoint; another base site is 400
//! `InvalidResourceError`. A reset for a known customer is written to the outbox too (the
//! email Hybris would send); for an unknown one Hybris answers the same and sends nothing.

use super::{oauth_error, templates::provider_email};
use crate::{
    Recorded,
    outbox::{Email, Outbox},
    rate::{self, Limiter, Quota},
    text::random_hex,
};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
};

pub const DEFAULT_SEED: &str = include_str!("../seed/hybris.json");

#[derive(Debug, Clone)]
pub struct HybrisSettings {
    pub client_id: String,
    pub client_secret: String,
    /// The OCC `baseSiteId`; taken from the seed.
    pub base_site: String,
}

/// A reset Hybris was asked to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HybrisReset {
    pub uid: String,
    /// `passwordRestoreToken` or `forgottenpasswordtokens`.
    pub endpoint: String,
    /// Whether the customer exists (an email went out).
    pub known: bool,
}

#[derive(Deserialize)]
struct Seed {
    base_site: String,
    customers: Vec<Value>,
}

#[derive(Default)]
struct ShopState {
    tokens: HashSet<String>,
    resets: Vec<HybrisReset>,
}

#[derive(Clone)]
pub struct HybrisSandbox {
    settings: Arc<HybrisSettings>,
    customers: Arc<Vec<Value>>,
    state: Arc<Mutex<ShopState>>,
    outbox: Outbox,
    rate: Limiter,
}

/// Why [`HybrisSandbox::new`] cannot use a seed.
#[derive(Debug, thiserror::Error)]
#[error("Hybris seed is not valid: {0}")]
pub struct SeedError(#[from] serde_json::Error);

impl HybrisSandbox {
    pub fn new(
        mut settings: HybrisSettings,
        seed: &str,
        outbox: Outbox,
    ) -> Result<Self, SeedError> {
        let seed: Seed = serde_json::from_str(seed)?;
        settings.base_site = seed.base_site;
        Ok(Self {
            settings: Arc::new(settings),
            customers: Arc::new(seed.customers),
            state: Arc::default(),
            outbox,
            rate: Limiter::default(),
        })
    }

    pub fn base_site(&self) -> &str {
        &self.settings.base_site
    }

    pub fn settings(&self) -> &HybrisSettings {
        &self.settings
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ShopState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn customer(&self, uid: &str) -> Option<Value> {
        let uid = uid.to_ascii_lowercase();
        self.customers
            .iter()
            .find(|c| c["uid"].as_str() == Some(uid.as_str()))
            .cloned()
    }

    /// Every reset asked for, in order.
    pub fn resets(&self) -> Vec<HybrisReset> {
        self.state().resets.clone()
    }

    /// The shop's rate limit and counters (unlimited until set).
    pub fn rate(&self) -> &Limiter {
        &self.rate
    }

    fn routes(&self) -> Router {
        let api = Router::new()
            .route("/authorizationserver/oauth/token", post(token))
            .route("/occ/v2/{site}/users/{uid}", get(get_user))
            .route(
                "/occ/v2/{site}/passwordRestoreToken",
                post(password_restore_token),
            )
            .route(
                "/occ/v2/{site}/forgottenpasswordtokens",
                post(forgotten_password_tokens),
            );
        let provider = rate::Provider {
            refused: too_many,
            accepted: None,
        };
        rate::limited(api, &self.rate, provider)
            .route("/_local/state", get(local_state))
            .route("/_local/stats", rate::stats_route(&self.rate))
            .with_state(self.clone())
    }

    /// The refusal, unless the bearer token is ours and the site is the seeded one.
    fn refused(&self, headers: &HeaderMap, site: &str) -> Option<Response> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
        if !token.is_some_and(|t| self.state().tokens.contains(t)) {
            return Some(occ_error(
                StatusCode::UNAUTHORIZED,
                "InvalidTokenError",
                "Invalid access token",
            ));
        }
        if site != self.settings.base_site {
            return Some(occ_error(
                StatusCode::BAD_REQUEST,
                "InvalidResourceError",
                "Base site does not exist",
            ));
        }
        None
    }

    async fn reset(&self, uid: &str, endpoint: &str, request: &Value) -> Response {
        let uid = uid.trim().to_ascii_lowercase();
        let customer = self.customer(&uid);
        self.state().resets.push(HybrisReset {
            uid: uid.clone(),
            endpoint: endpoint.to_owned(),
            known: customer.is_some(),
        });
        let mut response = StatusCode::ACCEPTED.into_response();
        if let Some(c) = customer {
            let name = c["name"].as_str().unwrap_or("").to_owned();
            if let Ok(entry) = self.outbox.record(Email {
                kind: "hybris_password_reset",
                provider: "hybris",
                recipient: &uid,
                from: "Shop <no-reply@shop.example>".into(),
                email: provider_email(
                    "hybris_password_reset",
                    &json!({
                        "name": name,
                        "site": self.settings.base_site,
                        "url": format!("https://shop.example/login/pw/change?token={}", random_hex(16)),
                    }),
                ),
                facts: vec![
                    ("To".into(), uid.clone()),
                    ("Customer".into(), name),
                    ("Base site".into(), self.settings.base_site.clone()),
                    ("Endpoint".into(), endpoint.to_owned()),
                    (
                        "What".into(),
                        "SAP Commerce's own reset-password email with a restore token link".into(),
                    ),
                ],
                params: vec![],
                request,
            }).await {
                response.extensions_mut().insert(Recorded(entry.html));
            }
        }
        response
    }
}

fn occ_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"errors": [{"type": kind, "message": message}]})),
    )
        .into_response()
}

/// A call beyond the limit (UNVERIFIED shape, see the module's notes).
fn too_many(quota: &Quota) -> Response {
    let mut response = occ_error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequestsError",
        "Too many requests",
    );
    rate::retry_after(&mut response, quota);
    response
}

fn form(body: &Bytes) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

async fn token(State(s): State<HybrisSandbox>, body: Bytes) -> Response {
    let f = form(&body);
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    if get("grant_type") != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant type",
        );
    }
    if get("client_id") != s.settings.client_id || get("client_secret") != s.settings.client_secret
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        );
    }
    let token = random_hex(16);
    s.state().tokens.insert(token.clone());
    Json(json!({"access_token": token, "token_type": "bearer", "expires_in": 43199, "scope": "basic openid"}))
        .into_response()
}

async fn get_user(
    State(s): State<HybrisSandbox>,
    headers: HeaderMap,
    Path((site, uid)): Path<(String, String)>,
) -> Response {
    if let Some(r) = s.refused(&headers, &site) {
        return r;
    }
    match s.customer(&uid) {
        Some(c) => Json(json!({
            "type": "userWsDTO",
            "uid": c["uid"],
            "name": c["name"],
            "firstName": c["firstName"],
            "lastName": c["lastName"],
        }))
        .into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": [{
                "type": "UnknownIdentifierError",
                "message": "Cannot find user with propertyValue",
                "reason": "notFound",
                "subjectType": "user"
            }]})),
        )
            .into_response(),
    }
}

async fn password_restore_token(
    State(s): State<HybrisSandbox>,
    headers: HeaderMap,
    Path(site): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(r) = s.refused(&headers, &site) {
        return r;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match request["loginId"].as_str() {
        Some(login) if !login.trim().is_empty() => {
            s.reset(login, "passwordRestoreToken", &request).await
        }
        _ => occ_error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "loginId is required",
        ),
    }
}

async fn forgotten_password_tokens(
    State(s): State<HybrisSandbox>,
    headers: HeaderMap,
    Path(site): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(r) = s.refused(&headers, &site) {
        return r;
    }
    let f = form(&body);
    match f.get("userId") {
        Some(uid) if !uid.trim().is_empty() => {
            let request = json!({ "userId": uid });
            s.reset(uid, "forgottenpasswordtokens", &request).await
        }
        _ => occ_error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "userId is required",
        ),
    }
}

async fn local_state(State(s): State<HybrisSandbox>) -> Json<Value> {
    Json(json!({
        "base_site": s.settings.base_site,
        "customers": s.customers.as_slice(),
        "resets": s.resets(),
    }))
}

impl crate::Sandbox for HybrisSandbox {
    const NAME: &'static str = "hybris";
    const URL_SETTINGS: &'static [&'static str] = &["HYBRIS_BASE_URL"];

    fn router(&self) -> Router {
        self.routes()
    }

    fn function_env(&self, base_url: &str) -> Vec<(String, String)> {
        let s = &self.settings;
        vec![
            ("HYBRIS_BASE_URL".into(), base_url.to_owned()),
            ("HYBRIS_BASE_SITE".into(), s.base_site.clone()),
            ("HYBRIS_CLIENT_ID".into(), s.client_id.clone()),
            ("HYBRIS_CLIENT_SECRET".into(), s.client_secret.clone()),
        ]
    }
}
