//! Dedupe runs locally as in production: send-email's own dedupe code, through the real
//! DynamoDB SDK client, against the DynamoDB-compatible tables on the local AWS endpoint.

mod common;

use local::{dynamodb::DEDUPE_TABLE, hops::What};
use send_email::dedupe::{Claim, Dedupe};
use std::time::Duration;
use test_support::logs::logs;

#[tokio::test]
async fn the_same_log_sent_twice_gives_one_email_and_a_duplicate() {
    let _logs = logs();
    let system = common::start().await;
    let client = common::eventbridge(&system).await;

    let (_, first) = common::put_sample(&system, &client, "scp").await;
    let (_, second) = common::put_sample(&system, &client, "scp").await;

    let results = |hops: &[local::hops::Hop]| -> Vec<String> {
        hops.iter()
            .filter_map(|h| match &h.what {
                What::Succeeded {
                    function, result, ..
                } if function == "send-email" => result["status"].as_str().map(str::to_owned),
                _ => None,
            })
            .collect()
    };
    assert_eq!(results(&first), ["sent"]);
    assert_eq!(results(&second), ["duplicate"]);
    let emails: Vec<_> = system
        .outbox()
        .entries()
        .into_iter()
        .filter(|e| e.kind == "password_changed")
        .collect();
    assert_eq!(
        emails.len(),
        1,
        "one email for one log, however often it arrives"
    );
    assert_eq!(system.tables().len(DEDUPE_TABLE), 1);
}

#[tokio::test]
async fn claim_complete_and_release_behave_as_on_dynamodb() {
    let system = common::start().await;
    let sdk = local::functions::sdk_config(&system.endpoints().eventbridge).await;
    let dedupe = Dedupe::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        DEDUPE_TABLE,
        Duration::from_secs(3600),
    );
    let lock = Duration::from_secs(30);

    assert_eq!(dedupe.claim("a:kind", lock).await.unwrap(), Claim::Acquired);
    // Held by the first claim: a concurrent delivery must wait.
    assert_eq!(
        dedupe.claim("a:kind", lock).await.unwrap(),
        Claim::InProgress
    );
    dedupe.complete("a:kind").await.unwrap();
    assert_eq!(
        dedupe.claim("a:kind", lock).await.unwrap(),
        Claim::AlreadySent
    );
    // Release only drops an in-progress lock, never a completed record.
    dedupe.release("a:kind").await.unwrap();
    assert_eq!(
        dedupe.claim("a:kind", lock).await.unwrap(),
        Claim::AlreadySent
    );

    // A failed send releases its lock and a retry can send.
    assert_eq!(dedupe.claim("b:kind", lock).await.unwrap(), Claim::Acquired);
    dedupe.release("b:kind").await.unwrap();
    assert_eq!(dedupe.claim("b:kind", lock).await.unwrap(), Claim::Acquired);

    // A lock that ran out (an invocation that timed out mid-send) can be taken over.
    assert_eq!(
        dedupe.claim("c:kind", Duration::ZERO).await.unwrap(),
        Claim::Acquired
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(dedupe.claim("c:kind", lock).await.unwrap(), Claim::Acquired);

    // A record past its expiry no longer blocks (expiry is in the condition, not TTL).
    let short = Dedupe::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        DEDUPE_TABLE,
        Duration::ZERO,
    );
    assert_eq!(short.claim("d:kind", lock).await.unwrap(), Claim::Acquired);
    short.complete("d:kind").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(short.claim("d:kind", lock).await.unwrap(), Claim::Acquired);
}

#[tokio::test]
async fn unknown_tables_operations_and_expressions_are_refused_not_misread() {
    let system = common::start().await;
    let sdk = local::functions::sdk_config(&system.endpoints().eventbridge).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    use aws_sdk_dynamodb::types::AttributeValue;

    let err = client
        .get_item()
        .table_name("no-such-table")
        .key("dedupe_key", AttributeValue::S("x".into()))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());

    let err = client
        .put_item()
        .table_name(DEDUPE_TABLE)
        .item("dedupe_key", AttributeValue::S("x".into()))
        .condition_expression("begins_with(dedupe_key, :p)")
        .expression_attribute_values(":p", AttributeValue::S("x".into()))
        .send()
        .await
        .unwrap_err();
    let message = format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err));
    assert!(message.contains("ValidationException"), "{message}");
    // Nothing was written by the refused request.
    assert!(system.tables().is_empty(DEDUPE_TABLE));
}
