//! Settings, read once at start-up by [`AccessConfig::from_env`]: the look-up secret, the action
//! token key (each with its previous value during a rotation), the look-up header, the CORS
//! origins (see [`crate::cors`]; `null` only through `DIXA_ALLOW_NULL_ORIGIN`, the action token
//! stays the authority), the token lifetime and whether `sign_out_everywhere` is on. Which settings, their defaults and what each
//! does:
//! [docs/configuration.md, Dixa access](../../../docs/configuration.md#dixa-access-dixa-get-user-and-dixa-patch-user).
//!
//! Secrets and keys must be at least [`MIN_SECRET_BYTES`] bytes (e.g. `openssl rand -base64 48`),
//! and the look-up secret must differ from the token key (the look-up secret is stored in
//! Dixa's card settings; the token key must not be). Errors name the setting, never its value.
//!
//! The secret JSON: `{"lookup_secret": "...", "lookup_secret_previous": "...",
//! "action_token_key": "...", "action_token_key_previous": "..."}` (the `_previous` keys may
//! be absent or empty). Required keys are read through
//! [`lambda_support::secrets::load`]'s rules; the secret is fetched once.

use crate::cors::{Cors, InvalidOrigin};
use crate::lookup::{DEFAULT_LOOKUP_HEADER, LookupGuard};
use crate::secret::{StrongSecret, TokenTtl};
use crate::token::ActionTokens;
use aws_sdk_secretsmanager::Client;
use lambda_http::http::HeaderName;
use lambda_support::secrets::{self, Field};
use lambda_support::{ConfigError, Env, ExposeSecret, SecretString};

/// The secret rules, defined in [`crate::secret`]; also named here, with the settings they bound.
pub use crate::secret::{DEFAULT_TOKEN_TTL_S, MAX_TOKEN_TTL_S, MIN_SECRET_BYTES, MIN_TOKEN_TTL_S};

pub const SECRET_ARN_VAR: &str = "DIXA_SECRET_ARN";
pub const LOOKUP_HEADER_VAR: &str = "DIXA_LOOKUP_HEADER";
pub const ALLOWED_ORIGINS_VAR: &str = "DIXA_ALLOWED_ORIGINS";
pub const TOKEN_TTL_VAR: &str = "DIXA_ACTION_TOKEN_TTL_S";
pub const ALLOW_NULL_ORIGIN_VAR: &str = "DIXA_ALLOW_NULL_ORIGIN";
/// `false` turns `sign_out_everywhere` off: the look-up never offers it and dixa-patch-user
/// refuses it. Default `true`.
pub const SIGN_OUT_EVERYWHERE_VAR: &str = "DIXA_SIGN_OUT_EVERYWHERE";

const LOOKUP_SECRET: Field = Field {
    json_key: "lookup_secret",
    env_var: "DIXA_LOOKUP_SECRET",
};
const LOOKUP_SECRET_PREVIOUS: Field = Field {
    json_key: "lookup_secret_previous",
    env_var: "DIXA_LOOKUP_SECRET_PREVIOUS",
};
const TOKEN_KEY: Field = Field {
    json_key: "action_token_key",
    env_var: "DIXA_ACTION_TOKEN_KEY",
};
const TOKEN_KEY_PREVIOUS: Field = Field {
    json_key: "action_token_key_previous",
    env_var: "DIXA_ACTION_TOKEN_KEY_PREVIOUS",
};

/// Everything the access checks need, built once per container.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    pub lookup: LookupGuard,
    pub tokens: ActionTokens,
    pub cors: Cors,
    /// `DIXA_SIGN_OUT_EVERYWHERE`: whether `sign_out_everywhere` may be offered and done (it
    /// needs an Enterprise plan; off, no card shows it and a request for it is refused).
    pub sign_out_everywhere: bool,
}

/// The four secret values, with the name of the setting each came from (for errors).
struct Loaded {
    values: Vec<(Field, Option<SecretString>)>,
    from_arn: bool,
}

impl Loaded {
    fn get(&self, field: Field) -> Option<&SecretString> {
        self.values
            .iter()
            .find(|(f, _)| f.json_key == field.json_key)
            .and_then(|(_, v)| v.as_ref())
    }

    /// How an error names the setting: the env variable, or the secret's ARN variable and key.
    fn setting(&self, field: Field) -> String {
        if self.from_arn {
            format!("{SECRET_ARN_VAR} (key {})", field.json_key)
        } else {
            field.env_var.to_owned()
        }
    }

    /// The value when set; an error naming the setting (never the value) when it is too short.
    fn strong(&self, field: Field) -> Result<Option<StrongSecret<'_>>, ConfigError> {
        self.get(field)
            .map(|s| {
                StrongSecret::new(s.expose_secret().as_bytes()).map_err(|_| ConfigError::Invalid {
                    name: self.setting(field),
                    expected: format!("a secret of at least {MIN_SECRET_BYTES} bytes"),
                })
            })
            .transpose()
    }
}

impl AccessConfig {
    /// Reads the settings (listed in docs/configuration.md). `client` is called only when
    /// `DIXA_SECRET_ARN` is set.
    pub async fn from_env(
        env: &Env,
        client: impl AsyncFnOnce() -> Client,
    ) -> Result<Self, ConfigError> {
        // Cheap settings first: a typo fails start-up before any network call.
        let header =
            match env.optional(LOOKUP_HEADER_VAR) {
                None => HeaderName::from_static(DEFAULT_LOOKUP_HEADER),
                Some(name) => HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                    .map_err(|_| ConfigError::Invalid {
                        name: LOOKUP_HEADER_VAR.to_owned(),
                        expected: "an HTTP header name".to_owned(),
                    })?,
            };
        let cors = Cors::from_list(&env.required(ALLOWED_ORIGINS_VAR)?).map_err(|e| {
            ConfigError::Invalid {
                name: ALLOWED_ORIGINS_VAR.to_owned(),
                expected: match e {
                    InvalidOrigin::Null { .. } => {
                        format!("exact origins; for `null` set {ALLOW_NULL_ORIGIN_VAR}=true")
                    }
                    InvalidOrigin::NotAnOrigin { .. } => {
                        format!("comma-separated exact origins ({e})")
                    }
                },
            }
        })?;
        let cors = if env.parse_or(ALLOW_NULL_ORIGIN_VAR, false, "true or false")? {
            cors.allow_null_origin()
        } else {
            cors
        };
        let sign_out_everywhere = env.parse_or(SIGN_OUT_EVERYWHERE_VAR, true, "true or false")?;
        let ttl = env.parse_or(
            TOKEN_TTL_VAR,
            TokenTtl::DEFAULT,
            &format!("whole seconds from {MIN_TOKEN_TTL_S} to {MAX_TOKEN_TTL_S}"),
        )?;

        let loaded = load_secrets(env, client).await?;
        let missing = |field: Field| ConfigError::Missing(loaded.setting(field));
        let lookup_secret = loaded
            .strong(LOOKUP_SECRET)?
            .ok_or_else(|| missing(LOOKUP_SECRET))?;
        let lookup_previous = loaded.strong(LOOKUP_SECRET_PREVIOUS)?;
        let token_key = loaded
            .strong(TOKEN_KEY)?
            .ok_or_else(|| missing(TOKEN_KEY))?;
        let token_previous = loaded.strong(TOKEN_KEY_PREVIOUS)?;
        if lookup_secret.as_bytes() == token_key.as_bytes() {
            return Err(ConfigError::Invalid {
                name: loaded.setting(TOKEN_KEY),
                expected: format!("a key different from {}", loaded.setting(LOOKUP_SECRET)),
            });
        }

        Ok(Self {
            lookup: LookupGuard::from_secrets(header, lookup_secret, lookup_previous),
            tokens: ActionTokens::from_keys(token_key, token_previous, ttl),
            cors,
            sign_out_everywhere,
        })
    }
}

/// The four secrets, from `DIXA_SECRET_ARN` (one `GetSecretValue`) or from env; the previous
/// values (rotation) are optional.
async fn load_secrets(
    env: &Env,
    client: impl AsyncFnOnce() -> Client,
) -> Result<Loaded, ConfigError> {
    let (mut required, mut optional) = secrets::load_with_optional(
        env,
        SECRET_ARN_VAR,
        &[LOOKUP_SECRET, TOKEN_KEY],
        &[LOOKUP_SECRET_PREVIOUS, TOKEN_KEY_PREVIOUS],
        client,
    )
    .await?;
    Ok(Loaded {
        values: vec![
            (LOOKUP_SECRET, required.remove(LOOKUP_SECRET.json_key)),
            (
                LOOKUP_SECRET_PREVIOUS,
                optional.remove(LOOKUP_SECRET_PREVIOUS.json_key),
            ),
            (TOKEN_KEY, required.remove(TOKEN_KEY.json_key)),
            (
                TOKEN_KEY_PREVIOUS,
                optional.remove(TOKEN_KEY_PREVIOUS.json_key),
            ),
        ],
        from_arn: env.optional(SECRET_ARN_VAR).is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{Action, Grant};
    use lambda_http::http::{HeaderMap, HeaderValue};

    const LOOKUP: &str = "lookup-secret-0123456789abcdefghijklmnop";
    const LOOKUP_OLD: &str = "lookup-old-0123456789abcdefghijklmnopqrs";
    const KEY: &str = "token-key-0123456789abcdefghijklmnopqrstu";
    const KEY_OLD: &str = "token-old-0123456789abcdefghijklmnopqrstu";

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("DIXA_LOOKUP_SECRET", LOOKUP),
            ("DIXA_ACTION_TOKEN_KEY", KEY),
            ("DIXA_ALLOWED_ORIGINS", "https://shop.dixa.com"),
        ]
    }

    fn with(extra: &[(&'static str, &'static str)]) -> Env {
        let mut pairs = base();
        pairs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        pairs.extend_from_slice(extra);
        Env::from_pairs(pairs)
    }

    async fn from_env(env: &Env) -> Result<AccessConfig, ConfigError> {
        AccessConfig::from_env(env, async || {
            panic!("no Secrets Manager call without {SECRET_ARN_VAR}")
        })
        .await
    }

    fn secret_headers(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[tokio::test]
    async fn reads_env_with_defaults() {
        let config = from_env(&with(&[])).await.unwrap();
        assert_eq!(config.lookup.header().as_str(), "x-dixa-card-secret");
        assert_eq!(config.tokens.ttl_s(), 300);
        assert!(
            config
                .lookup
                .check_lookup_secret(&secret_headers("x-dixa-card-secret", LOOKUP))
                .is_ok()
        );
        assert!(
            config
                .cors
                .is_allowed(Some(&HeaderValue::from_static("https://shop.dixa.com")))
        );
    }

    #[tokio::test]
    async fn sign_out_everywhere_is_on_unless_turned_off() {
        assert!(from_env(&with(&[])).await.unwrap().sign_out_everywhere);
        let on = from_env(&with(&[(SIGN_OUT_EVERYWHERE_VAR, "true")]))
            .await
            .unwrap();
        assert!(on.sign_out_everywhere);
        let off = from_env(&with(&[(SIGN_OUT_EVERYWHERE_VAR, "false")]))
            .await
            .unwrap();
        assert!(!off.sign_out_everywhere);
        let err = from_env(&with(&[(SIGN_OUT_EVERYWHERE_VAR, "no")]))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { name, .. } if name == SIGN_OUT_EVERYWHERE_VAR),
            "{err}"
        );
    }

    #[tokio::test]
    async fn null_origin_is_a_separate_opt_in_never_the_default() {
        let null = HeaderValue::from_static("null");
        let config = from_env(&with(&[])).await.unwrap();
        assert!(!config.cors.is_allowed(Some(&null)));
        let config = from_env(&with(&[("DIXA_ALLOW_NULL_ORIGIN", "false")]))
            .await
            .unwrap();
        assert!(!config.cors.is_allowed(Some(&null)));
        let config = from_env(&with(&[("DIXA_ALLOW_NULL_ORIGIN", "true")]))
            .await
            .unwrap();
        assert!(config.cors.is_allowed(Some(&null)));
        assert!(
            config
                .cors
                .is_allowed(Some(&HeaderValue::from_static("https://shop.dixa.com")))
        );
        // In the list, `null` is refused with a pointer to the opt-in.
        let err = from_env(&with(&[("DIXA_ALLOWED_ORIGINS", "null")]))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("DIXA_ALLOW_NULL_ORIGIN"), "{err}");
    }

    #[tokio::test]
    async fn reads_optional_rotation_values_and_overrides() {
        let env = with(&[
            ("DIXA_LOOKUP_SECRET_PREVIOUS", LOOKUP_OLD),
            ("DIXA_ACTION_TOKEN_KEY_PREVIOUS", KEY_OLD),
            ("DIXA_LOOKUP_HEADER", "X-Card-Key"),
            ("DIXA_ACTION_TOKEN_TTL_S", "900"),
        ]);
        let config = from_env(&env).await.unwrap();
        assert_eq!(config.tokens.ttl_s(), 900);
        assert!(
            config
                .lookup
                .check_lookup_secret(&secret_headers("x-card-key", LOOKUP_OLD))
                .is_ok()
        );
        // A token minted under the previous key verifies.
        let old = ActionTokens::new(KEY_OLD.as_bytes(), None, 300).unwrap();
        let grant = Grant {
            user_id: "auth0|1".into(),
            actions: vec![Action::Unblock],
            conversation_id: "1".into(),
            agent: crate::agent_ref("a@b.example"),
        };
        let token = old.mint(&grant, 1_000);
        assert!(
            config
                .tokens
                .verify(&token, "auth0|1", Action::Unblock, 1_000)
                .is_ok()
        );
    }

    #[tokio::test]
    async fn missing_required_settings_are_named() {
        for var in [
            "DIXA_LOOKUP_SECRET",
            "DIXA_ACTION_TOKEN_KEY",
            "DIXA_ALLOWED_ORIGINS",
        ] {
            let env = Env::from_pairs(base().into_iter().filter(|(k, _)| *k != var));
            let err = from_env(&env).await.unwrap_err();
            assert_eq!(err, ConfigError::Missing(var.into()), "{var}");
            assert!(err.to_string().contains(var));
        }
    }

    #[tokio::test]
    async fn short_secrets_are_refused_without_echoing_them() {
        let short = "tiny-but-secret-value-31-bytes!";
        assert_eq!(short.len(), 31);
        for var in [
            "DIXA_LOOKUP_SECRET",
            "DIXA_LOOKUP_SECRET_PREVIOUS",
            "DIXA_ACTION_TOKEN_KEY",
            "DIXA_ACTION_TOKEN_KEY_PREVIOUS",
        ] {
            let err = from_env(&with(&[(var, short)])).await.unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(
                matches!(err, ConfigError::Invalid { ref name, .. } if name == var),
                "{var}: {text}"
            );
            assert!(!text.contains(short) && !text.contains("tiny"), "{text}");
        }
        // Exactly 32 bytes is enough.
        let ok = "exactly-thirty-two-bytes-long!!!";
        assert_eq!(ok.len(), 32);
        assert!(from_env(&with(&[("DIXA_LOOKUP_SECRET", ok)])).await.is_ok());
    }

    #[tokio::test]
    async fn invalid_settings_are_named() {
        let cases = [
            ("DIXA_ACTION_TOKEN_TTL_S", "901"),
            ("DIXA_ACTION_TOKEN_TTL_S", "29"),
            ("DIXA_ACTION_TOKEN_TTL_S", "5m"),
            ("DIXA_ALLOWED_ORIGINS", "*"),
            ("DIXA_ALLOWED_ORIGINS", "https://shop.dixa.com/"),
            ("DIXA_ALLOWED_ORIGINS", "https://shop.dixa.com,null"),
            ("DIXA_ALLOW_NULL_ORIGIN", "yes"),
            ("DIXA_ALLOW_NULL_ORIGIN", "1"),
            ("DIXA_LOOKUP_HEADER", "bad header"),
            // The same value for the look-up secret and the token key.
            ("DIXA_ACTION_TOKEN_KEY", LOOKUP),
        ];
        for (var, value) in cases {
            let err = from_env(&with(&[(var, value)])).await.unwrap_err();
            assert!(
                matches!(err, ConfigError::Invalid { ref name, .. } if name == var),
                "{var}={value}: {err}"
            );
            assert!(!err.to_string().contains(LOOKUP), "{err}");
        }
    }

    #[tokio::test]
    async fn ttl_out_of_bounds_or_not_seconds_has_one_text() {
        for value in ["29", "901", "5m", "-1"] {
            let err = from_env(&with(&[("DIXA_ACTION_TOKEN_TTL_S", value)]))
                .await
                .unwrap_err();
            assert_eq!(
                err,
                ConfigError::Invalid {
                    name: "DIXA_ACTION_TOKEN_TTL_S".into(),
                    expected: "whole seconds from 30 to 900".into(),
                },
                "{value}"
            );
        }
        for (value, secs) in [("30", 30), ("900", 900)] {
            let config = from_env(&with(&[("DIXA_ACTION_TOKEN_TTL_S", value)]))
                .await
                .unwrap();
            assert_eq!(config.tokens.ttl_s(), secs);
        }
    }

    #[tokio::test]
    async fn reads_the_secret_from_secrets_manager() {
        let moto = test_support::moto::server().await;
        let conf = test_support::aws::sdk_config(moto.endpoint()).await;
        let client = Client::new(&conf);
        let create = async |json: serde_json::Value| {
            client
                .create_secret()
                .name(test_support::unique("dixa"))
                .secret_string(json.to_string())
                .send()
                .await
                .unwrap()
                .arn()
                .unwrap()
                .to_owned()
        };
        let env_for = |arn: &str| {
            Env::from_pairs([
                ("DIXA_SECRET_ARN", arn),
                ("DIXA_ALLOWED_ORIGINS", "https://shop.dixa.com"),
                // Ignored when the ARN is set.
                (
                    "DIXA_LOOKUP_SECRET",
                    "env-value-that-is-not-used-0123456789",
                ),
            ])
        };

        // Required keys only.
        let arn =
            create(serde_json::json!({"lookup_secret": LOOKUP, "action_token_key": KEY})).await;
        let config = AccessConfig::from_env(&env_for(&arn), async || client.clone())
            .await
            .unwrap();
        let h = secret_headers("x-dixa-card-secret", LOOKUP);
        assert!(config.lookup.check_lookup_secret(&h).is_ok());

        // With the rotation keys (an empty previous counts as absent).
        let arn = create(serde_json::json!({
            "lookup_secret": LOOKUP, "lookup_secret_previous": LOOKUP_OLD,
            "action_token_key": KEY, "action_token_key_previous": "",
        }))
        .await;
        let config = AccessConfig::from_env(&env_for(&arn), async || client.clone())
            .await
            .unwrap();
        let h = secret_headers("x-dixa-card-secret", LOOKUP_OLD);
        assert!(config.lookup.check_lookup_secret(&h).is_ok());

        // A missing required key names it; a short key names the ARN setting and key.
        let arn = create(serde_json::json!({"lookup_secret": LOOKUP})).await;
        let err = AccessConfig::from_env(&env_for(&arn), async || client.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConfigError::Secret { ref name, ref reason }
                if name == "DIXA_SECRET_ARN" && reason.contains("action_token_key")),
            "{err}"
        );
        let arn =
            create(serde_json::json!({"lookup_secret": LOOKUP, "action_token_key": "short"})).await;
        let err = AccessConfig::from_env(&env_for(&arn), async || client.clone())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::Invalid {
                name: "DIXA_SECRET_ARN (key action_token_key)".into(),
                expected: "a secret of at least 32 bytes".into(),
            }
        );
        assert!(!err.to_string().contains(LOOKUP));
    }
}
