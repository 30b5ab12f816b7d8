//! The real send-email binary, run as Lambda runs it (Runtime API emulator, SQS batches as the
//! queue's event source mapping gives them), against a wiremock
//! Bloomreach and, for credentials, Secrets Manager on moto.

use auth0_events::{
    EmailAddress, LogId, LogType,
    send_email::{EmailKind, SendEmailDetail, TemplateParams},
};
use base64::Engine;
use serde_json::{Value, json};
use std::time::Duration;
use test_support::{
    logs::assert_no_email_addresses,
    runtime::{LambdaProcess, Outcome},
    sqs::batch,
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_json, body_partial_json, header, method, path},
};

const BIN: &str = env!("CARGO_BIN_EXE_send-email");
const PATH: &str = "/email/v2/projects/e2e-project/sync";
const SENT_TO: &str = "jane.doe+shop@example.com";
const SUPPRESSED: &str = "suppressed.user+x@example.org";
const INVOKE_TIMEOUT: Duration = Duration::from_secs(10);

fn env(bloomreach: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("BLOOMREACH_API_BASE", bloomreach.uri()),
        ("BLOOMREACH_PROJECT_TOKEN", "e2e-project".into()),
        ("BLOOMREACH_TEMPLATE_ACCOUNT_BLOCKED", "tpl-blocked".into()),
        (
            "BLOOMREACH_TEMPLATE_PASSWORD_CHANGED",
            "tpl-password".into(),
        ),
        (
            "BLOOMREACH_TEMPLATE_EMAIL_CHANGED_OLD_ADDRESS",
            "tpl-old".into(),
        ),
        (
            "BLOOMREACH_TEMPLATE_EMAIL_CHANGED_NEW_ADDRESS",
            "tpl-new".into(),
        ),
        ("BLOOMREACH_SENDER_NAME", "Shop Security".into()),
        ("SUPPORT_URL", "https://shop.example/help".into()),
        ("BLOOMREACH_TIMEOUT_MS", "2000".into()),
        ("SEND_BACKOFF_BASE_MS", "10".into()),
    ]
}

fn with_env_credentials(mut pairs: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    pairs.push(("BLOOMREACH_API_KEY_ID", "e2e-key".into()));
    pairs.push(("BLOOMREACH_API_SECRET", "e2e-secret".into()));
    pairs
}

fn basic(key_id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key_id}:{secret}"))
    )
}

fn event(kind: EmailKind, to: &str, log_id: &str) -> Value {
    let detail = SendEmailDetail::new(
        kind,
        EmailAddress::parse(to).unwrap(),
        TemplateParams {
            occurred_at: Some("2026-11-20T10:00:00.000Z".into()),
            new_email_masked: None,
        },
        &LogId::parse(log_id).unwrap(),
        LogType::LimitWc,
    );
    json!({
        "version": "0",
        "id": "0d4b8f0e-1b8e-4c44-9e8b-2f8f2c1f0001",
        "detail-type": "SendEmail",
        "source": "security-emails.email-transform",
        "account": "123456789012",
        "time": "2026-11-20T10:00:01Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail
    })
}

fn expected_body(to: &str) -> Value {
    json!({
        "campaign_name": "security-account-blocked",
        "recipient": {"customer_ids": {"registered": to}, "email": to},
        "email_content": {
            "template_id": "tpl-blocked",
            "params": {
                "occurred_at": "2026-11-20T10:00:00.000Z",
                "email_kind": "account_blocked",
                "event_type": "limit_wc",
                "support_url": "https://shop.example/help"
            },
            "sender_name": "Shop Security"
        }
    })
}

#[tokio::test]
async fn sends_then_reports_suppression_from_one_warm_process() {
    let bloomreach = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(header(
            "authorization",
            basic("e2e-key", "e2e-secret").as_str(),
        ))
        .and(body_json(expected_body(SENT_TO)))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"message": "Email was sent successfully.", "success": true})),
        )
        .expect(1)
        .mount(&bloomreach)
        .await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(body_partial_json(
            json!({"recipient": {"email": SUPPRESSED}}),
        ))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errors": [format!("Email address or domain {SUPPRESSED} is on the suppression list")]
        })))
        .expect(1)
        .mount(&bloomreach)
        .await;

    let mut lambda =
        LambdaProcess::spawn(BIN, "send-email", &with_env_credentials(env(&bloomreach))).await;

    // One batch, as the queue's event source mapping gives it: the first record is sent, the
    // second (a suppressed address) is the one failure the partial batch response names.
    let answer = lambda
        .invoke(
            batch(&[
                event(EmailKind::AccountBlocked, SENT_TO, "900001"),
                event(EmailKind::AccountBlocked, SUPPRESSED, "900002"),
            ]),
            INVOKE_TIMEOUT,
        )
        .await;
    assert_eq!(
        answer,
        Outcome::Response(json!({"batchItemFailures": [{"itemIdentifier": "msg-2"}]}))
    );
    let received = bloomreach.received_requests().await.unwrap_or_default();
    assert_eq!(received.len(), 2);
    assert_eq!(
        serde_json::from_slice::<Value>(&received[0].body).unwrap(),
        expected_body(SENT_TO)
    );

    let output = lambda.output();
    assert!(output.contains("email sent"), "{output}");
    assert!(output.contains("EmailSuppressed"), "{output}");
    assert!(output.contains("900002"), "{output}");
    assert_no_email_addresses(&output);
}

#[tokio::test]
async fn a_missing_setting_stops_start_up_naming_it() {
    let bloomreach = MockServer::start().await;
    let mut pairs = with_env_credentials(env(&bloomreach));
    pairs.retain(|(k, _)| *k != "BLOOMREACH_TEMPLATE_PASSWORD_CHANGED");
    let mut lambda = LambdaProcess::spawn(BIN, "send-email", &pairs).await;

    let code = lambda.wait_exit(Duration::from_secs(10)).await;
    assert!(matches!(code, Some(c) if c != 0), "exit code {code:?}");
    let output = lambda.output();
    assert!(
        output.contains("missing required setting BLOOMREACH_TEMPLATE_PASSWORD_CHANGED"),
        "{output}"
    );
    assert!(!output.contains("e2e-secret"), "{output}");
    assert_no_email_addresses(&output);
    assert!(
        bloomreach
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn credentials_come_from_secrets_manager_on_moto() {
    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let created = secrets
        .create_secret()
        .name(test_support::unique("bloomreach-e2e"))
        .secret_string(r#"{"api_key_id":"sm-key-id","api_secret":"sm-api-secret"}"#)
        .send()
        .await
        .unwrap();

    let bloomreach = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(header(
            "authorization",
            basic("sm-key-id", "sm-api-secret").as_str(),
        ))
        .and(body_json(expected_body(SENT_TO)))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&bloomreach)
        .await;

    // No BLOOMREACH_API_KEY_ID / _SECRET in env: only the secret can supply them.
    let mut pairs = env(&bloomreach);
    pairs.push(("BLOOMREACH_SECRET_ARN", created.arn().unwrap().to_owned()));
    pairs.extend(test_support::aws::env_for(moto.endpoint()));
    let mut lambda = LambdaProcess::spawn(BIN, "send-email", &pairs).await;

    let outcome = lambda
        .invoke(
            batch(&[event(EmailKind::AccountBlocked, SENT_TO, "900003")]),
            INVOKE_TIMEOUT,
        )
        .await;
    assert_eq!(
        outcome,
        Outcome::Response(json!({"batchItemFailures": []})),
        "{}",
        lambda.output()
    );
    let output = lambda.output();
    assert!(!output.contains("sm-api-secret"), "{output}");
    assert_no_email_addresses(&output);
}

/// With 1.5 s left and Bloomreach answering only after 2 s, the first call is cut at the
/// deadline less the margin: the function answers (the record back to the queue) while the
/// invocation is still alive, instead of "sent" after Lambda has given up on it.
#[tokio::test]
async fn the_first_call_fits_the_invocation_deadline() {
    let bloomreach = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&bloomreach)
        .await;
    let mut pairs = with_env_credentials(env(&bloomreach));
    // The client's own timeout is longer than the time left: only the deadline can cut it.
    pairs.retain(|(k, _)| *k != "BLOOMREACH_TIMEOUT_MS");
    pairs.push(("BLOOMREACH_TIMEOUT_MS", "5000".into()));
    let mut lambda = LambdaProcess::spawn(BIN, "send-email", &pairs).await;

    let started = std::time::Instant::now();
    let outcome = lambda
        .invoke(
            batch(&[event(EmailKind::AccountBlocked, SENT_TO, "900004")]),
            Duration::from_millis(1_500),
        )
        .await;
    let elapsed = started.elapsed();
    assert_eq!(
        outcome,
        Outcome::Response(json!({"batchItemFailures": [{"itemIdentifier": "msg-1"}]})),
        "{}",
        lambda.output()
    );
    let output = lambda.output();
    assert!(output.contains("TransientSendFailure"), "{output}");
    assert!(output.contains("deadline reached"), "{output}");
    // Deadline 1.5 s, margin 0.5 s: the answer comes at about 1.0 s.
    assert!(
        elapsed < Duration::from_millis(1_400),
        "answered after {elapsed:?}"
    );
    assert_no_email_addresses(&lambda.output());
}

/// JSON that Lambda accepts but no `serde_json::Value` can hold (nested deeper than 128
/// levels, a lone surrogate escape): refused as `MalformedEvent` by the function itself, not
/// as the runtime's own `DeserializeError`, and nothing is sent.
#[tokio::test]
async fn unreadable_json_is_a_malformed_event() {
    let bloomreach = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&bloomreach)
        .await;
    let mut lambda =
        LambdaProcess::spawn(BIN, "send-email", &with_env_credentials(env(&bloomreach))).await;
    let deep = format!(
        r#"{{"detail-type":"SendEmail","detail":{}{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let surrogate = event(EmailKind::AccountBlocked, SENT_TO, "900005")
        .to_string()
        .replace(r#""source":"#, r#""x":"\ud800","source":"#);
    assert!(surrogate.contains(r"\ud800"));
    for body in [deep, surrogate] {
        let outcome = lambda.invoke_raw(body, INVOKE_TIMEOUT).await;
        let Outcome::Error {
            error_type,
            error_message,
        } = &outcome
        else {
            panic!("expected an error, got {outcome:?}");
        };
        assert_eq!(error_type, "MalformedEvent", "{error_message}");
        assert_no_email_addresses(error_message);
    }
    let output = lambda.output();
    assert!(output.contains("MalformedEvent"), "{output}");
    assert_no_email_addresses(&output);
}
