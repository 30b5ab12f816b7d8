//! End to end: every `events/auth0/*.json` sample goes through the local EventBridge endpoint
//! with the real SDK client, is routed by the template's rules to the functions' real handlers,
//! and ends (or not) as emails in the outbox and changes in the sandboxes.

mod common;

use local::hops::What;
use std::collections::BTreeMap;
// Every test of this binary installs a capture: with tracing-core 0.1, a callsite first hit on
// a thread without a subscriber while exactly one scoped subscriber exists is cached as disabled
// for every thread (see `test_support::logs::Logs`). Dropping it checks for addresses too.
use test_support::logs::{assert_no_email_addresses, logs};

/// What each sample must leave in the outbox: `(kind, recipient)`, each exactly once.
fn expected() -> BTreeMap<&'static str, Vec<(&'static str, &'static str)>> {
    BTreeMap::from([
        (
            "fcpr",
            vec![("hybris_password_reset", "legacy.customer@example.com")],
        ),
        ("fcpr_no_email", vec![]),
        (
            "fcpr_uppercase_plus",
            vec![("hybris_password_reset", "legacy.customer+shop@example.com")],
        ),
        ("fp", vec![]),
        (
            "limit_mu",
            vec![("account_blocked", "alex.kim@example.com")],
        ),
        ("limit_mu_no_user", vec![]),
        (
            "limit_sul",
            vec![("account_blocked", "sam.lee@example.com")],
        ),
        (
            "limit_wc",
            vec![("account_blocked", "jane.doe@example.com")],
        ),
        (
            "limit_wc_uppercase_plus",
            vec![("account_blocked", "jane.doe+shop@example.com")],
        ),
        ("limit_wc_username_not_email", vec![]),
        ("malformed_flat_detail", vec![]),
        ("s", vec![]),
        (
            "sce",
            vec![
                ("email_changed_new_address", "new.address@example.org"),
                ("email_changed_old_address", "old.address@example.com"),
            ],
        ),
        (
            "sce_only_new_email",
            vec![("email_changed_new_address", "only.new@example.org")],
        ),
        ("scp", vec![("password_changed", "maria.rossi@example.com")]),
        // Only a user_id: email-transform looks the address up in the Auth0 sandbox.
        (
            "scp_only_user_id",
            vec![("password_changed", "pat.morgan@example.com")],
        ),
        ("unknown_type", vec![]),
    ])
}

#[tokio::test]
async fn every_auth0_sample_ends_as_the_right_emails_exactly_once() {
    let logs = logs();
    let system = common::start().await;
    let client = common::eventbridge(&system).await;

    // Every sample in the folder has an expectation.
    let mut names: Vec<String> = std::fs::read_dir(common::workspace().join("events/auth0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let expected = expected();
    assert_eq!(
        names,
        expected.keys().map(|k| k.to_string()).collect::<Vec<_>>()
    );

    for (name, want) in &expected {
        let before = system.outbox().entries().len();
        let (_, hops) = common::put_sample(&system, &client, name).await;
        let mut got: Vec<(String, String)> = system.outbox().entries()[before..]
            .iter()
            .map(|e| (e.kind.clone(), e.recipient.clone()))
            .collect();
        got.sort();
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, r)| (k.to_string(), r.to_string()))
            .collect();
        let trace = local::hops::tree(&hops);
        assert_eq!(got, want, "{name}: outbox differs; hops:\n{trace}");
        // Nothing failed, except the flat-detail sample never reaching a function at all.
        assert!(
            !hops.iter().any(|h| matches!(h.what, What::Failed { .. })),
            "{name}: an invocation failed:\n{trace}"
        );
    }

    // The outbox holds a readable page and the request JSON per email, numbered in order.
    let entries = system.outbox().entries();
    assert_eq!(
        entries.len(),
        expected.values().map(Vec::len).sum::<usize>()
    );
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.number as usize, i + 1);
        let name = e.html.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            name,
            format!("{:03}-{}-{}.html", i + 1, e.kind, e.recipient),
            "file name"
        );
        let html = std::fs::read_to_string(&e.html).unwrap();
        assert!(
            html.contains(&e.recipient) && html.contains("<table>"),
            "{name}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&e.json).unwrap()).unwrap();
        assert!(json.is_object(), "{name}: request JSON beside the page");
    }
    let sce = entries
        .iter()
        .find(|e| e.kind == "email_changed_old_address")
        .unwrap();
    let html = std::fs::read_to_string(&sce.html).unwrap();
    for needle in [
        // The email as the customer reads it: subject, wording, masked new address, support link.
        "<dd class=\"subject\">The email address for your account has been changed</dd>",
        "n***@example.org",
        "https://shop.example/help",
        // The request metadata, collapsed below it.
        "<summary>Request metadata</summary>",
        "local-email-changed-old-address",
        "security-email-changed-old-address",
    ] {
        assert!(html.contains(needle), "old-address page shows {needle}");
    }
    assert!(
        !html.contains("new.address@example.org"),
        "never the whole new address"
    );
    let index = std::fs::read_to_string(system.outbox().index()).unwrap();
    assert!(
        index.contains("This is now the email address for your account")
            && index.contains("Your account has been blocked"),
        "the index lists every email by subject"
    );

    // The functions' own log lines name no address.
    assert_no_email_addresses(&logs.text());
    assert!(
        logs.text().contains("SendEmail events published"),
        "the capture saw the functions' logs"
    );
    system.shutdown().await;
}

#[tokio::test]
async fn fcpr_starts_the_hybris_reset_and_clears_the_auth0_blocks() {
    let _logs = logs();
    let system = common::start().await;
    let client = common::eventbridge(&system).await;
    let auth0 = system.auth0().unwrap();
    let hybris = system.hybris().unwrap();
    assert_eq!(
        auth0
            .blocks_for_identifier("legacy.customer@example.com")
            .len(),
        1
    );
    let jane_blocks = auth0.blocks_for_identifier("jane.doe@example.com");

    let (_, hops) = common::put_sample(&system, &client, "fcpr").await;

    let resets = hybris.resets();
    assert_eq!(resets.len(), 1);
    assert_eq!(resets[0].uid, "legacy.customer@example.com");
    assert_eq!(resets[0].endpoint, "passwordRestoreToken");
    assert!(resets[0].known);
    assert!(
        auth0
            .blocks_for_identifier("legacy.customer@example.com")
            .is_empty()
    );
    // Only that identifier's blocks.
    assert_eq!(
        auth0.blocks_for_identifier("jane.doe@example.com"),
        jane_blocks
    );
    // The calls, in order, addresses redacted.
    let calls: Vec<String> = hops
        .iter()
        .filter_map(|h| match &h.what {
            What::ProviderCall {
                provider,
                method,
                path,
                status,
                ..
            } => Some(format!("{provider} {method} {path} {status}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        [
            "hybris POST /authorizationserver/oauth/token 200",
            "hybris GET /occ/v2/shop-uk/users/<address>?fields=BASIC 200",
            "hybris POST /occ/v2/shop-uk/passwordRestoreToken 202",
            "auth0 POST /oauth/token 200",
            "auth0 DELETE /api/v2/user-blocks?identifier=<address> 204",
        ]
    );
    let result = hops
        .iter()
        .find_map(|h| match &h.what {
            What::Succeeded { result, .. } => Some(result.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(result["outcome"], "reset_started");
    system.shutdown().await;
}
