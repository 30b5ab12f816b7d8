//! The look-up endpoint's shared secret.
//!
//! Dixa calls the look-up Hook URL server-side with a custom header we configure in the card
//! (default `x-dixa-card-secret: <secret>`). API Gateway's resource policy lets only Dixa's
//! three source IPs in; this check is the second factor. During a rotation both the current
//! and the previous secret are accepted:
//!
//! 1. put the new value in `lookup_secret` and the old one in `lookup_secret_previous`,
//!    redeploy (or let new containers start);
//! 2. change the header value in the Dixa card;
//! 3. remove `lookup_secret_previous`. From then on the old value is refused.
//!
//! Comparison is constant-time over SHA-256 digests: both sides are 32 bytes whatever was
//! sent, so neither the content nor the length of the configured secret leaks through timing.
//! Only the digests of the secrets are kept in memory after start-up.

use crate::error::AccessError;
use crate::secret::{StrongSecret, WeakSecret};
use lambda_http::http::{HeaderMap, HeaderName};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// The header Dixa sends the secret in, unless `DIXA_LOOKUP_HEADER` says otherwise.
pub const DEFAULT_LOOKUP_HEADER: &str = "x-dixa-card-secret";

type Sha256Digest = [u8; 32];

/// Checks the look-up secret header against the current and the previous secret.
#[derive(Clone)]
pub struct LookupGuard {
    header: HeaderName,
    current: Sha256Digest,
    previous: Option<Sha256Digest>,
}

impl std::fmt::Debug for LookupGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LookupGuard")
            .field("header", &self.header)
            .field("previous_configured", &self.previous.is_some())
            .finish_non_exhaustive()
    }
}

impl LookupGuard {
    /// Refuses secrets shorter than [`crate::secret::MIN_SECRET_BYTES`] (see
    /// [`LookupGuard::from_secrets`] for secrets already checked).
    pub fn new(
        header: HeaderName,
        current: &[u8],
        previous: Option<&[u8]>,
    ) -> Result<Self, WeakSecret> {
        let current = StrongSecret::new(current)?;
        let previous = previous.map(StrongSecret::new).transpose()?;
        Ok(Self::from_secrets(header, current, previous))
    }

    /// The guard for secrets whose length [`StrongSecret`] has checked.
    pub fn from_secrets(
        header: HeaderName,
        current: StrongSecret<'_>,
        previous: Option<StrongSecret<'_>>,
    ) -> Self {
        Self {
            header,
            current: sha256(current.as_bytes()),
            previous: previous.map(|p| sha256(p.as_bytes())),
        }
    }

    /// The header name the secret is expected in.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// `Ok` when the header is present exactly once and equals the current or the previous
    /// secret. Both candidates are always compared (no early exit on the first match).
    pub fn check_lookup_secret(&self, headers: &HeaderMap) -> Result<(), AccessError> {
        let mut values = headers.get_all(&self.header).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            // Absent, or sent twice (ambiguous: refuse rather than pick one).
            return Err(if headers.contains_key(&self.header) {
                AccessError::SecretMismatch
            } else {
                AccessError::SecretMissing
            });
        };
        let presented = sha256(value.as_bytes());
        let mut matched = digests_equal(&presented, &self.current);
        if let Some(previous) = &self.previous {
            matched |= digests_equal(&presented, previous);
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(AccessError::SecretMismatch)
        }
    }
}

fn sha256(bytes: &[u8]) -> Sha256Digest {
    Sha256::digest(bytes).into()
}

/// The only comparison used on secrets: constant-time over two fixed-size digests.
fn digests_equal(a: &Sha256Digest, b: &Sha256Digest) -> Choice {
    a.ct_eq(b)
}

/// Constant-time equality of two byte strings of any lengths, through their SHA-256 digests
/// (the same path [`LookupGuard::check_lookup_secret`] takes).
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    digests_equal(&sha256(a), &sha256(b)).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    const S1: &str = "first-secret-0123456789abcdefghijklmnop";
    const S2: &str = "second-secret-0123456789abcdefghijklmno";
    const S3: &str = "third-secret-0123456789abcdefghijklmnop";

    fn guard(current: &str, previous: Option<&str>) -> LookupGuard {
        LookupGuard::new(
            HeaderName::from_static(DEFAULT_LOOKUP_HEADER),
            current.as_bytes(),
            previous.map(str::as_bytes),
        )
        .unwrap()
    }

    fn headers(secret: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            DEFAULT_LOOKUP_HEADER,
            HeaderValue::from_str(secret).unwrap(),
        );
        headers
    }

    #[test]
    fn missing_header_is_refused() {
        let g = guard(S1, None);
        assert_eq!(
            g.check_lookup_secret(&HeaderMap::new()),
            Err(AccessError::SecretMissing)
        );
        // The secret in another header does not count.
        let mut other = HeaderMap::new();
        other.insert("authorization", HeaderValue::from_static(S1));
        assert_eq!(
            g.check_lookup_secret(&other),
            Err(AccessError::SecretMissing)
        );
    }

    #[test]
    fn wrong_secret_is_refused() {
        let g = guard(S1, Some(S2));
        for wrong in [S3, "", "x", &S1[..S1.len() - 1], &format!("{S1}x")] {
            assert_eq!(
                g.check_lookup_secret(&headers(wrong)),
                Err(AccessError::SecretMismatch),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn current_and_previous_are_accepted() {
        let g = guard(S2, Some(S1));
        assert_eq!(g.check_lookup_secret(&headers(S2)), Ok(()));
        assert_eq!(g.check_lookup_secret(&headers(S1)), Ok(()));
        // Without a previous secret only the current one works.
        let g = guard(S2, None);
        assert_eq!(g.check_lookup_secret(&headers(S2)), Ok(()));
        assert_eq!(
            g.check_lookup_secret(&headers(S1)),
            Err(AccessError::SecretMismatch)
        );
    }

    #[test]
    fn rotated_out_secret_is_refused() {
        // S1 -> S2 -> S3: after the second rotation S1 (previous before it) is refused.
        let g = guard(S3, Some(S2));
        assert_eq!(
            g.check_lookup_secret(&headers(S1)),
            Err(AccessError::SecretMismatch)
        );
        assert_eq!(g.check_lookup_secret(&headers(S2)), Ok(()));
        assert_eq!(g.check_lookup_secret(&headers(S3)), Ok(()));
    }

    #[test]
    fn header_sent_twice_is_refused() {
        let g = guard(S1, None);
        let mut h = headers(S1);
        h.append(DEFAULT_LOOKUP_HEADER, HeaderValue::from_static(S1));
        assert_eq!(g.check_lookup_secret(&h), Err(AccessError::SecretMismatch));
    }

    #[test]
    fn constant_time_compare_on_equal_unequal_and_different_lengths() {
        assert!(secrets_equal(S1.as_bytes(), S1.as_bytes()));
        assert!(secrets_equal(b"", b""));
        assert!(!secrets_equal(S1.as_bytes(), S2.as_bytes()));
        // Same length, one byte apart.
        let mut flipped = S1.as_bytes().to_vec();
        flipped[10] ^= 1;
        assert!(!secrets_equal(S1.as_bytes(), &flipped));
        // Different lengths, one a prefix of the other: still a fixed-size comparison.
        assert!(!secrets_equal(S1.as_bytes(), &S1.as_bytes()[..5]));
        assert!(!secrets_equal(b"", S1.as_bytes()));
        // The guard's comparison is the subtle::Choice-returning digest compare.
        let d = sha256(S1.as_bytes());
        assert_eq!(digests_equal(&d, &d).unwrap_u8(), 1);
        assert_eq!(digests_equal(&d, &sha256(S2.as_bytes())).unwrap_u8(), 0);
    }

    #[test]
    fn short_secrets_are_refused_and_debug_shows_none() {
        let h = HeaderName::from_static(DEFAULT_LOOKUP_HEADER);
        assert!(LookupGuard::new(h.clone(), b"short", None).is_err());
        assert!(LookupGuard::new(h.clone(), S1.as_bytes(), Some(b"short")).is_err());
        let g = LookupGuard::new(h, S1.as_bytes(), Some(S2.as_bytes())).unwrap();
        let debug = format!("{g:?}");
        assert!(!debug.contains(S1) && !debug.contains("first"), "{debug}");
    }
}
