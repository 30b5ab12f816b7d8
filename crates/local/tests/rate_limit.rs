//! A Bloomreach sandbox limited low: a handful of emails put at once still all arrive, each
//! exactly once, because send-email reads the 429's `Retry-After`, backs off and retries
//! within its deadline; the sandbox's counters show the limit held.

mod common;

use local::{hops::What, sandbox::rate::RateLimit};
use serde_json::Value;
use std::num::NonZeroU32;
use test_support::logs::logs;

/// Emails put at once, and the limit (requests a second, bursts of as many).
const EMAILS: u32 = 5;
const RPS: u32 = 2;

/// The `scp` sample as another log (its own `log_id`): one `password_changed` email each.
fn scp_log(n: u32) -> Value {
    common::sample_as_log("scp", "9002026112009581104300000000001", n)
}

#[tokio::test]
async fn emails_beyond_bloomreachs_limit_wait_and_all_arrive_exactly_once() {
    let _logs = logs();
    let mut options = common::options();
    // SQS's visibility timeout as deployed (180 s): scaled down it would be shorter than a
    // Retry-After, and a batch still being retried would be received again (dedupe would keep
    // it to one email, but this test is about the back-off alone).
    options.time_scale = 1.0;
    options.rate_limits.bloomreach = NonZeroU32::new(RPS).map(RateLimit::per_second);
    let system = local::LocalSystem::start(options)
        .await
        .expect("local system starts");
    let client = common::eventbridge(&system).await;

    let logs: Vec<Value> = (1..=EMAILS).map(scp_log).collect();
    let (_, hops) = common::put_all(&system, &client, &logs).await;

    let sent: Vec<Value> = hops
        .into_iter()
        .filter_map(|h| match h.what {
            What::Succeeded {
                function, result, ..
            } if function == "send-email" => Some(result),
            _ => None,
        })
        .collect();
    let emails = system
        .outbox()
        .entries()
        .into_iter()
        .filter(|e| e.kind == "password_changed")
        .count();
    let stats = system.bloomreach().expect("the sandbox").rate().stats();
    assert_eq!(
        emails, EMAILS as usize,
        "every email once; send-email answered {sent:?}"
    );
    // Within each invocation: no record came back, none was a duplicate.
    let statuses: Vec<&str> = sent.iter().filter_map(|r| r["status"].as_str()).collect();
    assert_eq!(statuses, ["sent"; EMAILS as usize], "{sent:?}");
    // Every send Bloomreach let through was an email recorded, none twice; some were refused
    // and came again after Retry-After.
    assert_eq!(stats.accepted, u64::from(EMAILS), "{stats:?}");
    assert!(stats.refused >= 1, "the limit was reached: {stats:?}");
    // A full bucket, then a second's refill: never more in one second.
    assert!(
        stats.peak_accepted_per_second <= u64::from(2 * RPS),
        "{stats:?}"
    );
    assert_eq!(stats.limit_per_second, Some(RPS));
}
