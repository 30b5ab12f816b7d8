//! The same rules on both stores: the DynamoDB table on moto (the real SDK client) and the
//! local run's memory. Time is moved on the clock, never slept.

use auth0_events::EmailAddress;
use email_history::{
    Change, ChangedBy, DynamoDbHistory, EmailHistory, HistoryError, HistoryKey, HistoryStore,
    MemoryHistory, Recorded,
};
use lambda_support::{Env, MemoryStores, Platform, SecretString, time::Clock};
use std::{sync::Arc, time::Duration};

const DAY: i64 = 86_400;
const KEY: &str = "email-history-test-key-0123456789abcdef";

fn key() -> HistoryKey {
    HistoryKey::new(SecretString::from(KEY.to_owned())).unwrap()
}

fn address(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

async fn moto_table() -> (aws_sdk_dynamodb::Client, String, test_support::moto::Moto) {
    let moto = test_support::moto::server().await;
    let sdk = test_support::aws::sdk_config(moto.endpoint()).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table = test_support::unique("email-history");
    test_support::aws::create_email_history_table(&dynamo, &table).await;
    (dynamo, table, moto)
}

/// Every item of the table, expired ones included.
async fn items(dynamo: &aws_sdk_dynamodb::Client, table: &str) -> usize {
    let out = dynamo.scan().table_name(table).send().await.unwrap();
    out.items().len()
}

/// The rules on any store; returns how many records the store should hold now (expired ones
/// included, as in a table before TTL runs).
async fn history_follows_the_rules(store: Arc<dyn HistoryStore>) -> usize {
    let clock = Clock::default();
    let history = EmailHistory::new(Arc::clone(&store), key(), 90).with_clock(clock.clone());
    let k = history.key().clone();
    let now = clock.now_s();
    let jane = address("Jane.Doe@example.com");

    // Three changes away from jane's address: two customers' own, one by an agent.
    let by_customer = Change::new(
        &k,
        &jane,
        &address("jane.new@example.org"),
        "auth0|first",
        now - 3 * DAY,
        ChangedBy::Customer,
        "90020261120095811043000000000000006",
    );
    let later = Change::new(
        &k,
        &jane,
        &address("someone@example.net"),
        "auth0|second",
        now - 2 * DAY,
        ChangedBy::Customer,
        "90020261122095811043000000000000007",
    );
    let new = address("agent.set@example.com");
    let by_agent = Change::new(
        &k,
        &jane,
        &new,
        "auth0|second",
        now - DAY,
        ChangedBy::Agent {
            conversation_id: "4711".into(),
        },
        k.agent_source_id("4711", "auth0|second", &new),
    );
    for change in [&by_customer, &later, &by_agent] {
        assert_eq!(history.record(change).await.unwrap(), Recorded::Written);
    }

    // Newest first, every field as written.
    let newest_first = vec![by_agent.clone(), later.clone(), by_customer.clone()];
    assert_eq!(history.changes_from(&jane, 10).await.unwrap(), newest_first);
    assert_eq!(by_agent.new_address_masked, "a***@example.com");

    // Redelivery and replay: the same change writes the same record, not a second one.
    history.record(&by_customer).await.unwrap();
    history.record(&by_agent).await.unwrap();
    assert_eq!(history.changes_from(&jane, 10).await.unwrap(), newest_first);

    // A limit takes the newest.
    assert_eq!(
        history.changes_from(&jane, 2).await.unwrap(),
        newest_first[..2]
    );
    assert!(history.changes_from(&jane, 0).await.unwrap().is_empty());
    // Another address, or the same under another key, has no history.
    assert!(
        history
            .changes_from(&address("jane.new@example.org"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let other_key = HistoryKey::new(SecretString::from("x".repeat(32))).unwrap();
    assert!(
        history
            .changes_of(&other_key.address_key(&jane), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Kept 90 days from the change: one a minute short of it counts until the clock passes it,
    // though the record stays (TTL deletes it later).
    let nearly_expired = Change::new(
        &k,
        &jane,
        &address("old@example.com"),
        "auth0|zeroth",
        now - 90 * DAY + 60,
        ChangedBy::Customer,
        "90020260820095811043000000000000001",
    );
    assert_eq!(
        history.record(&nearly_expired).await.unwrap(),
        Recorded::Written
    );
    assert_eq!(history.changes_from(&jane, 10).await.unwrap().len(), 4);
    assert_eq!(
        history.changes_from(&jane, 10).await.unwrap()[3],
        nearly_expired
    );
    clock.advance(Duration::from_secs(61));
    assert_eq!(history.changes_from(&jane, 10).await.unwrap(), newest_first);

    // A replay of a change older than the retention writes nothing.
    let ancient = Change {
        changed_at: now - 91 * DAY,
        source_id: "90020260819095811043000000000000001".into(),
        ..nearly_expired.clone()
    };
    assert_eq!(
        history.record(&ancient).await.unwrap(),
        Recorded::AlreadyExpired
    );

    // A shorter retention (EMAIL_HISTORY_DAYS lowered) can expire a newer record before older
    // ones: the read passes over it (on DynamoDB, to the next page) to the newest live one.
    let short = EmailHistory::new(store, key(), 1).with_clock(clock.clone());
    let cut_short = Change::new(
        &k,
        &jane,
        &address("brief@example.com"),
        "auth0|third",
        now - DAY + 120,
        ChangedBy::Customer,
        "90020261124095811043000000000000008",
    );
    assert_eq!(short.record(&cut_short).await.unwrap(), Recorded::Written);
    assert_eq!(history.changes_from(&jane, 1).await.unwrap(), [cut_short]);
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        history.changes_from(&jane, 1).await.unwrap(),
        newest_first[..1]
    );
    assert_eq!(history.changes_from(&jane, 10).await.unwrap(), newest_first);

    // A change that would make a bad record is refused, naming the field only.
    let bad = Change {
        source_id: String::new(),
        ..by_customer.clone()
    };
    let err = history.record(&bad).await.unwrap_err();
    assert!(matches!(err, HistoryError::Invalid(_)), "{err}");

    // Nothing a change shows in Debug is an address, masked or not.
    let debug = format!("{:?}", history.changes_from(&jane, 10).await.unwrap());
    assert!(
        test_support::logs::email_addresses(&debug).is_empty(),
        "{debug}"
    );
    for part in ["jane", "agent.set", "someone", "***", "example"] {
        assert!(!debug.contains(part), "{part} in {debug}");
    }
    // by_customer, later, by_agent, nearly_expired, cut_short
    5
}

#[tokio::test]
async fn the_dynamodb_store_follows_the_rules() {
    let (dynamo, table, _moto) = moto_table().await;
    let store = Arc::new(DynamoDbHistory::new(dynamo.clone(), &table));
    let want = history_follows_the_rules(store).await;
    assert_eq!(items(&dynamo, &table).await, want);
}

#[tokio::test]
async fn the_memory_store_follows_the_same_rules() {
    let store = Arc::new(MemoryHistory::default());
    let want = history_follows_the_rules(Arc::clone(&store) as Arc<dyn HistoryStore>).await;
    assert_eq!(store.len(), want);
}

/// The record as DynamoDB holds it: no address in clear, the keys, the TTL attribute.
#[tokio::test]
async fn a_dynamodb_item_holds_no_address_in_clear() {
    let (dynamo, table, _moto) = moto_table().await;
    let history = EmailHistory::new(
        Arc::new(DynamoDbHistory::new(dynamo.clone(), &table)),
        key(),
        30,
    );
    let changed_at = Clock::default().now_s();
    let change = Change::new(
        history.key(),
        &address("jane.doe+shop@example.com"),
        &address("new.address@example.org"),
        "auth0|abc",
        changed_at,
        ChangedBy::Agent {
            conversation_id: "4711".into(),
        },
        "dixa:4711:auth0|abc:34cb93e08385b4a894c40542d2516597",
    );
    assert_eq!(history.record(&change).await.unwrap(), Recorded::Written);

    let out = dynamo.scan().table_name(&table).send().await.unwrap();
    let [item] = out.items() else {
        panic!("want one item, got {}", out.items().len())
    };
    let s = |name: &str| item[name].as_s().unwrap().clone();
    let n = |name: &str| item[name].as_n().unwrap().parse::<i64>().unwrap();
    // The HMAC known answer (see the key module's test).
    assert_eq!(
        s("address_key"),
        "3af25d68cc8936712237b0b09d55cd9613afa27ee15a01e2561126ce29585f61"
    );
    assert_eq!(
        s("change_id"),
        format!("{changed_at:012}#dixa:4711:auth0|abc:34cb93e08385b4a894c40542d2516597")
    );
    assert_eq!(s("change_id").split_once('#').unwrap().0.len(), 12);
    assert_eq!(s("user_id"), "auth0|abc");
    assert_eq!(n("changed_at"), changed_at);
    assert_eq!(s("changed_by"), "agent");
    assert_eq!(s("conversation_id"), "4711");
    assert_eq!(s("new_address_masked"), "n***@example.org");
    assert_eq!(
        s("source_id"),
        "dixa:4711:auth0|abc:34cb93e08385b4a894c40542d2516597"
    );
    assert_eq!(n("expires_at"), changed_at + 30 * DAY);
    assert_eq!(item.len(), 9, "{:?}", item.keys());
    let all = format!("{item:?}");
    assert!(
        test_support::logs::email_addresses(&all).is_empty()
            && !all.contains("jane")
            && !all.contains("new.address"),
        "{all}"
    );
}

fn local_env(table: &str) -> Vec<(String, String)> {
    vec![
        ("EMAIL_HISTORY_TABLE".into(), table.into()),
        ("EMAIL_HISTORY_KEY".into(), KEY.into()),
        ("EMAIL_HISTORY_DAYS".into(), "7".into()),
    ]
}

/// As a function's `bootstrap` builds it in the local run: every container shares the memory
/// store of the table, and the platform's clock decides what expired.
#[tokio::test]
async fn the_local_run_shares_one_memory_store_per_table() {
    let memory = MemoryStores::default();
    let clock = Clock::default();
    let platform = || {
        Platform::local(
            Env::from_pairs(local_env("history")),
            memory.clone(),
            clock.clone(),
        )
    };
    let writer = email_history::history(&platform()).await.unwrap().unwrap();
    let reader = email_history::history(&platform()).await.unwrap().unwrap();
    assert_eq!(writer.keep_days(), 7);
    let jane = address("jane@example.com");
    let change = Change::new(
        writer.key(),
        &jane,
        &address("jane@example.org"),
        "auth0|abc",
        clock.now_s(),
        ChangedBy::Customer,
        "log-1",
    );
    writer.record(&change).await.unwrap();
    assert_eq!(reader.changes_from(&jane, 5).await.unwrap(), [change]);
    assert_eq!(memory.get::<MemoryHistory>("history").len(), 1);
    clock.advance(Duration::from_secs(7 * 86_400));
    assert!(reader.changes_from(&jane, 5).await.unwrap().is_empty());

    // No table: no history.
    let none = Platform::local(Env::default(), memory.clone(), clock.clone());
    assert!(email_history::history(&none).await.unwrap().is_none());
}

/// As a function's `bootstrap` builds it on AWS: the DynamoDB table, through the platform's own
/// SDK configuration.
#[tokio::test]
async fn on_aws_the_history_is_the_dynamodb_table() {
    let (dynamo, table, moto) = moto_table().await;
    let mut pairs = local_env(&table);
    pairs.extend(
        test_support::aws::env_for(moto.endpoint())
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
    );
    let history = email_history::history(&Platform::aws(Env::from_pairs(pairs)))
        .await
        .unwrap()
        .unwrap();
    let jane = address("jane@example.com");
    let change = Change::new(
        history.key(),
        &jane,
        &address("jane@example.org"),
        "auth0|abc",
        Clock::default().now_s(),
        ChangedBy::Customer,
        "log-1",
    );
    history.record(&change).await.unwrap();
    assert_eq!(items(&dynamo, &table).await, 1);
    assert_eq!(history.changes_from(&jane, 5).await.unwrap(), [change]);
}

/// A store that cannot be reached fails with the SDK's error kind or code, and no key.
#[tokio::test]
async fn a_store_error_names_the_operation_and_code_only() {
    let (dynamo, _table, _moto) = moto_table().await;
    let history = EmailHistory::new(
        Arc::new(DynamoDbHistory::new(dynamo, "no-such-table")),
        key(),
        90,
    );
    let jane = address("jane@example.com");
    let err = history.changes_from(&jane, 5).await.unwrap_err();
    assert_eq!(
        err,
        HistoryError::Store {
            operation: "Query",
            code: "ResourceNotFoundException".into()
        }
    );
    let change = Change::new(
        history.key(),
        &jane,
        &address("jane@example.org"),
        "auth0|abc",
        Clock::default().now_s(),
        ChangedBy::Customer,
        "log-1",
    );
    let err = history.record(&change).await.unwrap_err().to_string();
    assert_eq!(
        err,
        "email history PutItem failed: ResourceNotFoundException"
    );
}
