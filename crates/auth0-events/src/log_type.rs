//! Auth0 log event type codes.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An Auth0 log event type (`detail.data.type`). Codes we do not handle are kept as
/// [`LogType::Other`] so a new Auth0 code never makes an event unparseable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogType {
    /// Too many failed logins into one account from one IP: that IP is blocked for that user.
    LimitWc,
    /// Too many logins per time period from one IP: the user is temporarily blocked.
    LimitSul,
    /// An IP blocked after too many failed logins across users (or sign-ups).
    LimitMu,
    /// Password changed successfully.
    Scp,
    /// Email changed successfully.
    Sce,
    /// Failed change-password request (user unknown to Auth0, e.g. not yet migrated).
    Fcpr,
    /// Change-password (reset) email requested.
    Scpr,
    Other(String),
}

impl LogType {
    pub fn code(&self) -> &str {
        match self {
            LogType::LimitWc => "limit_wc",
            LogType::LimitSul => "limit_sul",
            LogType::LimitMu => "limit_mu",
            LogType::Scp => "scp",
            LogType::Sce => "sce",
            LogType::Fcpr => "fcpr",
            LogType::Scpr => "scpr",
            LogType::Other(code) => code,
        }
    }

    /// Brute-force protection blocks: each gets one "account blocked" email.
    pub fn is_brute_force_block(&self) -> bool {
        matches!(
            self,
            LogType::LimitWc | LogType::LimitSul | LogType::LimitMu
        )
    }
}

impl From<&str> for LogType {
    fn from(code: &str) -> Self {
        match code {
            "limit_wc" => LogType::LimitWc,
            "limit_sul" => LogType::LimitSul,
            "limit_mu" => LogType::LimitMu,
            "scp" => LogType::Scp,
            "sce" => LogType::Sce,
            "fcpr" => LogType::Fcpr,
            "scpr" => LogType::Scpr,
            other => LogType::Other(other.to_owned()),
        }
    }
}

impl Serialize for LogType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// The longest type code accepted. Auth0's are a few letters (`limit_wc`, `gd_auth_succeed`).
pub const MAX_CODE_LEN: usize = 32;

/// A value is not a log type code. Never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("log type must be 1 to {MAX_CODE_LEN} ASCII letters, digits and '_'")]
pub struct InvalidLogType;

impl LogType {
    /// A code as it comes from a producer: checked for shape, since unknown codes are kept
    /// and end up in log lines.
    pub fn parse(code: &str) -> Result<Self, InvalidLogType> {
        let ok = !code.is_empty()
            && code.len() <= MAX_CODE_LEN
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(LogType::from(code))
        } else {
            Err(InvalidLogType)
        }
    }
}

impl<'de> Deserialize<'de> for LogType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        LogType::parse(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_round_trip() {
        for code in [
            "limit_wc",
            "limit_sul",
            "limit_mu",
            "scp",
            "sce",
            "fcpr",
            "scpr",
        ] {
            let t = LogType::from(code);
            assert!(!matches!(t, LogType::Other(_)), "{code} should be known");
            assert_eq!(t.code(), code);
            assert_eq!(serde_json::to_value(&t).unwrap(), code);
        }
    }

    #[test]
    fn unknown_codes_are_kept() {
        let t: LogType = serde_json::from_str("\"ublkdu\"").unwrap();
        assert_eq!(t, LogType::Other("ublkdu".into()));
        assert_eq!(t.code(), "ublkdu");
        assert!(!t.is_brute_force_block());
    }

    #[test]
    fn codes_of_the_wrong_shape_are_refused_without_quoting() {
        for bad in ["", "jane@example.com", "sce ", "a-b", &"x".repeat(33)] {
            assert_eq!(LogType::parse(bad), Err(InvalidLogType), "{bad}");
            let err = serde_json::from_value::<LogType>(serde_json::json!(bad)).unwrap_err();
            assert!(!err.to_string().contains("jane"), "{err}");
        }
        assert_eq!(
            LogType::parse("gd_auth_succeed").unwrap().code(),
            "gd_auth_succeed"
        );
    }

    #[test]
    fn brute_force_family() {
        assert!(LogType::LimitWc.is_brute_force_block());
        assert!(LogType::LimitSul.is_brute_force_block());
        assert!(LogType::LimitMu.is_brute_force_block());
        assert!(!LogType::Scp.is_brute_force_block());
    }
}
