use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

pub const REGION: &str = "eu-west-1";

/// Env variables that point a function's default AWS config at `endpoint` (for spawned binaries).
pub fn env_for(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        // Without credentials in env the chain would fall through to IMDS: slow off EC2.
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

/// An SDK config for a loopback endpoint with dummy static credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "test-support",
        ))
        .load()
        .await
}

/// A secret holding `json` on moto, named uniquely after `prefix`; returns its ARN.
pub async fn create_secret(
    client: &aws_sdk_secretsmanager::Client,
    prefix: &str,
    json: &str,
) -> String {
    let created = client
        .create_secret()
        .name(crate::unique(prefix))
        .secret_string(json)
        .send()
        .await
        .expect("CreateSecret on moto");
    created.arn().expect("the new secret's ARN").to_owned()
}

/// The template the functions deploy with, for what a test builds on moto as it declares.
fn template() -> sam_template::Template {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
    sam_template::Template::read(&path).expect("infra/template.yaml")
}

/// Creates the email history's table `name` on moto as `EmailHistoryTable` is declared.
pub async fn create_email_history_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    create_table_as_declared(client, "EmailHistoryTable", name).await;
}

/// Creates the dedupe table `name` on moto as `SendEmailDedupeTable` is declared (send-email's
/// dedupe records, hybris-reset-password's reset window).
pub async fn create_dedupe_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    create_table_as_declared(client, "SendEmailDedupeTable", name).await;
}

/// Creates table `name` on moto with the keys and billing mode that the table `logical_id` in
/// `infra/template.yaml` declares, read from the template so that the tests' table cannot drift
/// from the deployed one. TTL, backups and encryption are left out: they change nothing a test
/// reads.
pub async fn create_table_as_declared(
    client: &aws_sdk_dynamodb::Client,
    logical_id: &str,
    name: &str,
) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let template = template();
    let table = &template.resource(logical_id)["Properties"];
    let field = |v: &serde_json::Value, key: &str| {
        v[key]
            .as_str()
            .unwrap_or_else(|| panic!("{logical_id}: {key} in {v}"))
            .to_owned()
    };
    let attributes = sam_template::as_list(&table["AttributeDefinitions"])
        .into_iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(field(a, "AttributeName"))
                .attribute_type(ScalarAttributeType::from(
                    field(a, "AttributeType").as_str(),
                ))
                .build()
                .expect("an attribute definition")
        })
        .collect();
    let keys = sam_template::as_list(&table["KeySchema"])
        .into_iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(field(k, "AttributeName"))
                .key_type(KeyType::from(field(k, "KeyType").as_str()))
                .build()
                .expect("a key schema element")
        })
        .collect();
    client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(keys))
        .billing_mode(BillingMode::from(field(table, "BillingMode").as_str()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateTable ({logical_id}) on moto: {e:?}"));
}

/// An EventBridge bus whose rule forwards matching events to an SQS queue, on moto: reading
/// the queue shows what the rule matched.
pub struct BusWithQueue {
    pub bus_name: String,
    pub queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl BusWithQueue {
    /// Creates the bus (unless it is `default`), a queue, and one rule with `pattern` → queue.
    pub async fn create(sdk: &SdkConfig, bus_name: &str, pattern: &serde_json::Value) -> Self {
        let events = aws_sdk_eventbridge::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        if bus_name != "default" {
            events
                .create_event_bus()
                .name(bus_name)
                .send()
                .await
                .expect("create bus");
        }
        let queue_name = crate::unique("q");
        let queue_url = sqs
            .create_queue()
            .queue_name(&queue_name)
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue url");
        let queue_arn = format!("arn:aws:sqs:{REGION}:123456789012:{queue_name}");
        let rule = crate::unique("rule");
        events
            .put_rule()
            .name(&rule)
            .event_bus_name(bus_name)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .expect("put rule");
        events
            .put_targets()
            .rule(&rule)
            .event_bus_name(bus_name)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(queue_arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("put targets");
        Self {
            bus_name: bus_name.to_owned(),
            queue_url,
            sqs,
        }
    }

    /// Receives until `want` messages arrived or `wait` passed, then once more briefly so an
    /// unexpected extra message is seen too. Returns the bodies as JSON (EventBridge events).
    pub async fn receive(&self, want: usize, wait: std::time::Duration) -> Vec<serde_json::Value> {
        let start = std::time::Instant::now();
        let mut got = Vec::new();
        let mut extra_round = false;
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(if got.len() >= want { 0 } else { 1 })
                .send()
                .await
                .expect("receive");
            for m in out.messages() {
                let body = m.body().unwrap_or_default();
                got.push(
                    serde_json::from_str(body).unwrap_or(serde_json::Value::String(body.into())),
                );
                if let Some(h) = m.receipt_handle() {
                    let _ = self
                        .sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(h)
                        .send()
                        .await;
                }
            }
            if got.len() >= want {
                if extra_round {
                    return got;
                }
                extra_round = true;
            } else if start.elapsed() > wait {
                return got;
            }
        }
    }
}

/// A credential secret for [`fetched_at_once`]: the setting that names it, its id (used as its
/// ARN), its JSON, and the plaintext settings it replaces.
#[derive(Debug, Clone, Copy)]
pub struct TestSecret {
    pub arn_var: &'static str,
    pub id: &'static str,
    pub json: &'static str,
    pub replaces: &'static [&'static str],
}

/// The Dixa card's secret, with keys long enough for `dixa_access`.
pub const DIXA_SECRET: TestSecret = TestSecret {
    arn_var: "DIXA_SECRET_ARN",
    id: "dixa",
    json: r#"{"lookup_secret": "lookup-secret-0123456789abcdefghijklmnop",
              "action_token_key": "token-key-0123456789abcdefghijklmnopqrstu"}"#,
    replaces: &["DIXA_LOOKUP_SECRET", "DIXA_ACTION_TOKEN_KEY"],
};

/// An Auth0 M2M client's secret (`client_secret` is `a-s3cret`).
pub const AUTH0_SECRET: TestSecret = TestSecret {
    arn_var: "AUTH0_SECRET_ARN",
    id: "auth0",
    json: r#"{"client_id": "m2m", "client_secret": "a-s3cret"}"#,
    replaces: &["AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET"],
};

/// `pairs` as a deployed function has them: the plaintext settings the secrets replace dropped,
/// and each secret's ARN setting added.
pub fn with_secret_arns(
    mut pairs: Vec<(&'static str, &'static str)>,
    secrets: &[TestSecret],
) -> Vec<(&'static str, &'static str)> {
    pairs.retain(|(k, _)| !secrets.iter().any(|s| s.replaces.contains(k)));
    pairs.extend(secrets.iter().map(|s| (s.arn_var, s.id)));
    pairs
}

/// Runs `load` with a Secrets Manager client (the real SDK client) pointed at a Secrets Manager
/// on wiremock (AWS JSON 1.1, `GetSecretValue` only) that holds `secrets` and answers each
/// request only after a delay, then asserts that every secret was requested, each request
/// leaving before any answer came back; returns what `load` returned. Reading secrets as such
/// is tested against moto.
pub async fn fetched_at_once<T>(
    secrets: &[TestSecret],
    load: impl AsyncFnOnce(aws_sdk_secretsmanager::Client) -> T,
) -> T {
    let delay = std::time::Duration::from_millis(1500);
    let server = wiremock::MockServer::start().await;
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    wiremock::Mock::given(wiremock::matchers::header(
        "x-amz-target",
        "secretsmanager.GetSecretValue",
    ))
    .respond_with(Answer {
        known: secrets
            .iter()
            .map(|s| (s.id.to_owned(), s.json.to_owned()))
            .collect(),
        delay,
        arrivals: arrivals.clone(),
    })
    .mount(&server)
    .await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk_config(&server.uri()).await);
    let out = load(client).await;
    let arrivals = arrivals.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(arrivals.len(), secrets.len(), "{arrivals:?}");
    // One after the other, each request would leave only after the previous answer.
    let first = arrivals[0].1;
    assert!(
        arrivals
            .iter()
            .all(|(_, at)| at.duration_since(first) < delay / 2),
        "{arrivals:?}"
    );
    out
}

/// Answers `GetSecretValue` for the `known` secrets after `delay`, noting when each request
/// arrived.
struct Answer {
    known: std::collections::HashMap<String, String>,
    delay: std::time::Duration,
    arrivals: std::sync::Arc<std::sync::Mutex<Vec<(String, std::time::Instant)>>>,
}

impl wiremock::Respond for Answer {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let id = serde_json::from_slice::<serde_json::Value>(&request.body)
            .ok()
            .and_then(|b| b["SecretId"].as_str().map(str::to_owned))
            .unwrap_or_default();
        self.arrivals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id.clone(), std::time::Instant::now()));
        let reply = match self.known.get(&id) {
            Some(value) => wiremock::ResponseTemplate::new(200).set_body_raw(
                serde_json::json!({"ARN": id, "Name": id, "SecretString": value}).to_string(),
                "application/x-amz-json-1.1",
            ),
            None => wiremock::ResponseTemplate::new(400).set_body_raw(
                r#"{"__type":"ResourceNotFoundException","Message":"not found"}"#,
                "application/x-amz-json-1.1",
            ),
        };
        reply.set_delay(self.delay)
    }
}
