//! `GET /lookup?email=&csid=&agent=`: the look-up Dixa's card makes server-side.
//!
//! | step | failure | status | audit |
//! |---|---|---|---|
//! | path ends in `/lookup` | other path | 404 `not_found` | none |
//! | method `GET` | other method | 405 `method_not_allowed`, `Allow: GET` | none |
//! | look-up secret header ([`dixa_access::LookupGuard`]) | missing, wrong, rotated out | 401 `unauthenticated` | refused, `secret_missing` / `secret_mismatch` |
//! | `csid`: 1 to 128 of `A-Z a-z 0-9 - _ . :` | missing or other | 400 `bad_request` | refused, `invalid_csid` |
//! | `email` parses ([`auth0_events::EmailAddress`]) | missing or not an address | 400 `invalid_email` | refused, `invalid_email` |
//! | round 1: `GET /api/v2/users-by-email` | Auth0 failure | 503 `upstream_unavailable` (transient) / 502 `upstream_error` | failed, same code |
//! | round 1, beside it: the email history's changes away from the address | fails, or no answer within [`HISTORY_READ_TIMEOUT`] (at most a quarter of the time left) | 200 without moved accounts, `"history": "unavailable"` | allowed, `history_unavailable` |
//! | round 2, every account at once: `GET /api/v2/user-blocks/{id}` (accounts with a database identity only) | Auth0 failure for a current account | 503 / 502 as above (no half card) | failed, same code |
//! | | Auth0 failure for a moved account (or its `GET /api/v2/users/{id}`) | 200 without that account, `"history": "unavailable"` | allowed, `history_unavailable` |
//! | round 2: `GET /api/v2/users/{id}/logs` | any failure (403 scope, 429, timeout) | 200, that account's `"events": {"status": "unavailable"}` | as the look-up |
//! | round 2: `GET /api/v2/users/{id}/authentication-methods` | any failure | 200, that account without `mfa_factors` (no `reset_mfa`) | as the look-up |
//! | round 2, moved accounts only: `GET /api/v2/users/{id}` | 404 (account deleted), or it has the address again | 200 without that account | as the look-up |
//! | | no account | 200 `{"found": false, ...}` | allowed, `no_account` |
//! | | accounts | 200 card JSON ([`crate::card`]) | allowed, user ids joined by `,` (moved first) |
//!
//! **Two sequential round trips**, whatever the number of accounts: `users-by-email` and the
//! history read go out together; then every account's calls (blocks, logs, authentication
//! methods, and for a moved account its profile) go out together. A moved account is asked
//! for blocks by its user id's provider prefix (`auth0|`), since its profile arrives in the same
//! round.
//!
//! A **moved account** is one the history lists under the looked-up address (by the keyed hash
//! of the address, never the address) that `users-by-email` does not return: it had the
//! address and has another now. Each account appears once, with its newest change away from
//! the address (the record that names the conversation, when two records are one agent
//! change); at most [`MAX_MOVED_ACCOUNTS`] of them.
//!
//! `agent` is optional: without it the tokens carry [`dixa_access::unknown_agent`] and the
//! audit line has no `agent`. The audit line carries `conversation_id` only once `csid` is
//! valid. No response is an `Err`: API Gateway would turn it into a bare 502.

use crate::card::{
    self, CardAccount, CardOptions, Facts, History, MovedFrom, TokenContext, has_database_identity,
};
use crate::config::Config;
use crate::events::MAX_EVENTS;
use auth0_client::{
    Auth0Client, AuthenticationMethod, BuildError, Deadline, LogEntry, User, UserBlocks,
};
use auth0_events::EmailAddress;
use dixa_access::{
    AccessConfig, AgentRef, ApiError, AuditRecord, Outcome, agent_from_query, audit, deadline,
    known_agent, method_not_allowed, ok_json, path_segments, query_param, restore::address_taken,
    upstream_failure,
};
use email_history::{Change, ChangedBy, EmailHistory};
use futures_util::future::join_all;
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use lambda_support::time::Clock;
use std::collections::HashSet;
use std::time::Duration;

/// Kept spare before Lambda's deadline for answering.
const DEADLINE_MARGIN: Duration = Duration::from_millis(300);

/// The longest conversation id accepted.
const MAX_CSID_LEN: usize = 128;

/// The longest the email history read may take (it holds up round 2), and never more than a
/// quarter of the time the look-up has left: a DynamoDB query answers in milliseconds, so this
/// only cuts a store that hangs, leaving round 2 its time.
pub const HISTORY_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// The most changes read from the history for one address.
const MAX_HISTORY_CHANGES: usize = 20;

/// The most moved accounts shown (each costs four Auth0 calls in round 2).
pub const MAX_MOVED_ACCOUNTS: usize = 5;

/// How the user id of an Auth0 database (username/password) user starts: only these can have
/// brute-force blocks.
const DATABASE_USER_PREFIX: &str = "auth0|";

/// The conversation id email-transform records an agent's change under when it sees it in an
/// `sce` log (which does not name the Dixa conversation).
const UNKNOWN_CONVERSATION: &str = "unknown";

/// How far apart two records of one agent change (email-transform's from the `sce`,
/// dixa-patch-user's own) may be, in seconds.
const SAME_CHANGE_WINDOW_S: i64 = 300;

/// The look-up, built once per container.
#[derive(Debug)]
pub struct Lookup {
    auth0: Auth0Client,
    access: AccessConfig,
    card: CardOptions,
    timeout: Duration,
    /// `None`: no history configured (`"history": "off"`).
    history: Option<EmailHistory>,
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

    fn fail(&self, e: &auth0_client::Error) -> Response<Body> {
        let err = upstream_failure(e.is_transient());
        tracing::warn!(error = %e, status = err.status().as_u16(), "Auth0 look-up failed");
        self.record(None, Outcome::Failed, Some(err.code()));
        err.to_response()
    }
}

/// What the history read came to.
enum HistoryRead {
    Off,
    Unavailable,
    Changes(Vec<Change>),
}

/// What round 2 brought back for one account.
struct Details {
    /// `None`: not asked (no database identity).
    blocks: Option<Result<UserBlocks, auth0_client::Error>>,
    logs: Result<Vec<LogEntry>, auth0_client::Error>,
    methods: Result<Vec<AuthenticationMethod>, auth0_client::Error>,
}

/// What the card shows of one account besides its profile.
struct Known {
    blocks: UserBlocks,
    /// `None`: the logs call failed.
    logs: Option<Vec<LogEntry>>,
    /// `None`: the authentication-methods call failed.
    mfa_factors: Option<usize>,
}

impl Details {
    /// The blocks, or the blocks call's error; a failed logs or methods call only leaves its
    /// part out (logged, without personal data).
    fn known(self, user_id: &str) -> Result<Known, auth0_client::Error> {
        let blocks = match self.blocks {
            Some(blocks) => blocks?,
            None => UserBlocks::default(),
        };
        let logs = self
            .logs
            .inspect_err(|e| {
                tracing::warn!(user_id, error = %e, "Auth0 logs unavailable: the card shows no events");
            })
            .ok();
        let mfa_factors = self
            .methods
            .inspect_err(|e| {
                tracing::warn!(user_id, error = %e, "Auth0 authentication methods unavailable: no MFA count, no reset_mfa");
            })
            .ok()
            .map(|methods| methods.len());
        Ok(Known {
            blocks,
            logs,
            mfa_factors,
        })
    }
}

/// A moved account as round 2 found it.
struct MovedAccount<'c> {
    change: &'c Change,
    user: User,
    known: Known,
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
            history: None,
            clock: Clock::default(),
        })
    }

    /// Reads moved accounts from `history` (`None`: none, `"history": "off"`).
    pub fn with_history(mut self, history: Option<EmailHistory>) -> Self {
        self.history = history;
        self
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

        // Round 1: the accounts that have the address, and the history of those that had it.
        let (users, history) = tokio::join!(
            self.auth0.users_by_email(&email, &deadline),
            self.read_history(&email, &deadline),
        );
        let users = match users {
            Ok(users) => users,
            Err(e) => return trail.fail(&e),
        };
        let (mut history_status, changes) = match history {
            HistoryRead::Off => (History::Off, Vec::new()),
            HistoryRead::Unavailable => (History::Unavailable, Vec::new()),
            HistoryRead::Changes(changes) => (History::Ok, changes),
        };
        let candidates = moved_candidates(&changes, &users);

        // Round 2: every account's calls at once.
        let deadline = &deadline;
        let (current, moved) = tokio::join!(
            join_all(users.iter().map(|u| self.details(
                &u.user_id,
                has_database_identity(u),
                deadline
            ))),
            join_all(candidates.iter().map(|change| async move {
                let id = change.user_id.as_str();
                tokio::join!(
                    self.auth0.get_user(id, deadline),
                    self.details(id, id.starts_with(DATABASE_USER_PREFIX), deadline),
                )
            })),
        );
        let mut current_known = Vec::with_capacity(users.len());
        for (user, details) in users.iter().zip(current) {
            match details.known(&user.user_id) {
                Ok(known) => current_known.push(known),
                Err(e) => return trail.fail(&e),
            }
        }
        let mut moved_accounts = Vec::with_capacity(candidates.len());
        for (change, (user, details)) in candidates.into_iter().zip(moved) {
            let user_id = change.user_id.as_str();
            match (user, details.known(user_id)) {
                // Deleted since: nothing to show or restore.
                (Ok(None), _) => {
                    tracing::info!(user_id, "moved account no longer exists");
                }
                (Ok(Some(user)), Ok(known)) => {
                    if user.email.as_ref() == Some(&email) {
                        // It has the address again (users-by-email raced a change).
                        continue;
                    }
                    moved_accounts.push(MovedAccount {
                        change,
                        user,
                        known,
                    });
                }
                (Err(e), _) | (Ok(Some(_)), Err(e)) => {
                    tracing::warn!(user_id, error = %e, "moved account could not be read: left off the card, history unavailable");
                    history_status = History::Unavailable;
                }
            }
        }

        let now = self.clock.unix_s();
        let ctx = TokenContext {
            tokens: &self.access.tokens,
            conversation_id: csid,
            agent: &agent,
            now,
        };
        let moved_facts = moved_accounts.iter().map(|m| Facts {
            user: &m.user,
            blocks: &m.known.blocks,
            logs: m.known.logs.as_deref(),
            mfa_factors: m.known.mfa_factors,
            moved: Some(MovedFrom {
                change: m.change,
                address: &email,
                address_free: !address_taken(&m.user, &users),
            }),
        });
        let current_facts = users.iter().zip(&current_known).map(|(user, known)| Facts {
            user,
            blocks: &known.blocks,
            logs: known.logs.as_deref(),
            mfa_factors: known.mfa_factors,
            moved: None,
        });
        let accounts: Vec<CardAccount> = moved_facts
            .chain(current_facts)
            .map(|facts| card::account(&facts, self.card, &ctx))
            .collect();
        let reason = (history_status == History::Unavailable).then_some("history_unavailable");
        if accounts.is_empty() {
            trail.record(None, Outcome::Allowed, reason.or(Some("no_account")));
        } else {
            let ids: Vec<&str> = accounts.iter().map(|a| a.user_id.as_str()).collect();
            trail.record(Some(&ids.join(",")), Outcome::Allowed, reason);
        }
        ok_json(&card::response(
            &accounts,
            &email,
            history_status,
            self.access.tokens.ttl_s(),
        ))
    }

    /// The history's changes away from `email`, newest first; never an error: a failure or a
    /// read slower than [`HISTORY_READ_TIMEOUT`] (or a quarter of the time left) is
    /// [`HistoryRead::Unavailable`].
    async fn read_history(&self, email: &EmailAddress, deadline: &Deadline) -> HistoryRead {
        let Some(history) = &self.history else {
            return HistoryRead::Off;
        };
        let budget = (deadline.remaining() / 4).min(HISTORY_READ_TIMEOUT);
        match tokio::time::timeout(budget, history.changes_from(email, MAX_HISTORY_CHANGES)).await {
            Ok(Ok(changes)) => HistoryRead::Changes(changes),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "email history unavailable: the card shows no moved accounts");
                HistoryRead::Unavailable
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = budget.as_millis(),
                    "email history did not answer in time: the card shows no moved accounts"
                );
                HistoryRead::Unavailable
            }
        }
    }

    /// One account's blocks (when `blocks`), newest logs and MFA factors, all at once.
    async fn details(&self, user_id: &str, blocks: bool, deadline: &Deadline) -> Details {
        let (blocks, logs, methods) = tokio::join!(
            async {
                if blocks {
                    Some(self.auth0.get_user_blocks(user_id, deadline).await)
                } else {
                    None
                }
            },
            self.auth0.user_logs(user_id, MAX_EVENTS as u32, deadline),
            self.auth0.authentication_methods(user_id, deadline),
        );
        Details {
            blocks,
            logs,
            methods,
        }
    }
}

/// The accounts that moved away from the address: one [`shown_change`] per user the history
/// names and `users-by-email` does not return (it has the address no longer), newest first, at
/// most [`MAX_MOVED_ACCOUNTS`]. `changes` are newest first.
fn moved_candidates<'c>(changes: &'c [Change], current: &[User]) -> Vec<&'c Change> {
    let mut seen = HashSet::new();
    changes
        .iter()
        .filter(|c| !current.iter().any(|u| u.user_id == c.user_id))
        .filter(|c| seen.insert(c.user_id.as_str()))
        .map(|newest| shown_change(changes, newest))
        .take(MAX_MOVED_ACCOUNTS)
        .collect()
}

/// The change the card shows for `newest`'s account: `newest`, unless it is email-transform's
/// record of an agent's change (conversation `unknown`, from the `sce` log), when the record
/// dixa-patch-user made of the same change (the same account, an agent, within
/// [`SAME_CHANGE_WINDOW_S`]) names the conversation.
fn shown_change<'c>(changes: &'c [Change], newest: &'c Change) -> &'c Change {
    let unknown = |c: &Change| matches!(&c.by, ChangedBy::Agent { conversation_id } if conversation_id == UNKNOWN_CONVERSATION);
    if !unknown(newest) {
        return newest;
    }
    let named = changes.iter().find(|c| {
        c.user_id == newest.user_id
            && matches!(c.by, ChangedBy::Agent { .. })
            && !unknown(c)
            && (newest.changed_at - c.changed_at).abs() <= SAME_CHANGE_WINDOW_S
    });
    named.unwrap_or(newest)
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
    use email_history::HistoryKey;
    use lambda_support::SecretString;
    use serde_json::json;

    fn change(user_id: &str, at: i64, by: ChangedBy) -> Change {
        let key = HistoryKey::new(SecretString::from(
            "history-key-0123456789abcdef-0123456789".to_owned(),
        ))
        .unwrap();
        let address = |s| EmailAddress::parse(s).unwrap();
        Change::new(
            &key,
            &address("jane@example.com"),
            &address("new@example.org"),
            user_id,
            at,
            by,
            format!("source-{at}"),
        )
    }

    fn agent(conversation: &str) -> ChangedBy {
        ChangedBy::Agent {
            conversation_id: conversation.to_owned(),
        }
    }

    #[test]
    fn moved_candidates_are_one_per_account_newest_first_without_current_ones() {
        let current: Vec<User> =
            vec![serde_json::from_value(json!({"user_id": "auth0|back"})).unwrap()];
        let changes = [
            change("auth0|a", 500, ChangedBy::Customer),
            change("auth0|back", 400, ChangedBy::Customer),
            change("auth0|b", 300, agent("42")),
            change("auth0|a", 200, ChangedBy::Customer),
        ];
        let got: Vec<(&str, i64)> = moved_candidates(&changes, &current)
            .iter()
            .map(|c| (c.user_id.as_str(), c.changed_at))
            .collect();
        assert_eq!(got, [("auth0|a", 500), ("auth0|b", 300)]);
        let many: Vec<Change> = (0..8)
            .map(|i| change(&format!("auth0|{i}"), 1000 - i, ChangedBy::Customer))
            .collect();
        assert_eq!(moved_candidates(&many, &[]).len(), MAX_MOVED_ACCOUNTS);
    }

    #[test]
    fn an_agent_change_seen_in_its_sce_shows_the_conversation_dixa_recorded() {
        // email-transform's record (the sce's date, a moment later) and dixa-patch-user's.
        let changes = [
            change("auth0|a", 1_002, agent(UNKNOWN_CONVERSATION)),
            change("auth0|a", 1_000, agent("8812345")),
        ];
        let shown = moved_candidates(&changes, &[]);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].by, agent("8812345"));
        // Alone, or too far apart: the record as it is.
        let alone = [
            change("auth0|a", 10_000, agent(UNKNOWN_CONVERSATION)),
            change("auth0|a", 1_000, agent("8812345")),
        ];
        assert_eq!(
            moved_candidates(&alone, &[])[0].by,
            agent(UNKNOWN_CONVERSATION)
        );
    }

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
