//! The secret rules: how long a secret or key must be and how long an action token may live.
//!
//! A leaf module (it uses no other module of this crate), so the look-up guard, the action
//! tokens and the settings can all depend on it without depending on each other:
//!
//! - [`StrongSecret`]: a secret or key of at least [`MIN_SECRET_BYTES`] bytes, checked once by
//!   [`StrongSecret::new`]. The look-up guard and the action tokens take it and check no length
//!   themselves.
//! - [`TokenTtl`]: an action token's lifetime, whole seconds from [`MIN_TOKEN_TTL_S`] to
//!   [`MAX_TOKEN_TTL_S`] (default [`DEFAULT_TOKEN_TTL_S`]).

/// The shortest secret or key accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Default and bounds of an action token's lifetime in seconds (`DIXA_ACTION_TOKEN_TTL_S`).
pub const DEFAULT_TOKEN_TTL_S: u64 = 300;
pub const MIN_TOKEN_TTL_S: u64 = 30;
pub const MAX_TOKEN_TTL_S: u64 = 900;

const _: () =
    assert!(MIN_TOKEN_TTL_S <= DEFAULT_TOKEN_TTL_S && DEFAULT_TOKEN_TTL_S <= MAX_TOKEN_TTL_S);

/// A secret or key shorter than [`MIN_SECRET_BYTES`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("secret is shorter than {} bytes", MIN_SECRET_BYTES)]
pub struct WeakSecret;

/// A secret or key of at least [`MIN_SECRET_BYTES`] bytes: the look-up secret or the action
/// token key, current or previous.
///
/// It borrows the bytes (no copy of a secret is made) and its `Debug` shows neither their
/// content nor their length. It has no `PartialEq`: compare [`StrongSecret::as_bytes`]
/// deliberately, where timing cannot matter.
#[derive(Clone, Copy)]
pub struct StrongSecret<'a>(&'a [u8]);

impl<'a> StrongSecret<'a> {
    /// Refuses `bytes` shorter than [`MIN_SECRET_BYTES`].
    pub fn new(bytes: &'a [u8]) -> Result<Self, WeakSecret> {
        if bytes.len() >= MIN_SECRET_BYTES {
            Ok(Self(bytes))
        } else {
            Err(WeakSecret)
        }
    }

    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl std::fmt::Debug for StrongSecret<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StrongSecret(..)")
    }
}

/// An action token's lifetime: whole seconds from [`MIN_TOKEN_TTL_S`] to [`MAX_TOKEN_TTL_S`].
/// Parses from the decimal seconds of `DIXA_ACTION_TOKEN_TTL_S`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenTtl(u64);

impl TokenTtl {
    pub const DEFAULT: Self = Self(DEFAULT_TOKEN_TTL_S);

    /// Refuses `secs` outside [`MIN_TOKEN_TTL_S`]`..=`[`MAX_TOKEN_TTL_S`].
    pub fn from_secs(secs: u64) -> Result<Self, InvalidTtl> {
        if (MIN_TOKEN_TTL_S..=MAX_TOKEN_TTL_S).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(InvalidTtl)
        }
    }

    pub fn as_secs(self) -> u64 {
        self.0
    }
}

impl Default for TokenTtl {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl std::str::FromStr for TokenTtl {
    type Err = InvalidTtl;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map_err(|_| InvalidTtl).and_then(Self::from_secs)
    }
}

/// Not whole seconds from [`MIN_TOKEN_TTL_S`] to [`MAX_TOKEN_TTL_S`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "action token TTL is not whole seconds from {} to {}",
    MIN_TOKEN_TTL_S,
    MAX_TOKEN_TTL_S
)]
pub struct InvalidTtl;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_shorter_than_the_minimum_are_weak() {
        let ok = b"exactly-thirty-two-bytes-long!!!";
        assert_eq!(ok.len(), MIN_SECRET_BYTES);
        assert_eq!(StrongSecret::new(ok).unwrap().as_bytes(), ok);
        assert_eq!(StrongSecret::new(&ok[..31]).unwrap_err(), WeakSecret);
        assert_eq!(StrongSecret::new(b"").unwrap_err(), WeakSecret);
        assert_eq!(WeakSecret.to_string(), "secret is shorter than 32 bytes");
    }

    #[test]
    fn debug_shows_no_secret() {
        let secret = StrongSecret::new(b"a-secret-that-must-not-be-logged-0123").unwrap();
        let debug = format!("{secret:?}");
        assert_eq!(debug, "StrongSecret(..)");
    }

    #[test]
    fn ttl_is_bounded_and_parses_whole_seconds() {
        assert_eq!(TokenTtl::default().as_secs(), 300);
        for secs in [30, 300, 900] {
            assert_eq!(TokenTtl::from_secs(secs).unwrap().as_secs(), secs);
            assert_eq!(secs.to_string().parse(), TokenTtl::from_secs(secs));
        }
        for secs in [0, 29, 901, u64::MAX] {
            assert_eq!(TokenTtl::from_secs(secs), Err(InvalidTtl));
        }
        for text in ["29", "901", "5m", "", "-1", "300.0"] {
            assert_eq!(text.parse::<TokenTtl>(), Err(InvalidTtl), "{text:?}");
        }
        assert_eq!(
            InvalidTtl.to_string(),
            "action token TTL is not whole seconds from 30 to 900"
        );
    }
}
