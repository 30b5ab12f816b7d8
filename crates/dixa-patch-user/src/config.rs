//! Settings, read once at start-up by [`Config::from_env`]. A bad value stops the cold start
//! and the error names the setting, never its value.
//!
//! The actions' own settings (`AUTH0_RESET_*` for `send_password_reset` and the templates of
//! `resend_verification`; `EMAIL_BUS_NAME` and `PUBLISH_*` for the SendEmail events a
//! `change_email` or `restore_email` puts, see [`crate::notify`]) plus the shared
//! [`dixa_access::config`] (the token key must be the one `dixa-get-user` mints with;
//! `DIXA_SIGN_OUT_EVERYWHERE`) and [`auth0_client::config`]; each with its default and meaning:
//! [docs/configuration.md, dixa-patch-user](../../../docs/configuration.md#dixa-patch-user).
//!
//! `DIXA_LOOKUP_SECRET` is required by the shared access settings although this function
//! never checks it (with `DIXA_SECRET_ARN` it comes from the same secret anyway).

use auth0_client::Auth0Config;
use dixa_access::AccessConfig;
use lambda_support::{ConfigError, Env, retry::Backoff};
use std::time::Duration;

pub const RESET_CLIENT_ID_VAR: &str = "AUTH0_RESET_CLIENT_ID";
pub const RESET_CONNECTION_VAR: &str = "AUTH0_RESET_CONNECTION";
pub const EMAIL_BUS_VAR: &str = "EMAIL_BUS_NAME";

/// Where and how the emails of an email change are put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySettings {
    /// `EMAIL_BUS_NAME`.
    pub email_bus: String,
    /// `PUBLISH_*`.
    pub backoff: Backoff,
}

/// How `send_password_reset` calls `POST /dbconnections/change_password`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetSettings {
    /// `AUTH0_RESET_CLIENT_ID` (also the application whose templates `resend_verification`'s
    /// email uses).
    pub client_id: String,
    /// `AUTH0_RESET_CONNECTION`.
    pub connection: Option<String>,
}

/// Everything the actions need.
#[derive(Debug)]
pub struct Config {
    pub access: AccessConfig,
    pub auth0: Auth0Config,
    pub reset: ResetSettings,
    pub notify: NotifySettings,
}

impl Config {
    /// Reads the settings (see the module doc for where they are listed). `secrets_client` is called only for a setting that names a
    /// Secrets Manager ARN (build it once and share it, see `main.rs`).
    pub async fn from_env(
        env: &Env,
        secrets_client: impl AsyncFn() -> aws_sdk_secretsmanager::Client,
    ) -> Result<Self, ConfigError> {
        // Plain settings first: a typo fails start-up before any network call.
        let reset = ResetSettings {
            client_id: env.required(RESET_CLIENT_ID_VAR)?,
            connection: env.optional(RESET_CONNECTION_VAR),
        };
        let notify = NotifySettings {
            email_bus: env.required(EMAIL_BUS_VAR)?,
            backoff: env.backoff(
                [
                    "PUBLISH_MAX_ATTEMPTS",
                    "PUBLISH_BACKOFF_BASE_MS",
                    "PUBLISH_BACKOFF_CAP_MS",
                ],
                Backoff {
                    max_attempts: 3,
                    base: Duration::from_millis(100),
                    cap: Duration::from_millis(1_000),
                },
            )?,
        };
        // The two secrets are fetched at once: a cold start waits for one Secrets Manager
        // round trip, not two in a row.
        let (access, auth0) = tokio::try_join!(
            AccessConfig::from_env(env, async || secrets_client().await),
            Auth0Config::from_env(env, async || secrets_client().await),
        )?;
        Ok(Self {
            access,
            auth0,
            reset,
            notify,
        })
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
            ("AUTH0_RESET_CLIENT_ID", "storefront-client-id"),
            ("EMAIL_BUS_NAME", "shop-prod-email"),
        ]
    }

    async fn load(pairs: Vec<(&'static str, &'static str)>) -> Result<Config, ConfigError> {
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
    async fn defaults_and_override() {
        let c = load(base()).await.unwrap();
        assert_eq!(
            c.reset,
            ResetSettings {
                client_id: "storefront-client-id".into(),
                connection: None
            }
        );
        assert!(!format!("{c:?}").contains("auth0-s3cret"));
        assert_eq!(c.notify.email_bus, "shop-prod-email");
        assert_eq!(c.notify.backoff.max_attempts, 3);
        let mut pairs = base();
        pairs.push(("AUTH0_RESET_CONNECTION", "Shop-Customers"));
        let c = load(pairs).await.unwrap();
        assert_eq!(c.reset.connection.as_deref(), Some("Shop-Customers"));
    }

    #[tokio::test]
    async fn missing_settings_are_named() {
        for var in [
            "AUTH0_RESET_CLIENT_ID",
            "EMAIL_BUS_NAME",
            "DIXA_ACTION_TOKEN_KEY",
            "DIXA_ALLOWED_ORIGINS",
            "AUTH0_DOMAIN",
        ] {
            let pairs = base().into_iter().filter(|(k, _)| *k != var).collect();
            assert_eq!(
                load(pairs).await.unwrap_err(),
                ConfigError::Missing(var.into()),
                "{var}"
            );
        }
    }
}
