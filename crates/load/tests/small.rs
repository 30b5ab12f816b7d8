//! The load scenario's own code, small: a burst of blocks over a few addresses, a flood of
//! `fcpr` for a few customers, a few `scp` and `sce`, through the local system with the
//! Bloomreach and Auth0 sandboxes rate-limited. Everything the full run promises holds here
//! too: every email once, one reset per customer, nothing parked, no provider above its cap.

use load::{Progress, Scenario};
use std::{
    path::Path,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

#[derive(Default)]
struct Seen {
    put: AtomicUsize,
    sent: AtomicUsize,
}

impl Progress for Seen {
    fn put(&self, done: usize, _of: usize) {
        self.put.store(done, Ordering::Relaxed);
    }
    fn sent(&self, done: usize, _of: usize) {
        self.sent.store(done, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_burst_drains_with_every_email_once_and_nothing_parked() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scenario = Scenario {
        blocks: 200,
        blocked_addresses: 20,
        fcpr: 40,
        fcpr_identifiers: 4,
        scp: 5,
        sce: 3,
        put_rate: None,
        bloomreach_rps: Some(20),
        auth0_rps: Some(16),
        hybris_rps: None,
        time_scale: 0.01,
        drain_within: Duration::from_secs(60),
    };
    let seen = Seen::default();
    let report = load::run(&root, &scenario, &seen).await.unwrap();
    let lines = report.lines(&scenario).join("\n");
    assert!(
        report.problems(&scenario).is_empty(),
        "{:?}\n{lines}",
        report.problems(&scenario)
    );
    assert_eq!(report.events_in, 248, "{lines}");
    assert_eq!(report.emails_sent, 20 + 5 + 2 * 3, "{lines}");
    assert_eq!(report.duplicates, 0, "{lines}");
    assert_eq!(report.resets, 4, "{lines}");
    assert_eq!(report.parked_total(), 0, "{lines}");
    assert!(
        report.providers["bloomreach"].peak_accepted_per_second <= 20,
        "{lines}"
    );
    assert!(report.providers["bloomreach"].accepted >= 31, "{lines}");
    // The progress was told of every event put and every email sent.
    assert_eq!(seen.put.load(Ordering::Relaxed), 248);
    assert_eq!(seen.sent.load(Ordering::Relaxed), 31);
    println!("{lines}");
}
