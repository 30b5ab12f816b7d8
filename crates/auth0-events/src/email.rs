//! A parsed email address.

use serde::{Deserialize, Serialize};
use std::fmt;

/// RFC 5321 limits: 254 octets for a whole path, 64 for the local part.
const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;

/// An email address, trimmed and lower-cased.
///
/// Lower-cased because Auth0 stores database-connection emails lower-cased and Hybris uids are
/// case-sensitive lower-case: one canonical form avoids look-up misses. Plus-addressing is kept.
///
/// `Debug` is redacted and there is no `Display`, so an address cannot reach a log line by
/// accident; call [`EmailAddress::as_str`] where the address is really needed.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

/// Why a string is not an email address. Never carries the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailAddressError {
    #[error("email address is empty")]
    Empty,
    #[error("email address is longer than {MAX_LEN} characters")]
    TooLong,
    #[error("email address must contain exactly one '@' with text on both sides")]
    BadShape,
    #[error("email address local part is longer than {MAX_LOCAL_LEN} characters")]
    LocalTooLong,
    #[error("email address contains whitespace, control or forbidden characters")]
    ForbiddenCharacter,
    #[error("email address domain is not a valid host name")]
    BadDomain,
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailAddressError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailAddressError::Empty);
        }
        if trimmed.len() > MAX_LEN {
            return Err(EmailAddressError::TooLong);
        }
        let (local, domain) = match trimmed.split_once('@') {
            Some((l, d)) if !l.is_empty() && !d.is_empty() && !d.contains('@') => (l, d),
            _ => return Err(EmailAddressError::BadShape),
        };
        if local.len() > MAX_LOCAL_LEN {
            return Err(EmailAddressError::LocalTooLong);
        }
        // Quoted local parts and comments are legal but never seen from a storefront sign-up;
        // refusing them keeps the address safe to put in URLs, headers and templates.
        let forbidden =
            |c: char| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c);
        if trimmed.chars().any(forbidden) {
            return Err(EmailAddressError::ForbiddenCharacter);
        }
        let valid_label = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if !domain.contains('.') || !domain.split('.').all(valid_label) {
            return Err(EmailAddressError::BadDomain);
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address with most of the local part hidden (`j***@example.com`), for telling the old
    /// address where the account's email went without handing it the whole new address.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress(<redacted>)")
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailAddressError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cases_and_trims_and_keeps_plus() {
        let e = EmailAddress::parse("  Jane.Doe+Shop@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "jane.doe+shop@example.com");
    }

    #[test]
    fn rejects_bad_shapes_with_reasons() {
        use EmailAddressError::*;
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("jane", BadShape),
            ("@example.com", BadShape),
            ("jane@", BadShape),
            ("a@b@example.com", BadShape),
            ("jane doe@example.com", ForbiddenCharacter),
            ("jane<x>@example.com", ForbiddenCharacter),
            ("jane@localhost", BadDomain),
            ("jane@-x.com", BadDomain),
            ("jane@x..com", BadDomain),
            ("jane@exa_mple.com", BadDomain),
        ];
        for (input, want) in cases {
            assert_eq!(EmailAddress::parse(input), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn enforces_length_limits() {
        let local = "a".repeat(65);
        assert_eq!(
            EmailAddress::parse(&format!("{local}@example.com")),
            Err(EmailAddressError::LocalTooLong)
        );
        let domain = format!("{}.com", ["abcdefghij"; 25].join("."));
        assert_eq!(
            EmailAddress::parse(&format!("a@{domain}")),
            Err(EmailAddressError::TooLong)
        );
    }

    #[test]
    fn debug_and_errors_never_show_the_address() {
        let e = EmailAddress::parse("secret.person@example.com").unwrap();
        assert!(!format!("{e:?}").contains("secret"));
        let err = EmailAddress::parse("secret person@example.com").unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn masks_the_local_part() {
        let e = EmailAddress::parse("jane@example.com").unwrap();
        assert_eq!(e.masked(), "j***@example.com");
    }

    #[test]
    fn serde_round_trip_validates() {
        let e: EmailAddress = serde_json::from_str("\"Jane@Example.com\"").unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"jane@example.com\"");
        assert!(serde_json::from_str::<EmailAddress>("\"nope\"").is_err());
    }
}
