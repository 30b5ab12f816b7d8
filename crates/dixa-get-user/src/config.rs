//! Settings, read once at start-up by [`Config::from_env`]. A bad value stops the cold start
//! and the error names the setting, never its value.
//!
//! The look-up's own settings (`DIXA_SHOW_LAST_IP`, `DIXA_LOOKUP_TIMEOUT_MS`) plus the shared
//! [`dixa_access::config`] (the look-up mints the tokens `dixa-patch-user` verifies: both
//! functions need the same key; `DIXA_SIGN_OUT_EVERYWHERE` decides whether the card offers
//! `sign_out_everywhere`) and [`auth0_client::config`] (the M2M application needs `read:users`,
//! `read:logs` or `read:logs_users`, and `read:authentication_methods`); each with its default
//! and meaning:
//! [docs/configuration.md, dixa-get-user](../../../docs/configuration.md#dixa-get-user).
//!
//! `DIXA_ALLOWED_ORIGINS` is required by the shared access settings although the look-up
//! itself answers Dixa's servers, not a browser, and sends no CORS headers.

use auth0_client::Auth0Config;
use dixa_access::AccessConfig;
use lambda_support::{ConfigError, Env};
use std::time::Duration;

use crate::card::CardOptions;

pub const SHOW_LAST_IP_VAR: &str = "DIXA_SHOW_LAST_IP";
pub const LOOKUP_TIMEOUT_VAR: &str = "DIXA_LOOKUP_TIMEOUT_MS";
pub const DEFAULT_LOOKUP_TIMEOUT_MS: u64 = 8_000;

/// Everything the look-up needs.
#[derive(Debug)]
pub struct Config {
    pub access: AccessConfig,
    pub auth0: Auth0Config,
    pub card: CardOptions,
    /// The longest the look-up works before answering (Auth0 calls and their retries).
    pub timeout: Duration,
}

impl Config {
    /// Reads the settings (see the module doc for where they are listed). `secrets_client` is called only for a setting that names a
    /// Secrets Manager ARN (build it once and share it, see `main.rs`).
    pub async fn from_env(
        env: &Env,
        secrets_client: impl AsyncFn() -> aws_sdk_secretsmanager::Client,
    ) -> Result<Self, ConfigError> {
        // Plain settings first: a typo fails start-up before any network call.
        let show_last_ip = flag(env, SHOW_LAST_IP_VAR)?;
        let timeout = env.millis_or(LOOKUP_TIMEOUT_VAR, DEFAULT_LOOKUP_TIMEOUT_MS)?;
        if timeout < Duration::from_millis(500) {
            return Err(ConfigError::invalid(
                LOOKUP_TIMEOUT_VAR,
                "a whole number of milliseconds, at least 500",
            ));
        }
        // The two secrets are fetched at once: a cold start waits for one Secrets Manager
        // round trip, not two in a row.
        let (access, auth0) = tokio::try_join!(
            AccessConfig::from_env(env, async || secrets_client().await),
            Auth0Config::from_env(env, async || secrets_client().await),
        )?;
        Ok(Self {
            auth0,
            card: CardOptions {
                show_last_ip,
                sign_out_everywhere: access.sign_out_everywhere,
            },
            timeout,
            access,
        })
    }
}

/// `true` / `false` in any case; unset is `false`.
fn flag(env: &Env, name: &str) -> Result<bool, ConfigError> {
    match env
        .optional(name)
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ConfigError::invalid(name, "true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "DIXA_LOOKUP_SECRET",
                "lookup-secret-0123456789abcdefghijklmnop",
            ),
            (
                "DIXA_ACTION_TOKEN_KEY",
                "token-key-0123456789abcdefghijklmnopqrstu",
            ),
            ("DIXA_ALLOWED_ORIGINS", "https://shop.dixa.com"),
            ("AUTH0_DOMAIN", "shop.eu.auth0.com"),
            ("AUTH0_CLIENT_ID", "m2m"),
            ("AUTH0_CLIENT_SECRET", "auth0-s3cret"),
        ]
    }

    async fn load(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        let mut pairs = base();
        pairs.extend_from_slice(extra);
        Config::from_env(&Env::from_pairs(pairs), async || {
            unreachable!("no ARN is set")
        })
        .await
    }

    /// Both requests leave before either answers: a cold start waits for one round trip.
    #[tokio::test]
    async fn the_two_secrets_are_fetched_at_once() {
        use test_support::aws::{AUTH0_SECRET, DIXA_SECRET};
        let env = Env::from_pairs(test_support::aws::with_secret_arns(
            base(),
            &[DIXA_SECRET, AUTH0_SECRET],
        ));
        let c = test_support::aws::fetched_at_once(&[DIXA_SECRET, AUTH0_SECRET], async |client| {
            Config::from_env(&env, async || client.clone()).await
        })
        .await
        .unwrap();
        let secret =
            lambda_support::ExposeSecret::expose_secret(&c.auth0.credentials.client_secret);
        assert_eq!(secret, "a-s3cret");
    }

    #[tokio::test]
    async fn defaults() {
        let c = load(&[]).await.unwrap();
        assert!(!c.card.show_last_ip);
        assert!(c.card.sign_out_everywhere);
        assert_eq!(c.timeout, Duration::from_secs(8));
        assert_eq!(c.access.tokens.ttl_s(), 300);
        let debug = format!("{c:?}");
        assert!(!debug.contains("auth0-s3cret") && !debug.contains("lookup-secret"));
    }

    #[tokio::test]
    async fn overrides_and_bad_values_are_named() {
        let c = load(&[
            ("DIXA_SHOW_LAST_IP", "TRUE"),
            ("DIXA_LOOKUP_TIMEOUT_MS", "5000"),
            ("DIXA_SIGN_OUT_EVERYWHERE", "false"),
        ])
        .await
        .unwrap();
        assert!(c.card.show_last_ip);
        assert!(!c.card.sign_out_everywhere);
        assert_eq!(c.timeout, Duration::from_secs(5));
        for (var, value) in [
            ("DIXA_SHOW_LAST_IP", "yes"),
            ("DIXA_LOOKUP_TIMEOUT_MS", "100"),
            ("DIXA_LOOKUP_TIMEOUT_MS", "8s"),
        ] {
            let err = load(&[(var, value)]).await.unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid { ref name, .. } if name == var),
                "{var}={value}: {err}"
            );
        }
        let pairs: Vec<_> = base()
            .into_iter()
            .filter(|(k, _)| *k != "AUTH0_DOMAIN")
            .collect();
        let err = Config::from_env(&Env::from_pairs(pairs), async || unreachable!())
            .await
            .unwrap_err();
        assert_eq!(err, ConfigError::Missing("AUTH0_DOMAIN".into()));
    }
}
