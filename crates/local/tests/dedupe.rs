//! Dedupe and the block window run locally as in production: send-email is built by its own
//! `bootstrap` from the template's settings, and its dedupe logic runs over the in-memory store
//! (the store's rules are tested on both stores in send-email's own tests).

mod common;

use local::{LocalSystem, hops::What};
use send_email::dedupe::MemoryStore;
use serde_json::Value;
use std::time::Duration;
use test_support::logs::logs;

/// The store the template names (`DEDUPE_TABLE_NAME: !Ref SendEmailDedupeTable`).
const DEDUPE_TABLE: &str = "SendEmailDedupeTable";

fn send_email_results(hops: &[local::hops::Hop]) -> Vec<String> {
    hops.iter()
        .filter_map(|h| match &h.what {
            What::Succeeded {
                function, result, ..
            } if function == "send-email" => result["status"].as_str().map(str::to_owned),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_same_log_sent_twice_gives_one_email_and_a_duplicate() {
    let _logs = logs();
    let system = common::start().await;
    let client = common::eventbridge(&system).await;

    let (_, first) = common::put_sample(&system, &client, "scp").await;
    let (_, second) = common::put_sample(&system, &client, "scp").await;

    assert_eq!(send_email_results(&first), ["sent"]);
    assert_eq!(send_email_results(&second), ["duplicate"]);
    assert_eq!(
        common::emails_of(&system, "password_changed"),
        1,
        "one email for one log, however often it arrives"
    );
    assert_eq!(system.memory().get::<MemoryStore>(DEDUPE_TABLE).len(), 1);
}

/// The `limit_wc` sample as another log (its own `log_id`) for the same address.
fn block_log(n: u32) -> Value {
    common::sample_as_log("limit_wc", "9002026112009581104300000000000", n)
}

async fn put(
    system: &LocalSystem,
    client: &aws_sdk_eventbridge::Client,
    log: &Value,
) -> Vec<String> {
    send_email_results(&common::put(system, client, log).await.1)
}

/// Production sends one `account_blocked` email per address per `BLOCKED_EMAIL_WINDOW_MINUTES`
/// (60 in the template); so does the local run, which reads the same template.
#[tokio::test]
async fn two_block_logs_for_one_address_within_the_window_give_one_email() {
    let _logs = logs();
    let system = common::start().await;
    let client = common::eventbridge(&system).await;

    assert_eq!(put(&system, &client, &block_log(1)).await, ["sent"]);
    assert_eq!(put(&system, &client, &block_log(2)).await, ["skipped"]);
    assert_eq!(common::emails_of(&system, "account_blocked"), 1);

    // The window is the template's 60 minutes, on the functions' clock.
    system.clock().advance(Duration::from_secs(61 * 60));
    assert_eq!(put(&system, &client, &block_log(3)).await, ["sent"]);
    assert_eq!(common::emails_of(&system, "account_blocked"), 2);
}

/// A function's setting comes from the template, as deployed: with the template's default
/// changed (and nothing in `local` changed), the local run follows it.
#[tokio::test]
async fn a_setting_changed_in_the_template_is_followed_locally() {
    let _logs = logs();
    let template =
        std::fs::read_to_string(common::workspace().join("infra/template.yaml")).expect("template");
    let parameter = "  BlockedEmailWindowMinutes:\n";
    let at = template.find(parameter).expect("the window parameter") + parameter.len();
    let default_at = at + template[at..].find("Default: 60").expect("its default");
    let changed = format!(
        "{}Default: 0{}",
        &template[..default_at],
        &template[default_at + "Default: 60".len()..]
    );
    let path = common::temp_dir("template").join("template.yaml");
    std::fs::write(&path, changed).expect("write template");
    let mut options = common::options();
    options.template = path;
    let system = LocalSystem::start(options).await.expect("starts");
    let client = common::eventbridge(&system).await;

    assert_eq!(put(&system, &client, &block_log(1)).await, ["sent"]);
    assert_eq!(put(&system, &client, &block_log(2)).await, ["sent"]);
    assert_eq!(common::emails_of(&system, "account_blocked"), 2);
}

/// The `fcpr` sample (a customer only in Hybris) as another log for the same identifier.
fn fcpr_log(n: u32) -> Value {
    common::sample_as_log("fcpr", "9002026112009581104399000000000", n)
}

/// hybris-reset-password's outcomes (`outcome` or `outcome/reason`) and its Hybris look-ups.
fn hybris_results(hops: &[local::hops::Hop]) -> (Vec<String>, usize) {
    let outcomes = hops
        .iter()
        .filter_map(|h| match &h.what {
            What::Succeeded {
                function, result, ..
            } if function == "hybris-reset-password" => Some(match result["reason"].as_str() {
                Some(reason) => format!("{}/{reason}", result["outcome"].as_str()?),
                None => result["outcome"].as_str()?.to_owned(),
            }),
            _ => None,
        })
        .collect();
    let look_ups = hops
        .iter()
        .filter(|h| {
            matches!(&h.what, What::ProviderCall { provider, method, path, .. }
                if provider == "hybris" && method == "GET" && path.contains("/users/"))
        })
        .count();
    (outcomes, look_ups)
}

/// Production starts one Hybris reset per identifier per `RESET_WINDOW_MINUTES` (15 in the
/// template), in the table send-email dedupes with; so does the local run. Thirty "forgot
/// password" for one customer, ten at a time: one look-up, one reset email, one unblock.
#[tokio::test]
async fn a_flood_of_fcpr_for_one_customer_is_one_hybris_reset() {
    let _logs = logs();
    let system = common::start().await;
    let client = common::eventbridge(&system).await;
    let hybris = system.hybris().expect("the Hybris sandbox");

    let mut outcomes = Vec::new();
    let mut look_ups = 0;
    for batch in 0..3 {
        let logs: Vec<Value> = (1..=10).map(|n| fcpr_log(batch * 10 + n)).collect();
        let (o, l) = hybris_results(&common::put_all(&system, &client, &logs).await.1);
        outcomes.extend(o);
        look_ups += l;
    }
    outcomes.sort();
    let mut want = vec!["reset_started".to_owned()];
    want.extend(std::iter::repeat_n(
        "skipped/repeat_within_window".to_owned(),
        29,
    ));
    want.sort();
    assert_eq!(outcomes, want);
    assert_eq!(look_ups, 1, "the repeats make no Hybris call");
    assert_eq!(hybris.resets().len(), 1);
    assert_eq!(
        system.memory().get::<MemoryStore>(DEDUPE_TABLE).len(),
        1,
        "one window record"
    );

    // After the window, the customer can ask again.
    system.clock().advance(Duration::from_secs(16 * 60));
    let (outcomes, _) = hybris_results(&common::put(&system, &client, &fcpr_log(31)).await.1);
    assert_eq!(outcomes, ["reset_started"]);
    assert_eq!(hybris.resets().len(), 2);
}
