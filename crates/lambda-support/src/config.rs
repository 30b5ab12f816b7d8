//! Reading configuration from environment variables, with errors that name the variable and
//! never echo its value (values may be secrets or addresses).

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

    /// A duration given in milliseconds.
    pub fn millis_or(&self, name: &str, default_ms: u64) -> Result<Duration, ConfigError> {
        self.parse_or(name, default_ms, "a whole number of milliseconds")
            .map(Duration::from_millis)
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
    fn parses_defaults_and_urls() {
        let env = Env::from_pairs([("MS", "250"), ("URL", "https://api.example.com/")]);
        assert_eq!(env.millis_or("MS", 1).unwrap(), Duration::from_millis(250));
        assert_eq!(env.millis_or("NONE", 7).unwrap(), Duration::from_millis(7));
        assert_eq!(env.url("URL").unwrap(), "https://api.example.com");
    }
}
