//! The history key from Secrets Manager on moto (the real SDK client), as in production.

use email_history::{HistoryConfig, config};
use lambda_support::{ConfigError, Env};

async fn secret(client: &aws_sdk_secretsmanager::Client, json: &str) -> String {
    client
        .create_secret()
        .name(test_support::unique("email-history-key"))
        .secret_string(json)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

async fn load(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
) -> Result<Option<HistoryConfig>, ConfigError> {
    let env = Env::from_pairs([
        (config::TABLE, "history"),
        (config::KEY_SECRET_ARN, arn),
        // Ignored while the ARN is set.
        (config::KEY, "env-key-that-must-not-be-used-0123456789"),
    ]);
    HistoryConfig::from_env(&env, async || client.clone()).await
}

#[tokio::test]
async fn the_key_comes_from_the_secret_named_by_its_arn() {
    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let address = auth0_events::EmailAddress::parse("jane@example.com").unwrap();

    let arn = secret(
        &client,
        r#"{"key": "secretvalue-from-sm-0123456789abcdefgh"}"#,
    )
    .await;
    let from_sm = load(&client, &arn).await.unwrap().unwrap();
    let same_in_env = HistoryConfig::from_env(
        &Env::from_pairs([
            (config::TABLE, "history"),
            (config::KEY, "secretvalue-from-sm-0123456789abcdefgh"),
        ]),
        async || unreachable!(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        from_sm.key.address_key(&address),
        same_in_env.key.address_key(&address)
    );
    assert!(!format!("{from_sm:?}").contains("secretvalue"));

    // A short key in the secret is refused naming the ARN setting, not the key.
    let arn = secret(&client, r#"{"key": "secretvalue-short"}"#).await;
    let err = load(&client, &arn).await.unwrap_err();
    assert!(
        matches!(&err, ConfigError::Invalid { name, .. } if name == config::KEY_SECRET_ARN),
        "{err}"
    );
    assert!(!err.to_string().contains("secretvalue"), "{err}");

    // A secret without the field is a clear start-up error that prints no value.
    let arn = secret(
        &client,
        r#"{"hmac": "secretvalue-0123456789abcdef-0123456789"}"#,
    )
    .await;
    let err = load(&client, &arn).await.unwrap_err();
    assert!(
        matches!(&err, ConfigError::Secret { name, reason }
            if name == config::KEY_SECRET_ARN && reason.contains("key")),
        "{err}"
    );
    assert!(!err.to_string().contains("secretvalue"), "{err}");
}
