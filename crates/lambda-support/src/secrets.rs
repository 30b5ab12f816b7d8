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
    let Some(arn) = env.optional(arn_var) else {
        return fields
            .iter()
            .map(|f| Ok((f.json_key, SecretString::from(env.required(f.env_var)?))))
            .collect();
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
    fields
        .iter()
        .map(|f| match json.get(f.json_key).and_then(|v| v.as_str()) {
            Some(v) if !v.is_empty() => Ok((f.json_key, SecretString::from(v.to_owned()))),
            _ => Err(secret_err(format!(
                "key {} missing or not a string",
                f.json_key
            ))),
        })
        .collect()
}

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
