//! The keyed hash that stands for an address in the history: HMAC-SHA256 of the normalised
//! address under a secret key, so the table holds no address in clear and a hash cannot be
//! checked against a guessed address without the key.

use auth0_events::EmailAddress;
use hmac::{Hmac, KeyInit, Mac};
use lambda_support::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// The shortest key [`HistoryKey::new`] accepts, in bytes (SHA-256's output size).
pub const MIN_KEY_BYTES: usize = 32;

/// The secret the address hashes are keyed with (`EMAIL_HISTORY_KEY_SECRET_ARN` in production,
/// `EMAIL_HISTORY_KEY` locally). Every function that writes or reads the history must use the
/// same key: another key gives other hashes, so the history looks empty. `Debug` hides it.
#[derive(Clone)]
pub struct HistoryKey(SecretString);

/// A key shorter than [`MIN_KEY_BYTES`]. Never carries the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the email history key is shorter than {MIN_KEY_BYTES} bytes")]
pub struct WeakKey;

impl HistoryKey {
    /// The key's bytes are the string's UTF-8 bytes, at least [`MIN_KEY_BYTES`] of them.
    pub fn new(secret: SecretString) -> Result<Self, WeakKey> {
        if secret.expose_secret().len() < MIN_KEY_BYTES {
            return Err(WeakKey);
        }
        Ok(Self(secret))
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(self.0.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }

    /// `address`'s key in the history: HMAC-SHA256 of its normalised form (trimmed,
    /// lower-cased: what [`EmailAddress`] holds), hex.
    pub fn address_key(&self, address: &EmailAddress) -> AddressKey {
        let mut mac = self.mac();
        mac.update(address.as_str().as_bytes());
        AddressKey(hex::encode(mac.finalize().into_bytes()))
    }

    /// A stable [`Change::source_id`](crate::Change::source_id) for an agent's change of
    /// `user_id`'s address to `new` in Dixa conversation `conversation_id`:
    /// `dixa:<conversation>:<user>:<first 32 hex digits of new's keyed hash>`. The same change
    /// retried gives the same id; the new address is not in it.
    pub fn agent_source_id(
        &self,
        conversation_id: &str,
        user_id: &str,
        new: &EmailAddress,
    ) -> String {
        let new = self.address_key(new);
        format!("dixa:{conversation_id}:{user_id}:{}", &new.as_str()[..32])
    }
}

impl fmt::Debug for HistoryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HistoryKey(<redacted>)")
    }
}

/// An address as the history knows it: the 64 lower-case hex digits of its keyed hash
/// ([`HistoryKey::address_key`]). Not the address, and no way back to it without the key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AddressKey(String);

impl AddressKey {
    /// A key read back from the table: `None` unless it is 64 lower-case hex digits.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let ok = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| Self(hex.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> HistoryKey {
        HistoryKey::new(SecretString::from(s.to_owned())).unwrap()
    }

    /// Known answer, computed independently with Python's hmac module:
    /// `hmac.new(b"email-history-test-key-0123456789abcdef", b"jane.doe+shop@example.com",
    /// hashlib.sha256).hexdigest()`.
    #[test]
    fn the_address_key_is_hmac_sha256_of_the_normalised_address() {
        let k = key("email-history-test-key-0123456789abcdef");
        let address = EmailAddress::parse("  Jane.Doe+Shop@Example.COM").unwrap();
        assert_eq!(
            k.address_key(&address).as_str(),
            "3af25d68cc8936712237b0b09d55cd9613afa27ee15a01e2561126ce29585f61"
        );
        // The same, first 32 hex digits, for the new address of an agent change.
        let new = EmailAddress::parse("new.address@example.org").unwrap();
        assert_eq!(
            k.agent_source_id("12345", "auth0|abc", &new),
            "dixa:12345:auth0|abc:34cb93e08385b4a894c40542d2516597"
        );
    }

    #[test]
    fn debug_shows_neither_the_key_nor_an_address() {
        let k = key("email-history-test-key-0123456789abcdef");
        let debug = format!("{k:?}");
        assert_eq!(debug, "HistoryKey(<redacted>)");
        let a = k.address_key(&EmailAddress::parse("jane@example.com").unwrap());
        let debug = format!("{a:?}");
        assert!(!debug.contains("jane") && !debug.contains('@'), "{debug}");
    }

    #[test]
    fn short_keys_are_refused() {
        let short = "k".repeat(MIN_KEY_BYTES - 1);
        assert_eq!(
            HistoryKey::new(SecretString::from(short)).unwrap_err(),
            WeakKey
        );
        assert!(HistoryKey::new(SecretString::from("k".repeat(MIN_KEY_BYTES))).is_ok());
    }

    #[test]
    fn the_address_is_normalised_before_hashing() {
        let k = key("0123456789abcdef0123456789abcdef");
        let a = EmailAddress::parse(" Jane.Doe@Example.COM ").unwrap();
        let b = EmailAddress::parse("jane.doe@example.com").unwrap();
        assert_eq!(k.address_key(&a), k.address_key(&b));
        let other = key("another-key-0123456789abcdef-0123");
        assert_ne!(k.address_key(&a), other.address_key(&a));
    }

    #[test]
    fn only_64_lower_case_hex_digits_are_an_address_key() {
        let k = key("0123456789abcdef0123456789abcdef");
        let a = k.address_key(&EmailAddress::parse("jane@example.com").unwrap());
        assert_eq!(AddressKey::from_hex(a.as_str()), Some(a.clone()));
        assert_eq!(AddressKey::from_hex(&a.as_str().to_uppercase()), None);
        assert_eq!(AddressKey::from_hex(&a.as_str()[1..]), None);
        assert_eq!(AddressKey::from_hex("jane@example.com"), None);
    }

    #[test]
    fn the_agent_source_id_is_stable_and_holds_no_address() {
        let k = key("0123456789abcdef0123456789abcdef");
        let new = EmailAddress::parse("new.address@example.org").unwrap();
        let id = k.agent_source_id("12345", "auth0|abc", &new);
        assert_eq!(id, k.agent_source_id("12345", "auth0|abc", &new));
        assert!(id.starts_with("dixa:12345:auth0|abc:"), "{id}");
        assert_eq!(id.len(), "dixa:12345:auth0|abc:".len() + 32);
        assert!(!id.contains("new.address"), "{id}");
    }
}
