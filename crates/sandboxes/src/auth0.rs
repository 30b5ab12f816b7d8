//! An Auth0 tenant sandbox: the parts of the Authentication and Management APIs the functions
//! call, over in-memory state seeded from `seed/auth0.json`.
//!
//! | route | what |
//! |---|---|
//! | `POST /oauth/token` | client-credentials grant (JSON or form); checks client id, secret and audience |
//! | `GET /api/v2/users-by-email?email=` | exact, case-insensitive |
//! | `GET /api/v2/users/{id}` | 404 `inexistent_user` when unknown |
//! | `PATCH /api/v2/users/{id}` | `email`, `email_verified`, `verify_email`, `blocked` (`connection`, `client_id` accepted); other attributes 400 |
//! | `GET`/`DELETE /api/v2/user-blocks/{id}` | brute-force blocks of the user's identifiers (email, username) |
//! | `GET`/`DELETE /api/v2/user-blocks?identifier=` | brute-force blocks of an identifier |
//! | `POST /dbconnections/change_password` | records a reset email (outbox) when the user exists on that connection |
//! | `GET /api/v2/users/{id}/logs?page=&per_page=&sort=` | the user's tenant logs, newest first (`sort=date:-1`, the default; `date:1` oldest first); `page` from 0, `per_page` at most 100 (default 50), the newest 1,000 reachable; `include_totals=true` wraps them in `{start, limit, length, total, logs}`; 404 `inexistent_user` |
//! | `DELETE /api/v2/users/{id}/sessions` | 202, ends every session of the user; not on an Enterprise plan: 403 `operation_not_supported` |
//! | `DELETE /api/v2/users/{id}/refresh-tokens` | 202, revokes every refresh token of the user; not on an Enterprise plan: 403 `operation_not_supported` |
//! | `GET /api/v2/users/{id}/authentication-methods` | the enrolled MFA factors (`[{id, type, confirmed, created_at, ...}]`) |
//! | `DELETE /api/v2/users/{id}/authentication-methods` | 204, removes every factor |
//! | `POST /api/v2/users/{id}/multifactor/actions/invalidate-remember-browser` | 204, recorded |
//! | `POST /api/v2/jobs/verification-email` | `{user_id, client_id?}` → 201 `{type: "verification_email", status: "pending", created_at, id: "job_..."}`; Auth0's verification email (outbox) |
//! | `GET /_local/stats` | the rate limit's counters ([`crate::rate::RateStats`]) |
//! | `GET /_local/state` | users, blocks and recorded emails; per user (every user, 0 or empty when none): `logs` (newest first), `sessions`, `refresh_tokens`, `authentication_methods`; `verification_jobs`, `remember_browser_invalidations`, and the plan (`enterprise`), for a person or a browser test |
//!
//! Management routes need a bearer token from `/oauth/token`. An email change by PATCH is
//! also logged as `sce` onto the Auth0 partner bus through the log stream hook, carrying the
//! M2M application's `client_id`, unless that is switched off ([`Auth0Sandbox::set_logs_sce`],
//! `LOCAL_AUTH0_LOGS_SCE=false`): whether the real Auth0 logs `sce` for a Management API
//! change is unverified, so the local system runs either way.
//!
//! # Rate limit
//! [`Auth0Sandbox::rate`]`().set_limit(..)` (`local up --auth0-rps N`) limits the tenant with one
//! token bucket for every API route it serves (see [`crate::rate`]; unlimited by default). The
//! real Auth0 keeps a bucket per endpoint and tenant (reference auth0.md §5); one for the
//! tenant is the stricter cap, the safe side for a load scenario. With a limit set every answer
//! carries `x-ratelimit-limit` (the burst), `x-ratelimit-remaining` and `x-ratelimit-reset`
//! (Unix epoch seconds, rounded up: when the bucket is full again); beyond it a Management API
//! call is answered `429 {"statusCode":429,"error":"Too Many Requests","message":"Global limit
//! has been reached","errorCode":"too_many_requests"}` with the same headers, `reset` then the
//! second the next call will pass; an Authentication API call (`/oauth/token`,
//! `/dbconnections/change_password`) `429 {"error":"too_many_requests","error_description":
//! "Global limit has been reached"}` (OAuth's shape, as that API's other refusals; UNVERIFIED).
//! No `Retry-After`: Auth0 documents it only for M2M-quota 429s.
//!
//! # Per-user logs
//! The seed's `logs` (user id → entries, in the shape the logs endpoint returns; fixed dates in
//! November 2026 like the other fixtures, not moved to the start time) are each user's history
//! before the sandbox starts. Every event the sandbox causes is appended to the history of the
//! user it concerns (the fields are listed in `accounts`; `ip` `127.0.0.1`, no
//! `location_info`); newest first is the reverse of the order things happened:
//!
//! | call | appended |
//! |---|---|
//! | `PATCH /api/v2/users/{id}` | `sce` when the email changes (`user_name` the old address, `details.body.email`/`newEmail`), then `sapi` |
//! | `DELETE /api/v2/user-blocks...` | `ublkdu` when blocks were released, then `sapi` (by identifier: for each user whose email or username it is) |
//! | `POST /dbconnections/change_password` on an existing user | `scpr` (with the request's `client_id`) |
//! | `POST /api/v2/jobs/verification-email` | `svr`, then `sapi` |
//! | `DELETE .../authentication-methods` | `gd_unenroll` for each factor removed, then `sapi` |
//! | `DELETE .../sessions`, `.../refresh-tokens`, `POST .../invalidate-remember-browser` | `sapi` |
//!
//! The per-user `sce` is logged whether or not the log stream hook is on (the stream is a
//! separate thing); when both are, they are one log (same `log_id` and `date`). The
//! descriptions are plausible, not captured from a tenant. A PATCH with `verify_email` logs no
//! `svr` (whether Auth0 does is unverified); the job does (reference: "logs `svr` when queued").
//!
//! **`sapi` goes into the target's history: a choice.** The real Auth0 logs a Management API
//! write as `sapi` under the *caller's* id (an M2M application, so no user) and names the target
//! only in `details.request.path`, so a real `GET /api/v2/users/{id}/logs` most likely does not
//! list it. The sandbox files it under the *target* user (`user_id` the target, `client_id` the
//! M2M application, `details.request` the method, path and body) so that a person or a test can
//! see which support actions touched an account. Do not build on a real tenant showing them.
//!
//! # Sessions, refresh tokens, factors
//! Counts per user (seed `sessions`, `refresh_tokens`) and factors (seed
//! `authentication_methods`). An email change by PATCH also ends the user's sessions (Auth0
//! does, reference §6); refresh tokens survive it and the sessions DELETE, as on Auth0. The
//! refresh-tokens DELETE answers 202: the reference names no status and Auth0's API page calls
//! the answer "Refresh token deletion request accepted" (inferred; the client takes any 2xx).
//!
//! # Plan
//! [`Auth0Sandbox::set_enterprise`]`(false)` makes the tenant a non-Enterprise one: both
//! sign-out endpoints answer `403 {"statusCode":403,"error":"Forbidden","message":"This feature
//! is not available on your plan. ...","errorCode":"operation_not_supported"}`, change nothing
//! and log nothing. UNVERIFIED: what Auth0 really answers there is not documented;
//! `crates/auth0-client/src/recovery.rs` reads a 404 (not `inexistent_user`) or a 403 whose
//! `errorCode` is not `insufficient_scope` as "not available on this plan", and this answer is
//! one of those. The token, plan and user are checked in that order (401, 403, 404).

mod accounts;
mod recovery;
#[cfg(test)]
mod tests;

use super::{oauth_error, templates::provider_email};
use crate::{
    Caller, Recorded,
    outbox::{Email, Outbox, OutboxEntry},
    rate::{self, Limiter, Quota},
    text::random_hex,
};
use accounts::{Accounts, AccountsSeed, Actor};
use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use lambda_support::time::now_rfc3339;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
};

pub const DEFAULT_SEED: &str = include_str!("../seed/auth0.json");

/// The tenant's second M2M application: the storefront's backend, which changes a customer's
/// email from their account page (with a stolen session, an attacker's way). Its email changes
/// log `sce` under its own client id, so email-transform emails both addresses and records
/// the change as the customer's; the Dixa card's application (`Auth0Settings::client_id`) is
/// the one whose changes read as an agent's. Its secret is made at start-up
/// ([`Auth0Sandbox::storefront_secret`]).
pub const STOREFRONT_CLIENT_ID: &str = "local-storefront-backend";
/// How the storefront backend's tokens begin, so a call tells which application made it.
const STOREFRONT_TOKEN_PREFIX: &str = "sandbox-storefront-";

/// What the sandbox accepts as the tenant and its M2M application (the Dixa card's).
#[derive(Debug, Clone)]
pub struct Auth0Settings {
    pub domain: String,
    pub client_id: String,
    pub client_secret: String,
}

impl Auth0Settings {
    pub fn audience(&self) -> String {
        format!("https://{}/api/v2/", self.domain)
    }
}

/// One brute-force block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub identifier: String,
    pub ip: String,
    #[serde(default)]
    pub connection: Option<String>,
}

/// A reset-password request the Authentication API received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasswordReset {
    pub email: String,
    pub connection: String,
    pub client_id: String,
    /// The user it went to; `None`: no such user on that connection, nothing was sent.
    pub user_id: Option<String>,
}

#[derive(Deserialize)]
struct Seed {
    users: Vec<Value>,
    #[serde(default)]
    blocks: Vec<Block>,
    /// `logs`, `sessions`, `refresh_tokens`, `authentication_methods`: user id → ...
    #[serde(flatten)]
    accounts: AccountsSeed,
}

#[derive(Default)]
struct TenantState {
    users: Vec<Value>,
    blocks: Vec<Block>,
    tokens: HashSet<String>,
    resets: Vec<PasswordReset>,
    verifications: Vec<String>,
    accounts: Accounts,
}

/// Where the tenant's log stream goes: `(caller container, Auth0 log event envelope)`.
pub type LogStream = Arc<dyn Fn(Option<String>, Value) + Send + Sync>;

#[derive(Clone)]
pub struct Auth0Sandbox {
    settings: Arc<Auth0Settings>,
    state: Arc<Mutex<TenantState>>,
    outbox: Outbox,
    log_stream: Arc<OnceLock<LogStream>>,
    /// Whether a Management API email change logs `sce` (default: yes).
    logs_sce: Arc<AtomicBool>,
    /// Whether the tenant is on an Enterprise plan (default: yes).
    enterprise: Arc<AtomicBool>,
    /// The tenant's rate limit (default: none) and its counters.
    rate: Limiter,
    /// The storefront backend's client secret ([`STOREFRONT_CLIENT_ID`]).
    storefront_secret: Arc<str>,
}

fn email_of(user: &Value) -> Option<String> {
    user["email"].as_str().map(str::to_ascii_lowercase)
}

/// Why [`Auth0Sandbox::new`] cannot use a seed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("Auth0 seed is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("Auth0 seed: every user needs a user_id")]
    UserWithoutId,
}

impl Auth0Sandbox {
    pub fn new(settings: Auth0Settings, seed: &str, outbox: Outbox) -> Result<Self, SeedError> {
        let seed: Seed = serde_json::from_str(seed)?;
        for u in &seed.users {
            if u["user_id"].as_str().is_none() {
                return Err(SeedError::UserWithoutId);
            }
        }
        Ok(Self {
            settings: Arc::new(settings),
            state: Arc::new(Mutex::new(TenantState {
                users: seed.users,
                blocks: seed.blocks,
                accounts: seed.accounts.into(),
                ..TenantState::default()
            })),
            outbox,
            log_stream: Arc::default(),
            logs_sce: Arc::new(AtomicBool::new(true)),
            enterprise: Arc::new(AtomicBool::new(true)),
            rate: Limiter::default(),
            storefront_secret: random_hex(16).into(),
        })
    }

    /// The client secret of the tenant's second M2M application, [`STOREFRONT_CLIENT_ID`]:
    /// its token changes an email the way the storefront does for a signed-in customer.
    pub fn storefront_secret(&self) -> &str {
        &self.storefront_secret
    }

    /// Whether the tenant is on an Enterprise plan (`true`, the default). On any other plan
    /// `DELETE /api/v2/users/{id}/sessions` and `.../refresh-tokens` answer 403
    /// `operation_not_supported` and change nothing (the real answer is UNVERIFIED).
    pub fn set_enterprise(&self, on: bool) {
        self.enterprise.store(on, Ordering::Relaxed);
    }

    pub fn enterprise(&self) -> bool {
        self.enterprise.load(Ordering::Relaxed)
    }

    /// Whether a Management API `PATCH` that changes a user's email logs `sce` onto the Auth0
    /// partner bus (`true`, the default) or logs nothing (`false`).
    pub fn set_logs_sce(&self, on: bool) {
        self.logs_sce.store(on, Ordering::Relaxed);
    }

    pub fn logs_sce(&self) -> bool {
        self.logs_sce.load(Ordering::Relaxed)
    }

    pub fn settings(&self) -> &Auth0Settings {
        &self.settings
    }

    /// The tenant's rate limit and counters (unlimited until set).
    pub fn rate(&self) -> &Limiter {
        &self.rate
    }

    /// Where `sce` logs go (set once by the system).
    pub fn set_log_stream(&self, stream: LogStream) {
        let _ = self.log_stream.set(stream);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, TenantState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user as `GET /api/v2/users/{id}` returns it.
    pub fn user(&self, user_id: &str) -> Option<Value> {
        self.state()
            .users
            .iter()
            .find(|u| u["user_id"] == user_id)
            .cloned()
    }

    /// Every user with this email (case-insensitive).
    pub fn users_by_email(&self, email: &str) -> Vec<Value> {
        let email = email.to_ascii_lowercase();
        self.state()
            .users
            .iter()
            .filter(|u| email_of(u).as_deref() == Some(email.as_str()))
            .cloned()
            .collect()
    }

    pub fn blocks(&self) -> Vec<Block> {
        self.state().blocks.clone()
    }

    /// Brute-force blocks of an identifier (case-insensitive).
    pub fn blocks_for_identifier(&self, identifier: &str) -> Vec<Block> {
        self.state()
            .blocks
            .iter()
            .filter(|b| b.identifier.eq_ignore_ascii_case(identifier))
            .cloned()
            .collect()
    }

    pub fn password_resets(&self) -> Vec<PasswordReset> {
        self.state().resets.clone()
    }

    /// Addresses a verification email went to (PATCH with `verify_email: true`).
    pub fn verification_emails(&self) -> Vec<String> {
        self.state().verifications.clone()
    }

    /// The user's tenant logs, newest first (as `GET /api/v2/users/{id}/logs` pages them).
    pub fn user_logs(&self, user_id: &str) -> Vec<Value> {
        self.state().accounts.newest_first(user_id)
    }

    /// The user's live sessions.
    pub fn sessions(&self, user_id: &str) -> u32 {
        let state = self.state();
        state.accounts.sessions.get(user_id).copied().unwrap_or(0)
    }

    /// The user's live refresh tokens.
    pub fn refresh_tokens(&self, user_id: &str) -> u32 {
        let state = self.state();
        state
            .accounts
            .refresh_tokens
            .get(user_id)
            .copied()
            .unwrap_or(0)
    }

    /// The user's enrolled MFA factors.
    pub fn authentication_methods(&self, user_id: &str) -> Vec<Value> {
        let state = self.state();
        state
            .accounts
            .factors
            .get(user_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Verification-email jobs: `{type, status, created_at, id, user_id, client_id, email}`.
    pub fn verification_jobs(&self) -> Vec<Value> {
        self.state().accounts.jobs.clone()
    }

    /// Remember-browser invalidations: `{user_id, date}`.
    pub fn remember_browser_invalidations(&self) -> Vec<Value> {
        self.state().accounts.remember_browser.clone()
    }

    /// Auth0's verification email to `email` (user `id`): noted in
    /// [`Auth0Sandbox::verification_emails`] and written to the outbox with `what` it is and the
    /// `request` that asked for it.
    async fn send_verification_email(
        &self,
        id: &str,
        email: &str,
        what: &str,
        request: &Value,
    ) -> Option<OutboxEntry> {
        self.state().verifications.push(email.to_owned());
        let domain = &self.settings.domain;
        self.outbox
            .record(Email {
                kind: "auth0_verify_email",
                provider: "auth0",
                recipient: email,
                from: format!("{domain} <no-reply@{domain}>"),
                email: provider_email(
                    "auth0_verify_email",
                    &json!({
                        "email": email,
                        "tenant": domain,
                        "url": format!("https://{domain}/u/email-verification?ticket={}", random_hex(16)),
                    }),
                ),
                facts: vec![
                    ("To".into(), email.to_owned()),
                    ("User".into(), id.to_owned()),
                    ("What".into(), what.to_owned()),
                ],
                params: vec![],
                request,
            })
            .await
            .ok()
    }

    fn routes(&self) -> Router {
        // One bucket for the tenant; each API refuses in its own shape.
        let provider = |refused: fn(&Quota) -> Response| rate::Provider {
            refused,
            accepted: Some(ratelimit_headers),
        };
        let authentication = Router::new()
            .route("/oauth/token", post(token))
            .route("/dbconnections/change_password", post(change_password));
        let authentication =
            rate::limited(authentication, &self.rate, provider(authentication_429));
        let management = Router::new()
            .route("/api/v2/users-by-email", get(users_by_email))
            .route("/api/v2/users/{id}", get(get_user).patch(patch_user))
            .route(
                "/api/v2/user-blocks",
                get(get_blocks_by_identifier).delete(delete_blocks_by_identifier),
            )
            .route(
                "/api/v2/user-blocks/{id}",
                get(get_user_blocks).delete(delete_user_blocks),
            )
            .merge(recovery::routes());
        rate::limited(management, &self.rate, provider(management_429))
            .merge(authentication)
            .route("/_local/state", get(local_state))
            .route("/_local/stats", rate::stats_route(&self.rate))
            .with_state(self.clone())
    }

    /// Identifiers a user's brute-force blocks are kept under.
    fn identifiers(user: &Value) -> Vec<String> {
        ["email", "username"]
            .iter()
            .filter_map(|k| user[*k].as_str().map(str::to_ascii_lowercase))
            .collect()
    }
}

fn api_error(status: StatusCode, message: &str, code: &str) -> Response {
    (
        status,
        Json(json!({
            "statusCode": status.as_u16(),
            "error": status.canonical_reason().unwrap_or(""),
            "message": message,
            "errorCode": code,
        })),
    )
        .into_response()
}

/// `x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset` (reference auth0.md §5).
fn ratelimit_headers(quota: &Quota, response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", quota.limit.into());
    headers.insert("x-ratelimit-remaining", quota.remaining.into());
    headers.insert("x-ratelimit-reset", quota.reset.into());
}

/// Auth0's words for a call beyond the tenant's limit.
const LIMIT_REACHED: &str = "Global limit has been reached";

/// `response`, a refusal beyond the limit, with the rate-limit headers.
fn refused(mut response: Response, quota: &Quota) -> Response {
    ratelimit_headers(quota, &mut response);
    response
}

/// A Management API call beyond the tenant's limit.
fn management_429(quota: &Quota) -> Response {
    let code = "too_many_requests";
    refused(
        api_error(StatusCode::TOO_MANY_REQUESTS, LIMIT_REACHED, code),
        quota,
    )
}

/// An Authentication API call beyond the tenant's limit.
fn authentication_429(quota: &Quota) -> Response {
    let code = "too_many_requests";
    refused(
        oauth_error(StatusCode::TOO_MANY_REQUESTS, code, LIMIT_REACHED),
        quota,
    )
}

/// The refusal, unless the bearer token is one this sandbox issued.
fn unauthorized(s: &Auth0Sandbox, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token {
        Some(t) if s.state().tokens.contains(t) => None,
        _ => Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(
                    json!({"statusCode": 401, "error": "Unauthorized", "message": "Invalid token",
                            "attributes": {"error": "Invalid token"}}),
                ),
            )
                .into_response(),
        ),
    }
}

/// A JSON or form body as a string map.
fn fields(headers: &HeaderMap, body: &Bytes) -> HashMap<String, String> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        form_urlencoded::parse(body).into_owned().collect()
    } else {
        serde_json::from_slice::<HashMap<String, Value>>(body)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
            .collect()
    }
}

async fn token(State(s): State<Auth0Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let f = fields(&headers, &body);
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    if get("grant_type") != "client_credentials" {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "Grant type not allowed for the client.",
        );
    }
    let dixa = get("client_id") == s.settings.client_id
        && get("client_secret") == s.settings.client_secret;
    let storefront =
        get("client_id") == STOREFRONT_CLIENT_ID && get("client_secret") == &*s.storefront_secret;
    if !(dixa || storefront) {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    }
    if get("audience") != s.settings.audience() {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "Service not enabled within domain",
        );
    }
    let token = if storefront {
        format!("{STOREFRONT_TOKEN_PREFIX}{}", random_hex(24))
    } else {
        format!("sandbox-{}", random_hex(24))
    };
    s.state().tokens.insert(token.clone());
    Json(json!({
        "access_token": token,
        "scope": "read:users update:users",
        "expires_in": 86400,
        "token_type": "Bearer"
    }))
    .into_response()
}

async fn users_by_email(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = unauthorized(&s, &headers) {
        return r;
    }
    match q.get("email") {
        Some(email) if !email.is_empty() => {
            Json(Value::Array(s.users_by_email(email))).into_response()
        }
        _ => api_error(
            StatusCode::BAD_REQUEST,
            "Query validation error: 'Missing required property: email' on property email.",
            "invalid_query_string",
        ),
    }
}

fn no_user() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "The user does not exist.",
        "inexistent_user",
    )
}

async fn get_user(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = unauthorized(&s, &headers) {
        return r;
    }
    match s.user(&id) {
        Some(u) => Json(u).into_response(),
        None => no_user(),
    }
}

const PATCHABLE: [&str; 6] = [
    "email",
    "email_verified",
    "verify_email",
    "blocked",
    "connection",
    "client_id",
];

async fn patch_user(
    State(s): State<Auth0Sandbox>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(r) = unauthorized(&s, &headers) {
        return r;
    }
    let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(&body) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "Payload validation error: 'Expected type object'.",
            "invalid_body",
        );
    };
    if let Some(extra) = patch.keys().find(|k| !PATCHABLE.contains(&k.as_str())) {
        return api_error(
            StatusCode::BAD_REQUEST,
            &format!("Payload validation error: 'Additional properties not allowed: {extra}'."),
            "invalid_body",
        );
    }
    for flag in ["email_verified", "verify_email", "blocked"] {
        if patch.get(flag).is_some_and(|v| !v.is_boolean()) {
            return api_error(
                StatusCode::BAD_REQUEST,
                &format!("Payload validation error: 'Expected type boolean' on property {flag}."),
                "invalid_body",
            );
        }
    }
    let new_email = match patch.get("email") {
        None => None,
        Some(Value::String(e)) if e.contains('@') && !e.contains(char::is_whitespace) => {
            Some(e.to_ascii_lowercase())
        }
        Some(_) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "Payload validation error: 'Object didn't pass validation for format email' on property email.",
                "invalid_body",
            );
        }
    };
    let verify = patch.get("verify_email") == Some(&Value::Bool(true));
    let actor = Actor::api(&s.settings, &headers);
    let (updated, sce) = {
        let mut state = s.state();
        let Some(user) = state.users.iter_mut().find(|u| u["user_id"] == id.as_str()) else {
            return no_user();
        };
        let social = user["identities"][0]["isSocial"] == true;
        if new_email.is_some() && social {
            return api_error(
                StatusCode::BAD_REQUEST,
                "Email cannot be updated for users from this connection.",
                "operation_not_supported",
            );
        }
        let old_email = email_of(user);
        let mut changed = None;
        if let Some(email) = &new_email {
            if old_email.as_deref() != Some(email.as_str()) {
                changed = Some((old_email.clone().unwrap_or_default(), email.clone()));
            }
            user["email"] = json!(email);
            user["email_verified"] = json!(false);
        }
        if let Some(v) = patch.get("email_verified") {
            user["email_verified"] = v.clone();
        }
        if verify {
            user["email_verified"] = json!(false);
        }
        if let Some(v) = patch.get("blocked") {
            user["blocked"] = v.clone();
        }
        user["updated_at"] = json!(now_rfc3339());
        let updated = user.clone();
        // The user's history: `sce` for an email change (which also ends the user's sessions),
        // then `sapi` for the call.
        let sce = changed.map(|(old, new)| {
            state.accounts.sessions.insert(id.clone(), 0);
            let connection = updated["identities"][0]["connection"].clone();
            let details =
                json!({"body": {"email": old, "newEmail": new, "connection": connection}});
            let mut entry = actor.entry(&updated, "sce", "Email changed", Some(details));
            entry["user_name"] = json!(old);
            state.accounts.log(entry.clone());
            entry
        });
        actor.sapi(
            &mut state.accounts,
            &updated,
            "Update a User",
            ("patch", &format!("/api/v2/users/{id}")),
            Some(&Value::Object(patch.clone())),
            StatusCode::OK,
        );
        (updated, sce)
    };
    let mut recorded = None;
    if verify && let Some(email) = email_of(&updated) {
        let request = json!({"user_id": id, "email": email, "verify_email": true});
        let what = "Auth0's verification email for the account's new address";
        recorded = s.send_verification_email(&id, &email, what, &request).await;
    }
    let sce = sce.filter(|_| s.logs_sce());
    if let (Some(entry), Some(stream)) = (sce, s.log_stream.get()) {
        stream(caller.map(|c| c.0.0.clone()), sce_log(&s, entry));
    }
    let mut response = Json(updated).into_response();
    if let Some(entry) = recorded {
        response.extensions_mut().insert(Recorded(entry.html));
    }
    response
}

/// The `sce` log for an email change made through the Management API, in the partner event
/// envelope: the user's history `entry` (same `log_id` and `date`: one log, two places) with the
/// other fields of a real `sce` (see `events/auth0/sce.json`); its `client_id` is the M2M
/// application that made the change (the only one this sandbox has).
fn sce_log(s: &Auth0Sandbox, entry: Value) -> Value {
    let log_id = entry["log_id"].clone();
    let mut data = entry;
    data["strategy"] = json!("auth0");
    data["strategy_type"] = json!("database");
    data["$event_schema"] = json!({"version": "1.0.0"});
    data["tenant_name"] = json!("local");
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Auth0 log",
        "source": format!("aws.partner/auth0.com/{}/auth0.logs", s.settings.domain),
        "account": crate::ACCOUNT,
        "time": now_rfc3339(),
        "region": crate::REGION,
        "resources": [],
        "detail": {"log_id": log_id, "data": data}
    })
}

fn blocks_json(blocks: Vec<Block>) -> Response {
    Json(json!({ "blocked_for": blocks })).into_response()
}

/// Answers a `user-blocks/{id}` call with `then` of the user's identifiers (lower-cased), or as
/// Auth0 does when the token is not valid or no user has that id.
fn with_user_identifiers(
    s: &Auth0Sandbox,
    headers: &HeaderMap,
    id: &str,
    then: impl FnOnce(Vec<String>) -> Response,
) -> Response {
    if let Some(r) = unauthorized(s, headers) {
        return r;
    }
    match s.user(id) {
        Some(user) => then(Auth0Sandbox::identifiers(&user)),
        None => no_user(),
    }
}

async fn get_user_blocks(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    with_user_identifiers(&s, &headers, &id, |ids| {
        let blocks = s
            .blocks()
            .into_iter()
            .filter(|b| ids.contains(&b.identifier.to_ascii_lowercase()))
            .collect();
        blocks_json(blocks)
    })
}

async fn delete_user_blocks(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    with_user_identifiers(&s, &headers, &id, |ids| {
        let mut state = s.state();
        let before = state.blocks.len();
        state
            .blocks
            .retain(|b| !ids.contains(&b.identifier.to_ascii_lowercase()));
        let released = before - state.blocks.len();
        let path = format!("/api/v2/user-blocks/{id}");
        recovery::log_unblock(&s, &headers, &mut state, &id, released, &path);
        StatusCode::NO_CONTENT.into_response()
    })
}

/// Answers a `user-blocks?identifier=` call with `then` of the identifier, or as Auth0 does
/// when the token is not valid or the query names none.
fn with_identifier(
    s: &Auth0Sandbox,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    then: impl FnOnce(&str) -> Response,
) -> Response {
    if let Some(r) = unauthorized(s, headers) {
        return r;
    }
    match q.get("identifier").filter(|i| !i.is_empty()) {
        Some(i) => then(i),
        None => api_error(
            StatusCode::BAD_REQUEST,
            "Query validation error: 'Missing required property: identifier' on property identifier.",
            "invalid_query_string",
        ),
    }
}

async fn get_blocks_by_identifier(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    with_identifier(&s, &headers, &q, |i| {
        blocks_json(s.blocks_for_identifier(i))
    })
}

async fn delete_blocks_by_identifier(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    with_identifier(&s, &headers, &q, |i| {
        let mut state = s.state();
        let before = state.blocks.len();
        state
            .blocks
            .retain(|b| !b.identifier.eq_ignore_ascii_case(i));
        let released = before - state.blocks.len();
        let identifier = i.to_ascii_lowercase();
        let users: Vec<String> = state
            .users
            .iter()
            .filter(|u| Auth0Sandbox::identifiers(u).contains(&identifier))
            .filter_map(|u| u["user_id"].as_str().map(str::to_owned))
            .collect();
        for id in users {
            let path = "/api/v2/user-blocks";
            recovery::log_unblock(&s, &headers, &mut state, &id, released, path);
        }
        StatusCode::NO_CONTENT.into_response()
    })
}

async fn change_password(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = fields(&headers, &body);
    let (Some(email), Some(connection)) = (f.get("email"), f.get("connection")) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "email and connection are required"})),
        )
            .into_response();
    };
    let client_id = f.get("client_id").cloned().unwrap_or_default();
    let user = s.users_by_email(email).into_iter().find(|u| {
        u["identities"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|i| i["connection"] == connection.as_str()))
    });
    let user_id = user
        .as_ref()
        .and_then(|u| u["user_id"].as_str().map(str::to_owned));
    {
        let mut state = s.state();
        state.resets.push(PasswordReset {
            email: email.to_ascii_lowercase(),
            connection: connection.clone(),
            client_id: client_id.clone(),
            user_id: user_id.clone(),
        });
        if let Some(user) = &user {
            let details =
                json!({"body": {"email": email, "connection": connection, "client_id": client_id}});
            let actor = Actor::client(&s.settings, &client_id, &headers);
            let entry = actor.entry(user, "scpr", "Change password request", Some(details));
            state.accounts.log(entry);
        }
    }
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "We've just sent you an email to reset your password.",
    )
        .into_response();
    if let Some(user_id) = user_id {
        let request: Value = serde_json::from_slice(&body).unwrap_or_else(|_| json!(f));
        let recipient = email.to_ascii_lowercase();
        if let Ok(entry) = s.outbox.record(Email {
            kind: "auth0_password_reset",
            provider: "auth0",
            recipient: &recipient,
            from: format!("{} <no-reply@{}>", s.settings.domain, s.settings.domain),
            email: provider_email(
                "auth0_password_reset",
                &json!({
                    "email": recipient,
                    "tenant": s.settings.domain,
                    "url": format!("https://{}/u/reset-password?ticket={}#", s.settings.domain, random_hex(16)),
                }),
            ),
            facts: vec![
                ("To".into(), recipient.clone()),
                ("User".into(), user_id),
                ("Connection".into(), connection.clone()),
                ("Application (client_id)".into(), client_id),
            ],
            params: vec![],
            request: &request,
        }).await {
            response.extensions_mut().insert(Recorded(entry.html));
        }
    }
    response
}

async fn local_state(State(s): State<Auth0Sandbox>) -> Json<Value> {
    let state = s.state();
    let mut body = json!({
        "domain": s.settings.domain,
        "enterprise": s.enterprise(),
        "users": state.users,
        "blocks": state.blocks,
        "password_resets": state.resets,
        "verification_emails": state.verifications,
    });
    if let Value::Object(fields) = &mut body {
        fields.extend(state.accounts.state_json(&state.users));
    }
    Json(body)
}

impl crate::Sandbox for Auth0Sandbox {
    const NAME: &'static str = "auth0";
    const URL_SETTINGS: &'static [&'static str] = &["AUTH0_BASE_URL", "AUTH0_DOMAIN"];

    fn router(&self) -> Router {
        self.routes()
    }

    fn function_env(&self, base_url: &str) -> Vec<(String, String)> {
        let s = &self.settings;
        vec![
            ("AUTH0_DOMAIN".into(), s.domain.clone()),
            ("AUTH0_BASE_URL".into(), base_url.to_owned()),
            ("AUTH0_CLIENT_ID".into(), s.client_id.clone()),
            ("AUTH0_CLIENT_SECRET".into(), s.client_secret.clone()),
            // email-transform skips an `sce` made by the Dixa functions' client (this one):
            // dixa-patch-user puts that change's emails itself.
            ("DIXA_AUTH0_CLIENT_ID".into(), s.client_id.clone()),
        ]
    }
}
