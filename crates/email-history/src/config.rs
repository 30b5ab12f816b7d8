//! The history's settings, read once at start-up. Errors name the setting, never its value.
//!
//! | Setting | Required | Default | Meaning |
//! |---|---|---|---|
//! | `EMAIL_HISTORY_TABLE` | no | unset (no history) | DynamoDB table of the history (keys `address_key`, `change_id`; TTL `expires_at`) |
//! | `EMAIL_HISTORY_DAYS` | no | `90` | Days a change is kept, 1 to 3650 |
//! | `EMAIL_HISTORY_KEY_SECRET_ARN` | with a table, one of these | | Secrets Manager secret `{"key": "..."}`: the HMAC key the addresses are hashed with, at least 32 bytes |
//! | `EMAIL_HISTORY_KEY` | or this | | The same key from env, used only when `EMAIL_HISTORY_KEY_SECRET_ARN` is unset (local runs, tests) |
//!
//! Blank values count as unset. Every function that writes or reads the history must have the
//! same key.

use crate::HistoryKey;
use lambda_support::{
    ConfigError, Env,
    secrets::{self, Field},
};

pub const TABLE: &str = "EMAIL_HISTORY_TABLE";
pub const DAYS: &str = "EMAIL_HISTORY_DAYS";
pub const KEY_SECRET_ARN: &str = "EMAIL_HISTORY_KEY_SECRET_ARN";
pub const KEY: &str = "EMAIL_HISTORY_KEY";

pub const DEFAULT_DAYS: u32 = 90;
pub const MAX_DAYS: u32 = 3_650;
const EXPECTED_DAYS: &str = "a whole number of days from 1 to 3650";

/// The key's field in the secret and its env fallback.
pub const KEY_FIELD: Field = Field {
    json_key: "key",
    env_var: KEY,
};

/// The history's settings, checked.
#[derive(Debug, Clone)]
pub struct HistoryConfig {
    /// `EMAIL_HISTORY_TABLE`.
    pub table: String,
    /// `EMAIL_HISTORY_DAYS`.
    pub keep_days: u32,
    /// From `EMAIL_HISTORY_KEY_SECRET_ARN` or `EMAIL_HISTORY_KEY`. `Debug` hides it.
    pub key: HistoryKey,
}

impl HistoryConfig {
    /// `None` when `EMAIL_HISTORY_TABLE` is unset (no history, no key needed). The retention is
    /// checked first, so a typo fails without a network call; then the key is loaded, from
    /// Secrets Manager (through `secrets_client`, called only when
    /// `EMAIL_HISTORY_KEY_SECRET_ARN` is set) or from env.
    pub async fn from_env(
        env: &Env,
        secrets_client: impl AsyncFnOnce() -> aws_sdk_secretsmanager::Client,
    ) -> Result<Option<Self>, ConfigError> {
        let keep_days = env.parse_or(DAYS, DEFAULT_DAYS, EXPECTED_DAYS)?;
        if !(1..=MAX_DAYS).contains(&keep_days) {
            return Err(ConfigError::invalid(DAYS, EXPECTED_DAYS));
        }
        let Some(table) = env.optional(TABLE) else {
            return Ok(None);
        };
        let mut loaded = secrets::load(env, KEY_SECRET_ARN, &[KEY_FIELD], secrets_client).await?;
        let secret = loaded
            .remove(KEY_FIELD.json_key)
            .ok_or_else(|| ConfigError::Missing(KEY.to_owned()))?;
        let key = HistoryKey::new(secret).map_err(|weak| {
            let from = if env.optional(KEY_SECRET_ARN).is_some() {
                KEY_SECRET_ARN
            } else {
                KEY
            };
            ConfigError::invalid(from, &weak.to_string())
        })?;
        Ok(Some(Self {
            table,
            keep_days,
            key,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A_KEY: &str = "secretvalue-0123456789abcdef-0123456789";

    async fn load(pairs: &[(&str, &str)]) -> Result<Option<HistoryConfig>, ConfigError> {
        HistoryConfig::from_env(&Env::from_pairs(pairs.iter().copied()), async || {
            unreachable!("no secret ARN is set")
        })
        .await
    }

    #[tokio::test]
    async fn no_table_is_no_history_and_needs_no_key() {
        assert!(load(&[]).await.unwrap().is_none());
        assert!(load(&[(TABLE, "  ")]).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_table_and_a_key_take_the_default_retention() {
        let c = load(&[(TABLE, "history"), (KEY, A_KEY)])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.table, "history");
        assert_eq!(c.keep_days, DEFAULT_DAYS);
        assert!(!format!("{c:?}").contains("secretvalue"), "{c:?}");
        let c = load(&[(TABLE, "history"), (KEY, A_KEY), (DAYS, "3650")])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.keep_days, 3_650);
        let key = c.key;
        // The key is the setting's value, trimmed like every setting.
        let c = load(&[(TABLE, "history"), (KEY, &format!(" {A_KEY} "))])
            .await
            .unwrap()
            .unwrap();
        let address = auth0_events::EmailAddress::parse("jane@example.com").unwrap();
        assert_eq!(c.key.address_key(&address), key.address_key(&address));
    }

    #[tokio::test]
    async fn a_table_without_a_key_is_refused_naming_the_setting() {
        let err = load(&[(TABLE, "history")]).await.unwrap_err();
        assert_eq!(err, ConfigError::Missing(KEY.to_owned()));
    }

    #[tokio::test]
    async fn invalid_settings_are_named_without_their_value() {
        for (name, pairs) in [
            (DAYS, vec![(TABLE, "history"), (KEY, A_KEY), (DAYS, "0")]),
            (DAYS, vec![(TABLE, "history"), (KEY, A_KEY), (DAYS, "3651")]),
            (DAYS, vec![(TABLE, "history"), (KEY, A_KEY), (DAYS, "-1")]),
            (DAYS, vec![(DAYS, "90d-secretvalue")]),
            (
                KEY,
                vec![(TABLE, "history"), (KEY, "secretvalue-too-short")],
            ),
        ] {
            let err = load(&pairs).await.unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { name: n, .. } if n == name),
                "{name}: {err}"
            );
            assert!(!err.to_string().contains("secretvalue"), "{err}");
        }
    }
}
