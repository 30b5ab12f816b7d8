//! The client's configuration: read from the environment once at start-up, typed and checked
//! there, so a bad setting stops the cold start instead of failing every invocation. Errors
//! name the setting, never its value.
//!
//! Settings, their defaults and what each does (blank values count as unset; the M2M
//! application needs the `read:users` and `update:users` scopes on the Management API):
//! [docs/configuration.md, Auth0 client](../../../docs/configuration.md#auth0-client).

use lambda_support::{
    ConfigError, Env, SecretString,
    retry::Backoff,
    secrets::{self, Field},
};
use std::time::Duration;

pub const DOMAIN: &str = "AUTH0_DOMAIN";
pub const BASE_URL: &str = "AUTH0_BASE_URL";
pub const AUDIENCE: &str = "AUTH0_AUDIENCE";
pub const SECRET_ARN: &str = "AUTH0_SECRET_ARN";
pub const CLIENT_ID: &str = "AUTH0_CLIENT_ID";
pub const CLIENT_SECRET: &str = "AUTH0_CLIENT_SECRET";
pub const TIMEOUT_MS: &str = "AUTH0_TIMEOUT_MS";
pub const MAX_ATTEMPTS: &str = "AUTH0_MAX_ATTEMPTS";
pub const BACKOFF_BASE_MS: &str = "AUTH0_BACKOFF_BASE_MS";
pub const BACKOFF_CAP_MS: &str = "AUTH0_BACKOFF_CAP_MS";
pub const TOKEN_REFRESH_MARGIN_S: &str = "AUTH0_TOKEN_REFRESH_MARGIN_S";
pub const MAX_PER_SECOND: &str = "AUTH0_MAX_PER_SECOND";

pub const DEFAULT_TIMEOUT_MS: u64 = 3_000;
pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;
pub const DEFAULT_BACKOFF_BASE_MS: u64 = 250;
pub const DEFAULT_BACKOFF_CAP_MS: u64 = 4_000;
pub const DEFAULT_TOKEN_REFRESH_MARGIN_S: u64 = 300;

/// The fields of the Auth0 credential secret and their env fallbacks.
pub const CREDENTIAL_FIELDS: &[Field] = &[
    Field {
        json_key: "client_id",
        env_var: CLIENT_ID,
    },
    Field {
        json_key: "client_secret",
        env_var: CLIENT_SECRET,
    },
];

/// Everything [`crate::Auth0Client`] needs, checked.
#[derive(Debug, Clone)]
pub struct Auth0Config {
    /// Tenant host name, e.g. `shop.eu.auth0.com`.
    pub domain: String,
    /// Base URL of both APIs, without a trailing slash.
    pub base_url: String,
    /// `audience` of the token request.
    pub audience: String,
    pub credentials: Credentials,
    /// Per HTTP attempt (also capped by the caller's deadline).
    pub timeout: Duration,
    pub backoff: Backoff,
    /// How long before `expires_in` a cached token is replaced.
    pub token_refresh_margin: Duration,
    /// This container's pace towards Auth0, calls a second (`AUTH0_MAX_PER_SECOND`; unset:
    /// none). Auth0's limits are per tenant, shared by every caller (docs/operations.md,
    /// *Bursts*).
    pub max_per_second: Option<std::num::NonZeroU32>,
}

/// The M2M application's client credentials. `Debug` shows the client id only.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// A bare host name: labels of letters, digits and `-`, separated by dots.
fn domain(env: &Env) -> Result<String, ConfigError> {
    let d = env.required(DOMAIN)?.to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if d.len() <= 253 && d.split('.').all(label_ok) {
        Ok(d)
    } else {
        Err(ConfigError::invalid(
            DOMAIN,
            "a host name without scheme or path, e.g. shop.eu.auth0.com",
        ))
    }
}

impl Auth0Config {
    /// Reads and checks every setting. Plain settings are checked first, so a typo fails fast
    /// without a network call; then the credentials are loaded, from Secrets Manager (through
    /// `secrets_client`, called only when `AUTH0_SECRET_ARN` is set) or from env.
    pub async fn from_env(
        env: &Env,
        secrets_client: impl AsyncFnOnce() -> aws_sdk_secretsmanager::Client,
    ) -> Result<Self, ConfigError> {
        let domain = domain(env)?;
        let base_url = match env.optional(BASE_URL) {
            Some(_) => env.url(BASE_URL)?,
            None => format!("https://{domain}"),
        };
        let audience = env
            .optional(AUDIENCE)
            .unwrap_or_else(|| format!("https://{domain}/api/v2/"));
        let timeout = env.positive_millis_or(TIMEOUT_MS, DEFAULT_TIMEOUT_MS)?;
        let backoff = env.backoff(
            [MAX_ATTEMPTS, BACKOFF_BASE_MS, BACKOFF_CAP_MS],
            Backoff {
                max_attempts: DEFAULT_MAX_ATTEMPTS,
                base: Duration::from_millis(DEFAULT_BACKOFF_BASE_MS),
                cap: Duration::from_millis(DEFAULT_BACKOFF_CAP_MS),
            },
        )?;
        let max_per_second = env.optional_positive(MAX_PER_SECOND)?;
        let token_refresh_margin = Duration::from_secs(env.parse_or(
            TOKEN_REFRESH_MARGIN_S,
            DEFAULT_TOKEN_REFRESH_MARGIN_S,
            "a whole number of seconds",
        )?);

        let mut loaded = secrets::load(env, SECRET_ARN, CREDENTIAL_FIELDS, secrets_client).await?;
        let mut take = |field: &Field| {
            loaded
                .remove(field.json_key)
                .ok_or_else(|| ConfigError::Missing(field.env_var.to_owned()))
        };
        let client_id =
            lambda_support::ExposeSecret::expose_secret(&take(&CREDENTIAL_FIELDS[0])?).to_owned();
        let client_secret = take(&CREDENTIAL_FIELDS[1])?;

        Ok(Self {
            domain,
            base_url,
            audience,
            credentials: Credentials {
                client_id,
                client_secret,
            },
            timeout,
            backoff,
            token_refresh_margin,
            max_per_second,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_support::ExposeSecret;

    fn minimal() -> Vec<(String, String)> {
        [
            (DOMAIN, "shop.eu.auth0.com"),
            (CLIENT_ID, "m2m-client-id"),
            (CLIENT_SECRET, "s3cr3t-value"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn with(mut pairs: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
        pairs.retain(|(k, _)| k != name);
        pairs.push((name.to_owned(), value.to_owned()));
        pairs
    }

    fn without(mut pairs: Vec<(String, String)>, name: &str) -> Vec<(String, String)> {
        pairs.retain(|(k, _)| k != name);
        pairs
    }

    async fn load(pairs: Vec<(String, String)>) -> Result<Auth0Config, ConfigError> {
        Auth0Config::from_env(&Env::from_pairs(pairs), async || unreachable!()).await
    }

    #[tokio::test]
    async fn minimal_settings_take_the_documented_defaults() {
        let c = load(minimal()).await.unwrap();
        assert_eq!(c.domain, "shop.eu.auth0.com");
        assert_eq!(c.base_url, "https://shop.eu.auth0.com");
        assert_eq!(c.audience, "https://shop.eu.auth0.com/api/v2/");
        assert_eq!(c.credentials.client_id, "m2m-client-id");
        assert_eq!(c.credentials.client_secret.expose_secret(), "s3cr3t-value");
        assert_eq!(c.timeout, Duration::from_millis(3_000));
        assert_eq!(
            c.backoff,
            Backoff {
                max_attempts: 4,
                base: Duration::from_millis(250),
                cap: Duration::from_millis(4_000)
            }
        );
        assert_eq!(c.token_refresh_margin, Duration::from_secs(300));
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
    }

    #[tokio::test]
    async fn every_setting_is_read() {
        let mut pairs = minimal();
        for (k, v) in [
            (BASE_URL, "http://127.0.0.1:8080/"),
            (AUDIENCE, "https://custom.example/api/v2/"),
            (TIMEOUT_MS, "1500"),
            (MAX_ATTEMPTS, "2"),
            (BACKOFF_BASE_MS, "50"),
            (BACKOFF_CAP_MS, "400"),
            (TOKEN_REFRESH_MARGIN_S, "60"),
        ] {
            pairs = with(pairs, k, v);
        }
        let c = load(pairs).await.unwrap();
        assert_eq!(c.base_url, "http://127.0.0.1:8080");
        assert_eq!(c.audience, "https://custom.example/api/v2/");
        assert_eq!(c.timeout, Duration::from_millis(1_500));
        assert_eq!(
            c.backoff,
            Backoff {
                max_attempts: 2,
                base: Duration::from_millis(50),
                cap: Duration::from_millis(400)
            }
        );
        assert_eq!(c.token_refresh_margin, Duration::from_secs(60));
    }

    #[tokio::test]
    async fn missing_required_settings_are_named() {
        for name in [DOMAIN, CLIENT_ID, CLIENT_SECRET] {
            let err = load(without(minimal(), name)).await.unwrap_err();
            assert_eq!(err, ConfigError::Missing(name.to_owned()));
        }
    }

    #[tokio::test]
    async fn invalid_settings_are_named_without_their_value() {
        for (name, value) in [
            (DOMAIN, "https://secretvalue.auth0.com"),
            (DOMAIN, "secretvalue.auth0.com/api"),
            (DOMAIN, "secret value.auth0.com"),
            (BASE_URL, "secretvalue.auth0.com"),
            (TIMEOUT_MS, "0"),
            (MAX_PER_SECOND, "0"),
            (TIMEOUT_MS, "3s-secretvalue"),
            (MAX_ATTEMPTS, "0"),
            (MAX_ATTEMPTS, "-1"),
            (BACKOFF_BASE_MS, "fast"),
            (BACKOFF_CAP_MS, "1.5"),
            (TOKEN_REFRESH_MARGIN_S, "5m"),
        ] {
            let err = load(with(minimal(), name, value)).await.unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { name: n, .. } if n == name),
                "{name}: {err}"
            );
            assert!(!err.to_string().contains("secretvalue"), "{err}");
        }
    }

    #[tokio::test]
    async fn credentials_come_from_secrets_manager_when_the_arn_is_set() {
        let moto = test_support::moto::server().await;
        let conf = test_support::aws::sdk_config(moto.endpoint()).await;
        let client = aws_sdk_secretsmanager::Client::new(&conf);
        let json = r#"{"client_id":"id-from-sm","client_secret":"secret-from-sm"}"#;
        let arn = test_support::aws::create_secret(&client, "auth0", json).await;
        // The env credentials are ignored when the ARN is set.
        let pairs = with(minimal(), SECRET_ARN, &arn);
        let c = Auth0Config::from_env(&Env::from_pairs(pairs), async || client.clone())
            .await
            .unwrap();
        assert_eq!(c.credentials.client_id, "id-from-sm");
        assert_eq!(
            c.credentials.client_secret.expose_secret(),
            "secret-from-sm"
        );
    }
}
