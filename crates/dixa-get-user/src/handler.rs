//! `GET /lookup?email=&csid=&agent=`: the look-up Dixa's card makes server-side.
//!
//! | step | failure | status | audit |
//! |---|---|---|---|
//! | path ends in `/lookup` | other path | 404 `not_found` | none |
//! | method `GET` | other method | 405 `method_not_allowed`, `Allow: GET` | none |
//! | look-up secret header ([`dixa_access::LookupGuard`]) | missing, wrong, rotated out | 401 `unauthenticated` | refused, `secret_missing` / `secret_mismatch` |
//! | `csid`: 1 to 128 of `A-Z a-z 0-9 - _ . :` | missing or other | 400 `bad_request` | refused, `invalid_csid` |
//! | `email` parses ([`auth0_events::EmailAddress`]) | missing or not an address | 400 `invalid_email` | refused, `invalid_email` |
//! | `GET /api/v2/users-by-email` | Auth0 failure | 503 `upstream_unavailable` (transient) / 502 `upstream_error` | failed, same code |
//! | `GET /api/v2/user-blocks/{id}` per account | Auth0 failure | as above | failed, same code |
//! | | no account | 200 `{"found": false, ...}` | allowed, `no_account` |
//! | | accounts | 200 card JSON ([`crate::card`]) | allowed, user ids joined by `,` |
//!
//! `agent` is optional: without it the tokens carry [`dixa_access::unknown_agent`] and the
//! audit line has no `agent`. The audit line carries `conversation_id` only once `csid` is
//! valid. No response is an `Err`: API Gateway would turn it into a bare 502.

use crate::card::{self, CardAccount, CardOptions, TokenContext};
use crate::config::Config;
use auth0_client::{Auth0Client, BuildError, Deadline};
use auth0_events::EmailAddress;
use dixa_access::{
    AccessConfig, AgentRef, ApiError, AuditRecord, Outcome, agent_from_query, audit, deadline,
    known_agent, method_not_allowed, ok_json, path_segments, query_param, upstream_failure,
};
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use lambda_support::time::Clock;
use std::time::Duration;

/// Kept spare before Lambda's deadline for answering.
const DEADLINE_MARGIN: Duration = Duration::from_millis(300);

/// The longest conversation id accepted.
const MAX_CSID_LEN: usize = 128;

/// The look-up, built once per container.
#[derive(Debug)]
pub struct Lookup {
    auth0: Auth0Client,
    access: AccessConfig,
    card: CardOptions,
    timeout: Duration,
    /// When action tokens are minted.
    clock: Clock,
}

/// What the audit line says about the request so far.
struct Trail<'a> {
    conversation_id: Option<&'a str>,
    agent: &'a AgentRef,
}

impl Trail<'_> {
    fn record(&self, user_id: Option<&str>, outcome: Outcome, reason: Option<&'static str>) {
        audit(AuditRecord {
            action: "lookup",
            user_id,
            conversation_id: self.conversation_id,
            agent: known_agent(self.agent),
            outcome,
            reason,
        });
    }

    fn refuse(&self, reason: &'static str, err: ApiError) -> Response<Body> {
        self.record(None, Outcome::Refused, Some(reason));
        err.to_response()
    }
}

impl Lookup {
    /// The Auth0 token, fetched while the runtime polls for the first request.
    pub async fn warm_up(&self) {
        self.auth0.warm_up().await;
    }

    pub fn new(config: Config) -> Result<Self, BuildError> {
        Ok(Self {
            auth0: Auth0Client::new(config.auth0)?,
            access: config.access,
            card: config.card,
            timeout: config.timeout,
            clock: Clock::default(),
        })
    }

    /// Mints tokens at `clock`'s time (tests move it instead of waiting for an expiry).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Routes one request; always a response (see the module table).
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let routed = path_segments(&req)
            .is_some_and(|segments| segments.last().is_some_and(|s| s == "lookup"));
        if !routed {
            tracing::info!(status = 404, "no such route");
            return ApiError::NotFound.to_response();
        }
        if req.method() != Method::GET {
            tracing::info!(status = 405, "method not allowed on /lookup");
            return method_not_allowed("GET");
        }
        self.lookup(&req).await
    }

    async fn lookup(&self, req: &Request) -> Response<Body> {
        let csid = query_param(req, "csid").filter(|c| valid_csid(c));
        let agent = agent_from_query(query_param(req, "agent").as_deref());
        let trail = Trail {
            conversation_id: csid.as_deref(),
            agent: &agent,
        };
        if let Err(e) = self.access.lookup.check_lookup_secret(req.headers()) {
            return trail.refuse(e.reason(), e.public());
        }
        let Some(csid) = csid.as_deref() else {
            return trail.refuse(
                "invalid_csid",
                ApiError::BadRequest("Missing or invalid csid (the Dixa conversation id)."),
            );
        };
        let Some(email) = query_param(req, "email").and_then(|e| EmailAddress::parse(&e).ok())
        else {
            return trail.refuse("invalid_email", ApiError::InvalidEmail);
        };

        let deadline = deadline(req, DEADLINE_MARGIN, self.timeout);
        let (users, blocks) = match self.fetch(&email, &deadline).await {
            Ok(found) => found,
            Err(e) => {
                let err = upstream_failure(e.is_transient());
                tracing::warn!(error = %e, status = err.status().as_u16(), "Auth0 look-up failed");
                trail.record(None, Outcome::Failed, Some(err.code()));
                return err.to_response();
            }
        };

        let now = self.clock.unix_s();
        let ctx = TokenContext {
            tokens: &self.access.tokens,
            conversation_id: csid,
            agent: &agent,
            now,
        };
        let accounts: Vec<CardAccount> = users
            .iter()
            .zip(&blocks)
            .map(|(user, blocks)| card::account(user, blocks, self.card, &ctx))
            .collect();
        if accounts.is_empty() {
            trail.record(None, Outcome::Allowed, Some("no_account"));
        } else {
            let ids: Vec<&str> = users.iter().map(|u| u.user_id.as_str()).collect();
            trail.record(Some(&ids.join(",")), Outcome::Allowed, None);
        }
        ok_json(&card::response(&accounts, self.access.tokens.ttl_s()))
    }

    /// The accounts of `email` (`users-by-email`, never the search) and each one's
    /// brute-force blocks, in the same order.
    async fn fetch(
        &self,
        email: &EmailAddress,
        deadline: &Deadline,
    ) -> Result<(Vec<auth0_client::User>, Vec<auth0_client::UserBlocks>), auth0_client::Error> {
        let users = self.auth0.users_by_email(email, deadline).await?;
        let mut blocks = Vec::with_capacity(users.len());
        for user in &users {
            blocks.push(self.auth0.get_user_blocks(&user.user_id, deadline).await?);
        }
        Ok((users, blocks))
    }
}

/// Dixa conversation ids are numbers; allow a few separators, refuse anything else (it is
/// signed into tokens and written to audit lines).
fn valid_csid(csid: &str) -> bool {
    (1..=MAX_CSID_LEN).contains(&csid.len())
        && csid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csid_rules() {
        for ok in ["8812345", "a-b_c.d:e", &"9".repeat(MAX_CSID_LEN)] {
            assert!(valid_csid(ok), "{ok}");
        }
        for bad in [
            "",
            "12 34",
            "a@b.example",
            "<script>",
            "12/34",
            &"9".repeat(MAX_CSID_LEN + 1),
        ] {
            assert!(!valid_csid(bad), "{bad}");
        }
    }
}
