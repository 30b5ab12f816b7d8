//! Identifiers a producer sets and we put into log lines, error strings and dedupe keys: they
//! are checked for shape where they enter, so a log line never carries an address, a
//! 100 KB string or control characters that came in as an "id". Errors never quote the value.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest [`LogId`]. Auth0's are about 35 digits; 64 leaves room without letting a
/// payload through.
pub const MAX_LOG_ID_LEN: usize = 64;
/// The longest [`DedupeKey`]: a log id, a separator and the longest email kind, with room.
pub const MAX_DEDUPE_KEY_LEN: usize = 128;

/// An Auth0 log id (`detail.log_id`): 1 to [`MAX_LOG_ID_LEN`] ASCII letters and digits
/// (e.g. `90020261120095811043000000000000006`). Stable across redeliveries and replays.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LogId(String);

/// A value is not a [`LogId`]. Never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("log_id must be 1 to {MAX_LOG_ID_LEN} ASCII letters and digits")]
pub struct InvalidLogId;

impl LogId {
    pub fn parse(value: &str) -> Result<Self, InvalidLogId> {
        let ok = !value.is_empty()
            && value.len() <= MAX_LOG_ID_LEN
            && value.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidLogId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LogId {
    type Error = InvalidLogId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<LogId> for String {
    fn from(id: LogId) -> Self {
        id.0
    }
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl PartialEq<str> for LogId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for LogId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A SendEmail `dedupe_key`: 1 to [`MAX_DEDUPE_KEY_LEN`] ASCII letters, digits, `_`, `-`,
/// `.` and `:` (`<log_id>:<kind>` from email-transform).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DedupeKey(String);

/// A value is not a [`DedupeKey`]. Never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "dedupe_key must be 1 to {MAX_DEDUPE_KEY_LEN} ASCII letters, digits, '_', '-', '.' and ':'"
)]
pub struct InvalidDedupeKey;

impl DedupeKey {
    pub fn parse(value: &str) -> Result<Self, InvalidDedupeKey> {
        let ok = !value.is_empty()
            && value.len() <= MAX_DEDUPE_KEY_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidDedupeKey)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl DedupeKey {
    /// `<log_id>:<kind>`: the same for every redelivery of one log, distinct per email.
    pub fn for_email(log_id: &LogId, kind: crate::EmailKind) -> Self {
        Self(format!("{log_id}:{}", kind.as_str()))
    }
}

impl TryFrom<String> for DedupeKey {
    type Error = InvalidDedupeKey;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DedupeKey> for String {
    fn from(key: DedupeKey) -> Self {
        key.0
    }
}

impl fmt::Display for DedupeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DedupeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl PartialEq<str> for DedupeKey {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ids_are_short_alphanumeric_tokens() {
        for ok in ["1", "90020261120095811043000000000000006", &"a".repeat(64)] {
            assert_eq!(LogId::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "jane@example.com",
            "900 1",
            "900\n1",
            "900:1",
            "é1",
            &"1".repeat(65),
            &"9".repeat(100_000),
        ] {
            assert_eq!(LogId::parse(bad), Err(InvalidLogId), "{bad:.20}");
        }
        let err: Result<LogId, _> = serde_json::from_value(serde_json::json!("jane@example.com"));
        let msg = err.unwrap_err().to_string();
        assert!(!msg.contains("jane"), "{msg}");
    }

    #[test]
    fn dedupe_keys_are_bounded_tokens() {
        for ok in [
            "900:account_blocked",
            "dixa-1a2b.c:email_changed_old_address",
        ] {
            assert_eq!(DedupeKey::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "jane@example.com:x", "a b", &"k".repeat(129)] {
            assert_eq!(DedupeKey::parse(bad), Err(InvalidDedupeKey), "{bad:.20}");
        }
    }
}
