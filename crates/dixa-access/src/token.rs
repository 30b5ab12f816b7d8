//! Action tokens: short-lived, per-account permissions minted in the look-up response and
//! presented by the card's buttons (`Authorization: Bearer <token>`).
//!
//! # Format
//! ```text
//! token   = payload "." mac
//! payload = base64url-no-pad( JSON claims )
//! mac     = base64url-no-pad( HMAC-SHA256(key, ASCII bytes of payload) )
//! claims  = {"v":1,"sub":"<auth0 user id>","actions":["block",...],
//!            "csid":"<dixa conversation id>","agent":"<agent ref>","exp":<unix seconds>,
//!            "restore":"<keyed hash of the address a restore may set>"?}
//! ```
//!
//! The MAC is computed over the encoded payload exactly as sent, so verifying needs no
//! canonical JSON. Claims hold no email address: `agent` is an [`AgentRef`] (a pseudonym).
//! The token is readable by whoever holds it (the agent's browser): it is signed, not
//! encrypted.
//!
//! # Verification order
//! 1. shape (one dot, base64url, at most [`MAX_TOKEN_LEN`] bytes);
//! 2. MAC with the current key, then with the previous key (rotation), compared in constant
//!    time (`Mac::verify_slice`);
//! 3. claims JSON and version;
//! 4. expiry: refused when `now > exp`;
//! 5. `sub` equals the user id the request acts on;
//! 6. the requested action is in `actions`.
//!
//! Each step has its own [`AccessError`] (for the audit line); the caller sees one refusal.
//!
//! # Key rotation
//! Put the new key in `action_token_key` and the old one in `action_token_key_previous`; after
//! the token TTL has passed on every container, the previous key can be removed.
//!
//! A token can be used more than once until it expires (there is no nonce store): it is bound
//! to one account, its listed actions, one conversation and agent, for minutes.

use crate::audit::AgentRef;
use crate::error::AccessError;
use crate::secret::{StrongSecret, TokenTtl, WeakSecret};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use lambda_http::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The claims version this crate writes and accepts.
pub const TOKEN_VERSION: u8 = 1;

/// Longer tokens are refused before any decoding (a real one is a few hundred bytes).
pub const MAX_TOKEN_LEN: usize = 2048;

/// What a token can allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    ChangeEmail,
    SendPasswordReset,
    Block,
    Unblock,
    ClearBruteForceBlocks,
    /// Give a moved account back the address the look-up was for (account-takeover recovery);
    /// only with a token that binds that address ([`ActionTokens::mint_with_restore`]).
    RestoreEmail,
    /// Have Auth0 send the verification email again.
    ResendVerification,
    /// End every session and revoke every refresh token (Enterprise plans only).
    SignOutEverywhere,
    /// Remove every MFA factor and forget remembered browsers.
    ResetMfa,
}

impl Action {
    /// Every action, in the order the card lists them.
    pub const ALL: [Action; 9] = [
        Action::ChangeEmail,
        Action::SendPasswordReset,
        Action::Block,
        Action::Unblock,
        Action::ClearBruteForceBlocks,
        Action::RestoreEmail,
        Action::ResendVerification,
        Action::SignOutEverywhere,
        Action::ResetMfa,
    ];

    /// The wire name (`change_email`, ...), also the audit `action` field.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ChangeEmail => "change_email",
            Self::SendPasswordReset => "send_password_reset",
            Self::Block => "block",
            Self::Unblock => "unblock",
            Self::ClearBruteForceBlocks => "clear_brute_force_blocks",
            Self::RestoreEmail => "restore_email",
            Self::ResendVerification => "resend_verification",
            Self::SignOutEverywhere => "sign_out_everywhere",
            Self::ResetMfa => "reset_mfa",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of the [`Action`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown action")]
pub struct UnknownAction;

impl std::str::FromStr for Action {
    type Err = UnknownAction;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or(UnknownAction)
    }
}

/// What the look-up grants: the token's claims minus version and expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The Auth0 user id the actions may act on.
    pub user_id: String,
    pub actions: Vec<Action>,
    /// Dixa's conversation id (`{{csid}}`).
    pub conversation_id: String,
    /// The assigned agent (`{{agent_email}}`), as [`crate::agent_ref`].
    pub agent: AgentRef,
}

/// A token's signed content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// [`TOKEN_VERSION`].
    pub v: u8,
    /// Auth0 user id.
    pub sub: String,
    pub actions: Vec<Action>,
    /// Dixa conversation id.
    pub csid: String,
    pub agent: AgentRef,
    /// Expiry, unix seconds; the token is refused when `now > exp`.
    pub exp: u64,
    /// For a restore: HMAC-SHA256 (the token key) of the address it may restore, base64url. Absent
    /// from tokens that grant no restore (so older tokens still read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<String>,
}

/// Mints and verifies action tokens with the current key and, during rotation, the previous.
#[derive(Clone)]
pub struct ActionTokens {
    current: HmacSha256,
    previous: Option<HmacSha256>,
    ttl_s: u64,
}

impl std::fmt::Debug for ActionTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionTokens")
            .field("previous_configured", &self.previous.is_some())
            .field("ttl_s", &self.ttl_s)
            .finish_non_exhaustive()
    }
}

fn mac_for(key: StrongSecret<'_>) -> HmacSha256 {
    HmacSha256::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

impl ActionTokens {
    /// Refuses keys shorter than [`crate::secret::MIN_SECRET_BYTES`]. `ttl_s` is taken as
    /// given; [`ActionTokens::from_keys`] takes keys already checked and a bounded [`TokenTtl`].
    pub fn new(current: &[u8], previous: Option<&[u8]>, ttl_s: u64) -> Result<Self, WeakSecret> {
        let current = StrongSecret::new(current)?;
        let previous = previous.map(StrongSecret::new).transpose()?;
        Ok(Self::keyed(current, previous, ttl_s))
    }

    /// Tokens signed with keys whose length [`StrongSecret`] has checked, living `ttl`.
    pub fn from_keys(
        current: StrongSecret<'_>,
        previous: Option<StrongSecret<'_>>,
        ttl: TokenTtl,
    ) -> Self {
        Self::keyed(current, previous, ttl.as_secs())
    }

    fn keyed(current: StrongSecret<'_>, previous: Option<StrongSecret<'_>>, ttl_s: u64) -> Self {
        Self {
            current: mac_for(current),
            previous: previous.map(mac_for),
            ttl_s,
        }
    }

    /// Seconds from minting to expiry.
    pub fn ttl_s(&self) -> u64 {
        self.ttl_s
    }

    /// A token for `grant`, signed with the current key, expiring at `now + ttl`.
    pub fn mint(&self, grant: &Grant, now: u64) -> String {
        self.mint_claims(grant, None, now)
    }

    /// As [`ActionTokens::mint`], also binding the one address a restore of a moved account
    /// may set (the address the look-up was for). Only its keyed hash goes into the token.
    pub fn mint_with_restore(&self, grant: &Grant, restore_to: &str, now: u64) -> String {
        self.mint_claims(grant, Some(restore_to), now)
    }

    fn mint_claims(&self, grant: &Grant, restore_to: Option<&str>, now: u64) -> String {
        let claims = Claims {
            v: TOKEN_VERSION,
            sub: grant.user_id.clone(),
            actions: grant.actions.clone(),
            csid: grant.conversation_id.clone(),
            agent: grant.agent.clone(),
            exp: now.saturating_add(self.ttl_s),
            restore: restore_to.map(|address| binding(&self.current, address)),
        };
        sign(&self.current, &claims)
    }

    /// Whether `claims` (already verified) allow restoring exactly `address` (normalised, as
    /// the look-up had it). Either configured key may have bound it.
    pub fn may_restore(&self, claims: &Claims, address: &str) -> bool {
        let Some(bound) = claims.restore.as_deref() else {
            return false;
        };
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .any(|key| {
                let expected = binding(key, address);
                bool::from(expected.as_bytes().ct_eq(bound.as_bytes()))
            })
    }

    /// The claims when `token` is signed by a configured key, unexpired at `now`, issued for
    /// `expected_user_id` and allows `action`. See the module docs for the order of checks.
    pub fn verify(
        &self,
        token: &str,
        expected_user_id: &str,
        action: Action,
        now: u64,
    ) -> Result<Claims, AccessError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AccessError::TokenMalformed);
        }
        let (payload, mac) = token
            .split_once('.')
            .filter(|(p, m)| !p.is_empty() && !m.contains('.'))
            .ok_or(AccessError::TokenMalformed)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| AccessError::TokenMalformed)?;
        let signed = std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .any(|key| {
                let mut m = key.clone();
                m.update(payload.as_bytes());
                m.verify_slice(&mac).is_ok()
            });
        if !signed {
            return Err(AccessError::TokenBadSignature);
        }
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| AccessError::TokenMalformed)?;
        #[derive(Deserialize)]
        struct Version {
            v: u8,
        }
        let version: Version =
            serde_json::from_slice(&json).map_err(|_| AccessError::TokenMalformed)?;
        if version.v != TOKEN_VERSION {
            return Err(AccessError::TokenUnsupportedVersion);
        }
        let claims: Claims =
            serde_json::from_slice(&json).map_err(|_| AccessError::TokenMalformed)?;
        if now > claims.exp {
            return Err(AccessError::TokenExpired);
        }
        if claims.sub != expected_user_id {
            return Err(AccessError::TokenWrongUser);
        }
        if !claims.actions.contains(&action) {
            return Err(AccessError::TokenActionNotAllowed);
        }
        Ok(claims)
    }
}

/// The keyed hash a token carries instead of the address it binds.
fn binding(key: &HmacSha256, address: &str) -> String {
    let mut m = key.clone();
    m.update(b"restore:");
    m.update(address.as_bytes());
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

fn sign(key: &HmacSha256, claims: &Claims) -> String {
    // Serialising these plain fields cannot fail; an empty payload would only be refused.
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.encode(json);
    let mut m = key.clone();
    m.update(payload.as_bytes());
    let mac = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{payload}.{mac}")
}

/// The token from `Authorization: Bearer <token>` (scheme case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AccessError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(AccessError::TokenMissing)?;
    let value = value.to_str().map_err(|_| AccessError::TokenMalformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(AccessError::TokenMalformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AccessError::TokenMalformed);
    }
    match token.trim() {
        "" => Err(AccessError::TokenMissing),
        token => Ok(token),
    }
}

/// Unix seconds now, for [`ActionTokens::mint`] and [`ActionTokens::verify`] in handlers.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::agent_ref;
    use lambda_http::http::HeaderValue;

    const KEY_A: &[u8] = b"key-a-0123456789abcdefghijklmnopqrstuv";
    const KEY_B: &[u8] = b"key-b-0123456789abcdefghijklmnopqrstuv";
    const KEY_C: &[u8] = b"key-c-0123456789abcdefghijklmnopqrstuv";
    const NOW: u64 = 1_780_000_000;
    const USER: &str = "auth0|64f0c0ffee0123456789abcd";

    fn tokens(current: &[u8], previous: Option<&[u8]>) -> ActionTokens {
        ActionTokens::new(current, previous, 300).unwrap()
    }

    fn grant() -> Grant {
        Grant {
            user_id: USER.into(),
            actions: vec![Action::Block, Action::SendPasswordReset],
            conversation_id: "8812345".into(),
            agent: agent_ref("agent.smith@shop.example"),
        }
    }

    #[test]
    fn a_restore_is_bound_to_the_address_without_carrying_it() {
        let old = tokens(KEY_A, None);
        let rotated = tokens(KEY_B, Some(KEY_A));
        let token = old.mint_with_restore(&grant(), "jane.doe@example.com", NOW);
        assert!(!decode_claims(&token).to_string().contains("jane"));
        let claims = old.verify(&token, USER, Action::Block, NOW).unwrap();
        assert!(old.may_restore(&claims, "jane.doe@example.com"));
        assert!(!old.may_restore(&claims, "attacker@example.org"));
        // After a key rotation the binding made with the previous key still holds.
        assert!(rotated.may_restore(&claims, "jane.doe@example.com"));
        assert!(!tokens(KEY_C, None).may_restore(&claims, "jane.doe@example.com"));
        // A token minted without a restore allows none, and old tokens without the claim read.
        let plain = old.mint(&grant(), NOW);
        assert!(
            !decode_claims(&plain)
                .as_object()
                .unwrap()
                .contains_key("restore")
        );
        let claims = old.verify(&plain, USER, Action::Block, NOW).unwrap();
        assert!(!old.may_restore(&claims, "jane.doe@example.com"));
    }

    fn decode_claims(token: &str) -> serde_json::Value {
        let (payload, _) = token.split_once('.').unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    /// Re-encodes the payload with `edit` applied, keeping the original MAC.
    fn tamper(token: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let (_, mac) = token.split_once('.').unwrap();
        let mut claims = decode_claims(token);
        edit(&mut claims);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        format!("{payload}.{mac}")
    }

    #[test]
    fn valid_token_is_allowed_and_has_the_documented_shape() {
        let t = tokens(KEY_A, None);
        let token = t.mint(&grant(), NOW);
        let claims = t.verify(&token, USER, Action::Block, NOW).unwrap();
        assert_eq!(claims.sub, USER);
        assert_eq!(claims.csid, "8812345");
        assert_eq!(claims.exp, NOW + 300);
        assert_eq!(claims.v, TOKEN_VERSION);
        // Both listed actions work; the last second before expiry still works.
        t.verify(&token, USER, Action::SendPasswordReset, NOW + 300)
            .unwrap();

        assert_eq!(
            decode_claims(&token),
            serde_json::json!({
                "v": 1,
                "sub": USER,
                "actions": ["block", "send_password_reset"],
                "csid": "8812345",
                "agent": agent_ref("agent.smith@shop.example").as_str(),
                "exp": NOW + 300,
            })
        );
        // The MAC is HMAC-SHA256 over the payload text, base64url without padding.
        let (payload, mac) = token.split_once('.').unwrap();
        let mut m = HmacSha256::new_from_slice(KEY_A).unwrap();
        m.update(payload.as_bytes());
        assert_eq!(
            URL_SAFE_NO_PAD.decode(mac).unwrap(),
            m.finalize().into_bytes().to_vec()
        );
        assert!(!token.contains('=') && !token.contains('+') && !token.contains('/'));
        test_support::logs::assert_no_email_addresses(
            &String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap(),
        );
    }

    #[test]
    fn expired_token_is_refused() {
        let t = tokens(KEY_A, None);
        let token = t.mint(&grant(), NOW);
        assert_eq!(
            t.verify(&token, USER, Action::Block, NOW + 301),
            Err(AccessError::TokenExpired)
        );
    }

    #[test]
    fn tampered_payload_is_refused() {
        let t = tokens(KEY_A, None);
        let token = t.mint(&grant(), NOW);
        type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
        let edits: [(&str, Edit); 4] = [
            ("exp", Box::new(|c| c["exp"] = (NOW + 86_400).into())),
            ("sub", Box::new(|c| c["sub"] = "auth0|someone-else".into())),
            (
                "actions",
                Box::new(|c| c["actions"] = serde_json::json!(["change_email"])),
            ),
            ("csid", Box::new(|c| c["csid"] = "1".into())),
        ];
        for (what, edit) in edits {
            let forged = tamper(&token, edit);
            assert_ne!(forged, token);
            let user = decode_claims(&forged)["sub"].as_str().unwrap().to_owned();
            assert_eq!(
                t.verify(&forged, &user, Action::ChangeEmail, NOW),
                Err(AccessError::TokenBadSignature),
                "{what}"
            );
        }
    }

    #[test]
    fn tampered_mac_is_refused() {
        let t = tokens(KEY_A, None);
        let token = t.mint(&grant(), NOW);
        let (payload, mac) = token.split_once('.').unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(mac).unwrap();
        raw[0] ^= 0x01;
        let flipped = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&raw));
        assert_eq!(
            t.verify(&flipped, USER, Action::Block, NOW),
            Err(AccessError::TokenBadSignature)
        );
        // A truncated MAC (valid base64url, wrong length).
        let short = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&raw[..16]));
        assert_eq!(
            t.verify(&short, USER, Action::Block, NOW),
            Err(AccessError::TokenBadSignature)
        );
        // No MAC at all.
        assert_eq!(
            t.verify(&format!("{payload}."), USER, Action::Block, NOW),
            Err(AccessError::TokenBadSignature)
        );
    }

    #[test]
    fn token_for_another_user_is_refused() {
        let t = tokens(KEY_A, None);
        let token = t.mint(&grant(), NOW);
        assert_eq!(
            t.verify(&token, "auth0|someone-else", Action::Block, NOW),
            Err(AccessError::TokenWrongUser)
        );
    }

    #[test]
    fn token_for_another_action_is_refused() {
        let t = tokens(KEY_A, None);
        let token = t.mint(&grant(), NOW);
        for action in [
            Action::ChangeEmail,
            Action::Unblock,
            Action::ClearBruteForceBlocks,
        ] {
            assert_eq!(
                t.verify(&token, USER, action, NOW),
                Err(AccessError::TokenActionNotAllowed),
                "{action}"
            );
        }
    }

    #[test]
    fn token_signed_with_previous_key_is_accepted() {
        let before = tokens(KEY_A, None);
        let token = before.mint(&grant(), NOW);
        let after = tokens(KEY_B, Some(KEY_A));
        assert!(after.verify(&token, USER, Action::Block, NOW).is_ok());
        // New tokens are signed with the new key and verify without the previous one.
        let fresh = after.mint(&grant(), NOW);
        assert!(
            tokens(KEY_B, None)
                .verify(&fresh, USER, Action::Block, NOW)
                .is_ok()
        );
        assert_eq!(
            tokens(KEY_A, None).verify(&fresh, USER, Action::Block, NOW),
            Err(AccessError::TokenBadSignature)
        );
    }

    #[test]
    fn token_signed_with_unknown_key_is_refused() {
        let token = tokens(KEY_C, None).mint(&grant(), NOW);
        let t = tokens(KEY_A, Some(KEY_B));
        assert_eq!(
            t.verify(&token, USER, Action::Block, NOW),
            Err(AccessError::TokenBadSignature)
        );
        // A key rotated out (previous before the last rotation) no longer verifies.
        let old = tokens(KEY_A, None).mint(&grant(), NOW);
        assert_eq!(
            tokens(KEY_C, Some(KEY_B)).verify(&old, USER, Action::Block, NOW),
            Err(AccessError::TokenBadSignature)
        );
    }

    #[test]
    fn garbage_is_refused_without_panic() {
        let t = tokens(KEY_A, None);
        let good = t.mint(&grant(), NOW);
        let (payload, mac) = good.split_once('.').unwrap();
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        let cases = [
            "",
            ".",
            "..",
            "nodot",
            "a.b.c",
            "!!!.???",
            "é.é",
            &format!(".{mac}"),
            &format!("{payload}.{mac}.{mac}"),
            &format!("{payload}.{mac}="),
            &format!("{payload}.not base64"),
            &long,
        ];
        for garbage in cases {
            let got = t.verify(garbage, USER, Action::Block, NOW);
            assert!(
                matches!(
                    got,
                    Err(AccessError::TokenMalformed | AccessError::TokenBadSignature)
                ),
                "{garbage:?}: {got:?}"
            );
        }
        // A correctly signed payload that is not base64url / not claims JSON.
        let key = HmacSha256::new_from_slice(KEY_A).unwrap();
        let signed = |payload: &str| {
            let mut m = key.clone();
            m.update(payload.as_bytes());
            format!(
                "{payload}.{}",
                URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
            )
        };
        for payload in [
            "%%%".to_owned(),
            URL_SAFE_NO_PAD.encode("not json"),
            URL_SAFE_NO_PAD.encode(r#"{"v":1}"#),
            URL_SAFE_NO_PAD.encode(r#"[1,2]"#),
        ] {
            assert_eq!(
                t.verify(&signed(&payload), USER, Action::Block, NOW),
                Err(AccessError::TokenMalformed),
                "{payload}"
            );
        }
        let v2 = URL_SAFE_NO_PAD.encode(r#"{"v":2,"sub":"x"}"#);
        assert_eq!(
            t.verify(&signed(&v2), USER, Action::Block, NOW),
            Err(AccessError::TokenUnsupportedVersion)
        );
    }

    #[test]
    fn bearer_token_is_read_from_authorization() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), Err(AccessError::TokenMissing));
        h.insert("authorization", HeaderValue::from_static("Bearer abc.def"));
        assert_eq!(bearer_token(&h), Ok("abc.def"));
        h.insert("authorization", HeaderValue::from_static("bearer abc.def"));
        assert_eq!(bearer_token(&h), Ok("abc.def"));
        h.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&h), Err(AccessError::TokenMalformed));
        h.insert("authorization", HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&h), Err(AccessError::TokenMissing));
    }

    #[test]
    fn actions_parse_from_their_wire_names() {
        for action in Action::ALL {
            assert_eq!(action.as_str().parse::<Action>(), Ok(action));
            assert_eq!(
                serde_json::to_value(action).unwrap(),
                serde_json::json!(action.as_str())
            );
        }
        assert_eq!("delete".parse::<Action>(), Err(UnknownAction));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(ActionTokens::new(b"short", None, 300).is_err());
        assert!(ActionTokens::new(KEY_A, Some(b"short"), 300).is_err());
        let debug = format!("{:?}", tokens(KEY_A, Some(KEY_B)));
        assert!(!debug.contains("key-a"), "{debug}");
    }
}
