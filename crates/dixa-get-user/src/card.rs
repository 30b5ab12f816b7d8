//! What the Dixa card receives: a pure mapping from Auth0's answers to a small JSON object.
//! No I/O here; the handler does the calls and hands the results in.
//!
//! The mapping is an **allow-list**: each field below is copied on purpose and nothing else
//! of the Auth0 profile can reach the card (no metadata, no identities' tokens, no phone, no
//! name, no picture, never the brute-force block IPs).
//!
//! ```json
//! {
//!   "found": true,
//!   "count": 1,
//!   "token_expires_in": 300,
//!   "accounts": [{
//!     "user_id": "auth0|64f0c0ffee0123456789abcd",
//!     "email": "jane+shop@example.com",
//!     "email_verified": true,
//!     "connection": "Username-Password-Authentication",
//!     "logins_count": 12,
//!     "last_login": "2026-11-20T10:00:00.000Z",
//!     "created_at": "2024-01-02T03:04:05.000Z",
//!     "blocked": false,
//!     "brute_force_blocked": true,
//!     "brute_force_block_count": 1,
//!     "action_token": "eyJ2Ijox....Qm9x",
//!     "actions": ["change_email", "send_password_reset", "block", "clear_brute_force_blocks"]
//!   }]
//! }
//! ```
//!
//! | field | from |
//! |---|---|
//! | `user_id` | `user_id` |
//! | `email` | `email` (lower-cased), `null` when absent or not an address |
//! | `email_verified` | `email_verified` |
//! | `connection` | the first identity's `connection`, `null` without identities |
//! | `logins_count` | `logins_count`, `0` when absent (never logged in) |
//! | `last_login`, `created_at` | as Auth0 sends them (ISO 8601), `null` when absent |
//! | `blocked` | the admin block flag |
//! | `brute_force_blocked` / `brute_force_block_count` | whether `GET /user-blocks/{id}` lists blocks / how many (one per blocked IP) |
//! | `last_ip` | only with `DIXA_SHOW_LAST_IP=true` (`null` when unknown); absent otherwise |
//! | `action_token` | [`dixa_access::ActionTokens::mint`] for this `user_id`, exactly `actions`, the conversation and the agent |
//! | `actions` | the actions that can work on this account ([`applicable_actions`]), by wire name; the token allows these and no other |
//!
//! No account: `{"found": false, "count": 0, "accounts": []}`. Every account of the address
//! (Auth0 has one per connection) is listed, in Auth0's order.

use auth0_client::{User, UserBlocks};
use dixa_access::{Action, ActionTokens, AgentRef, Grant};
use serde::Serialize;

/// How the card is built (settings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CardOptions {
    /// `DIXA_SHOW_LAST_IP`.
    pub show_last_ip: bool,
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

/// The identity provider of Auth0 database (username/password) connections.
const DATABASE_PROVIDER: &str = "auth0";

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
///
/// `AUTH0_RESET_CONNECTION` (a dixa-patch-user setting) is not known here: with it set, an
/// account whose database identity is on another connection still gets the reset button and
/// then a 409 `not_database_user`.
pub fn applicable_actions(user: &User, blocks: &UserBlocks) -> Vec<Action> {
    let primary_database = user
        .identities
        .first()
        .is_some_and(|i| i.provider == DATABASE_PROVIDER);
    let any_database = user
        .identities
        .iter()
        .any(|i| i.provider == DATABASE_PROVIDER && !i.connection.is_empty());
    Action::ALL
        .into_iter()
        .filter(|action| match action {
            Action::ChangeEmail => primary_database,
            Action::SendPasswordReset => any_database && user.email.is_some(),
            Action::Block => !user.blocked,
            Action::Unblock => user.blocked,
            Action::ClearBruteForceBlocks => !blocks.is_empty(),
        })
        .collect()
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
    pub action_token: String,
    pub actions: Vec<&'static str>,
}

/// One card account from a user and its brute-force blocks.
pub fn account(
    user: &User,
    blocks: &UserBlocks,
    options: CardOptions,
    token: &TokenContext<'_>,
) -> CardAccount {
    let actions = applicable_actions(user, blocks);
    let grant = Grant {
        user_id: user.user_id.clone(),
        actions: actions.clone(),
        conversation_id: token.conversation_id.to_owned(),
        agent: token.agent.clone(),
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
        brute_force_blocked: !blocks.is_empty(),
        brute_force_block_count: blocks.blocked_for.len(),
        last_ip: options.show_last_ip.then(|| user.last_ip.clone()),
        action_token: token.tokens.mint(&grant, token.now),
        actions: actions.iter().map(Action::as_str).collect(),
    }
}

/// The whole answer: found with the accounts and the token lifetime, or not found
/// (`{"found": false, "count": 0, "accounts": []}`). No `Debug`: the accounts carry
/// addresses and tokens.
#[derive(Serialize)]
pub struct Card<'a> {
    pub found: bool,
    pub count: usize,
    pub accounts: &'a [CardAccount],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_expires_in: Option<u64>,
}

pub fn response(accounts: &[CardAccount], token_ttl_s: u64) -> Card<'_> {
    Card {
        found: !accounts.is_empty(),
        count: accounts.len(),
        accounts,
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
        let tokens = ActionTokens::new(KEY, None, 300).unwrap();
        let agent = agent_ref("agent@shop.example");
        let ctx = TokenContext {
            tokens: &tokens,
            conversation_id: "8812345",
            agent: &agent,
            now: NOW,
        };
        let account = account(user, blocks, options, &ctx);
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
                "action_token": null,
                "actions": ["change_email", "send_password_reset", "block",
                            "clear_brute_force_blocks"]
            })
        );
        // The token is for this account, exactly the listed actions, this conversation and
        // agent: not `unblock` (the account is not blocked).
        let token = token.as_str().unwrap();
        for action in Action::ALL {
            let verified =
                tokens.verify(token, "auth0|64f0c0ffee0123456789abcd", action, NOW + 300);
            if action == Action::Unblock {
                assert!(verified.is_err());
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
            CardOptions { show_last_ip: true },
        );
        assert_eq!(card["last_ip"], "203.0.113.7");
        assert_eq!(card["brute_force_blocked"], false);
        assert_eq!(card["brute_force_block_count"], 0);
        let mut profile = full_profile();
        profile.as_object_mut().unwrap().remove("last_ip");
        let (card, _) = map(&user(profile), &none, CardOptions { show_last_ip: true });
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
                "brute_force_block_count": 0, "action_token": null,
                "actions": ["unblock"]
            })
        );
    }

    fn actions_of(profile: Value, block_count: usize) -> Vec<&'static str> {
        let blocked_for: Vec<Value> = (0..block_count)
            .map(|i| json!({"identifier": "x@example.com", "ip": format!("198.51.100.{i}")}))
            .collect();
        applicable_actions(
            &user(profile),
            &blocks(json!({ "blocked_for": blocked_for })),
        )
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
                   "email": email})
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
        for refused in [
            Action::ChangeEmail,
            Action::SendPasswordReset,
            Action::Unblock,
            Action::ClearBruteForceBlocks,
        ] {
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
        assert_eq!(
            serde_json::to_value(response(&[], 300)).unwrap(),
            json!({"found": false, "count": 0, "accounts": []})
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
        let accounts = [
            account(&user(full_profile()), &none, CardOptions::default(), &ctx),
            account(
                &user(json!({"user_id": "google-oauth2|1"})),
                &none,
                CardOptions::default(),
                &ctx,
            ),
        ];
        let v = serde_json::to_value(response(&accounts, 300)).unwrap();
        assert_eq!(v["found"], true);
        assert_eq!(v["count"], 2);
        assert_eq!(v["token_expires_in"], 300);
        assert_eq!(v["accounts"][1]["user_id"], "google-oauth2|1");
        assert_eq!(v.as_object().unwrap().len(), 4);
    }
}
