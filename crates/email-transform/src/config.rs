//! Settings, read once at start-up: the Email bus, which `sce` field is the old address, the
//! Dixa functions' Auth0 client id (whose `sce` logs send nothing) and the PutEvents retries.
//! Their defaults and what each does:
//! [docs/configuration.md, email-transform](../../../docs/configuration.md#email-transform).

use crate::transform::SceOldField;
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
}
