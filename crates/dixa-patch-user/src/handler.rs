//! `POST /users/{user_id}/{action}` (and its `OPTIONS` preflight): one of the nine writes,
//! authorised by the action token from the look-up.
//!
//! Every response, errors included, carries the CORS headers for an allowed `Origin`
//! ([`dixa_access::with_cors`]).
//!
//! | step | failure | status | audit |
//! |---|---|---|---|
//! | path is `/users/{user_id}/{action}` ([`crate::route`]) | other path, unknown action | 404 `not_found` | none |
//! | method | `OPTIONS` | [`dixa_access::Cors::preflight`]: 204, or 403 for another origin | none |
//! | | not `POST` / `OPTIONS` | 405 `method_not_allowed`, `Allow: POST, OPTIONS` | none |
//! | `Origin`, when sent, is allowed | other origin | 403 `forbidden` | refused, `origin_not_allowed` |
//! | `Authorization: Bearer <token>` verifies for this user and action | missing, malformed, bad signature, expired, other user, other action | 403 `forbidden` (always the same body) | refused, e.g. `token_expired` |
//! | body at most [`dixa_access::MAX_BODY_BYTES`] | larger | 413 `body_too_large` | refused |
//! | `change_email` / `restore_email`: body `{"email": "<address>"}` | not JSON / other shape / not an address | 400 `invalid_json` / `bad_request` / `invalid_email` | refused |
//! | `restore_email`: the token binds an address ([`dixa_access::ActionTokens::may_restore`]) | none bound (the look-up found no change of this account away from the conversation's address) | 403 `restore_not_allowed` | refused, `restore_not_bound` |
//! | | another address than the body's | 403 `restore_other_address` | refused, `restore_other_address` |
//! | `change_email` / `restore_email` / `send_password_reset` / `resend_verification`: the account | gone | 404 `not_found` | failed, `user_not_found` |
//! | `change_email` / `restore_email` | already has that address | 409 `same_email` (nothing changed, nothing sent) | refused |
//! | `restore_email`: `users-by-email` for the address | another account has it on this account's connection ([`dixa_access::restore::address_taken`]) | 409 `email_taken` (nothing changed) | refused |
//! | `send_password_reset` | no email | 409 `no_email` | refused |
//! | | no database identity (on `AUTH0_RESET_CONNECTION` when set) | 409 `not_database_user` | refused |
//! | `resend_verification` | no email / already verified | 409 `no_email` / `already_verified` (no email sent) | refused |
//! | `sign_out_everywhere` | `DIXA_SIGN_OUT_EVERYWHERE=false` | 403 `action_disabled` (nothing revoked) | refused, `sign_out_disabled` |
//! | | the tenant's plan has no sign-out (not Enterprise: [`auth0_client::SignOut::NotAvailableOnPlan`]) | 409 `sign_out_not_available`, in words | failed, `not_available_on_plan` |
//! | the Auth0 call | 404 | 404 `not_found` | failed, `user_not_found` |
//! | | other 4xx (e.g. address already used, enterprise account) | 409 `change_rejected` | failed, `upstream_rejected` |
//! | | 429, 5xx, timeout | 503 `upstream_unavailable` | failed, `upstream_unavailable` |
//! | | 401/403 (scopes) and the rest | 502 `upstream_error` | failed, `upstream_error` |
//! | done | | 200 `{"ok": true, "action": "...", "user_id": "..."}` | allowed |
//! | `change_email` / `restore_email` done: the two emails put on the Email bus ([`crate::notify`]) | accepted | 200 as above plus `"notification": "queued"` | allowed |
//! | | PutEvents fails after its retries, or not before the deadline | 200 as above plus `"notification": "failed"`: the email **was** changed; the card says the customer was not told | allowed, `notification_failed` |
//! | `change_email` / `restore_email` done: the change recorded in the email history (when `EMAIL_HISTORY_TABLE` is set) | the write fails or misses the deadline | 200 as above plus `"history": "not_recorded"`: the email **was** changed (an ERROR line, no address) | allowed, `history_not_recorded` (`notification_failed` wins when both fail) |
//!
//! Refusals before the token is verified are audited with the user id from the path only;
//! from then on the user id, conversation id and agent come from the verified claims.
//!
//! | action | Auth0 call(s) |
//! |---|---|
//! | `change_email` | `GET /api/v2/users/{id}` (the old address), then `PATCH /api/v2/users/{id}` `{"email": "<new>", "email_verified": false, "verify_email": true}`, then PutEvents of the two SendEmail events beside the history write |
//! | `restore_email` | `GET /api/v2/users/{id}` beside `GET /api/v2/users-by-email?email=<address>`, then the `PATCH`, the emails and the history write of `change_email` |
//! | `send_password_reset` | `GET /api/v2/users/{id}`, then `POST /dbconnections/change_password` `{"client_id": AUTH0_RESET_CLIENT_ID, "email", "connection"}` |
//! | `resend_verification` | `GET /api/v2/users/{id}`, then `POST /api/v2/jobs/verification-email` `{"user_id", "client_id": AUTH0_RESET_CLIENT_ID}` |
//! | `block` / `unblock` | `PATCH /api/v2/users/{id}` `{"blocked": true}` / `{"blocked": false}` |
//! | `clear_brute_force_blocks` | `DELETE /api/v2/user-blocks/{id}` |
//! | `sign_out_everywhere` | `DELETE /api/v2/users/{id}/sessions`, then `DELETE /api/v2/users/{id}/refresh-tokens` |
//! | `reset_mfa` | `DELETE /api/v2/users/{id}/authentication-methods`, then `POST /api/v2/users/{id}/multifactor/actions/invalidate-remember-browser` |

use crate::config::{Config, NotifySettings, ResetSettings};
use crate::notify::{self, ChangeMade};
use crate::route::{self, ActionRoute};
use auth0_client::{Auth0Client, BuildError, Deadline, ErrorKind, SignOut, User, UserPatch};
use auth0_events::EmailAddress;
use dixa_access::{
    AccessConfig, Action, ApiError, AuditRecord, Claims, MAX_BODY_BYTES, Outcome, audit,
    bearer_token, body_bytes, deadline, error_json, foreign_origin, json_body, known_agent,
    method_not_allowed, ok_json, restore::address_taken, upstream_failure, with_cors,
};
use email_bus::Publisher;
use email_history::{Change, ChangedBy, EmailHistory};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use lambda_support::time::{Clock, rfc3339};
use serde_json::Value;
use std::{sync::OnceLock, time::Duration};

/// Kept spare before Lambda's deadline for answering.
const DEADLINE_MARGIN: Duration = Duration::from_millis(300);
/// The longest an action works (API Gateway REST integrations time out at 29 s).
const MAX_WORK: Duration = Duration::from_secs(25);

const CHANGE_EMAIL_SHAPE: &str = r#"The body must be {"email": "<new address>"} and nothing else."#;

const RESTORE_NOT_ALLOWED: &str = "This card cannot give this account an address back: no change of it away from the conversation's address is on record. Nothing was changed.";
const RESTORE_OTHER_ADDRESS: &str = "This account can only be given back the address the conversation is about. Nothing was changed.";
const EMAIL_TAKEN: &str =
    "Another account now has this address, so it cannot be given back. Nothing was changed.";
const SAME_EMAIL: &str = "The account already has this email address: nothing was changed.";
const SIGN_OUT_DISABLED: &str =
    "Sign-out everywhere is turned off for this card. Nothing was revoked.";
const SIGN_OUT_NOT_ON_PLAN: &str = "This Auth0 tenant's plan has no sign-out-everywhere (it needs an Enterprise plan). Nothing was revoked: change the password instead.";
const REFRESH_TOKENS_NOT_ON_PLAN: &str = "The sessions were ended, but this Auth0 tenant's plan cannot revoke refresh tokens (it needs an Enterprise plan): change the password too.";

/// A done action's answer: `{"ok": true, "action", "user_id"}`; for an email change whether
/// the customer was told (`notification`) and, only when it failed, that the change is not in
/// the email history (`"history": "not_recorded"`).
#[derive(Debug, serde::Serialize)]
struct Done<'a> {
    ok: bool,
    action: &'a str,
    user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<&'static str>,
}

/// The actions, built once per container.
#[derive(Debug)]
pub struct Actions {
    auth0: Auth0Client,
    access: AccessConfig,
    reset: ResetSettings,
    /// Puts the emails of an email change on the Email bus. Built on the first email change:
    /// block, unblock and reset never need it, and building the EventBridge client (the SDK
    /// parses its endpoint partition table) was a third of this function's start-up work.
    publisher: OnceLock<Publisher>,
    sdk: aws_types::SdkConfig,
    notify: NotifySettings,
    /// Where address changes are recorded (`None`: `EMAIL_HISTORY_TABLE` unset).
    history: Option<EmailHistory>,
    /// When action tokens are checked against their expiry, and the time of a change.
    clock: Clock,
}

/// What became of the emails of an email change (the response's `notification`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notification {
    /// EventBridge accepted both events; send-email sends them.
    Queued,
    /// They could not be put: the change stands, the customer was not told.
    Failed,
}

impl Notification {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Failed => "failed",
        }
    }
}

/// What became of an email change's record in the email history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorded {
    /// Written.
    Yes,
    /// Nothing to write: no history configured, or the account had no address before.
    NotNeeded,
    /// The write failed or missed the deadline: the change stands (`"history": "not_recorded"`).
    Failed,
}

/// Why an allowed request did not complete: the answer and what the audit line says.
struct Failure {
    reply: Reply,
    outcome: Outcome,
    reason: &'static str,
}

/// An error answer, built into a response only at the end.
enum Reply {
    Api(ApiError),
    /// A case [`ApiError`] has no variant for (409s).
    Other {
        status: StatusCode,
        code: &'static str,
        message: &'static str,
    },
}

impl Reply {
    fn to_response(&self) -> Response<Body> {
        match self {
            Reply::Api(err) => err.to_response(),
            Reply::Other {
                status,
                code,
                message,
            } => error_json(*status, code, message),
        }
    }
}

impl From<ApiError> for Failure {
    /// A rejected request (bad body): refused, with the error code as reason.
    fn from(err: ApiError) -> Self {
        Self {
            reply: Reply::Api(err),
            outcome: Outcome::Refused,
            reason: err.code(),
        }
    }
}

impl Failure {
    /// The account's state rules the action out: 409 with `code` as reason.
    fn conflict(code: &'static str, message: &'static str) -> Self {
        Self {
            reply: Reply::Other {
                status: StatusCode::CONFLICT,
                code,
                message,
            },
            outcome: Outcome::Refused,
            reason: code,
        }
    }

    /// A request the token does not cover (a restore of another address, a turned-off action):
    /// 403 with its own code, so the agent reads why.
    fn forbidden(reason: &'static str, code: &'static str, message: &'static str) -> Self {
        Self {
            reply: Reply::Other {
                status: StatusCode::FORBIDDEN,
                code,
                message,
            },
            outcome: Outcome::Refused,
            reason,
        }
    }

    /// The tenant's plan has no sign-out-everywhere: 409 in words.
    fn not_on_plan(message: &'static str) -> Self {
        Self {
            reply: Reply::Other {
                status: StatusCode::CONFLICT,
                code: "sign_out_not_available",
                message,
            },
            outcome: Outcome::Failed,
            reason: "not_available_on_plan",
        }
    }

    fn user_not_found() -> Self {
        Self {
            reply: Reply::Api(ApiError::NotFound),
            outcome: Outcome::Failed,
            reason: "user_not_found",
        }
    }

    /// An Auth0 error, logged (its text is PII-free) and mapped per the module table.
    fn upstream(action: Action, e: auth0_client::Error) -> Self {
        tracing::warn!(action = action.as_str(), error = %e, "Auth0 call failed");
        let (reply, reason) = match e.kind {
            ErrorKind::NotFound => return Self::user_not_found(),
            ErrorKind::BadRequest { .. } => (
                Reply::Other {
                    status: StatusCode::CONFLICT,
                    code: "change_rejected",
                    message: "The account service refused this change for this account.",
                },
                "upstream_rejected",
            ),
            _ => {
                let err = upstream_failure(e.is_transient());
                (Reply::Api(err), err.code())
            }
        };
        Self {
            reply,
            outcome: Outcome::Failed,
            reason,
        }
    }
}

impl Actions {
    /// The Auth0 token, fetched while the runtime polls for the first request.
    pub async fn warm_up(&self) {
        self.auth0.warm_up().await;
    }

    /// `sdk` is the shared SDK configuration the EventBridge client for the emails of an email
    /// change is built on, once, at the first change.
    pub fn new(config: Config, sdk: aws_types::SdkConfig) -> Result<Self, BuildError> {
        Ok(Self {
            auth0: Auth0Client::new(config.auth0)?,
            access: config.access,
            reset: config.reset,
            publisher: OnceLock::new(),
            sdk,
            notify: config.notify,
            history: None,
            clock: Clock::default(),
        })
    }

    /// Records every email change in `history` (`None`: no history).
    pub fn with_history(mut self, history: Option<EmailHistory>) -> Self {
        self.history = history;
        self
    }

    /// Checks tokens against `clock` (tests move it instead of waiting for an expiry).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The account as it is now; one that is gone is a 404.
    async fn account(
        &self,
        user_id: &str,
        action: Action,
        deadline: &Deadline,
    ) -> Result<User, Failure> {
        self.auth0
            .get_user(user_id, deadline)
            .await
            .map_err(|e| Failure::upstream(action, e))?
            .ok_or_else(Failure::user_not_found)
    }

    fn publisher(&self) -> &Publisher {
        self.publisher.get_or_init(|| {
            Publisher::new(
                aws_sdk_eventbridge::Client::new(&self.sdk),
                self.notify.email_bus.clone(),
                self.notify.backoff,
            )
        })
    }

    /// Routes one request; always a response, always with CORS headers for an allowed origin.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        with_cors(&self.access.cors, req, |req| self.route(req)).await
    }

    async fn route(&self, req: Request) -> Response<Body> {
        let Some(route) = route::parse(&req) else {
            tracing::info!(status = 404, "no such route");
            return ApiError::NotFound.to_response();
        };
        match *req.method() {
            Method::POST => self.act(&req, &route).await,
            Method::OPTIONS => self.access.cors.preflight(&req),
            _ => {
                tracing::info!(
                    status = 405,
                    action = route.action.as_str(),
                    "method not allowed"
                );
                method_not_allowed("POST, OPTIONS")
            }
        }
    }

    async fn act(&self, req: &Request, route: &ActionRoute) -> Response<Body> {
        let action = route.action;
        let refuse = |reason: &'static str, err: ApiError| {
            audit(AuditRecord {
                action: action.as_str(),
                user_id: Some(&route.user_id),
                conversation_id: None,
                agent: None,
                outcome: Outcome::Refused,
                reason: Some(reason),
            });
            err.to_response()
        };
        if foreign_origin(&self.access.cors, req) {
            return refuse("origin_not_allowed", ApiError::Forbidden);
        }
        // The request's one time: the token's expiry is checked against it, and a change made
        // is dated by it (emails and history record alike).
        let now = self.clock.unix_s();
        let verified = bearer_token(req.headers()).and_then(|token| {
            self.access
                .tokens
                .verify(token, &route.user_id, action, now)
        });
        let claims = match verified {
            Ok(claims) => claims,
            Err(e) => return refuse(e.reason(), e.public()),
        };

        let deadline = deadline(req, DEADLINE_MARGIN, MAX_WORK);
        let (response, outcome, reason) = match self.perform(req, &claims, action, &deadline).await
        {
            Ok(changed) => {
                let mut done = Done {
                    ok: true,
                    action: action.as_str(),
                    user_id: &claims.sub,
                    notification: None,
                    history: None,
                };
                let mut reason = None;
                if let Some(change) = changed {
                    let changed_at = i64::try_from(now).unwrap_or(i64::MAX);
                    let (notification, recorded) = tokio::join!(
                        self.notify(&change, changed_at, &deadline),
                        self.record(&change, &claims.csid, changed_at, &deadline),
                    );
                    if recorded == Recorded::Failed {
                        done.history = Some("not_recorded");
                        reason = Some("history_not_recorded");
                    }
                    if notification == Notification::Failed {
                        // The alarm's reason: it wins over the history's.
                        reason = Some("notification_failed");
                    }
                    done.notification = Some(notification.as_str());
                }
                (ok_json(&done), Outcome::Allowed, reason)
            }
            Err(f) => (f.reply.to_response(), f.outcome, Some(f.reason)),
        };
        audit(AuditRecord {
            action: action.as_str(),
            user_id: Some(&claims.sub),
            conversation_id: Some(&claims.csid),
            agent: known_agent(&claims.agent),
            outcome,
            reason,
        });
        response
    }

    /// Records `change` in the email history, an agent's change in conversation
    /// `conversation_id` at `changed_at`. Never fails the request: the change is made, so a
    /// failure is logged (no address) and reported.
    async fn record(
        &self,
        change: &ChangeMade,
        conversation_id: &str,
        changed_at: i64,
        deadline: &Deadline,
    ) -> Recorded {
        let (Some(history), Some(old)) = (&self.history, &change.old) else {
            return Recorded::NotNeeded;
        };
        let key = history.key();
        let record = Change::new(
            key,
            old,
            &change.new,
            change.user_id.as_str(),
            changed_at,
            ChangedBy::Agent {
                conversation_id: conversation_id.to_owned(),
            },
            key.agent_source_id(conversation_id, &change.user_id, &change.new),
        );
        let user_id = change.user_id.as_str();
        match tokio::time::timeout(deadline.remaining(), history.record(&record)).await {
            Ok(Ok(_)) => {
                tracing::info!(user_id, "email change recorded in the email history");
                Recorded::Yes
            }
            Ok(Err(e)) => {
                tracing::error!(
                    user_id,
                    error = %e,
                    "email changed, but the change could not be recorded in the email history"
                );
                Recorded::Failed
            }
            Err(_) => {
                tracing::error!(
                    user_id,
                    "email changed, but the email history did not answer before the deadline: \
                     the change is not recorded"
                );
                Recorded::Failed
            }
        }
    }

    /// Puts the emails of `change` on the Email bus within `deadline`. Never fails the
    /// request: the change is made, so a failure is reported, logged and audited.
    async fn notify(
        &self,
        change: &ChangeMade,
        changed_at: i64,
        deadline: &Deadline,
    ) -> Notification {
        let emails = notify::emails(change, &rfc3339(changed_at));
        let log_id = emails.first().map(|e| e.log_id.as_str().to_owned());
        let log_id = log_id.as_deref();
        let kinds: Vec<&str> = emails.iter().map(|e| e.kind.as_str()).collect();
        match self.publisher().publish_details(&emails, deadline).await {
            Ok(attempts) => {
                tracing::info!(
                    log_id,
                    emails = ?kinds,
                    attempts,
                    "SendEmail events of the email change put on the Email bus"
                );
                Notification::Queued
            }
            Err(e) => {
                tracing::error!(
                    log_id,
                    emails = ?kinds,
                    error = %e,
                    "email changed, but its SendEmail events could not be put on the Email bus: \
                     the customer was not told"
                );
                Notification::Failed
            }
        }
    }

    /// The one write `action` stands for; nothing else of the profile can change. For
    /// `change_email` and `restore_email`, the change made. `claims` are the verified token's.
    async fn perform(
        &self,
        req: &Request,
        claims: &Claims,
        action: Action,
        deadline: &Deadline,
    ) -> Result<Option<ChangeMade>, Failure> {
        let user_id = claims.sub.as_str();
        let upstream = |e| Failure::upstream(action, e);
        match action {
            Action::ChangeEmail => {
                let new = email_body(req)?;
                // The old address, for the email telling it of the change.
                let user = self.account(user_id, action, deadline).await?;
                self.set_email(user, new, claims, action, deadline)
                    .await
                    .map(Some)
            }
            Action::RestoreEmail => {
                let address = email_body(req)?;
                if !self.access.tokens.may_restore(claims, address.as_str()) {
                    return Err(match claims.restore {
                        None => Failure::forbidden(
                            "restore_not_bound",
                            "restore_not_allowed",
                            RESTORE_NOT_ALLOWED,
                        ),
                        Some(_) => Failure::forbidden(
                            "restore_other_address",
                            "restore_other_address",
                            RESTORE_OTHER_ADDRESS,
                        ),
                    });
                }
                let (user, holders) = tokio::join!(
                    self.account(user_id, action, deadline),
                    self.auth0.users_by_email(&address, deadline),
                );
                let user = user?;
                let holders = holders.map_err(upstream)?;
                if user.email.as_ref() != Some(&address) && address_taken(&user, &holders) {
                    return Err(Failure::conflict("email_taken", EMAIL_TAKEN));
                }
                self.set_email(user, address, claims, action, deadline)
                    .await
                    .map(Some)
            }
            Action::SendPasswordReset => {
                body_bytes(req, MAX_BODY_BYTES)?;
                let user = self.account(user_id, action, deadline).await?;
                let (email, connection) = self.reset_target(&user)?;
                self.auth0
                    .change_password(email, connection, &self.reset.client_id, deadline)
                    .await
                    .map_err(upstream)?;
                Ok(None)
            }
            Action::ResendVerification => {
                body_bytes(req, MAX_BODY_BYTES)?;
                let user = self.account(user_id, action, deadline).await?;
                if user.email.is_none() {
                    return Err(Failure::conflict(
                        "no_email",
                        "The account has no email address to verify.",
                    ));
                }
                if user.email_verified {
                    return Err(Failure::conflict(
                        "already_verified",
                        "The account's address is already verified: no email was sent.",
                    ));
                }
                self.auth0
                    .send_verification_email(user_id, Some(&self.reset.client_id), deadline)
                    .await
                    .map_err(upstream)?;
                Ok(None)
            }
            Action::Block | Action::Unblock => {
                body_bytes(req, MAX_BODY_BYTES)?;
                let patch = UserPatch {
                    blocked: Some(action == Action::Block),
                    ..UserPatch::default()
                };
                self.patch(user_id, &patch, deadline)
                    .await
                    .map_err(upstream)?;
                Ok(None)
            }
            Action::ClearBruteForceBlocks => {
                body_bytes(req, MAX_BODY_BYTES)?;
                self.auth0
                    .delete_user_blocks(user_id, deadline)
                    .await
                    .map_err(upstream)?;
                Ok(None)
            }
            Action::SignOutEverywhere => {
                body_bytes(req, MAX_BODY_BYTES)?;
                if !self.access.sign_out_everywhere {
                    return Err(Failure::forbidden(
                        "sign_out_disabled",
                        "action_disabled",
                        SIGN_OUT_DISABLED,
                    ));
                }
                // Sessions first: on a plan without the endpoints nothing is revoked at all.
                let sessions = self
                    .auth0
                    .delete_sessions(user_id, deadline)
                    .await
                    .map_err(upstream)?;
                if sessions == SignOut::NotAvailableOnPlan {
                    return Err(Failure::not_on_plan(SIGN_OUT_NOT_ON_PLAN));
                }
                // Refresh tokens survive a session delete.
                let tokens = self
                    .auth0
                    .delete_refresh_tokens(user_id, deadline)
                    .await
                    .map_err(upstream)?;
                if tokens == SignOut::NotAvailableOnPlan {
                    return Err(Failure::not_on_plan(REFRESH_TOKENS_NOT_ON_PLAN));
                }
                Ok(None)
            }
            Action::ResetMfa => {
                body_bytes(req, MAX_BODY_BYTES)?;
                self.auth0
                    .delete_authentication_methods(user_id, deadline)
                    .await
                    .map_err(upstream)?;
                self.auth0
                    .invalidate_remember_browser(user_id, deadline)
                    .await
                    .map_err(upstream)?;
                Ok(None)
            }
        }
    }

    /// Sets `user`'s address to `new`, unverified, Auth0 sending it a verification email: the
    /// write of `change_email` and `restore_email`. 409 when the account has it already.
    async fn set_email(
        &self,
        user: User,
        new: EmailAddress,
        claims: &Claims,
        action: Action,
        deadline: &Deadline,
    ) -> Result<ChangeMade, Failure> {
        if user.email.as_ref() == Some(&new) {
            return Err(Failure::conflict("same_email", SAME_EMAIL));
        }
        let patch = UserPatch {
            email: Some(new.clone()),
            // The customer must prove the new address: never `true` here.
            email_verified: Some(false),
            verify_email: Some(true),
            ..UserPatch::default()
        };
        self.patch(&claims.sub, &patch, deadline)
            .await
            .map_err(|e| Failure::upstream(action, e))?;
        Ok(ChangeMade {
            user_id: claims.sub.clone(),
            old: user.email,
            new,
            token_exp: claims.exp,
        })
    }

    async fn patch(
        &self,
        user_id: &str,
        patch: &UserPatch,
        deadline: &Deadline,
    ) -> Result<(), auth0_client::Error> {
        self.auth0
            .patch_user(user_id, patch, deadline)
            .await
            .map(drop)
    }

    /// The address and database connection a reset email goes to.
    fn reset_target<'u>(&'u self, user: &'u User) -> Result<(&'u EmailAddress, &'u str), Failure> {
        let email = user.email.as_ref().ok_or_else(|| {
            Failure::conflict(
                "no_email",
                "The account has no email address to send a reset link to.",
            )
        })?;
        // Database connections are the identities whose provider is `auth0`.
        let mut database = user.identities.iter().filter(|i| i.provider == "auth0");
        let connection = match &self.reset.connection {
            Some(wanted) => database
                .find(|i| i.connection == *wanted)
                .map(|_| wanted.as_str()),
            None => database.next().map(|i| i.connection.as_str()),
        };
        let connection = connection.filter(|c| !c.is_empty()).ok_or_else(|| {
            Failure::conflict(
                "not_database_user",
                "The account does not sign in with a password here, so it has none to reset.",
            )
        })?;
        Ok((email, connection))
    }
}

/// The address from `{"email": "<address>"}` (the new one of `change_email`, the one to give
/// back of `restore_email`): 413 / 400 `invalid_json` / 400 `bad_request` (another shape,
/// extra keys included) / 400 `invalid_email`.
fn email_body(req: &Request) -> Result<EmailAddress, ApiError> {
    let body = json_body(req, MAX_BODY_BYTES)?;
    let email = match &body {
        Value::Object(fields) if fields.len() == 1 => fields.get("email"),
        _ => None,
    };
    let Some(Value::String(email)) = email else {
        return Err(ApiError::BadRequest(CHANGE_EMAIL_SHAPE));
    };
    EmailAddress::parse(email).map_err(|_| ApiError::InvalidEmail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str) -> Request {
        lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://api.example.com/users/auth0%7C1/change_email")
            .body(Body::Text(body.into()))
            .unwrap()
    }

    #[test]
    fn the_email_body_is_exactly_one_address() {
        assert_eq!(
            email_body(&post(r#"{"email": " Jane.New+Shop@Example.com "}"#))
                .unwrap()
                .as_str(),
            "jane.new+shop@example.com"
        );
        for (body, err) in [
            ("", ApiError::InvalidJson),
            ("email=jane@example.com", ApiError::InvalidJson),
            (r#"{"email": "#, ApiError::InvalidJson),
            (
                r#"["jane@example.com"]"#,
                ApiError::BadRequest(CHANGE_EMAIL_SHAPE),
            ),
            (r#"{"email": 1}"#, ApiError::BadRequest(CHANGE_EMAIL_SHAPE)),
            (
                r#"{"mail": "jane@example.com"}"#,
                ApiError::BadRequest(CHANGE_EMAIL_SHAPE),
            ),
            (
                r#"{"email": "jane@example.com", "email_verified": true}"#,
                ApiError::BadRequest(CHANGE_EMAIL_SHAPE),
            ),
            (r#"{"email": "jane@"}"#, ApiError::InvalidEmail),
            (
                r#"{"email": "jane doe@example.com"}"#,
                ApiError::InvalidEmail,
            ),
        ] {
            assert_eq!(email_body(&post(body)).err(), Some(err), "{body}");
        }
        let big = format!(
            r#"{{"email": "{}@example.com"}}"#,
            "a".repeat(MAX_BODY_BYTES)
        );
        assert_eq!(email_body(&post(&big)).err(), Some(ApiError::BodyTooLarge));
    }
}
