//! What the Dixa card receives: a pure mapping from Auth0's answers and the email history to a
//! small JSON object. No I/O here; the handler does the calls and hands the results in.
//!
//! The mapping is an **allow-list**: each field below is copied on purpose and nothing else
//! of the Auth0 profile can reach the card (no metadata, no identities' tokens, no phone, no
//! name, no picture, never the brute-force block IPs).
//!
//! ```json
//! {
//!   "found": true,
//!   "count": 2,
//!   "email": "jane+shop@example.com",
//!   "history": "ok",
//!   "token_expires_in": 300,
//!   "accounts": [{
//!     "user_id": "auth0|64f0c0ffee0123456789abcd",
//!     "email": "mallory@example.org",
//!     "email_verified": false,
//!     "connection": "Username-Password-Authentication",
//!     "logins_count": 12,
//!     "last_login": "2026-11-20T10:00:00.000Z",
//!     "created_at": "2024-01-02T03:04:05.000Z",
//!     "blocked": false,
//!     "brute_force_blocked": false,
//!     "brute_force_block_count": 0,
//!     "moved": {"at": "2026-11-20T09:58:11Z", "by": "customer"},
//!     "mfa_factors": 1,
//!     "events": {"status": "ok", "items": [
//!       {"date": "2026-11-20T09:58:11.043Z", "type": "sce", "what": "Email changed", "country": "Germany"}
//!     ]},
//!     "action_token": "eyJ2Ijox....Qm9x",
//!     "actions": ["change_email", "send_password_reset", "block", "restore_email",
//!                 "resend_verification", "sign_out_everywhere", "reset_mfa"]
//!   }, {"user_id": "google-oauth2|1234567890", "...": "a current account"}]
//! }
//! ```
//!
//! | field | from |
//! |---|---|
//! | `user_id` | `user_id` |
//! | `email` | `email` (lower-cased), `null` when absent or not an address; for a moved account its address **now**, in full (the agent needs it) |
//! | `email_verified` | `email_verified` |
//! | `connection` | the first identity's `connection`, `null` without identities |
//! | `logins_count` | `logins_count`, `0` when absent (never logged in) |
//! | `last_login`, `created_at` | as Auth0 sends them (ISO 8601), `null` when absent |
//! | `blocked` | the admin block flag |
//! | `brute_force_blocked` / `brute_force_block_count` | whether `GET /user-blocks/{id}` lists blocks / how many (one per blocked IP); `false` / `0` for an account without a database identity, which is not asked |
//! | `last_ip` | only with `DIXA_SHOW_LAST_IP=true` (`null` when unknown); absent otherwise |
//! | `moved` | moved accounts only: `{"at": <RFC 3339>, "by": "customer" \| "agent", "conversation_id"}` (the Dixa conversation, agent changes only) of the newest change away from the looked-up address ([`MovedFrom`]) |
//! | `mfa_factors` | how many MFA factors `GET /users/{id}/authentication-methods` lists; absent when that call failed |
//! | `events` | the newest log entries ([`crate::events`]): `{"status": "ok", "items": [...]}` or `{"status": "unavailable"}` |
//! | `action_token` | [`dixa_access::ActionTokens::mint`] for this `user_id`, exactly `actions`, the conversation and the agent; for a moved account [`dixa_access::ActionTokens::mint_with_restore`], binding the looked-up address |
//! | `actions` | the actions that can work on this account ([`applicable_actions`]), by wire name; the token allows these and no other |
//!
//! The whole answer ([`response`]): `found` (any account, current or moved), `count`
//! (`accounts.len()`), `email` (the looked-up address, normalised: what a `restore_email` gives
//! back), `accounts` (moved accounts first, newest move first, then the current ones in
//! Auth0's order), `history` (`ok`, `unavailable`: the history or a moved account could not be
//! read, `off`: no history configured) and, when found, `token_expires_in`. No account:
//! `{"found": false, "count": 0, "email": "...", "accounts": [], "history": "ok"}`.

use crate::events::Events;
use auth0_client::{LogEntry, User, UserBlocks};
use auth0_events::EmailAddress;
use dixa_access::{Action, ActionTokens, AgentRef, Grant};
use email_history::{Change, ChangedBy};
use serde::Serialize;

/// How the card is built (settings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CardOptions {
    /// `DIXA_SHOW_LAST_IP`: `last_ip` and each event's `ip`.
    pub show_last_ip: bool,
    /// `DIXA_SIGN_OUT_EVERYWHERE`: whether `sign_out_everywhere` is offered.
    pub sign_out_everywhere: bool,
}

/// What the action tokens are bound to, besides the account.
pub struct TokenContext<'a> {
    pub tokens: &'a ActionTokens,
    /// Dixa's conversation id (`csid`).
    pub conversation_id: &'a str,
    pub agent: &'a AgentRef,
    /// Unix seconds.
    pub now: u64,
}

/// What the look-up learned about one account.
pub struct Facts<'a> {
    pub user: &'a User,
    /// Its brute-force blocks; empty when not asked (no database identity).
    pub blocks: &'a UserBlocks,
    /// Its newest log entries; `None` when the logs call failed.
    pub logs: Option<&'a [LogEntry]>,
    /// How many MFA factors it has; `None` when the call failed.
    pub mfa_factors: Option<usize>,
    /// Set for an account that had the looked-up address before and has another now.
    pub moved: Option<MovedFrom<'a>>,
}

impl<'a> Facts<'a> {
    /// An account the look-up knows only the profile of (no blocks, no history, no factors).
    pub fn profile(user: &'a User, blocks: &'a UserBlocks) -> Self {
        Self {
            user,
            blocks,
            logs: None,
            mfa_factors: None,
            moved: None,
        }
    }
}

/// How a moved account left the looked-up address.
#[derive(Clone, Copy)]
pub struct MovedFrom<'a> {
    /// The newest change of this account away from the address (email history).
    pub change: &'a Change,
    /// The address the look-up was for: the only one a restore may set.
    pub address: &'a EmailAddress,
    /// No other account has taken the address on this account's connection
    /// ([`dixa_access::restore::address_taken`]).
    pub address_free: bool,
}

/// The identity provider of Auth0 database (username/password) connections.
const DATABASE_PROVIDER: &str = "auth0";

/// Whether `user` signs in with a password of ours: an identity on a database connection. Only
/// those can be brute-force blocked, so only they are asked for blocks.
pub fn has_database_identity(user: &User) -> bool {
    user.identities
        .iter()
        .any(|i| i.provider == DATABASE_PROVIDER && !i.connection.is_empty())
}

/// The actions that can work on this account, in [`Action::ALL`]'s order; the card shows a
/// button for each and the account's token allows exactly these, so a token for a social
/// account cannot reset a password.
///
/// | action | offered when |
/// |---|---|
/// | `change_email` | the primary (first) identity is a database connection: Auth0 refuses it for enterprise accounts and a social login overwrites it |
/// | `send_password_reset` | the account has an address and a database identity (primary or linked), the same test dixa-patch-user applies |
/// | `block` / `unblock` | not blocked / blocked by an admin |
/// | `clear_brute_force_blocks` | `GET /user-blocks/{id}` listed at least one block |
/// | `restore_email` | a moved account whose primary identity is a database connection, while no other account has the address on that connection |
/// | `resend_verification` | the primary identity is a database connection and its address is not verified |
/// | `sign_out_everywhere` | `DIXA_SIGN_OUT_EVERYWHERE` is not `false` (every account has sessions) |
/// | `reset_mfa` | `GET /users/{id}/authentication-methods` listed at least one factor |
///
/// `AUTH0_RESET_CONNECTION` (a dixa-patch-user setting) is not known here: with it set, an
/// account whose database identity is on another connection still gets the reset button and
/// then a 409 `not_database_user`.
pub fn applicable_actions(facts: &Facts<'_>, options: CardOptions) -> Vec<Action> {
    let user = facts.user;
    let primary_database = user
        .identities
        .first()
        .is_some_and(|i| i.provider == DATABASE_PROVIDER);
    Action::ALL
        .into_iter()
        .filter(|action| match action {
            Action::ChangeEmail => primary_database,
            Action::SendPasswordReset => has_database_identity(user) && user.email.is_some(),
            Action::Block => !user.blocked,
            Action::Unblock => user.blocked,
            Action::ClearBruteForceBlocks => !facts.blocks.is_empty(),
            Action::RestoreEmail => {
                primary_database && facts.moved.as_ref().is_some_and(|m| m.address_free)
            }
            Action::ResendVerification => {
                primary_database && user.email.is_some() && !user.email_verified
            }
            Action::SignOutEverywhere => options.sign_out_everywhere,
            Action::ResetMfa => facts.mfa_factors.is_some_and(|n| n > 0),
        })
        .collect()
}

/// `moved` on the card: when and by whom the account left the looked-up address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    /// RFC 3339, UTC, whole seconds.
    pub at: String,
    /// `customer` or `agent`.
    pub by: &'static str,
    /// The Dixa conversation of an agent's change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
}

impl Moved {
    pub fn of(change: &Change) -> Self {
        let (by, conversation_id) = match &change.by {
            ChangedBy::Customer => ("customer", None),
            ChangedBy::Agent { conversation_id } => ("agent", Some(conversation_id.clone())),
        };
        Self {
            at: lambda_support::time::rfc3339(change.changed_at),
            by,
            conversation_id,
        }
    }
}

/// One account on the card. No `Debug`: it holds the customer's address and a token.
#[derive(Serialize, PartialEq, Eq)]
pub struct CardAccount {
    pub user_id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub connection: Option<String>,
    pub logins_count: u64,
    pub last_login: Option<String>,
    pub created_at: Option<String>,
    pub blocked: bool,
    pub brute_force_blocked: bool,
    pub brute_force_block_count: usize,
    /// `None`: not shown (key absent); `Some(None)`: shown but unknown (`null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ip: Option<Option<String>>,
    /// Moved accounts only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved: Option<Moved>,
    /// Absent when the authentication-methods call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_factors: Option<usize>,
    pub events: Events,
    pub action_token: String,
    pub actions: Vec<&'static str>,
}

/// One card account from what the look-up learned about it.
pub fn account(facts: &Facts<'_>, options: CardOptions, token: &TokenContext<'_>) -> CardAccount {
    let user = facts.user;
    let actions = applicable_actions(facts, options);
    let grant = Grant {
        user_id: user.user_id.clone(),
        actions: actions.clone(),
        conversation_id: token.conversation_id.to_owned(),
        agent: token.agent.clone(),
    };
    let action_token = match &facts.moved {
        Some(moved) => token
            .tokens
            .mint_with_restore(&grant, moved.address.as_str(), token.now),
        None => token.tokens.mint(&grant, token.now),
    };
    CardAccount {
        user_id: user.user_id.clone(),
        email: user.email.as_ref().map(|e| e.as_str().to_owned()),
        email_verified: user.email_verified,
        connection: user.identities.first().map(|i| i.connection.clone()),
        logins_count: user.logins_count.unwrap_or(0),
        last_login: user.last_login.clone(),
        created_at: user.created_at.clone(),
        blocked: user.blocked,
        brute_force_blocked: !facts.blocks.is_empty(),
        brute_force_block_count: facts.blocks.blocked_for.len(),
        last_ip: options.show_last_ip.then(|| user.last_ip.clone()),
        moved: facts.moved.as_ref().map(|m| Moved::of(m.change)),
        mfa_factors: facts.mfa_factors,
        events: match facts.logs {
            Some(logs) => Events::from_logs(logs, options.show_last_ip),
            None => Events::unavailable(),
        },
        action_token,
        actions: actions.iter().map(Action::as_str).collect(),
    }
}

/// Whether the look-up could read the email history (the answer's `history`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// Read: every account that moved away from the address is listed.
    Ok,
    /// The history failed or timed out, or a moved account could not be read: moved accounts
    /// may be missing.
    Unavailable,
    /// No history is configured (`EMAIL_HISTORY_TABLE` unset).
    Off,
}

impl History {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Unavailable => "unavailable",
            Self::Off => "off",
        }
    }
}

/// The whole answer: found with the accounts and the token lifetime, or not found
/// (`{"found": false, "count": 0, "accounts": [], "history": ...}`). No `Debug`: the accounts
/// carry addresses and tokens.
#[derive(Serialize)]
pub struct Card<'a> {
    pub found: bool,
    pub count: usize,
    /// The looked-up address (normalised): what `restore_email` gives back, which the card's
    /// script sends as the restore's body. Dixa sent it; nothing else of it is added.
    pub email: &'a str,
    pub accounts: &'a [CardAccount],
    pub history: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_expires_in: Option<u64>,
}

/// `accounts` in the order the card shows them (moved first, newest move first, then current).
pub fn response<'a>(
    accounts: &'a [CardAccount],
    email: &'a EmailAddress,
    history: History,
    token_ttl_s: u64,
) -> Card<'a> {
    Card {
        found: !accounts.is_empty(),
        count: accounts.len(),
        email: email.as_str(),
        accounts,
        history: history.as_str(),
        token_expires_in: (!accounts.is_empty()).then_some(token_ttl_s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dixa_access::agent_ref;
    use serde_json::{Value, json};

    const KEY: &[u8] = b"token-key-0123456789abcdefghijklmnopqrstu";
    const NOW: u64 = 1_780_000_000;

    /// A profile as Auth0 returns it, with many fields the card must not carry.
    fn full_profile() -> Value {
        json!({
            "user_id": "auth0|64f0c0ffee0123456789abcd",
            "email": "Jane+Shop@Example.com",
            "email_verified": true,
            "name": "Jane Doe",
            "nickname": "jane",
            "given_name": "Jane",
            "family_name": "Doe",
            "picture": "https://s.gravatar.com/avatar/x.png",
            "phone_number": "+4915112345678",
            "phone_verified": true,
            "identities": [
                {"connection": "Username-Password-Authentication", "provider": "auth0",
                 "user_id": "64f0c0ffee0123456789abcd", "isSocial": false,
                 "access_token": "idp-access-token-secret", "refresh_token": "idp-refresh"},
                {"connection": "google-oauth2", "provider": "google-oauth2",
                 "user_id": "1234567890", "isSocial": true, "access_token": "ya29.secret"}
            ],
            "app_metadata": {"hybris_uid": "jane+shop@example.com", "roles": ["vip"]},
            "user_metadata": {"lang": "de", "birthday": "1990-01-01"},
            "multifactor": ["guardian"],
            "logins_count": 12,
            "last_login": "2026-11-20T10:00:00.000Z",
            "created_at": "2024-01-02T03:04:05.000Z",
            "updated_at": "2026-11-20T10:00:00.000Z",
            "last_ip": "203.0.113.7",
            "last_password_reset": "2025-01-01T00:00:00.000Z",
            "blocked": false
        })
    }

    fn user(v: Value) -> User {
        serde_json::from_value(v).unwrap()
    }

    fn blocks(v: Value) -> UserBlocks {
        serde_json::from_value(v).unwrap()
    }

    fn map(user: &User, blocks: &UserBlocks, options: CardOptions) -> (Value, ActionTokens) {
        map_facts(&Facts::profile(user, blocks), options)
    }

    fn map_facts(facts: &Facts<'_>, options: CardOptions) -> (Value, ActionTokens) {
        let tokens = ActionTokens::new(KEY, None, 300).unwrap();
        let agent = agent_ref("agent@shop.example");
        let ctx = TokenContext {
            tokens: &tokens,
            conversation_id: "8812345",
            agent: &agent,
            now: NOW,
        };
        let account = account(facts, options, &ctx);
        (serde_json::to_value(&account).unwrap(), tokens)
    }

    #[test]
    fn only_the_listed_fields_reach_the_card() {
        let one_block = blocks(json!({"blocked_for": [
            {"identifier": "jane+shop@example.com", "ip": "198.51.100.9",
             "connection": "Username-Password-Authentication"}
        ]}));
        let (mut card, tokens) = map(&user(full_profile()), &one_block, CardOptions::default());
        let token = card["action_token"].take();
        assert_eq!(
            card,
            json!({
                "user_id": "auth0|64f0c0ffee0123456789abcd",
                "email": "jane+shop@example.com",
                "email_verified": true,
                "connection": "Username-Password-Authentication",
                "logins_count": 12,
                "last_login": "2026-11-20T10:00:00.000Z",
                "created_at": "2024-01-02T03:04:05.000Z",
                "blocked": false,
                "brute_force_blocked": true,
                "brute_force_block_count": 1,
                "events": {"status": "unavailable"},
                "action_token": null,
                "actions": ["change_email", "send_password_reset", "block",
                            "clear_brute_force_blocks"]
            })
        );
        // The token is for this account, exactly the listed actions, this conversation and
        // agent: not `unblock` (the account is not blocked).
        let token = token.as_str().unwrap();
        let card_actions: Vec<&str> = card["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        for action in Action::ALL {
            let verified =
                tokens.verify(token, "auth0|64f0c0ffee0123456789abcd", action, NOW + 300);
            if !card_actions.contains(&action.as_str()) {
                assert!(verified.is_err(), "{action}");
                continue;
            }
            let claims = verified.unwrap();
            assert_eq!(claims.csid, "8812345");
            assert_eq!(claims.agent, agent_ref("agent@shop.example"));
        }
        assert!(
            tokens
                .verify(token, "auth0|other", Action::Block, NOW)
                .is_err()
        );
        let text = serde_json::to_string(&card).unwrap();
        for leaked in [
            "198.51.100.9",
            "203.0.113.7",
            "idp-access-token",
            "ya29",
            "hybris_uid",
            "birthday",
            "+4915112345678",
            "Jane Doe",
            "gravatar",
            "guardian",
        ] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
    }

    #[test]
    fn last_ip_only_when_configured() {
        let none = UserBlocks::default();
        let (card, _) = map(
            &user(full_profile()),
            &none,
            CardOptions {
                show_last_ip: true,
                ..CardOptions::default()
            },
        );
        assert_eq!(card["last_ip"], "203.0.113.7");
        assert_eq!(card["brute_force_blocked"], false);
        assert_eq!(card["brute_force_block_count"], 0);
        let mut profile = full_profile();
        profile.as_object_mut().unwrap().remove("last_ip");
        let shown = CardOptions {
            show_last_ip: true,
            ..CardOptions::default()
        };
        let (card, _) = map(&user(profile), &none, shown);
        assert_eq!(card["last_ip"], Value::Null);
        assert!(card.as_object().unwrap().contains_key("last_ip"));
        let (card, _) = map(&user(full_profile()), &none, CardOptions::default());
        assert!(!card.as_object().unwrap().contains_key("last_ip"));
    }

    #[test]
    fn missing_fields_become_null_or_zero() {
        let (mut card, _) = map(
            &user(json!({"user_id": "sms|1", "blocked": true})),
            &UserBlocks::default(),
            CardOptions::default(),
        );
        card["action_token"].take();
        assert_eq!(
            card,
            json!({
                "user_id": "sms|1", "email": null, "email_verified": false,
                "connection": null, "logins_count": 0, "last_login": null,
                "created_at": null, "blocked": true, "brute_force_blocked": false,
                "brute_force_block_count": 0, "events": {"status": "unavailable"},
                "action_token": null, "actions": ["unblock"]
            })
        );
    }

    fn actions_of(profile: Value, block_count: usize) -> Vec<&'static str> {
        let blocked_for: Vec<Value> = (0..block_count)
            .map(|i| json!({"identifier": "x@example.com", "ip": format!("198.51.100.{i}")}))
            .collect();
        let (user, blocks) = (user(profile), blocks(json!({ "blocked_for": blocked_for })));
        applicable_actions(&Facts::profile(&user, &blocks), CardOptions::default())
            .iter()
            .map(Action::as_str)
            .collect()
    }

    fn identity(provider: &str, connection: &str) -> Value {
        json!({"provider": provider, "connection": connection, "user_id": "1"})
    }

    #[test]
    fn only_actions_that_can_work_are_offered() {
        let database = identity("auth0", "Username-Password-Authentication");
        let google = identity("google-oauth2", "google-oauth2");
        let enterprise = identity("waad", "contoso-azure-ad");
        let with = |identities: Vec<Value>, blocked: bool, email: Option<&str>| {
            json!({"user_id": "x|1", "identities": identities, "blocked": blocked,
                   "email": email, "email_verified": true})
        };
        let cases = [
            // A database account, not blocked, no brute-force blocks.
            (
                with(vec![database.clone()], false, Some("a@example.com")),
                0,
                vec!["change_email", "send_password_reset", "block"],
            ),
            // Blocked by an admin and brute-force blocked.
            (
                with(vec![database.clone()], true, Some("a@example.com")),
                2,
                vec![
                    "change_email",
                    "send_password_reset",
                    "unblock",
                    "clear_brute_force_blocks",
                ],
            ),
            // Social and enterprise: no email change, no password to reset.
            (
                with(vec![google.clone()], false, Some("a@example.com")),
                0,
                vec!["block"],
            ),
            (
                with(vec![enterprise], true, Some("a@example.com")),
                1,
                vec!["unblock", "clear_brute_force_blocks"],
            ),
            // Social primary with a linked database identity: a reset works (dixa-patch-user
            // finds the database identity), an email change on the social root does not.
            (
                with(vec![google, database.clone()], false, Some("a@example.com")),
                0,
                vec!["send_password_reset", "block"],
            ),
            // No address: nothing to send a reset link to.
            (
                with(vec![database], false, None),
                0,
                vec!["change_email", "block"],
            ),
        ];
        for (profile, block_count, want) in cases {
            assert_eq!(actions_of(profile.clone(), block_count), want, "{profile}");
        }
    }

    #[test]
    fn a_social_account_token_cannot_reset_or_change_the_email() {
        let google = json!({"user_id": "google-oauth2|1", "email": "a@example.com",
            "identities": [identity("google-oauth2", "google-oauth2")]});
        let (card, tokens) = map(
            &user(google),
            &UserBlocks::default(),
            CardOptions::default(),
        );
        assert_eq!(card["actions"], json!(["block"]));
        let token = card["action_token"].as_str().unwrap();
        assert!(
            tokens
                .verify(token, "google-oauth2|1", Action::Block, NOW)
                .is_ok()
        );
        for refused in Action::ALL.into_iter().filter(|a| *a != Action::Block) {
            assert!(
                tokens
                    .verify(token, "google-oauth2|1", refused, NOW)
                    .is_err(),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn response_shapes() {
        let looked_up = auth0_events::EmailAddress::parse("Jane@Example.com").unwrap();
        assert_eq!(
            serde_json::to_value(response(&[], &looked_up, History::Off, 300)).unwrap(),
            json!({"found": false, "count": 0, "email": "jane@example.com", "accounts": [],
                   "history": "off"})
        );
        let tokens = ActionTokens::new(KEY, None, 300).unwrap();
        let agent = agent_ref("a@b.example");
        let ctx = TokenContext {
            tokens: &tokens,
            conversation_id: "1",
            agent: &agent,
            now: NOW,
        };
        let none = UserBlocks::default();
        let (jane, google) = (
            user(full_profile()),
            user(json!({"user_id": "google-oauth2|1"})),
        );
        let accounts = [
            account(&Facts::profile(&jane, &none), CardOptions::default(), &ctx),
            account(
                &Facts::profile(&google, &none),
                CardOptions::default(),
                &ctx,
            ),
        ];
        let v = serde_json::to_value(response(&accounts, &looked_up, History::Unavailable, 300))
            .unwrap();
        assert_eq!(v["found"], true);
        assert_eq!(v["count"], 2);
        assert_eq!(v["token_expires_in"], 300);
        assert_eq!(v["history"], "unavailable");
        assert_eq!(v["accounts"][1]["user_id"], "google-oauth2|1");
        assert_eq!(v["email"], "jane@example.com");
        assert_eq!(v.as_object().unwrap().len(), 6);
        assert_eq!(History::Ok.as_str(), "ok");
    }
}

#[cfg(test)]
mod recovery_tests {
    use super::*;
    use auth0_client::LogEntry;
    use dixa_access::agent_ref;
    use email_history::HistoryKey;
    use lambda_support::SecretString;
    use serde_json::{Value, json};

    const KEY: &[u8] = b"token-key-0123456789abcdefghijklmnopqrstu";
    const NOW: u64 = 1_780_000_000;
    const DB: &str = "Username-Password-Authentication";

    fn user(v: Value) -> User {
        serde_json::from_value(v).unwrap()
    }

    fn database_user(verified: bool) -> User {
        user(json!({
            "user_id": "auth0|1", "email": "mallory@example.org", "email_verified": verified,
            "identities": [{"connection": DB, "provider": "auth0", "user_id": "1"}]
        }))
    }

    fn change(by: ChangedBy) -> Change {
        let key = HistoryKey::new(SecretString::from(
            "history-key-0123456789abcdef-0123456789".to_owned(),
        ))
        .unwrap();
        Change::new(
            &key,
            &address("jane@example.com"),
            &address("mallory@example.org"),
            "auth0|1",
            1_795_168_691,
            by,
            "90020261120095811043000000000000006",
        )
    }

    fn address(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn actions(facts: &Facts<'_>, options: CardOptions) -> Vec<&'static str> {
        applicable_actions(facts, options)
            .iter()
            .map(Action::as_str)
            .collect()
    }

    fn ctx<'a>(tokens: &'a ActionTokens, agent: &'a AgentRef) -> TokenContext<'a> {
        TokenContext {
            tokens,
            conversation_id: "8812345",
            agent,
            now: NOW,
        }
    }

    #[test]
    fn recovery_actions_are_offered_only_when_they_can_work() {
        let on = CardOptions {
            sign_out_everywhere: true,
            ..CardOptions::default()
        };
        let none = UserBlocks::default();
        let unverified = database_user(false);
        let verified = database_user(true);
        let (customer, looked_up) = (change(ChangedBy::Customer), address("jane@example.com"));
        let moved = |free| MovedFrom {
            change: &customer,
            address: &looked_up,
            address_free: free,
        };
        let facts = |user, mfa, moved| Facts {
            user,
            blocks: &none,
            logs: Some(&[]),
            mfa_factors: mfa,
            moved,
        };
        let base = ["change_email", "send_password_reset", "block"];
        let with = |extra: &[&'static str]| -> Vec<&'static str> {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            all
        };
        // Verified, no factors, current: only sign-out, and only when on.
        assert_eq!(
            actions(&facts(&verified, Some(0), None), on),
            with(&["sign_out_everywhere"])
        );
        assert_eq!(
            actions(&facts(&verified, Some(0), None), CardOptions::default()),
            with(&[])
        );
        // Unverified: resend; factors: reset; an unknown factor count: no reset.
        assert_eq!(
            actions(&facts(&unverified, Some(2), None), on),
            with(&["resend_verification", "sign_out_everywhere", "reset_mfa"])
        );
        assert_eq!(
            actions(&facts(&verified, None, None), on),
            with(&["sign_out_everywhere"])
        );
        // Moved, address free: restore; taken: none.
        assert_eq!(
            actions(&facts(&verified, Some(0), Some(moved(true))), on),
            with(&["restore_email", "sign_out_everywhere"])
        );
        assert_eq!(
            actions(&facts(&verified, Some(0), Some(moved(false))), on),
            with(&["sign_out_everywhere"])
        );
        // A social account: no restore, no verification email of ours.
        let google = user(json!({
            "user_id": "google-oauth2|1", "email": "mallory@example.org", "email_verified": false,
            "identities": [{"connection": "google-oauth2", "provider": "google-oauth2", "user_id": "1"}]
        }));
        assert_eq!(
            actions(&facts(&google, Some(1), Some(moved(true))), on),
            ["block", "sign_out_everywhere", "reset_mfa"]
        );
    }

    #[test]
    fn a_moved_account_says_when_and_by_whom_and_its_token_binds_the_looked_up_address() {
        let tokens = ActionTokens::new(KEY, None, 300).unwrap();
        let agent = agent_ref("agent@shop.example");
        let none = UserBlocks::default();
        let moved_user = database_user(false);
        let looked_up = address("jane@example.com");
        let by_agent = change(ChangedBy::Agent {
            conversation_id: "77001".into(),
        });
        let logs: Vec<LogEntry> = vec![
            serde_json::from_value(json!({"date": "2026-11-20T09:58:11.043Z", "type": "sce",
                "ip": "203.0.113.7", "location_info": {"country_name": "Germany"}}))
            .unwrap(),
        ];
        let facts = Facts {
            user: &moved_user,
            blocks: &none,
            logs: Some(&logs),
            mfa_factors: Some(1),
            moved: Some(MovedFrom {
                change: &by_agent,
                address: &looked_up,
                address_free: true,
            }),
        };
        let options = CardOptions {
            show_last_ip: false,
            sign_out_everywhere: true,
        };
        let mut card =
            serde_json::to_value(account(&facts, options, &ctx(&tokens, &agent))).unwrap();
        let token = card["action_token"].take();
        assert_eq!(
            card,
            json!({
                "user_id": "auth0|1", "email": "mallory@example.org", "email_verified": false,
                "connection": DB, "logins_count": 0, "last_login": null, "created_at": null,
                "blocked": false, "brute_force_blocked": false, "brute_force_block_count": 0,
                "moved": {"at": "2026-11-20T09:58:11Z", "by": "agent", "conversation_id": "77001"},
                "mfa_factors": 1,
                "events": {"status": "ok", "items": [{"date": "2026-11-20T09:58:11.043Z",
                    "type": "sce", "what": "Email changed", "country": "Germany"}]},
                "action_token": null,
                "actions": ["change_email", "send_password_reset", "block", "restore_email",
                            "resend_verification", "sign_out_everywhere", "reset_mfa"]
            })
        );
        let claims = tokens
            .verify(
                token.as_str().unwrap(),
                "auth0|1",
                Action::RestoreEmail,
                NOW,
            )
            .unwrap();
        assert!(tokens.may_restore(&claims, "jane@example.com"));
        assert!(!tokens.may_restore(&claims, "mallory@example.org"));
        // A customer's change has no conversation.
        assert_eq!(
            serde_json::to_value(Moved::of(&change(ChangedBy::Customer))).unwrap(),
            json!({"at": "2026-11-20T09:58:11Z", "by": "customer"})
        );
        // A current account's token binds no address.
        let current = Facts::profile(&moved_user, &none);
        let card = serde_json::to_value(account(&current, options, &ctx(&tokens, &agent))).unwrap();
        let claims = tokens
            .verify(
                card["action_token"].as_str().unwrap(),
                "auth0|1",
                Action::Block,
                NOW,
            )
            .unwrap();
        assert!(!tokens.may_restore(&claims, "jane@example.com"));
        assert!(card.get("moved").is_none() && card.get("mfa_factors").is_none());
    }

    #[test]
    fn only_database_identities_are_asked_for_blocks() {
        assert!(has_database_identity(&database_user(true)));
        let google = user(json!({"user_id": "google-oauth2|1",
            "identities": [{"connection": "google-oauth2", "provider": "google-oauth2"}]}));
        assert!(!has_database_identity(&google));
        let linked = user(json!({"user_id": "google-oauth2|1", "identities": [
            {"connection": "google-oauth2", "provider": "google-oauth2"},
            {"connection": DB, "provider": "auth0"}]}));
        assert!(has_database_identity(&linked));
        assert!(!has_database_identity(&user(json!({"user_id": "sms|1"}))));
    }
}
