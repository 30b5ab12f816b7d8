//! The redrive against real protocol peers: SQS on moto (the real SDK client), and Lambda's
//! Invoke API on wiremock (the exact request the SDK sends: path, invocation type, payload).

use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_json, header, method, path},
};

const FUNCTION: &str = "security-emails-prod-EmailTransformFunction-AbC123";

fn on_failure_record(payload: &Value, error_type: &str) -> String {
    json!({
        "version": "1.0",
        "timestamp": "2026-12-04T10:00:00.000Z",
        "requestContext": {
            "requestId": "c0ffee00-0000-4000-8000-000000000001",
            "functionArn": format!("arn:aws:lambda:eu-west-1:123456789012:function:{FUNCTION}:$LATEST"),
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": error_type, "errorMessage": "log 900…: Auth0 unavailable"}
    })
    .to_string()
}

/// The peers: moto (kept running while the test holds it), an SQS client on it, and a Lambda
/// client on the wiremock server that stands for Lambda's Invoke API.
async fn peers() -> (
    test_support::moto::Moto,
    aws_sdk_sqs::Client,
    MockServer,
    aws_sdk_lambda::Client,
) {
    let moto = test_support::moto::server().await;
    let sqs = aws_sdk_sqs::Client::new(&test_support::aws::sdk_config(moto.endpoint()).await);
    let lambda_api = MockServer::start().await;
    let lambda =
        aws_sdk_lambda::Client::new(&test_support::aws::sdk_config(&lambda_api.uri()).await);
    (moto, sqs, lambda_api, lambda)
}

async fn send(sqs: &aws_sdk_sqs::Client, url: &str, body: &str) {
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .unwrap();
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(test_support::unique(name))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

async fn bodies(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    out.messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.body)
        .collect()
}

#[tokio::test]
async fn on_failure_records_are_invoked_again_and_dead_letters_go_back_to_the_work_queue() {
    let (_moto, sqs, lambda_api, lambda) = peers().await;

    let event = json!({"version": "0", "id": "e-1", "detail-type": "Auth0 log", "detail": {"log_id": "900"}});
    Mock::given(method("POST"))
        .and(path(format!(
            "/2015-03-31/functions/{FUNCTION}/invocations"
        )))
        .and(header("x-amz-invocation-type", "Event"))
        .and(body_json(&event))
        .respond_with(ResponseTemplate::new(202))
        .expect(2)
        .mount(&lambda_api)
        .await;

    let failures = queue(&sqs, "on-failure").await;
    for error_type in ["Auth0LookupFailed", "PublishFailed"] {
        send(&sqs, &failures, &on_failure_record(&event, error_type)).await;
    }
    let report = redrive::redrive(&sqs, &lambda, &failures, None, 100)
        .await
        .unwrap();
    assert_eq!(
        report.reinvoked[FUNCTION],
        ["Auth0LookupFailed", "PublishFailed"]
    );
    assert!(report.failed.is_empty(), "{report:?}");
    assert!(
        bodies(&sqs, &failures).await.is_empty(),
        "deleted once invoked"
    );

    // send-email's dead-letter queue: the EventBridge event goes back to the work queue as is.
    let work = queue(&sqs, "send-email").await;
    let dead = queue(&sqs, "send-email-dlq").await;
    let send_email_event =
        json!({"detail-type": "SendEmail", "detail": {"dedupe_key": "900:account_blocked"}})
            .to_string();
    send(&sqs, &dead, &send_email_event).await;
    // Without a work queue it is left, and said so.
    let report = redrive::redrive(&sqs, &lambda, &dead, None, 100)
        .await
        .unwrap();
    assert_eq!(report.failed.len(), 1);
    assert!(report.failed[0].1.contains("--to-queue-url"));
    let report = redrive::redrive(&sqs, &lambda, &dead, Some(&work), 100).await;
    // The message left above is invisible for the redrive's 60 s visibility timeout.
    assert_eq!(report.unwrap().returned, 0);
    lambda_api.verify().await;
}

#[tokio::test]
async fn a_refused_invoke_leaves_the_record_in_the_queue() {
    let (_moto, sqs, lambda_api, lambda) = peers().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({
                    "Type": "User", "Message": "Function not found"
                }))
                .insert_header("x-amzn-errortype", "ResourceNotFoundException"),
        )
        .mount(&lambda_api)
        .await;
    let failures = queue(&sqs, "on-failure").await;
    let record = on_failure_record(
        &json!({"detail": {"user_name": "jane@example.com"}}),
        "HybrisUnavailable",
    );
    send(&sqs, &failures, &record).await;
    let report = redrive::redrive(&sqs, &lambda, &failures, None, 100)
        .await
        .unwrap();
    assert_eq!(report.failed.len(), 1);
    let why = &report.failed[0].1;
    assert!(why.contains("ResourceNotFound"), "{why}");
    // What a person reads never holds the event's address.
    assert!(
        report.lines().iter().all(|l| !l.contains('@')),
        "{:?}",
        report.lines()
    );
}

#[tokio::test]
async fn dead_lettered_messages_go_back_to_the_work_queue() {
    let (_moto, sqs, lambda_api, lambda) = peers().await;
    let work = queue(&sqs, "send-email").await;
    let dead = queue(&sqs, "send-email-dlq").await;
    let events: Vec<String> = (1..=12)
        .map(|n| json!({"detail-type": "SendEmail", "detail": {"dedupe_key": format!("90{n}:account_blocked")}}).to_string())
        .collect();
    for e in &events {
        send(&sqs, &dead, e).await;
    }
    let report = redrive::redrive(&sqs, &lambda, &dead, Some(&work), 100)
        .await
        .unwrap();
    assert_eq!(report.returned, 12);
    assert!(report.failed.is_empty());
    // Every body back on the work queue, as it was.
    let mut back = Vec::new();
    loop {
        let got = bodies(&sqs, &work).await;
        if got.is_empty() {
            break;
        }
        back.extend(got);
    }
    back.sort();
    let mut want = events.clone();
    want.sort();
    assert_eq!(back, want);
    assert!(bodies(&sqs, &dead).await.is_empty());
    assert!(
        lambda_api
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}
