//! A Bloomreach sandbox limited low: a handful of emails put at once still all arrive, each
//! exactly once, because send-email reads the 429's `Retry-After`, backs off and retries
//! within its deadline; the sandbox's counters show the limit held.

mod common;

use local::{
    hops::What,
    sandbox::rate::{RateClock, RateLimit},
};
use serde_json::Value;
use std::{num::NonZeroU32, time::Duration};
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
    let system = common::start_with(options).await;
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
    let emails = common::emails_of(&system, "password_changed");
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

/// Issue 20's storm: Bloomreach refuses every send for 30 minutes (here a thousandth of it, the
/// template's visibility timeout and receive count scaled alike), then recovers. Each email goes
/// back to the queue at every refusal and comes again after the visibility timeout; none runs
/// out of receives (20 × 180 s outlast 30 minutes), so every email is sent once and the
/// dead-letter queue stays empty.
#[tokio::test]
async fn a_half_hour_bloomreach_storm_ends_with_every_email_sent_once_and_none_dead_lettered() {
    let _logs = logs();
    let mut options = common::options();
    // One attempt per receive: send-email's own back-off runs in real seconds, which a scaled
    // storm cannot hold. The storm is counted in receives, as the template's numbers are.
    options
        .function_env
        .push(("send-email".into(), "SEND_MAX_ATTEMPTS".into(), "1".into()));
    let storm = Duration::from_secs(30 * 60).mul_f64(options.time_scale);
    let system = common::start_with(options).await;
    let client = common::eventbridge(&system).await;
    let limiter = system.bloomreach().expect("the sandbox").rate().clone();
    // The storm: a limit on a clock that does not move, its one token taken.
    limiter.set_clock(RateClock::manual(Duration::from_secs(1_780_000_000)));
    limiter.set_limit(NonZeroU32::new(1).map(RateLimit::per_second));
    limiter.check();
    let ends = {
        let limiter = limiter.clone();
        tokio::spawn(async move {
            tokio::time::sleep(storm).await;
            limiter.set_limit(None);
        })
    };

    let logs: Vec<Value> = (1..=EMAILS).map(|n| scp_log(100 + n)).collect();
    let (_, hops) = common::put_all(&system, &client, &logs).await;
    ends.await.expect("the storm ends");

    let emails = common::emails_of(&system, "password_changed");
    assert_eq!(emails, EMAILS as usize, "every email, once");
    // Every record went back to the queue several times, never to the dead-letter queue.
    let receives: Vec<u64> = hops
        .iter()
        .filter_map(|h| match &h.what {
            What::Failed { function, then, .. } if function == "send-email" => {
                then.as_deref().and_then(|t| {
                    let at = t.find("(receive ")? + "(receive ".len();
                    t[at..].split(' ').next()?.parse().ok()
                })
            }
            _ => None,
        })
        .collect();
    let most = receives.iter().copied().max().unwrap_or(0);
    assert!(
        (3..20).contains(&most),
        "the storm outlasted several visibility timeouts and no record ran out: {receives:?}"
    );
    assert!(
        !hops
            .iter()
            .any(|h| matches!(h.what, What::DeadLettered { .. })),
        "nothing dead-lettered"
    );
    let depth = system
        .queues()
        .into_iter()
        .find(|q| q.name == "SendEmailFailureQueue")
        .map(|q| (q.visible, q.in_flight));
    assert_eq!(depth, Some((0, 0)));
    let stats = limiter.stats();
    // The emails and the token taken to start the storm; a batch's first refusal hands the
    // rest back untried, so each receive of the batch meets one refusal.
    assert_eq!(stats.accepted, u64::from(EMAILS) + 1, "{stats:?}");
    assert!(stats.refused >= 3, "{stats:?}");
}
