//! Settings, read once at start-up: the SAP Commerce host and site, the OAuth client's
//! credentials (Secrets Manager or env), the reset endpoint of the release, timeouts, and the
//! Auth0 client's settings. Their defaults and what each does:
//! [docs/configuration.md, hybris-reset-password](../../../docs/configuration.md#hybris-reset-password).

use auth0_client::Auth0Config;
use lambda_support::{
    ConfigError, Env, SecretString,
    secrets::{self, Field},
};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetEndpoint {
    /// `POST /occ/v2/{site}/passwordRestoreToken` JSON `{"loginId"}` → 201 (2205 and later).
    PasswordRestoreToken,
    /// `POST /occ/v2/{site}/forgottenpasswordtokens` form `userId` → 202 (legacy).
    ForgottenPasswordTokens,
}

pub struct HybrisCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

impl std::fmt::Debug for HybrisCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HybrisCredentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct HybrisConfig {
    pub base_url: String,
    pub base_site: String,
    pub credentials: HybrisCredentials,
    pub reset_endpoint: ResetEndpoint,
    pub timeout: Duration,
    pub token_refresh_margin: Duration,
}

#[derive(Debug)]
pub struct Config {
    pub hybris: HybrisConfig,
    pub auth0: Auth0Config,
    /// `DEDUPE_TABLE_NAME`: where the reset window's records live; without it, no window.
    pub dedupe_table: Option<String>,
    /// `RESET_WINDOW_MINUTES`: one Hybris reset per identifier per this long (zero: none).
    pub reset_window: Duration,
}

pub const DEFAULT_RESET_WINDOW_MINUTES: u64 = 15;

const CREDENTIALS: &[Field] = &[
    Field {
        json_key: "client_id",
        env_var: "HYBRIS_CLIENT_ID",
    },
    Field {
        json_key: "client_secret",
        env_var: "HYBRIS_CLIENT_SECRET",
    },
];

impl HybrisConfig {
    pub async fn from_env(
        env: &Env,
        secrets_client: impl AsyncFnOnce() -> aws_sdk_secretsmanager::Client,
    ) -> Result<Self, ConfigError> {
        let base_url = env.url("HYBRIS_BASE_URL")?;
        let base_site = env.required("HYBRIS_BASE_SITE")?;
        let reset_endpoint = match env.optional("HYBRIS_RESET_ENDPOINT").as_deref() {
            None | Some("password-restore-token") => ResetEndpoint::PasswordRestoreToken,
            Some("forgotten-password-tokens") => ResetEndpoint::ForgottenPasswordTokens,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "HYBRIS_RESET_ENDPOINT".into(),
                    expected: "`password-restore-token` or `forgotten-password-tokens`".into(),
                });
            }
        };
        let timeout = env.positive_millis_or("HYBRIS_TIMEOUT_MS", 5_000)?;
        let margin = env.parse_or(
            "HYBRIS_TOKEN_REFRESH_MARGIN_S",
            60u64,
            "a whole number of seconds",
        )?;
        let mut creds =
            secrets::load(env, "HYBRIS_SECRET_ARN", CREDENTIALS, secrets_client).await?;
        let client_secret = creds
            .remove("client_secret")
            .ok_or_else(|| ConfigError::Missing("HYBRIS_CLIENT_SECRET".into()))?;
        let client_id = creds
            .remove("client_id")
            .map(|s| lambda_support::ExposeSecret::expose_secret(&s).to_owned())
            .ok_or_else(|| ConfigError::Missing("HYBRIS_CLIENT_ID".into()))?;
        Ok(Self {
            base_url,
            base_site,
            credentials: HybrisCredentials {
                client_id,
                client_secret,
            },
            reset_endpoint,
            timeout,
            token_refresh_margin: Duration::from_secs(margin),
        })
    }
}

impl Config {
    /// Both clients' settings; `secrets_client` is called only for the settings that name a
    /// Secrets Manager ARN.
    pub async fn from_env(
        env: &Env,
        secrets_client: impl AsyncFn() -> aws_sdk_secretsmanager::Client,
    ) -> Result<Self, ConfigError> {
        // The two secrets are fetched at once: a cold start waits for one Secrets Manager
        // round trip, not two in a row.
        let reset_window = Duration::from_secs(
            60 * env.parse_or(
                "RESET_WINDOW_MINUTES",
                DEFAULT_RESET_WINDOW_MINUTES,
                "a whole number of minutes",
            )?,
        );
        let (hybris, auth0) = tokio::try_join!(
            HybrisConfig::from_env(env, async || secrets_client().await),
            Auth0Config::from_env(env, async || secrets_client().await),
        )?;
        Ok(Self {
            hybris,
            auth0,
            dedupe_table: env.optional("DEDUPE_TABLE_NAME"),
            reset_window,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("HYBRIS_BASE_URL", "https://commerce.shop.example/"),
            ("HYBRIS_BASE_SITE", "shop-uk"),
            ("HYBRIS_CLIENT_ID", "lambda"),
            ("HYBRIS_CLIENT_SECRET", "s3cret-value"),
            ("AUTH0_DOMAIN", "shop.eu.auth0.com"),
            ("AUTH0_CLIENT_ID", "m2m"),
            ("AUTH0_CLIENT_SECRET", "auth0-secret"),
        ]
    }

    async fn load(pairs: Vec<(&'static str, &'static str)>) -> Result<Config, ConfigError> {
        Config::from_env(&Env::from_pairs(pairs), async || unreachable!("no ARN set")).await
    }

    /// Both requests leave before either answers: a cold start waits for one round trip.
    #[tokio::test]
    async fn the_two_secrets_are_fetched_at_once() {
        use lambda_support::ExposeSecret;
        use test_support::aws::{AUTH0_SECRET, TestSecret};
        let hybris = TestSecret {
            arn_var: "HYBRIS_SECRET_ARN",
            id: "hybris",
            json: r#"{"client_id": "lambda", "client_secret": "h-s3cret"}"#,
            replaces: &["HYBRIS_CLIENT_ID", "HYBRIS_CLIENT_SECRET"],
        };
        let env = Env::from_pairs(test_support::aws::with_secret_arns(
            base(),
            &[hybris, AUTH0_SECRET],
        ));
        let c = test_support::aws::fetched_at_once(&[hybris, AUTH0_SECRET], async |client| {
            Config::from_env(&env, async || client.clone()).await
        })
        .await
        .unwrap();
        assert_eq!(
            c.hybris.credentials.client_secret.expose_secret(),
            "h-s3cret"
        );
        assert_eq!(
            c.auth0.credentials.client_secret.expose_secret(),
            "a-s3cret"
        );
    }

    #[tokio::test]
    async fn defaults() {
        let c = load(base()).await.unwrap();
        assert_eq!(c.hybris.base_url, "https://commerce.shop.example");
        assert_eq!(c.hybris.reset_endpoint, ResetEndpoint::PasswordRestoreToken);
        assert_eq!(c.hybris.timeout, Duration::from_secs(5));
        assert_eq!(c.reset_window, Duration::from_secs(15 * 60));
        assert_eq!(c.dedupe_table, None);
        assert!(!format!("{c:?}").contains("s3cret-value"));
    }

    #[tokio::test]
    async fn legacy_endpoint_and_bad_values_are_named() {
        let mut pairs = base();
        pairs.push(("HYBRIS_RESET_ENDPOINT", "forgotten-password-tokens"));
        assert_eq!(
            load(pairs).await.unwrap().hybris.reset_endpoint,
            ResetEndpoint::ForgottenPasswordTokens
        );
        let mut pairs = base();
        pairs.push(("RESET_WINDOW_MINUTES", "a quarter"));
        let err = load(pairs).await.unwrap_err().to_string();
        assert!(err.contains("RESET_WINDOW_MINUTES"), "{err}");
        let mut pairs = base();
        pairs.push(("RESET_WINDOW_MINUTES", "0"));
        assert_eq!(load(pairs).await.unwrap().reset_window, Duration::ZERO);
        let mut pairs = base();
        pairs.push(("HYBRIS_RESET_ENDPOINT", "v1"));
        let err = load(pairs).await.unwrap_err().to_string();
        assert!(err.contains("HYBRIS_RESET_ENDPOINT"), "{err}");
        let pairs: Vec<_> = base()
            .into_iter()
            .filter(|(k, _)| *k != "HYBRIS_BASE_SITE")
            .collect();
        assert_eq!(
            load(pairs).await.unwrap_err(),
            ConfigError::Missing("HYBRIS_BASE_SITE".into())
        );
        let pairs: Vec<_> = base()
            .into_iter()
            .filter(|(k, _)| *k != "AUTH0_DOMAIN")
            .collect();
        assert!(
            load(pairs)
                .await
                .unwrap_err()
                .to_string()
                .contains("AUTH0_DOMAIN")
        );
    }
}
