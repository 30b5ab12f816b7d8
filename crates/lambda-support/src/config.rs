//! Reading configuration from environment variables, with errors that name the variable and
//! never echo its value (values may be secrets or addresses).

use crate::retry::Backoff;
use std::{collections::HashMap, str::FromStr, time::Duration};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("missing required setting {0}")]
    Missing(String),
    #[error("setting {name} is invalid: expected {expected}")]
    Invalid { name: String, expected: String },
    #[error("could not load secret for {name}: {reason}")]
    Secret { name: String, reason: String },
}

impl ConfigError {
    /// `name` is set but is not `expected` (which must not quote the value).
    pub fn invalid(name: &str, expected: &str) -> Self {
        ConfigError::Invalid {
            name: name.to_owned(),
            expected: expected.to_owned(),
        }
    }
}

/// A snapshot of the environment. Built from the process environment in `main`, from a map
/// in tests and in the local runner, so no test has to mutate the process environment.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value, or `None` if unset or blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.optional(name)
            .ok_or_else(|| ConfigError::Missing(name.to_owned()))
    }

    /// Parses the value with `FromStr`, or returns `default` when unset.
    pub fn parse_or<T: FromStr>(
        &self,
        name: &str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| ConfigError::Invalid {
                name: name.to_owned(),
                expected: expected.to_owned(),
            }),
        }
    }

    /// A whole number at least 1, or `None` when unset (a rate, a count that 0 would turn off
    /// by mistake).
    pub fn optional_positive(
        &self,
        name: &str,
    ) -> Result<Option<std::num::NonZeroU32>, ConfigError> {
        match self.optional(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ConfigError::invalid(name, "a whole number, at least 1")),
        }
    }

    /// A duration given in milliseconds.
    pub fn millis_or(&self, name: &str, default_ms: u64) -> Result<Duration, ConfigError> {
        self.parse_or(name, default_ms, "a whole number of milliseconds")
            .map(Duration::from_millis)
    }

    /// A duration in milliseconds that must be at least 1 ms (a timeout of 0 is a typo).
    pub fn positive_millis_or(&self, name: &str, default_ms: u64) -> Result<Duration, ConfigError> {
        let d = self.millis_or(name, default_ms)?;
        if d.is_zero() {
            return Err(ConfigError::invalid(
                name,
                "a whole number of milliseconds, at least 1",
            ));
        }
        Ok(d)
    }

    /// A [`Backoff`] from three settings (`[attempts, base_ms, cap_ms]`), each defaulting to
    /// `default`'s value; at least one attempt.
    pub fn backoff(&self, names: [&str; 3], default: Backoff) -> Result<Backoff, ConfigError> {
        let [attempts, base, cap] = names;
        let max_attempts =
            self.parse_or(attempts, default.max_attempts, "a whole number, at least 1")?;
        if max_attempts == 0 {
            return Err(ConfigError::invalid(attempts, "a whole number, at least 1"));
        }
        Ok(Backoff {
            max_attempts,
            base: self.millis_or(base, default.base.as_millis() as u64)?,
            cap: self.millis_or(cap, default.cap.as_millis() as u64)?,
        })
    }

    /// An `http(s)://` URL without a trailing slash.
    pub fn url(&self, name: &str) -> Result<String, ConfigError> {
        let v = self.required(name)?;
        if !(v.starts_with("https://") || v.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: name.to_owned(),
                expected: "an http(s):// URL".to_owned(),
            });
        }
        Ok(v.trim_end_matches('/').to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_missing_and_errors_name_the_variable() {
        let env = Env::from_pairs([("A", "  "), ("N", "12x"), ("U", "ftp://secret")]);
        assert_eq!(env.required("A"), Err(ConfigError::Missing("A".into())));
        let err = env.parse_or("N", 5u32, "a number").unwrap_err();
        assert_eq!(err.to_string(), "setting N is invalid: expected a number");
        let err = env.url("U").unwrap_err().to_string();
        assert!(err.contains('U') && !err.contains("secret"), "{err}");
    }

    #[test]
    fn backoff_and_positive_millis() {
        let default = Backoff {
            max_attempts: 4,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(2_000),
        };
        let names = ["A", "B", "C"];
        assert_eq!(Env::default().backoff(names, default).unwrap(), default);
        let env = Env::from_pairs([("A", "2"), ("C", "50")]);
        let b = env.backoff(names, default).unwrap();
        assert_eq!(
            (b.max_attempts, b.base, b.cap),
            (2, default.base, Duration::from_millis(50))
        );
        let env = Env::from_pairs([("A", "0"), ("T", "0")]);
        assert_eq!(
            env.backoff(names, default).unwrap_err(),
            ConfigError::invalid("A", "a whole number, at least 1")
        );
        assert!(env.positive_millis_or("T", 5).is_err());
        assert_eq!(
            env.positive_millis_or("U", 5).unwrap(),
            Duration::from_millis(5)
        );
    }

    #[test]
    fn parses_defaults_and_urls() {
        let env = Env::from_pairs([("MS", "250"), ("URL", "https://api.example.com/")]);
        assert_eq!(env.millis_or("MS", 1).unwrap(), Duration::from_millis(250));
        assert_eq!(env.millis_or("NONE", 7).unwrap(), Duration::from_millis(7));
        assert_eq!(env.url("URL").unwrap(), "https://api.example.com");
    }
}
