//! Credentials: from a JSON secret in AWS Secrets Manager when `<PREFIX>_SECRET_ARN` is set
//! (production), otherwise from one environment variable per field (local runs, tests).

use crate::{ConfigError, Env};
use aws_sdk_secretsmanager::Client;
use secrecy::SecretString;
use std::collections::HashMap;

/// One field of a credential set: its key in the secret's JSON and its fallback env variable.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub json_key: &'static str,
    pub env_var: &'static str,
}

/// Loads every field, from the secret named by `arn_var` if that variable is set, else from env.
/// Read once at start-up (the Secrets Manager client is only needed then).
pub async fn load(
    env: &Env,
    arn_var: &str,
    fields: &[Field],
    client: impl AsyncFnOnce() -> Client,
) -> Result<HashMap<&'static str, SecretString>, ConfigError> {
    load_with_optional(env, arn_var, fields, &[], client)
        .await
        .map(|(required, _)| required)
}

/// As [`load`], plus `optional` fields (e.g. the previous value during a rotation) that may be
/// absent or blank; only those present are in the second map. One `GetSecretValue` at most.
pub async fn load_with_optional(
    env: &Env,
    arn_var: &str,
    required: &[Field],
    optional: &[Field],
    client: impl AsyncFnOnce() -> Client,
) -> Result<Secrets, ConfigError> {
    let Some(arn) = env.optional(arn_var) else {
        let required = required
            .iter()
            .map(|f| Ok((f.json_key, SecretString::from(env.required(f.env_var)?))))
            .collect::<Result<_, ConfigError>>()?;
        let optional = optional
            .iter()
            .filter_map(|f| Some((f.json_key, SecretString::from(env.optional(f.env_var)?))))
            .collect();
        return Ok((required, optional));
    };
    let secret_err = |reason: String| ConfigError::Secret {
        name: arn_var.to_owned(),
        reason,
    };
    let out = client()
        .await
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        // The SDK's error names the service error code, not the secret value.
        .map_err(|e| {
            secret_err(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
        })?;
    let text = out
        .secret_string()
        .ok_or_else(|| secret_err("secret has no SecretString".into()))?;
    let json: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|_| secret_err("SecretString is not a JSON object".into()))?;
    let value = |f: &Field| {
        json.get(f.json_key)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| SecretString::from(v.to_owned()))
    };
    let required = required
        .iter()
        .map(|f| {
            value(f)
                .map(|v| (f.json_key, v))
                .ok_or_else(|| secret_err(format!("key {} missing or not a string", f.json_key)))
        })
        .collect::<Result<_, _>>()?;
    let optional = optional
        .iter()
        .filter_map(|f| Some((f.json_key, value(f)?)))
        .collect();
    Ok((required, optional))
}

/// Required and optional values by JSON key.
pub type Secrets = (
    HashMap<&'static str, SecretString>,
    HashMap<&'static str, SecretString>,
);

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const FIELDS: &[Field] = &[
        Field {
            json_key: "api_key_id",
            env_var: "T_KEY_ID",
        },
        Field {
            json_key: "api_secret",
            env_var: "T_SECRET",
        },
    ];

    async fn moto_client(endpoint: &str) -> Client {
        let conf = test_support::aws::sdk_config(endpoint).await;
        Client::new(&conf)
    }

    #[tokio::test]
    async fn from_env_when_no_arn() {
        let env = Env::from_pairs([("T_KEY_ID", "kid"), ("T_SECRET", "s3cr3t")]);
        let got = load(&env, "T_SECRET_ARN", FIELDS, async || unreachable!())
            .await
            .unwrap();
        assert_eq!(got["api_key_id"].expose_secret(), "kid");
        assert_eq!(got["api_secret"].expose_secret(), "s3cr3t");
        let err = load(
            &Env::default(),
            "T_SECRET_ARN",
            FIELDS,
            async || unreachable!(),
        )
        .await
        .unwrap_err();
        assert_eq!(err, ConfigError::Missing("T_KEY_ID".into()));
    }

    #[tokio::test]
    async fn from_secrets_manager_on_moto() {
        let moto = test_support::moto::server().await;
        let client = moto_client(moto.endpoint()).await;
        let name = test_support::unique("bloomreach");
        let created = client
            .create_secret()
            .name(&name)
            .secret_string(r#"{"api_key_id":"kid-from-sm","api_secret":"sec-from-sm"}"#)
            .send()
            .await
            .unwrap();
        let env = Env::from_pairs([("T_SECRET_ARN", created.arn().unwrap())]);
        let got = load(&env, "T_SECRET_ARN", FIELDS, async || client.clone())
            .await
            .unwrap();
        assert_eq!(got["api_key_id"].expose_secret(), "kid-from-sm");
        assert_eq!(got["api_secret"].expose_secret(), "sec-from-sm");

        // A secret missing a key is a clear start-up error that does not print the secret.
        let bad = client
            .create_secret()
            .name(test_support::unique("bad"))
            .secret_string(r#"{"api_key_id":"kid-from-sm"}"#)
            .send()
            .await
            .unwrap();
        let env = Env::from_pairs([("T_SECRET_ARN", bad.arn().unwrap())]);
        let err = load(&env, "T_SECRET_ARN", FIELDS, async || client.clone())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("api_secret") && !err.contains("kid-from-sm"),
            "{err}"
        );

        // Optional keys: present ones are returned, absent ones are not an error.
        let with_previous = client
            .create_secret()
            .name(test_support::unique("rotating"))
            .secret_string(r#"{"api_key_id":"k","api_secret":"s","api_secret_previous":"old"}"#)
            .send()
            .await
            .unwrap();
        let optional = [
            Field {
                json_key: "api_secret_previous",
                env_var: "T_SECRET_PREVIOUS",
            },
            Field {
                json_key: "api_key_previous",
                env_var: "T_KEY_PREVIOUS",
            },
        ];
        let env = Env::from_pairs([("T_SECRET_ARN", with_previous.arn().unwrap())]);
        let (req, opt) = load_with_optional(&env, "T_SECRET_ARN", FIELDS, &optional, async || {
            client.clone()
        })
        .await
        .unwrap();
        assert_eq!(req["api_secret"].expose_secret(), "s");
        assert_eq!(opt["api_secret_previous"].expose_secret(), "old");
        assert!(!opt.contains_key("api_key_previous"));

        // An unknown ARN fails start-up naming the setting.
        let env = Env::from_pairs([(
            "T_SECRET_ARN",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nope",
        )]);
        let err = load(&env, "T_SECRET_ARN", FIELDS, async || client.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConfigError::Secret { ref name, .. } if name == "T_SECRET_ARN"),
            "{err}"
        );
    }
}
