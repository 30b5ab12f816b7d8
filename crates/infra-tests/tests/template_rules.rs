//! Rules over `infra/template.yaml`: least-privilege IAM, the build and logging settings of
//! every function, the reliability settings of every asynchronous function, the alarms, and the
//! Dixa API's access rules.

use infra_tests::{
    Function, Template, as_list, contains_intrinsic, expand_if, get_att, ref_to, referenced_id,
    statements,
};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every function, with the secret parameters it may read (exactly those).
const FUNCTIONS: &[(&str, &str, &[&str])] = &[
    (
        "EmailTransformFunction",
        "email-transform",
        &["EmailTransformAuth0SecretArn", "EmailHistoryKeySecretArn"],
    ),
    ("SendEmailFunction", "send-email", &["BloomreachSecretArn"]),
    (
        "HybrisResetPasswordFunction",
        "hybris-reset-password",
        &["HybrisSecretArn", "Auth0SecretArn"],
    ),
    (
        "DixaGetUserFunction",
        "dixa-get-user",
        &[
            "Auth0SecretArn",
            "DixaSecretArn",
            "EmailHistoryKeySecretArn",
        ],
    ),
    (
        "DixaPatchUserFunction",
        "dixa-patch-user",
        &[
            "Auth0SecretArn",
            "DixaSecretArn",
            "EmailHistoryKeySecretArn",
        ],
    ),
];

/// The asynchronous (EventBridge-invoked) functions and the bus of their rule.
fn async_functions() -> Vec<(&'static str, Value)> {
    vec![
        ("EmailTransformFunction", ref_to("Auth0PartnerEventBusName")),
        (
            "HybrisResetPasswordFunction",
            ref_to("Auth0PartnerEventBusName"),
        ),
    ]
}

/// The functions that read a queue an EventBridge rule fills: (function, bus, work queue,
/// dead-letter queue).
const QUEUE_FUNCTIONS: &[(&str, &str, &str, &str)] = &[(
    "SendEmailFunction",
    "EmailBus",
    "SendEmailQueue",
    "SendEmailFailureQueue",
)];

/// Statements allowed a "*" action or resource: (resource logical id, Sid). None.
const WILDCARD_ALLOW_LIST: &[(&str, &str)] = &[];

/// Managed policies allowed on roles of the template: (role logical id, policy name). The API
/// Gateway account role needs AWS's push-to-CloudWatch-Logs policy (documented in the template).
const MANAGED_POLICY_ALLOW_LIST: &[(&str, &str)] = &[(
    "ApiGatewayCloudWatchRole",
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs",
)];

/// The functions' env fallbacks for credentials (local runs only; never in the template).
const ENV_CREDENTIAL_FALLBACKS: &[&str] = &[
    "AUTH0_CLIENT_ID",
    "AUTH0_CLIENT_SECRET",
    "BLOOMREACH_API_KEY_ID",
    "BLOOMREACH_API_SECRET",
    "HYBRIS_CLIENT_ID",
    "HYBRIS_CLIENT_SECRET",
    "DIXA_LOOKUP_SECRET",
    "DIXA_LOOKUP_SECRET_PREVIOUS",
    "DIXA_ACTION_TOKEN_KEY",
    "DIXA_ACTION_TOKEN_KEY_PREVIOUS",
    "EMAIL_HISTORY_KEY",
];

/// Dixa's published source IPs (shared/reference/dixa.md).
const DIXA_IPS: [&str; 3] = ["52.17.249.106/32", "54.77.120.43/32", "34.251.109.243/32"];

fn function<'a>(t: &'a Template, id: &str) -> Function<'a> {
    t.functions()
        .into_iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no function {id}"))
}

/// Every IAM statement of the template with the resource it belongs to: function `Policies`,
/// and `AWS::IAM::Role` / `Policy` / `ManagedPolicy` documents.
fn all_iam_statements(t: &Template) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for f in t.functions() {
        out.extend(
            f.policy_statements()
                .into_iter()
                .map(|s| (f.id.to_owned(), s)),
        );
    }
    for (id, r) in t.resources() {
        let docs: Vec<&Value> = match r["Type"].as_str() {
            Some("AWS::IAM::Role") => as_list(&r["Properties"]["Policies"])
                .into_iter()
                .flat_map(expand_if)
                .map(|p| &p["PolicyDocument"])
                .collect(),
            Some("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy") => {
                vec![&r["Properties"]["PolicyDocument"]]
            }
            _ => continue,
        };
        for doc in docs {
            out.extend(statements(doc).into_iter().map(|s| (id.clone(), s)));
        }
    }
    out
}

fn actions(statement: &Value) -> Vec<&str> {
    as_list(&statement["Action"])
        .into_iter()
        .map(|a| a.as_str().expect("Action is a string"))
        .collect()
}

#[test]
fn the_template_has_exactly_the_known_functions() {
    let t = infra_tests::template();
    let found: BTreeSet<&str> = t.functions().iter().map(|f| f.id).collect();
    let known: BTreeSet<&str> = FUNCTIONS.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(
        found, known,
        "update FUNCTIONS with the new function's secrets"
    );
    assert!(
        t.of_type("AWS::Lambda::Function").is_empty(),
        "functions must be AWS::Serverless::Function (checked here)"
    );
}

#[test]
fn no_iam_wildcards_beyond_the_allow_list() {
    let t = infra_tests::template();
    let statements = all_iam_statements(&t);
    assert!(!statements.is_empty());
    for (owner, s) in statements {
        let sid = s["Sid"].as_str().unwrap_or_default();
        assert!(
            s.get("NotAction").is_none() && s.get("NotResource").is_none(),
            "{owner}: NotAction/NotResource in {s}"
        );
        if WILDCARD_ALLOW_LIST.contains(&(owner.as_str(), sid)) {
            continue;
        }
        for action in actions(s) {
            assert!(
                action != "*" && !action.ends_with(":*"),
                "{owner}: wildcard action {action} in {s}"
            );
        }
        let resources = as_list(&s["Resource"]);
        assert!(!resources.is_empty(), "{owner}: statement without Resource");
        for resource in resources {
            assert!(
                resource != "*" && resource.as_str().is_none_or(|r| !r.ends_with(":*")),
                "{owner}: wildcard resource in {s}"
            );
        }
    }
    // Managed policies hide their statements: only the allow-listed ones.
    for (id, r) in t.of_type("AWS::IAM::Role") {
        for arn in as_list(&r["Properties"]["ManagedPolicyArns"]) {
            let text = arn.to_string();
            assert!(
                MANAGED_POLICY_ALLOW_LIST
                    .iter()
                    .any(|(role, policy)| *role == id && text.contains(policy)),
                "{id}: managed policy {text} not in the allow-list"
            );
        }
    }
    for f in t.functions() {
        assert!(
            f.props().get("Role").is_none(),
            "{}: a Role of its own would bypass the Policies checked here",
            f.id
        );
    }
}

/// The SendEmail contract's two producers: email-transform (emails for Auth0 logs) and
/// dixa-patch-user (the emails of an email change an agent made). Nothing else may put events.
const SEND_EMAIL_PRODUCERS: [&str; 2] = ["DixaPatchUserFunction", "EmailTransformFunction"];

#[test]
fn only_the_send_email_producers_may_put_events_and_only_on_the_email_bus() {
    let t = infra_tests::template();
    let mut owners = Vec::new();
    for (owner, s) in all_iam_statements(&t) {
        let puts = actions(s)
            .iter()
            .any(|a| a.starts_with("events:Put") || *a == "events:*");
        if !puts {
            continue;
        }
        assert!(
            SEND_EMAIL_PRODUCERS.contains(&owner.as_str()),
            "{owner} may put events: {s}"
        );
        owners.push(owner);
        assert_eq!(actions(s), ["events:PutEvents"], "{s}");
        assert_eq!(
            as_list(&s["Resource"]),
            [&get_att("EmailBus", "Arn")],
            "PutEvents only on the Email bus: {s}"
        );
        assert_eq!(
            s["Condition"]["StringEquals"]["events:source"],
            auth0_events::send_email::SOURCE,
            "PutEvents limited to the SendEmail contract's source: {s}"
        );
        assert_eq!(
            s["Condition"]["StringEquals"]["events:detail-type"],
            auth0_events::send_email::DETAIL_TYPE,
            "PutEvents limited to the SendEmail contract's detail-type: {s}"
        );
    }
    owners.sort();
    assert_eq!(
        owners, SEND_EMAIL_PRODUCERS,
        "each SendEmail producer needs exactly one PutEvents statement, and no one else any"
    );
    assert_eq!(t.type_of("EmailBus"), Some("AWS::Events::EventBus"));
    // Both are told which bus: the one the statement allows.
    for owner in SEND_EMAIL_PRODUCERS {
        let env = &function(&t, owner).props()["Environment"]["Variables"];
        assert_eq!(
            referenced_id(&env["EMAIL_BUS_NAME"]),
            Some("EmailBus"),
            "{owner}"
        );
    }
}

#[test]
fn email_transform_skips_the_sce_of_the_dixa_auth0_client_named_by_a_parameter() {
    let t = infra_tests::template();
    let env = &function(&t, "EmailTransformFunction").props()["Environment"]["Variables"];
    assert_eq!(
        referenced_id(&env["DIXA_AUTH0_CLIENT_ID"]),
        Some("DixaAuth0ClientId"),
        "{env}"
    );
    let param = &t.parameters()["DixaAuth0ClientId"];
    assert_eq!(param["Type"], "String");
    // Optional: empty is read as unset by email-transform's config (its test
    // `an_empty_dixa_client_id_is_unset`), so nothing is skipped until it is set.
    assert_eq!(param["Default"], "");
}

/// Every DynamoDB grant of the template, exactly: send-email's item operations on its dedupe
/// records; hybris-reset-password's reset window in the same table (a conditional put, and a
/// delete to give the window back); the email history written (`PutItem` only) by email-transform and dixa-patch-user
/// and read (`Query` only) by dixa-get-user. No other function, action or table; no scans, no
/// table changes.
const DYNAMODB_GRANTS: &[(&str, &[&str], &str)] = &[
    (
        "DixaGetUserFunction",
        &["dynamodb:Query"],
        "EmailHistoryTable",
    ),
    (
        "DixaPatchUserFunction",
        &["dynamodb:PutItem"],
        "EmailHistoryTable",
    ),
    (
        "EmailTransformFunction",
        &["dynamodb:PutItem"],
        "EmailHistoryTable",
    ),
    (
        "HybrisResetPasswordFunction",
        &["dynamodb:PutItem", "dynamodb:DeleteItem"],
        "SendEmailDedupeTable",
    ),
    (
        "SendEmailFunction",
        &[
            "dynamodb:PutItem",
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        ],
        "SendEmailDedupeTable",
    ),
];

#[test]
fn only_the_dedupe_and_email_history_grants_touch_dynamodb() {
    let t = infra_tests::template();
    // (owner, actions, resources) of every statement naming DynamoDB in an action
    // (`dynamodb:*` and `*` included).
    let mut seen: Vec<(String, Vec<&str>, Vec<&Value>)> = Vec::new();
    for (owner, s) in all_iam_statements(&t) {
        let acts = actions(s);
        if !acts.iter().any(|a| a.starts_with("dynamodb:") || *a == "*") {
            continue;
        }
        assert_eq!(s["Effect"], "Allow", "{owner}: {s}");
        assert!(s.get("NotResource").is_none(), "{owner}: {s}");
        seen.push((owner, acts, as_list(&s["Resource"])));
    }
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    let arns: Vec<Value> = DYNAMODB_GRANTS
        .iter()
        .map(|(_, _, table)| get_att(table, "Arn"))
        .collect();
    let want: Vec<(String, Vec<&str>, Vec<&Value>)> = DYNAMODB_GRANTS
        .iter()
        .zip(&arns)
        .map(|((owner, acts, _), arn)| ((*owner).to_owned(), acts.to_vec(), vec![arn]))
        .collect();
    assert_eq!(
        seen, want,
        "exactly one DynamoDB statement per listed function: exactly these actions, on the \
         table itself (no index, no other table)"
    );
    for table in ["SendEmailDedupeTable", "EmailHistoryTable"] {
        assert_eq!(t.type_of(table), Some("AWS::DynamoDB::Table"));
    }
    let dedupe = &t.resource("SendEmailDedupeTable")["Properties"];
    assert_eq!(dedupe["KeySchema"][0]["AttributeName"], "dedupe_key");
    assert_eq!(
        dedupe["TimeToLiveSpecification"]["AttributeName"],
        "expires_at"
    );
    let env = &function(&t, "SendEmailFunction").props()["Environment"]["Variables"];
    assert_eq!(
        referenced_id(&env["DEDUPE_TABLE_NAME"]),
        Some("SendEmailDedupeTable")
    );
}

/// The history's three users are told the same table, retention and key (another key would
/// make the history look empty to the reader); no other function is told of it.
#[test]
fn the_email_history_users_share_its_table_retention_and_key() {
    let t = infra_tests::template();
    let users: BTreeSet<&str> = DYNAMODB_GRANTS
        .iter()
        .filter(|(_, _, table)| *table == "EmailHistoryTable")
        .map(|(owner, _, _)| *owner)
        .collect();
    for f in t.functions() {
        let env = &f.props()["Environment"]["Variables"];
        let told: Vec<(&str, Option<&str>)> = [
            "EMAIL_HISTORY_TABLE",
            "EMAIL_HISTORY_DAYS",
            "EMAIL_HISTORY_KEY_SECRET_ARN",
        ]
        .into_iter()
        .map(|name| (name, referenced_id(&env[name])))
        .collect();
        if users.contains(f.id) {
            assert_eq!(
                told,
                [
                    ("EMAIL_HISTORY_TABLE", Some("EmailHistoryTable")),
                    ("EMAIL_HISTORY_DAYS", Some("EmailHistoryDays")),
                    (
                        "EMAIL_HISTORY_KEY_SECRET_ARN",
                        Some("EmailHistoryKeySecretArn")
                    ),
                ],
                "{}",
                f.id
            );
            assert!(
                env.get("EMAIL_HISTORY_KEY").is_none(),
                "{}: the key only through its secret",
                f.id
            );
        } else {
            assert!(
                env.as_object()
                    .into_iter()
                    .flatten()
                    .all(|(k, _)| !k.starts_with("EMAIL_HISTORY")),
                "{}: not a user of the email history",
                f.id
            );
        }
    }
    assert_eq!(
        users,
        BTreeSet::from([
            "DixaGetUserFunction",
            "DixaPatchUserFunction",
            "EmailTransformFunction"
        ])
    );
}

/// Support's record of address changes (crate email-history): the keys its code uses, expiry
/// by TTL, point-in-time recovery, encryption, and kept when the stack goes or replaces it.
#[test]
fn the_email_history_table_is_keyed_by_hash_expires_and_is_kept_safe() {
    let t = infra_tests::template();
    assert_eq!(t.type_of("EmailHistoryTable"), Some("AWS::DynamoDB::Table"));
    let resource = t.resource("EmailHistoryTable");
    assert_eq!(resource["DeletionPolicy"], "Retain");
    assert_eq!(resource["UpdateReplacePolicy"], "Retain");
    let table = &resource["Properties"];
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["KeySchema"],
        json!([
            {"AttributeName": "address_key", "KeyType": "HASH"},
            {"AttributeName": "change_id", "KeyType": "RANGE"}
        ])
    );
    assert_eq!(
        table["AttributeDefinitions"],
        json!([
            {"AttributeName": "address_key", "AttributeType": "S"},
            {"AttributeName": "change_id", "AttributeType": "S"}
        ])
    );
    assert_eq!(
        table["TimeToLiveSpecification"],
        json!({"AttributeName": "expires_at", "Enabled": true})
    );
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);

    let params = t.parameters();
    let days = &params["EmailHistoryDays"];
    assert_eq!(
        (
            &days["Type"],
            &days["Default"],
            &days["MinValue"],
            &days["MaxValue"]
        ),
        (&json!("Number"), &json!(90), &json!(1), &json!(3650)),
        "EMAIL_HISTORY_DAYS's default and range"
    );
    let key = &params["EmailHistoryKeySecretArn"];
    assert_eq!(key["Type"], "String");
    assert_eq!(
        key["AllowedPattern"], params["Auth0SecretArn"]["AllowedPattern"],
        "a full Secrets Manager ARN, as every secret parameter"
    );
    assert!(key.get("Default").is_none(), "the key secret is required");
}

#[test]
fn every_dynamodb_table_is_encrypted_and_expires_its_items() {
    let t = infra_tests::template();
    let tables = t.of_type("AWS::DynamoDB::Table");
    assert!(tables.len() >= 2, "the dedupe and email history tables");
    for (id, table) in tables {
        let props = &table["Properties"];
        assert_eq!(props["SSESpecification"]["SSEEnabled"], true, "{id}: SSE");
        assert_eq!(props["BillingMode"], "PAY_PER_REQUEST", "{id}: billing");
        assert_eq!(
            props["TimeToLiveSpecification"]["Enabled"], true,
            "{id}: TTL"
        );
        assert!(
            table.get("DeletionPolicy").is_some() && table.get("UpdateReplacePolicy").is_some(),
            "{id}: a deliberate DeletionPolicy and UpdateReplacePolicy"
        );
    }
}

#[test]
fn each_function_reads_exactly_its_own_secrets() {
    let t = infra_tests::template();
    for (id, _, secrets) in FUNCTIONS {
        let f = function(&t, id);
        let mut granted = BTreeSet::new();
        for s in f.policy_statements() {
            let acts = actions(s);
            if !acts.iter().any(|a| a.starts_with("secretsmanager:")) {
                continue;
            }
            assert_eq!(acts, ["secretsmanager:GetSecretValue"], "{id}: {s}");
            for r in as_list(&s["Resource"]) {
                let param = r["Ref"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{id}: secret resource must be a parameter: {r}"));
                granted.insert(param.to_owned());
            }
        }
        let want: BTreeSet<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(granted, want, "{id}: GetSecretValue resources");

        // The *_SECRET_ARN variables name the same parameters (plus, for an optional secret,
        // nothing else).
        let vars = f.props()["Environment"]["Variables"]
            .as_object()
            .unwrap_or_else(|| panic!("{id}: no Environment.Variables"));
        let from_env: BTreeSet<String> = vars
            .iter()
            .filter(|(k, _)| k.ends_with("_SECRET_ARN"))
            .map(|(k, v)| {
                v["Ref"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{id}: {k} must be !Ref a parameter"))
                    .to_owned()
            })
            .collect();
        assert_eq!(from_env, want, "{id}: *_SECRET_ARN variables");
    }

    // email-transform's Auth0 statement exists only when its optional secret is set.
    let statement = function(&t, "EmailTransformFunction").props()["Policies"][0]["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .find(|s| s.get("Fn::If").is_some())
        .cloned()
        .expect("email-transform's secret statement is conditional");
    let condition = statement["Fn::If"][0].as_str().expect("condition name");
    assert_eq!(
        t.root["Conditions"][condition],
        json!({"Fn::Not": [{"Fn::Equals": [ref_to("EmailTransformAuth0SecretArn"), ""]}]})
    );
    assert_eq!(statement["Fn::If"][2], ref_to("AWS::NoValue"));
}

#[test]
fn secrets_are_passed_only_as_secrets_manager_arns() {
    let t = infra_tests::template();
    for (name, p) in t.parameters() {
        if name.to_ascii_lowercase().contains("secret") {
            assert!(name.ends_with("SecretArn"), "{name}: secrets only as ARNs");
            let pattern = p["AllowedPattern"].as_str().unwrap_or_default();
            assert!(
                pattern.contains("secretsmanager"),
                "{name}: AllowedPattern must require a Secrets Manager ARN"
            );
            assert!(p.get("Default").is_none_or(|d| d == ""), "{name}: default");
        }
    }
    for f in t.functions() {
        for (k, _) in f.props()["Environment"]["Variables"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let secret_value = (k.contains("SECRET") && !k.ends_with("_SECRET_ARN"))
                || k.contains("TOKEN_KEY")
                || ENV_CREDENTIAL_FALLBACKS.contains(&k.as_str());
            assert!(
                !secret_value,
                "{}: {k} would put a credential in the template",
                f.id
            );
        }
    }
}

#[test]
fn every_function_is_built_and_logged_as_required() {
    let t = infra_tests::template();
    let mut log_groups = BTreeSet::new();
    for (id, binary, _) in FUNCTIONS {
        let f = function(&t, id);
        let p = f.props();
        assert_eq!(p["Runtime"], "provided.al2023", "{id}");
        assert_eq!(p["Architectures"], json!(["arm64"]), "{id}");
        assert_eq!(p["Handler"], "bootstrap", "{id}");
        assert_eq!(
            p["CodeUri"], "..",
            "{id}: the workspace root, relative to infra/"
        );
        assert_eq!(
            f.body["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{id}"
        );
        assert_eq!(f.binary(), *binary, "{id}");
        assert!(
            p["Timeout"]
                .as_u64()
                .is_some_and(|s| (1..=900).contains(&s)),
            "{id}: Timeout"
        );
        assert!(
            p["MemorySize"].as_u64().is_some_and(|m| m >= 128),
            "{id}: MemorySize"
        );
        let logging = &p["LoggingConfig"];
        assert_eq!(logging["LogFormat"], "JSON", "{id}");
        assert_eq!(logging["ApplicationLogLevel"], "INFO", "{id}");
        let group = referenced_id(&logging["LogGroup"])
            .unwrap_or_else(|| panic!("{id}: LoggingConfig.LogGroup must !Ref a log group"));
        assert_eq!(t.type_of(group), Some("AWS::Logs::LogGroup"), "{id}");
        assert!(
            t.resource(group)["Properties"]["RetentionInDays"].is_object()
                || t.resource(group)["Properties"]["RetentionInDays"].is_u64(),
            "{id}: {group} has no RetentionInDays"
        );
        assert!(log_groups.insert(group), "{id}: log group {group} shared");
    }
    for (id, r) in t.of_type("AWS::Logs::LogGroup") {
        assert!(
            !r["Properties"]["RetentionInDays"].is_null(),
            "{id}: RetentionInDays"
        );
    }
}

fn sqs_queue(t: &Template, arn: &Value, what: &str) -> String {
    let id = referenced_id(arn).unwrap_or_else(|| panic!("{what}: not a queue of the stack"));
    assert_eq!(arn, &get_att(id, "Arn"), "{what}");
    assert_eq!(t.type_of(id), Some("AWS::SQS::Queue"), "{what}");
    id.to_owned()
}

#[test]
fn every_async_function_retries_and_dead_letters() {
    let t = infra_tests::template();
    let rule_functions: BTreeSet<&str> = t
        .eventbridge_rules()
        .iter()
        .filter(|r| r.via_queue.is_none())
        .map(|r| r.function)
        .collect();
    let async_ids: BTreeSet<&str> = async_functions().iter().map(|(id, _)| *id).collect();
    assert_eq!(rule_functions, async_ids, "EventBridge-invoked functions");

    for (id, bus) in async_functions() {
        let f = function(&t, id);
        let invoke = &f.props()["EventInvokeConfig"];
        assert_eq!(invoke["MaximumRetryAttempts"], 2, "{id}");
        assert!(
            invoke["MaximumEventAgeInSeconds"]
                .as_u64()
                .is_some_and(|s| (60..=21600).contains(&s)),
            "{id}: MaximumEventAgeInSeconds"
        );
        let on_failure = &invoke["DestinationConfig"]["OnFailure"];
        assert_eq!(on_failure["Type"], "SQS", "{id}");
        let failure_queue = sqs_queue(&t, &on_failure["Destination"], id);

        let rules = f.events_of_type("EventBridgeRule");
        assert_eq!(rules.len(), 1, "{id}: one rule");
        for (name, rule) in rules {
            assert_eq!(rule["EventBusName"], bus, "{id}.{name}: bus");
            assert!(rule["Pattern"].is_object(), "{id}.{name}: Pattern");
            let retry = &rule["RetryPolicy"];
            assert!(
                retry["MaximumRetryAttempts"].is_u64()
                    && retry["MaximumEventAgeInSeconds"].is_u64(),
                "{id}.{name}: RetryPolicy"
            );
            let dlq = sqs_queue(&t, &rule["DeadLetterConfig"]["Arn"], id);
            assert_ne!(
                dlq, failure_queue,
                "{id}: rule DLQ and OnFailure queue are distinct"
            );

            // EventBridge may send to the DLQ: a queue policy for events.amazonaws.com.
            let allowed = t
                .of_type("AWS::SQS::QueuePolicy")
                .into_iter()
                .any(|(_, qp)| {
                    as_list(&qp["Properties"]["Queues"]).contains(&&ref_to(&dlq))
                        && statements(&qp["Properties"]["PolicyDocument"])
                            .iter()
                            .any(|s| {
                                s["Effect"] == "Allow"
                                    && s["Principal"]["Service"] == "events.amazonaws.com"
                                    && actions(s) == ["sqs:SendMessage"]
                                    && as_list(&s["Resource"]) == [&get_att(&dlq, "Arn")]
                                    && s["Condition"]["ArnEquals"]["aws:SourceArn"].is_object()
                            })
                });
            assert!(allowed, "{id}: {dlq} has no queue policy for its rule");
        }
    }
    for (id, q) in t.of_type("AWS::SQS::Queue") {
        assert_eq!(q["Properties"]["SqsManagedSseEnabled"], true, "{id}: SSE");
    }
}

/// A function behind a queue: the rule puts events on the work queue (and only that rule may,
/// by queue policy), the event source mapping caps concurrency and reports batch item
/// failures, and the work queue dead-letters to its own queue after a bounded number of
/// receives whose total wait outlasts a 30-minute rate-limit storm.
#[test]
fn queue_fed_functions_are_capped_and_dead_letter() {
    let t = infra_tests::template();
    for (id, bus, queue, dlq) in QUEUE_FUNCTIONS {
        let rules: Vec<_> = t
            .eventbridge_rules()
            .into_iter()
            .filter(|r| r.function == *id)
            .collect();
        assert_eq!(rules.len(), 1, "{id}: one rule");
        let rule = &rules[0];
        assert_eq!(rule.via_queue, Some(*queue), "{id}");
        assert_eq!(rule.bus(), &ref_to(bus), "{id}: bus");
        assert!(rule.pattern().is_object(), "{id}: pattern");
        let target = rule.target_settings();
        assert!(
            target["RetryPolicy"]["MaximumRetryAttempts"].is_u64(),
            "{id}: RetryPolicy"
        );
        let rule_dlq = sqs_queue(&t, &target["DeadLetterConfig"]["Arn"], id);
        assert_ne!(
            rule_dlq, *dlq,
            "{id}: rule DLQ and dead-letter queue are distinct"
        );

        let f = function(&t, id);
        assert!(
            f.props().get("EventInvokeConfig").is_none(),
            "{id}: not invoked asynchronously"
        );
        let events = f.events_of_type("SQS");
        assert_eq!(events.len(), 1, "{id}: one SQS event");
        let e = events[0].1;
        assert_eq!(e["Queue"], get_att(queue, "Arn"), "{id}");
        assert_eq!(
            e["FunctionResponseTypes"],
            json!(["ReportBatchItemFailures"]),
            "{id}"
        );
        let cap = referenced_id(&e["ScalingConfig"]["MaximumConcurrency"])
            .unwrap_or_else(|| panic!("{id}: MaximumConcurrency is a parameter"));
        assert!(
            t.parameters()[cap]["MinValue"].as_u64() >= Some(2),
            "{cap}: SQS's minimum is 2"
        );

        let q = &t.resource(queue)["Properties"];
        let timeout = f.props()["Timeout"].as_u64().unwrap();
        let visibility = q["VisibilityTimeout"].as_u64().unwrap();
        assert!(
            visibility >= 6 * timeout,
            "{queue}: VisibilityTimeout at least 6 × Timeout"
        );
        assert_eq!(
            q["RedrivePolicy"]["deadLetterTargetArn"],
            get_att(dlq, "Arn"),
            "{queue}"
        );
        let receives = referenced_id(&q["RedrivePolicy"]["maxReceiveCount"])
            .and_then(|p| t.parameters()[p]["Default"].as_u64())
            .unwrap_or_else(|| panic!("{queue}: maxReceiveCount is a parameter with a default"));
        assert!(
            receives * visibility >= 30 * 60,
            "{queue}: {receives} receives × {visibility} s do not outlast a 30-minute storm"
        );

        let allowed = t
            .of_type("AWS::SQS::QueuePolicy")
            .into_iter()
            .any(|(_, qp)| {
                as_list(&qp["Properties"]["Queues"]).contains(&&ref_to(queue))
                    && statements(&qp["Properties"]["PolicyDocument"])
                        .iter()
                        .any(|s| {
                            s["Principal"]["Service"] == "events.amazonaws.com"
                                && actions(s) == ["sqs:SendMessage"]
                                && s["Condition"]["ArnEquals"]["aws:SourceArn"]
                                    == get_att(rule.event_name, "Arn")
                        })
            });
        assert!(allowed, "{queue}: only its rule may send to it");
    }
}

fn alarm_exists(t: &Template, namespace: &str, metric: &str, dimension: (&str, Value)) -> bool {
    t.of_type("AWS::CloudWatch::Alarm")
        .into_iter()
        .any(|(_, a)| {
            let p = &a["Properties"];
            p["Namespace"] == namespace
                && p["MetricName"] == metric
                && p["Dimensions"] == json!([{"Name": dimension.0, "Value": dimension.1}])
                && p["Threshold"] == 0
                && p["ComparisonOperator"] == "GreaterThanThreshold"
                && as_list(&p["AlarmActions"]).contains(&&ref_to("AlarmTopicArn"))
        })
}

#[test]
fn alarms_cover_every_queue_and_function() {
    let t = infra_tests::template();
    let queues = t.of_type("AWS::SQS::Queue");
    assert_eq!(
        queues.len(),
        2 * async_functions().len() + 3 * QUEUE_FUNCTIONS.len(),
        "a rule DLQ and an OnFailure queue each; a rule DLQ, a work queue and its dead-letter queue"
    );
    let work_queues: Vec<&str> = QUEUE_FUNCTIONS.iter().map(|(_, _, q, _)| *q).collect();
    for (id, _) in queues {
        if work_queues.contains(&id) {
            // A work queue is never empty for long: its alarm is on the age of the oldest email.
            let aged = t
                .of_type("AWS::CloudWatch::Alarm")
                .into_iter()
                .any(|(_, a)| {
                    let p = &a["Properties"];
                    p["MetricName"] == "ApproximateAgeOfOldestMessage"
                        && p["Dimensions"]
                            == json!([{"Name": "QueueName", "Value": get_att(id, "QueueName")}])
                        && p["Threshold"].as_u64().is_some_and(|s| s > 0 && s <= 3600)
                        && as_list(&p["AlarmActions"]).contains(&&ref_to("AlarmTopicArn"))
                });
            assert!(aged, "no age alarm on {id}");
            continue;
        }
        assert!(
            alarm_exists(
                &t,
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                ("QueueName", get_att(id, "QueueName"))
            ),
            "no depth alarm on {id}"
        );
    }
    for (id, _, _) in FUNCTIONS {
        let function = ("FunctionName", ref_to(id));
        assert!(
            alarm_exists(&t, "AWS/Lambda", "Errors", function.clone()),
            "no Errors alarm on {id}"
        );
        // A function with reserved concurrency is throttled on purpose in a burst (its events
        // wait in Lambda's queue): it is watched by how long its events wait instead.
        let capped = t.resource(id)["Properties"]
            .get("ReservedConcurrentExecutions")
            .is_some();
        if !capped {
            assert!(
                alarm_exists(&t, "AWS/Lambda", "Throttles", function),
                "no Throttles alarm on {id}"
            );
            continue;
        }
        let throttles_alarmed = t
            .of_type("AWS::CloudWatch::Alarm")
            .into_iter()
            .any(|(_, a)| {
                a["Properties"]["MetricName"] == "Throttles"
                    && a["Properties"]["Dimensions"][0]["Value"] == ref_to(id)
            });
        assert!(!throttles_alarmed, "{id}: throttles are its back-pressure");
        let waits_alarmed = t
            .of_type("AWS::CloudWatch::Alarm")
            .into_iter()
            .any(|(_, a)| {
                let p = &a["Properties"];
                p["Namespace"] == "AWS/Lambda"
                    && p["MetricName"] == "AsyncEventAge"
                    && p["Dimensions"] == json!([{"Name": "FunctionName", "Value": ref_to(id)}])
                    && p["Statistic"] == "Maximum"
                    // Milliseconds: between a minute and the 6 h maximum event age.
                    && p["Threshold"]
                        .as_u64()
                        .is_some_and(|ms| (60_000..21_600_000).contains(&ms))
                    && as_list(&p["AlarmActions"]).contains(&&ref_to("AlarmTopicArn"))
            });
        assert!(waits_alarmed, "no AsyncEventAge alarm on {id}");
    }
    assert_eq!(
        t.parameters()["AlarmTopicArn"]["Type"],
        "String",
        "AlarmTopicArn is a parameter"
    );
}

/// An agent's email change whose emails could not be queued succeeds as an invocation, so only
/// its audit line (`"target":"audit"`, `fields.reason`, as `dixa-access::audit` writes it)
/// can raise the alarm.
#[test]
fn an_email_change_whose_customer_was_not_told_raises_an_alarm() {
    let t = infra_tests::template();
    let filters = t.of_type("AWS::Logs::MetricFilter");
    let (_, filter) = filters
        .iter()
        .find(|(_, f)| f["Properties"]["LogGroupName"] == ref_to("DixaPatchUserLogGroup"))
        .expect("a metric filter on dixa-patch-user's log group");
    let p = &filter["Properties"];
    assert_eq!(
        p["FilterPattern"],
        r#"{ $.target = "audit" && $.fields.reason = "notification_failed" }"#
    );
    let metric = &p["MetricTransformations"][0];
    let alarm = t
        .of_type("AWS::CloudWatch::Alarm")
        .into_iter()
        .find(|(_, a)| {
            a["Properties"]["Namespace"] == metric["MetricNamespace"]
                && a["Properties"]["MetricName"] == metric["MetricName"]
        })
        .map(|(_, a)| a["Properties"].clone())
        .expect("an alarm on the filter's metric");
    assert_eq!(alarm["Threshold"], 0);
    assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold");
    assert!(as_list(&alarm["AlarmActions"]).contains(&&ref_to("AlarmTopicArn")));
}

#[test]
fn dixa_api_lets_only_dixa_look_up_and_anyone_post_actions() {
    let t = infra_tests::template();
    let (api_id, api) = {
        let apis = t.of_type("AWS::Serverless::Api");
        assert_eq!(apis.len(), 1, "one REST API");
        apis[0]
    };
    let p = &api["Properties"];

    // Routes.
    let route = |id: &str| {
        function(&t, id)
            .events_of_type("Api")
            .into_iter()
            .map(|(_, e)| {
                assert_eq!(e["RestApiId"], ref_to(api_id), "{id}: on {api_id}");
                (
                    e["Method"]
                        .as_str()
                        .unwrap_or_default()
                        .to_ascii_uppercase(),
                    e["Path"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        route("DixaGetUserFunction"),
        BTreeSet::from([("GET".to_owned(), "/lookup".to_owned())])
    );
    assert_eq!(
        route("DixaPatchUserFunction"),
        BTreeSet::from([
            ("POST".to_owned(), "/users/{user_id}/{action}".to_owned()),
            ("OPTIONS".to_owned(), "/users/{user_id}/{action}".to_owned()),
        ])
    );

    // Resource policy.
    let policy: Vec<&Value> = as_list(&p["Auth"]["ResourcePolicy"]["CustomStatements"]);
    let ips = json!(DIXA_IPS);
    let lookup = json!("execute-api:/*/GET/lookup");
    let allow_lookup: Vec<&&Value> = policy
        .iter()
        .filter(|s| s["Effect"] == "Allow" && as_list(&s["Resource"]).contains(&&lookup))
        .collect();
    assert_eq!(allow_lookup.len(), 1, "one Allow for GET /lookup");
    assert_eq!(
        allow_lookup[0]["Condition"],
        json!({"IpAddress": {"aws:SourceIp": ips}}),
        "GET /lookup allowed from Dixa's IPs only"
    );
    assert!(
        policy.iter().any(|s| s["Effect"] == "Deny"
            && as_list(&s["Resource"]) == [&lookup]
            && s["Condition"] == json!({"NotIpAddress": {"aws:SourceIp": ips}})),
        "GET /lookup denied from any other IP"
    );
    let open: BTreeSet<&str> = policy
        .iter()
        .filter(|s| s["Effect"] == "Allow" && s.get("Condition").is_none())
        .flat_map(|s| as_list(&s["Resource"]))
        .map(|r| r.as_str().expect("resource string"))
        .collect();
    assert_eq!(
        open,
        BTreeSet::from([
            "execute-api:/*/POST/users/*",
            "execute-api:/*/OPTIONS/users/*"
        ]),
        "only the action routes are open to any IP"
    );

    // Throttling and access log.
    let settings = &p["MethodSettings"][0];
    assert_eq!(settings["ResourcePath"], "/*");
    assert_eq!(settings["HttpMethod"], "*");
    assert_eq!(
        settings["ThrottlingRateLimit"],
        ref_to("ApiThrottlingRateLimit")
    );
    assert_eq!(
        settings["ThrottlingBurstLimit"],
        ref_to("ApiThrottlingBurstLimit")
    );
    assert_ne!(
        settings["DataTraceEnabled"], true,
        "no request/response data in logs"
    );
    let log = &p["AccessLogSetting"];
    let group = referenced_id(&log["DestinationArn"]).expect("access log group");
    assert_eq!(t.type_of(group), Some("AWS::Logs::LogGroup"));
    let format = log["Format"].as_str().expect("a literal Format");
    let fields: Value = serde_json::from_str(format).expect("access log Format is JSON");
    assert!(fields["requestId"].is_string() && fields["status"].is_string());
    for personal in [
        "sourceIp",
        "userAgent",
        "$input",
        "requestOverride",
        "path\"",
    ] {
        assert!(!format.contains(personal), "access log has {personal}");
    }

    // CORS origins are a parameter handed to the functions.
    for id in ["DixaGetUserFunction", "DixaPatchUserFunction"] {
        assert_eq!(
            function(&t, id).props()["Environment"]["Variables"]["DIXA_ALLOWED_ORIGINS"],
            ref_to("DixaAllowedOrigins")
        );
    }
    // `Origin: null` is the actions' opt-in, off by default.
    assert_eq!(
        function(&t, "DixaPatchUserFunction").props()["Environment"]["Variables"]["DIXA_ALLOW_NULL_ORIGIN"],
        ref_to("DixaAllowNullOrigin")
    );
    assert_eq!(t.parameters()["DixaAllowNullOrigin"]["Default"], "false");
}

#[test]
fn buses_and_outputs() {
    let t = infra_tests::template();
    // The partner bus is referenced, never created.
    for (id, bus) in t.of_type("AWS::Events::EventBus") {
        assert!(
            bus["Properties"].get("EventSourceName").is_none()
                && !bus["Properties"]["Name"]
                    .to_string()
                    .contains("Auth0PartnerEventBusName"),
            "{id}: the Auth0 partner bus must not be created by the stack"
        );
    }
    assert_eq!(t.parameters()["Auth0PartnerEventBusName"]["Type"], "String");

    let outputs: Vec<&Value> = t.root["Outputs"]
        .as_object()
        .expect("Outputs")
        .values()
        .map(|o| &o["Value"])
        .collect();
    let referenced = |needle: &Value| outputs.contains(&needle);
    for (id, _) in t.of_type("AWS::SQS::Queue") {
        assert!(referenced(&ref_to(id)), "no output with {id}'s URL");
    }
    assert!(referenced(&ref_to("EmailBus")), "Email bus name output");
    assert!(
        referenced(&ref_to("Auth0PartnerEventBusName")),
        "partner bus name output"
    );
    assert!(
        outputs
            .iter()
            .any(|v| contains_intrinsic(v) && v.to_string().contains("${DixaApi}.execute-api")),
        "API URL output"
    );
}
