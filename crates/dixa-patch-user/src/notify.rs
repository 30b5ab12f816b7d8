//! The emails of an email change an agent made, put on the Email bus by this function itself.
//!
//! Whether Auth0 logs `sce` for a Management API `PATCH /users/{id}` at all is unverified, and
//! a support agent changing a customer's email is exactly the account-takeover path the
//! old-address email exists for. So after a successful change, dixa-patch-user puts both
//! SendEmail events (the same [`EmailChange`] pair email-transform builds for an `sce`) in one
//! PutEvents call, and email-transform skips an `sce` whose `client_id` is this function's
//! Auth0 client (`DIXA_AUTH0_CLIENT_ID`, reason `changed_by_support`): each email reaches the
//! customer once whether Auth0 logs the change or not.
//!
//! | field | value |
//! |---|---|
//! | `log_id` | [`change_log_id`]: `dixa` + the first 40 hex digits of SHA-256 over the user id, the old address, the new address and the action token's expiry |
//! | `log_type` | `dixa_change_email` ([`SUPPORT_CHANGE_LOG_TYPE`]): no Auth0 log is behind these emails |
//! | `dedupe_key` | `<log_id>:<kind>`, as for every SendEmail event |
//! | `params.occurred_at` | the time of the change (RFC 3339, UTC) |
//! | `params.new_email_masked` | the new address masked, in the old address's email only |
//!
//! The same change sent twice with the same token (a double click, a re-sent request) gives the
//! same keys, so send-email's dedupe sends each email once. A later change with a fresh token,
//! even to the same address, is a new change and is told again. The hash is one-way and
//! the ids carry no address.
//!
//! An account without an address before the change gets only the new-address email.

use auth0_events::{
    EmailAddress, EmailChange, LogId, LogType, SendEmailDetail, send_email::SUPPORT_CHANGE_LOG_TYPE,
};
use sha2::{Digest, Sha256};

/// The start of every [`change_log_id`], telling an operator where the emails came from.
pub const LOG_ID_PREFIX: &str = "dixa";
/// Hex digits of the hash kept in a [`change_log_id`] (160 bits).
pub const HASH_HEX_DIGITS: usize = 40;

/// An email change dixa-patch-user made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeMade {
    /// The Auth0 user id acted on.
    pub user_id: String,
    /// The address before the change, when the account had one.
    pub old: Option<EmailAddress>,
    pub new: EmailAddress,
    /// `exp` of the action token that authorised it: the same for a retry with that token.
    pub token_exp: u64,
}

/// The stable `log_id` of one change: the same inputs give the same id, any other input another.
/// Each input is length-prefixed before hashing, so no two different inputs read alike.
pub fn change_log_id(change: &ChangeMade) -> LogId {
    let mut hash = Sha256::new();
    let old = change.old.as_ref().map_or("", EmailAddress::as_str);
    let exp = change.token_exp.to_string();
    for part in [
        "change_email",
        change.user_id.as_str(),
        old,
        change.new.as_str(),
        exp.as_str(),
    ] {
        hash.update(part.len().to_string().as_bytes());
        hash.update(b":");
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut id = String::with_capacity(LOG_ID_PREFIX.len() + HASH_HEX_DIGITS);
    id.push_str(LOG_ID_PREFIX);
    for byte in &digest[..HASH_HEX_DIGITS / 2] {
        id.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        id.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
    }
    // 44 ASCII letters and digits: always a LogId.
    LogId::parse(&id).unwrap_or_else(|_| unreachable!("a prefix and hex digits are a log id"))
}

/// The SendEmail details for `change` at `occurred_at` (RFC 3339): the old address's email
/// (when there was an old address) first, then the new address's. Pure: no I/O, no clock.
pub fn emails(change: &ChangeMade, occurred_at: &str) -> Vec<SendEmailDetail> {
    let log_id = change_log_id(change);
    let pair = EmailChange {
        log_id: &log_id,
        log_type: LogType::from(SUPPORT_CHANGE_LOG_TYPE),
        occurred_at: Some(occurred_at.to_owned()),
    };
    match &change.old {
        Some(old) => pair.pair(old.clone(), change.new.clone()).into(),
        None => vec![pair.new_address(change.new.clone())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth0_events::{DedupeKey, EmailKind};
    use serde_json::json;

    fn address(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn change() -> ChangeMade {
        ChangeMade {
            user_id: "auth0|64f0c0ffee0123456789abcd".into(),
            old: Some(address("jane+shop@example.com")),
            new: address("jane.new@example.org"),
            token_exp: 1_795_169_000,
        }
    }

    #[test]
    fn the_same_change_gets_the_same_id_and_any_other_another() {
        let id = change_log_id(&change());
        assert_eq!(id, change_log_id(&change()));
        assert!(id.as_str().starts_with("dixa"));
        assert_eq!(id.as_str().len(), LOG_ID_PREFIX.len() + HASH_HEX_DIGITS);
        // It is a LogId and both dedupe keys are DedupeKeys (checked by their parsers).
        assert_eq!(LogId::parse(id.as_str()).unwrap(), id);
        for kind in EmailKind::ALL {
            let key = DedupeKey::for_email(&id, kind);
            assert_eq!(DedupeKey::parse(key.as_str()).unwrap(), key);
        }
        let others = [
            ChangeMade {
                user_id: "auth0|64f0c0ffee0123456789abce".into(),
                ..change()
            },
            ChangeMade {
                old: Some(address("jane@example.com")),
                ..change()
            },
            ChangeMade {
                old: None,
                ..change()
            },
            ChangeMade {
                new: address("jane.other@example.org"),
                ..change()
            },
            ChangeMade {
                token_exp: 1_795_169_001,
                ..change()
            },
            // The same characters split differently between the fields.
            ChangeMade {
                user_id: "auth0|64f0c0ffee0123456789abcd1".into(),
                token_exp: 795_169_000,
                ..change()
            },
        ];
        let mut seen = std::collections::HashSet::new();
        seen.insert(id.as_str().to_owned());
        for other in &others {
            assert!(
                seen.insert(change_log_id(other).as_str().to_owned()),
                "{other:?}"
            );
        }
        // No address in the id.
        assert!(!id.as_str().contains("jane"));
    }

    #[test]
    fn the_pair_goes_to_the_old_address_with_the_new_one_masked_and_to_the_new_address() {
        let c = change();
        let id = change_log_id(&c);
        let got: Vec<serde_json::Value> = emails(&c, "2026-12-02T14:05:09Z")
            .iter()
            .map(|d| serde_json::to_value(d).unwrap())
            .collect();
        assert_eq!(
            got,
            [
                json!({
                    "version": 1,
                    "kind": "email_changed_old_address",
                    "recipient": "jane+shop@example.com",
                    "params": {"occurred_at": "2026-12-02T14:05:09Z", "new_email_masked": "j***@example.org"},
                    "log_id": id.as_str(),
                    "log_type": "dixa_change_email",
                    "dedupe_key": format!("{id}:email_changed_old_address"),
                }),
                json!({
                    "version": 1,
                    "kind": "email_changed_new_address",
                    "recipient": "jane.new@example.org",
                    "params": {"occurred_at": "2026-12-02T14:05:09Z"},
                    "log_id": id.as_str(),
                    "log_type": "dixa_change_email",
                    "dedupe_key": format!("{id}:email_changed_new_address"),
                }),
            ]
        );
    }

    #[test]
    fn no_old_address_means_only_the_new_address_email() {
        let c = ChangeMade {
            old: None,
            ..change()
        };
        let got = emails(&c, "2026-12-02T14:05:09Z");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, EmailKind::EmailChangedNewAddress);
        assert_eq!(got[0].recipient.as_str(), "jane.new@example.org");
    }
}
