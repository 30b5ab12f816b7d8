//! Settings, read once at start-up: the Email bus, which `sce` field is the old address, the
//! Dixa functions' Auth0 client id (whose `sce` logs send nothing) and the PutEvents retries
//! ([`Config`]); and the two optional services whose settings name a secret, Auth0 and the
//! email history ([`Services`]). Their defaults and what each does:
//! [docs/configuration.md, email-transform](../../../docs/configuration.md#email-transform).

use crate::transform::SceOldField;
use auth0_client::Auth0Config;
use email_history::HistoryConfig;
use lambda_support::{ConfigError, Env, retry::Backoff};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub email_bus: String,
    pub sce_old_field: SceOldField,
    pub publish_backoff: Backoff,
    pub support_client_id: Option<String>,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let sce_old_field = match env.optional("SCE_OLD_EMAIL_FIELD").as_deref() {
            None | Some("email") => SceOldField::Email,
            Some("newEmail") => SceOldField::NewEmail,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "SCE_OLD_EMAIL_FIELD".into(),
                    expected: "`email` or `newEmail`".into(),
                });
            }
        };
        let publish_backoff = env.backoff(
            [
                "PUBLISH_MAX_ATTEMPTS",
                "PUBLISH_BACKOFF_BASE_MS",
                "PUBLISH_BACKOFF_CAP_MS",
            ],
            Backoff {
                max_attempts: 4,
                base: Duration::from_millis(100),
                cap: Duration::from_millis(2_000),
            },
        )?;
        Ok(Self {
            email_bus: env.required("EMAIL_BUS_NAME")?,
            sce_old_field,
            publish_backoff,
            support_client_id: env.optional("DIXA_AUTH0_CLIENT_ID"),
        })
    }
}

/// The optional services: Auth0 (only `user_id`-only logs need it; when `AUTH0_DOMAIN` is set)
/// and the email history (when `EMAIL_HISTORY_TABLE` is set).
#[derive(Debug)]
pub struct Services {
    pub auth0: Option<Auth0Config>,
    pub history: Option<HistoryConfig>,
}

impl Services {
    /// Reads both services' settings. Their secrets (`AUTH0_SECRET_ARN`,
    /// `EMAIL_HISTORY_KEY_SECRET_ARN`) are fetched at once: a cold start waits for one Secrets
    /// Manager round trip, not two in a row. `secrets_client` is called only for a setting that
    /// names a secret.
    pub async fn from_env(
        env: &Env,
        secrets_client: impl AsyncFn() -> aws_sdk_secretsmanager::Client,
    ) -> Result<Self, ConfigError> {
        let auth0 = async {
            match env.optional(auth0_client::config::DOMAIN) {
                None => Ok(None),
                Some(_) => Auth0Config::from_env(env, async || secrets_client().await)
                    .await
                    .map(Some),
            }
        };
        let history = HistoryConfig::from_env(env, async || secrets_client().await);
        let (auth0, history) = tokio::try_join!(auth0, history)?;
        Ok(Self { auth0, history })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_required() {
        let c = Config::from_env(&Env::from_pairs([("EMAIL_BUS_NAME", "email")])).unwrap();
        assert_eq!(c.email_bus, "email");
        assert_eq!(c.sce_old_field, SceOldField::Email);
        assert_eq!(c.publish_backoff.max_attempts, 4);
        assert_eq!(c.support_client_id, None);
        let err = Config::from_env(&Env::default()).unwrap_err();
        assert_eq!(err.to_string(), "missing required setting EMAIL_BUS_NAME");
    }

    #[test]
    fn an_empty_dixa_client_id_is_unset() {
        // What the template passes when its DixaAuth0ClientId parameter is left empty.
        let env = Env::from_pairs([("EMAIL_BUS_NAME", "b"), ("DIXA_AUTH0_CLIENT_ID", "")]);
        assert_eq!(Config::from_env(&env).unwrap().support_client_id, None);
        let env = Env::from_pairs([("EMAIL_BUS_NAME", "b"), ("DIXA_AUTH0_CLIENT_ID", "m2m-1")]);
        assert_eq!(
            Config::from_env(&env).unwrap().support_client_id.as_deref(),
            Some("m2m-1")
        );
    }

    #[test]
    fn sce_field_is_checked() {
        let env = Env::from_pairs([("EMAIL_BUS_NAME", "b"), ("SCE_OLD_EMAIL_FIELD", "newEmail")]);
        assert_eq!(
            Config::from_env(&env).unwrap().sce_old_field,
            SceOldField::NewEmail
        );
        let env = Env::from_pairs([("EMAIL_BUS_NAME", "b"), ("SCE_OLD_EMAIL_FIELD", "old")]);
        let err = Config::from_env(&env).unwrap_err().to_string();
        assert!(err.contains("SCE_OLD_EMAIL_FIELD"), "{err}");
    }

    async fn services(pairs: &[(&str, &str)]) -> Result<Services, ConfigError> {
        Services::from_env(&Env::from_pairs(pairs.iter().copied()), async || {
            unreachable!("no secret ARN is set")
        })
        .await
    }

    #[tokio::test]
    async fn auth0_and_the_history_are_optional() {
        let s = services(&[]).await.unwrap();
        assert!(s.auth0.is_none() && s.history.is_none());
        let s = services(&[
            ("EMAIL_HISTORY_TABLE", "history"),
            ("EMAIL_HISTORY_KEY", HISTORY_KEY),
            ("EMAIL_HISTORY_DAYS", "30"),
        ])
        .await
        .unwrap();
        let history = s.history.unwrap();
        assert_eq!((history.table.as_str(), history.keep_days), ("history", 30));
        assert!(s.auth0.is_none());
        // A table without its key stops the start, naming the setting.
        let err = services(&[("EMAIL_HISTORY_TABLE", "history")])
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing required setting EMAIL_HISTORY_KEY"
        );
    }

    const HISTORY_KEY: &str = "history-key-0123456789abcdefghijklmnopq";

    /// Both requests leave before either answers: a cold start waits for one round trip.
    #[tokio::test]
    async fn the_auth0_and_history_key_secrets_are_fetched_at_once() {
        use test_support::aws::{AUTH0_SECRET, TestSecret};
        const HISTORY_SECRET: TestSecret = TestSecret {
            arn_var: "EMAIL_HISTORY_KEY_SECRET_ARN",
            id: "email-history-key",
            json: r#"{"key": "history-key-0123456789abcdefghijklmnopq"}"#,
            replaces: &["EMAIL_HISTORY_KEY"],
        };
        let env = Env::from_pairs(test_support::aws::with_secret_arns(
            vec![
                ("AUTH0_DOMAIN", "shop.eu.auth0.com"),
                ("EMAIL_HISTORY_TABLE", "history"),
            ],
            &[AUTH0_SECRET, HISTORY_SECRET],
        ));
        let s = test_support::aws::fetched_at_once(&[AUTH0_SECRET, HISTORY_SECRET], async |c| {
            Services::from_env(&env, async || c.clone()).await
        })
        .await
        .unwrap();
        let auth0 = s.auth0.unwrap();
        let secret = lambda_support::ExposeSecret::expose_secret(&auth0.credentials.client_secret);
        assert_eq!(secret, "a-s3cret");
        // The key is the secret's: it hashes as the same key from env does.
        let history = s.history.unwrap();
        let from_env = services(&[
            ("EMAIL_HISTORY_TABLE", "history"),
            ("EMAIL_HISTORY_KEY", HISTORY_KEY),
        ])
        .await
        .unwrap()
        .history
        .unwrap();
        let address = auth0_events::EmailAddress::parse("jane@example.com").unwrap();
        assert_eq!(
            history.key.address_key(&address),
            from_env.key.address_key(&address)
        );
    }
}
