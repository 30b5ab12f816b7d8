//! send-email's configuration: read from the environment once at start-up, typed and checked
//! there, so a bad setting stops the cold start instead of failing every invocation. Errors
//! name the setting, never its value.
//!
//! Settings, their defaults and what each does (blank values count as unset):
//! [docs/configuration.md, send-email](../../../docs/configuration.md#send-email).
//!
//! Every call, the first included, is also cut at the invocation's deadline less a 500 ms
//! margin, and retries stop when the next attempt could not finish before it.

use auth0_events::EmailKind;
use lambda_support::{
    ConfigError, Env, SecretString,
    retry::Backoff,
    secrets::{self, Field},
};
use std::time::Duration;

pub const API_BASE: &str = "BLOOMREACH_API_BASE";
pub const PROJECT_TOKEN: &str = "BLOOMREACH_PROJECT_TOKEN";
pub const SECRET_ARN: &str = "BLOOMREACH_SECRET_ARN";
pub const API_KEY_ID: &str = "BLOOMREACH_API_KEY_ID";
pub const API_SECRET: &str = "BLOOMREACH_API_SECRET";
pub const CUSTOMER_ID_KEY: &str = "BLOOMREACH_CUSTOMER_ID_KEY";
pub const LANGUAGE: &str = "BLOOMREACH_LANGUAGE";
pub const SENDER_ADDRESS: &str = "BLOOMREACH_SENDER_ADDRESS";
pub const SENDER_NAME: &str = "BLOOMREACH_SENDER_NAME";
pub const INTEGRATION_ID: &str = "BLOOMREACH_INTEGRATION_ID";
pub const RESET_PASSWORD_URL: &str = "RESET_PASSWORD_URL";
pub const SUPPORT_URL: &str = "SUPPORT_URL";
pub const TIMEOUT_MS: &str = "BLOOMREACH_TIMEOUT_MS";
pub const MAX_PER_SECOND: &str = "BLOOMREACH_MAX_PER_SECOND";
pub const MAX_ATTEMPTS: &str = "SEND_MAX_ATTEMPTS";
pub const BACKOFF_BASE_MS: &str = "SEND_BACKOFF_BASE_MS";
pub const BACKOFF_CAP_MS: &str = "SEND_BACKOFF_CAP_MS";
pub const DEDUPE_TABLE_NAME: &str = "DEDUPE_TABLE_NAME";
pub const DEDUPE_KEEP_HOURS: &str = "DEDUPE_KEEP_HOURS";
pub const DEFAULT_DEDUPE_KEEP_HOURS: u64 = 168;
pub const BLOCKED_EMAIL_WINDOW_MINUTES: &str = "BLOCKED_EMAIL_WINDOW_MINUTES";
pub const DEFAULT_BLOCKED_EMAIL_WINDOW_MINUTES: u64 = 60;

pub const DEFAULT_CUSTOMER_ID_KEY: &str = "registered";
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;
pub const DEFAULT_BACKOFF_BASE_MS: u64 = 200;
pub const DEFAULT_BACKOFF_CAP_MS: u64 = 5_000;

/// The fields of the Bloomreach credential secret and their env fallbacks.
pub const CREDENTIAL_FIELDS: &[Field] = &[
    Field {
        json_key: "api_key_id",
        env_var: API_KEY_ID,
    },
    Field {
        json_key: "api_secret",
        env_var: API_SECRET,
    },
];

/// Everything send-email needs, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub api: ApiConfig,
    pub message: MessageConfig,
    pub backoff: Backoff,
    /// `DEDUPE_TABLE_NAME`: the idempotency table, if any.
    pub dedupe_table: Option<String>,
    /// `DEDUPE_KEEP_HOURS`: how long a sent email's record blocks a resend.
    pub dedupe_keep: Duration,
    /// `BLOCKED_EMAIL_WINDOW_MINUTES`: one `account_blocked` email per recipient per window
    /// (zero: no limit).
    pub block_window: Duration,
}

/// Where and how to call the API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Without a trailing slash.
    pub base_url: String,
    pub project_token: String,
    pub credentials: Credentials,
    /// Per API call.
    pub timeout: Duration,
    /// This container's pace towards Bloomreach (`BLOOMREACH_MAX_PER_SECOND`; unset: none).
    pub max_per_second: Option<std::num::NonZeroU32>,
}

/// The private API key pair (HTTP Basic). `Debug` is redacted by `SecretString`.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub key_id: SecretString,
    pub secret: SecretString,
}

/// What goes into every request body besides the event's own facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageConfig {
    pub templates: Templates,
    pub customer_id_key: String,
    pub language: Option<String>,
    pub sender_address: Option<String>,
    pub sender_name: Option<String>,
    pub integration_id: Option<String>,
    pub reset_password_url: Option<String>,
    pub support_url: Option<String>,
}

/// Template and campaign of one [`EmailKind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub template_id: String,
    pub campaign_name: String,
}

/// One [`Template`] per kind; a field per kind so a new kind cannot be forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    pub account_blocked: Template,
    pub password_changed: Template,
    pub email_changed_old_address: Template,
    pub email_changed_new_address: Template,
}

impl Templates {
    pub fn for_kind(&self, kind: EmailKind) -> &Template {
        match kind {
            EmailKind::AccountBlocked => &self.account_blocked,
            EmailKind::PasswordChanged => &self.password_changed,
            EmailKind::EmailChangedOldAddress => &self.email_changed_old_address,
            EmailKind::EmailChangedNewAddress => &self.email_changed_new_address,
        }
    }

    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            account_blocked: template(env, EmailKind::AccountBlocked)?,
            password_changed: template(env, EmailKind::PasswordChanged)?,
            email_changed_old_address: template(env, EmailKind::EmailChangedOldAddress)?,
            email_changed_new_address: template(env, EmailKind::EmailChangedNewAddress)?,
        })
    }
}

/// `BLOOMREACH_TEMPLATE_<KIND>` for a kind.
pub fn template_var(kind: EmailKind) -> String {
    format!("BLOOMREACH_TEMPLATE_{}", kind.as_str().to_ascii_uppercase())
}

/// `BLOOMREACH_CAMPAIGN_<KIND>` for a kind.
pub fn campaign_var(kind: EmailKind) -> String {
    format!("BLOOMREACH_CAMPAIGN_{}", kind.as_str().to_ascii_uppercase())
}

/// The campaign name used when `BLOOMREACH_CAMPAIGN_<KIND>` is unset: `security-<kind>` in kebab case.
pub fn default_campaign(kind: EmailKind) -> String {
    format!("security-{}", kind.as_str().replace('_', "-"))
}

fn template(env: &Env, kind: EmailKind) -> Result<Template, ConfigError> {
    Ok(Template {
        template_id: env.required(&template_var(kind))?,
        campaign_name: env
            .optional(&campaign_var(kind))
            .unwrap_or_else(|| default_campaign(kind)),
    })
}

/// An optional `http(s)://` URL.
fn optional_url(env: &Env, name: &str) -> Result<Option<String>, ConfigError> {
    match env.optional(name) {
        None => Ok(None),
        Some(_) => env.url(name).map(Some),
    }
}

/// The project token is a path segment of the API URL: refuse anything that would change the path.
fn project_token(env: &Env) -> Result<String, ConfigError> {
    let token = env.required(PROJECT_TOKEN)?;
    let ok = token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(token)
    } else {
        Err(ConfigError::invalid(
            PROJECT_TOKEN,
            "a project token of letters, digits, '-' and '_'",
        ))
    }
}

impl Config {
    /// Reads and checks every setting. Plain settings are checked first, so a typo fails fast
    /// without a network call; then the credentials are loaded, from Secrets Manager (through
    /// `secrets_client`, called only when `BLOOMREACH_SECRET_ARN` is set) or from env.
    pub async fn from_env(
        env: &Env,
        secrets_client: impl AsyncFnOnce() -> aws_sdk_secretsmanager::Client,
    ) -> Result<Config, ConfigError> {
        let base_url = env.url(API_BASE)?;
        let project_token = project_token(env)?;
        let timeout = env.positive_millis_or(TIMEOUT_MS, DEFAULT_TIMEOUT_MS)?;
        let max_per_second = env.optional_positive(MAX_PER_SECOND)?;

        let backoff = env.backoff(
            [MAX_ATTEMPTS, BACKOFF_BASE_MS, BACKOFF_CAP_MS],
            Backoff {
                max_attempts: DEFAULT_MAX_ATTEMPTS,
                base: Duration::from_millis(DEFAULT_BACKOFF_BASE_MS),
                cap: Duration::from_millis(DEFAULT_BACKOFF_CAP_MS),
            },
        )?;

        let message = MessageConfig {
            templates: Templates::from_env(env)?,
            customer_id_key: env
                .optional(CUSTOMER_ID_KEY)
                .unwrap_or_else(|| DEFAULT_CUSTOMER_ID_KEY.to_owned()),
            language: env.optional(LANGUAGE),
            sender_address: env.optional(SENDER_ADDRESS),
            sender_name: env.optional(SENDER_NAME),
            integration_id: env.optional(INTEGRATION_ID),
            reset_password_url: optional_url(env, RESET_PASSWORD_URL)?,
            support_url: optional_url(env, SUPPORT_URL)?,
        };

        let mut loaded = secrets::load(env, SECRET_ARN, CREDENTIAL_FIELDS, secrets_client).await?;
        let mut take = |field: &Field| {
            loaded
                .remove(field.json_key)
                .ok_or_else(|| ConfigError::Missing(field.env_var.to_owned()))
        };
        let credentials = Credentials {
            key_id: take(&CREDENTIAL_FIELDS[0])?,
            secret: take(&CREDENTIAL_FIELDS[1])?,
        };

        Ok(Config {
            api: ApiConfig {
                base_url,
                project_token,
                credentials,
                timeout,
                max_per_second,
            },
            message,
            backoff,
            dedupe_table: env.optional(DEDUPE_TABLE_NAME),
            dedupe_keep: Duration::from_secs(
                3_600
                    * env.parse_or(
                        DEDUPE_KEEP_HOURS,
                        DEFAULT_DEDUPE_KEEP_HOURS,
                        "a whole number of hours",
                    )?,
            ),
            block_window: Duration::from_secs(
                60 * env.parse_or(
                    BLOCKED_EMAIL_WINDOW_MINUTES,
                    DEFAULT_BLOCKED_EMAIL_WINDOW_MINUTES,
                    "a whole number of minutes",
                )?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_support::ExposeSecret;

    fn minimal() -> Vec<(String, String)> {
        let mut pairs = vec![
            (API_BASE.to_owned(), "https://api.example.com/".to_owned()),
            (PROJECT_TOKEN.to_owned(), "0a1b2c3d-project".to_owned()),
            (API_KEY_ID.to_owned(), "kid".to_owned()),
            (API_SECRET.to_owned(), "s3cr3t-value".to_owned()),
        ];
        for kind in EmailKind::ALL {
            pairs.push((template_var(kind), format!("tpl-{}", kind.as_str())));
        }
        pairs
    }

    async fn load(pairs: Vec<(String, String)>) -> Result<Config, ConfigError> {
        Config::from_env(&Env::from_pairs(pairs), async || unreachable!()).await
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

    #[tokio::test]
    async fn minimal_settings_take_the_documented_defaults() {
        let c = load(minimal()).await.unwrap();
        assert_eq!(c.api.base_url, "https://api.example.com");
        assert_eq!(c.api.project_token, "0a1b2c3d-project");
        assert_eq!(c.api.credentials.key_id.expose_secret(), "kid");
        assert_eq!(c.api.credentials.secret.expose_secret(), "s3cr3t-value");
        assert_eq!(c.api.timeout, Duration::from_millis(5_000));
        assert_eq!(
            c.backoff,
            Backoff {
                max_attempts: 4,
                base: Duration::from_millis(200),
                cap: Duration::from_millis(5_000)
            }
        );
        let m = &c.message;
        assert_eq!(m.customer_id_key, "registered");
        assert_eq!(
            (
                &m.language,
                &m.sender_address,
                &m.sender_name,
                &m.integration_id
            ),
            (&None, &None, &None, &None)
        );
        assert_eq!((&m.reset_password_url, &m.support_url), (&None, &None));
        assert_eq!(
            m.templates.for_kind(EmailKind::AccountBlocked),
            &Template {
                template_id: "tpl-account_blocked".into(),
                campaign_name: "security-account-blocked".into()
            }
        );
        assert_eq!(
            m.templates
                .for_kind(EmailKind::EmailChangedNewAddress)
                .campaign_name,
            "security-email-changed-new-address"
        );
        // Credentials never show in Debug.
        assert!(!format!("{c:?}").contains("s3cr3t-value"));
    }

    #[tokio::test]
    async fn every_setting_is_read() {
        let mut pairs = minimal();
        for (k, v) in [
            ("BLOOMREACH_CAMPAIGN_PASSWORD_CHANGED", "pw-campaign"),
            (CUSTOMER_ID_KEY, "email_id"),
            (LANGUAGE, "de"),
            (SENDER_ADDRESS, "security@shop.example"),
            (SENDER_NAME, "Shop Security"),
            (INTEGRATION_ID, "integration-1"),
            (RESET_PASSWORD_URL, "https://shop.example/reset"),
            (SUPPORT_URL, "https://shop.example/help"),
            (TIMEOUT_MS, "1500"),
            (MAX_ATTEMPTS, "2"),
            (BACKOFF_BASE_MS, "50"),
            (BACKOFF_CAP_MS, "400"),
        ] {
            pairs = with(pairs, k, v);
        }
        let c = load(pairs).await.unwrap();
        let m = &c.message;
        assert_eq!(
            m.templates.for_kind(EmailKind::PasswordChanged),
            &Template {
                template_id: "tpl-password_changed".into(),
                campaign_name: "pw-campaign".into()
            }
        );
        assert_eq!(m.customer_id_key, "email_id");
        assert_eq!(m.language.as_deref(), Some("de"));
        assert_eq!(m.sender_address.as_deref(), Some("security@shop.example"));
        assert_eq!(m.sender_name.as_deref(), Some("Shop Security"));
        assert_eq!(m.integration_id.as_deref(), Some("integration-1"));
        assert_eq!(
            m.reset_password_url.as_deref(),
            Some("https://shop.example/reset")
        );
        assert_eq!(m.support_url.as_deref(), Some("https://shop.example/help"));
        assert_eq!(c.api.timeout, Duration::from_millis(1_500));
        assert_eq!(
            c.backoff,
            Backoff {
                max_attempts: 2,
                base: Duration::from_millis(50),
                cap: Duration::from_millis(400)
            }
        );
    }

    #[tokio::test]
    async fn missing_required_settings_are_named() {
        for name in [API_BASE, PROJECT_TOKEN, API_KEY_ID, API_SECRET]
            .into_iter()
            .map(str::to_owned)
            .chain(EmailKind::ALL.into_iter().map(template_var))
        {
            let err = load(without(minimal(), &name)).await.unwrap_err();
            assert_eq!(err, ConfigError::Missing(name.clone()));
        }
    }

    #[tokio::test]
    async fn invalid_settings_are_named_without_their_value() {
        for (name, value) in [
            (API_BASE, "api.example.com-secretvalue"),
            (PROJECT_TOKEN, "tok/../secretvalue"),
            (RESET_PASSWORD_URL, "secretvalue"),
            (SUPPORT_URL, "ftp://secretvalue"),
            (TIMEOUT_MS, "0"),
            (TIMEOUT_MS, "5s-secretvalue"),
            (MAX_PER_SECOND, "0"),
            (MAX_PER_SECOND, "ten"),
            (MAX_ATTEMPTS, "0"),
            (MAX_ATTEMPTS, "-1"),
            (BACKOFF_BASE_MS, "fast"),
            (BACKOFF_CAP_MS, "1.5"),
        ] {
            let err = load(with(minimal(), name, value)).await.unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { name: n, .. } if n == name),
                "{name}: {err}"
            );
            assert!(!err.to_string().contains("secretvalue"), "{err}");
        }
    }
}
