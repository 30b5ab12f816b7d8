//! The account-recovery routes: a user's logs, the verification-email job, sign out everywhere
//! (sessions, refresh tokens), and the MFA reset (authentication methods, remembered
//! browsers). See the module doc of `auth0` for the table and what is unverified.

use super::{Auth0Sandbox, accounts::Actor, api_error, email_of, no_user, unauthorized};
use crate::Recorded;
use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The most entries Auth0 returns on one page, and the most it lets a caller page through.
const MAX_PER_PAGE: usize = 100;
const MAX_REACHABLE: usize = 1_000;
/// `per_page` when the caller sends none.
const DEFAULT_PER_PAGE: usize = 50;

/// What a non-Enterprise tenant answers on an Enterprise-only endpoint (UNVERIFIED).
pub(super) const NOT_ON_PLAN: &str =
    "This feature is not available on your plan. Upgrade to an Enterprise plan to use it.";

pub(super) fn routes() -> Router<Auth0Sandbox> {
    Router::new()
        .route("/api/v2/users/{id}/logs", get(user_logs))
        .route("/api/v2/users/{id}/sessions", delete(delete_sessions))
        .route(
            "/api/v2/users/{id}/refresh-tokens",
            delete(delete_refresh_tokens),
        )
        .route(
            "/api/v2/users/{id}/authentication-methods",
            get(authentication_methods).delete(delete_authentication_methods),
        )
        .route(
            "/api/v2/users/{id}/multifactor/actions/invalidate-remember-browser",
            post(invalidate_remember_browser),
        )
        .route("/api/v2/jobs/verification-email", post(verification_email))
}

fn query_error(message: &str) -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        &format!("Query validation error: {message}"),
        "invalid_query_string",
    )
}

/// `page`, `per_page` and `sort` (newest first?) of a logs query, or what Auth0 says is wrong
/// with it.
fn paging(q: &HashMap<String, String>) -> Result<(usize, usize, bool), String> {
    let number = |name: &str, default: usize| match q.get(name) {
        None => Ok(default),
        Some(v) => v.parse::<usize>().map_err(|_| {
            format!("'Expected type integer but found type string' on property {name}.")
        }),
    };
    let page = number("page", 0)?;
    let per_page = number("per_page", DEFAULT_PER_PAGE)?;
    if per_page > MAX_PER_PAGE {
        return Err(format!(
            "'Number is greater than the maximum value of {MAX_PER_PAGE}' on property per_page."
        ));
    }
    let newest_first = match q.get("sort").map(String::as_str) {
        None | Some("date:-1") => true,
        Some("date:1") => false,
        Some(_) => {
            return Err("'String does not match pattern ^date:(1|-1)$' on property sort.".into());
        }
    };
    Ok((page, per_page, newest_first))
}

async fn user_logs(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = unauthorized(&s, &headers) {
        return r;
    }
    let (page, per_page, newest_first) = match paging(&q) {
        Ok(p) => p,
        Err(message) => return query_error(&message),
    };
    if s.user(&id).is_none() {
        return no_user();
    }
    let mut entries = s.state().accounts.newest_first(&id);
    entries.truncate(MAX_REACHABLE);
    if !newest_first {
        entries.reverse();
    }
    let total = entries.len();
    let start = page.saturating_mul(per_page).min(total);
    let logs: Vec<Value> = entries.into_iter().skip(start).take(per_page).collect();
    if q.get("include_totals").is_some_and(|v| v == "true") {
        return Json(json!({
            "start": start, "limit": per_page, "length": logs.len(), "total": total, "logs": logs
        }))
        .into_response();
    }
    Json(logs).into_response()
}

/// Runs `then` on the user (with the tenant locked), or answers as Auth0 does when the token is
/// not valid, the plan lacks the endpoint (`enterprise_only`) or no user has that id.
fn with_user(
    s: &Auth0Sandbox,
    headers: &HeaderMap,
    id: &str,
    enterprise_only: bool,
    then: impl FnOnce(&mut super::TenantState, Value) -> Response,
) -> Response {
    if let Some(r) = unauthorized(s, headers) {
        return r;
    }
    if enterprise_only && !s.enterprise() {
        return api_error(
            StatusCode::FORBIDDEN,
            NOT_ON_PLAN,
            "operation_not_supported",
        );
    }
    let mut state = s.state();
    match state.users.iter().find(|u| u["user_id"] == id).cloned() {
        Some(user) => then(&mut state, user),
        None => no_user(),
    }
}

/// The path a `sapi` entry names for a call on the user `id`.
fn user_path(id: &str, rest: &str) -> String {
    format!("/api/v2/users/{id}{rest}")
}

async fn delete_sessions(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    with_user(&s, &headers, &id, true, |state, user| {
        state.accounts.sessions.insert(id.clone(), 0);
        Actor::api(&s.settings, &headers).sapi(
            &mut state.accounts,
            &user,
            "Delete sessions for user",
            ("delete", &user_path(&id, "/sessions")),
            None,
            StatusCode::ACCEPTED,
        );
        StatusCode::ACCEPTED.into_response()
    })
}

async fn delete_refresh_tokens(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    with_user(&s, &headers, &id, true, |state, user| {
        state.accounts.refresh_tokens.insert(id.clone(), 0);
        Actor::api(&s.settings, &headers).sapi(
            &mut state.accounts,
            &user,
            "Delete refresh tokens for user",
            ("delete", &user_path(&id, "/refresh-tokens")),
            None,
            StatusCode::ACCEPTED,
        );
        StatusCode::ACCEPTED.into_response()
    })
}

async fn authentication_methods(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    with_user(&s, &headers, &id, false, |state, _| {
        let factors = state.accounts.factors.get(&id).cloned().unwrap_or_default();
        Json(factors).into_response()
    })
}

async fn delete_authentication_methods(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    with_user(&s, &headers, &id, false, |state, user| {
        let actor = Actor::api(&s.settings, &headers);
        let removed = state.accounts.factors.remove(&id).unwrap_or_default();
        for factor in removed {
            let kind = factor["type"].as_str().unwrap_or("unknown").to_owned();
            actor.log(
                &mut state.accounts,
                &user,
                "gd_unenroll",
                &format!("Multi-factor authentication factor removed ({kind})"),
                Some(json!({"authenticator": {"id": factor["id"], "type": kind}})),
            );
        }
        actor.sapi(
            &mut state.accounts,
            &user,
            "Delete all authentication methods for a user",
            ("delete", &user_path(&id, "/authentication-methods")),
            None,
            StatusCode::NO_CONTENT,
        );
        StatusCode::NO_CONTENT.into_response()
    })
}

async fn invalidate_remember_browser(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    with_user(&s, &headers, &id, false, |state, user| {
        let actor = Actor::api(&s.settings, &headers);
        state
            .accounts
            .remember_browser
            .push(json!({"user_id": id, "date": super::accounts::now_millis()}));
        actor.sapi(
            &mut state.accounts,
            &user,
            "Invalidate all remembered browsers for MFA",
            (
                "post",
                &user_path(&id, "/multifactor/actions/invalidate-remember-browser"),
            ),
            None,
            StatusCode::NO_CONTENT,
        );
        StatusCode::NO_CONTENT.into_response()
    })
}

fn body_error(message: &str) -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        &format!("Payload validation error: {message}"),
        "invalid_body",
    )
}

async fn verification_email(
    State(s): State<Auth0Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = unauthorized(&s, &headers) {
        return r;
    }
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(&body) else {
        return body_error("'Expected type object'.");
    };
    let Some(id) = request
        .get("user_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return body_error("'Missing required property: user_id'.");
    };
    let client_id = match request.get("client_id") {
        None => None,
        Some(Value::String(c)) => Some(c.clone()),
        Some(_) => return body_error("'Expected type string' on property client_id."),
    };
    let Some(user) = s.user(&id) else {
        return no_user();
    };
    let Some(email) = email_of(&user) else {
        return body_error("'The user does not have an email address.'");
    };
    let created_at = super::accounts::now_millis();
    let job = json!({
        "type": "verification_email",
        "status": "pending",
        "created_at": created_at,
        "id": format!("job_{}", crate::text::random_hex(8)),
    });
    {
        let mut state = s.state();
        let mut record = job.clone();
        record["user_id"] = json!(id);
        record["client_id"] = json!(client_id);
        record["email"] = json!(email);
        state.accounts.jobs.push(record);
        let actor = Actor::api(&s.settings, &headers);
        actor.log(
            &mut state.accounts,
            &user,
            "svr",
            "Verification email request",
            Some(json!({"email": email, "job_id": job["id"]})),
        );
        actor.sapi(
            &mut state.accounts,
            &user,
            "Send an email address verification email",
            ("post", "/api/v2/jobs/verification-email"),
            Some(&Value::Object(request.clone())),
            StatusCode::CREATED,
        );
    }
    let recorded = s
        .send_verification_email(
            &id,
            &email,
            "Auth0's verification email, resent by a verification job",
            &Value::Object(request),
        )
        .await;
    let mut response = (StatusCode::CREATED, Json(job)).into_response();
    if let Some(entry) = recorded {
        response.extensions_mut().insert(Recorded(entry.html));
    }
    response
}

/// Logs into `user_id`'s history that brute-force blocks were cleared: `ublkdu` when
/// `released` blocks were (none: no `ublkdu`), then `sapi` for the call on `path`.
pub(super) fn log_unblock(
    s: &Auth0Sandbox,
    headers: &HeaderMap,
    state: &mut super::TenantState,
    user_id: &str,
    released: usize,
    path: &str,
) {
    let Some(user) = state
        .users
        .iter()
        .find(|u| u["user_id"] == user_id)
        .cloned()
    else {
        return;
    };
    let actor = Actor::api(&s.settings, headers);
    if released > 0 {
        let details = json!({"released_blocks": released});
        actor.log(
            &mut state.accounts,
            &user,
            "ublkdu",
            "User block released",
            Some(details),
        );
    }
    actor.sapi(
        &mut state.accounts,
        &user,
        "Unblock a user",
        ("delete", path),
        None,
        StatusCode::NO_CONTENT,
    );
}
