//! Every Auth0 sample in `events/auth0/` → exactly the SendEmail details (or skips) expected.
//! Pure: the transform is called as a plain function, no I/O beyond reading the samples.

use auth0_events::{Auth0Event, MalformedEvent};
use auth0_events::{EmailAddress, EmailKind};
use email_transform::transform::{SceOldField, Skip, SkipReason, lookup_user_id, transform};
use serde_json::{Value, json};
use std::{collections::BTreeSet, path::PathBuf};

const T: &str = "2026-11-20T09:58:11.043Z";

fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/auth0")
}

fn load(name: &str) -> Value {
    let path = samples_dir().join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn email(kind: &str, to: &str, log: &str, log_type: &str, params: Value) -> Value {
    json!({"version": 1, "kind": kind, "recipient": to, "params": params,
           "log_id": log, "log_type": log_type, "dedupe_key": format!("{log}:{kind}")})
}

enum Expect {
    Emails(Vec<Value>, Vec<&'static str>),
    Malformed(MalformedEvent),
}

fn id(n: u32) -> String {
    format!("900202611200958110430000000000000{n:02}")
}

fn expectations() -> Vec<(&'static str, Expect)> {
    use Expect::*;
    let t = json!({"occurred_at": T});
    vec![
        (
            "limit_wc",
            Emails(
                vec![email(
                    "account_blocked",
                    "jane.doe@example.com",
                    &id(1),
                    "limit_wc",
                    t.clone(),
                )],
                vec![],
            ),
        ),
        (
            "limit_sul",
            Emails(
                vec![email(
                    "account_blocked",
                    "sam.lee@example.com",
                    &id(2),
                    "limit_sul",
                    t.clone(),
                )],
                vec![],
            ),
        ),
        (
            "limit_mu",
            Emails(
                vec![email(
                    "account_blocked",
                    "alex.kim@example.com",
                    &id(3),
                    "limit_mu",
                    t.clone(),
                )],
                vec![],
            ),
        ),
        ("limit_mu_no_user", Emails(vec![], vec!["no_address"])),
        (
            "scp",
            Emails(
                vec![email(
                    "password_changed",
                    "maria.rossi@example.com",
                    &id(5),
                    "scp",
                    t.clone(),
                )],
                vec![],
            ),
        ),
        (
            "sce",
            Emails(
                vec![
                    email(
                        "email_changed_old_address",
                        "old.address@example.com",
                        &id(6),
                        "sce",
                        json!({"occurred_at": T, "new_email_masked": "n***@example.org"}),
                    ),
                    email(
                        "email_changed_new_address",
                        "new.address@example.org",
                        &id(6),
                        "sce",
                        t.clone(),
                    ),
                ],
                vec![],
            ),
        ),
        ("fcpr", Emails(vec![], vec!["unhandled_type"])),
        (
            "fcpr_uppercase_plus",
            Emails(vec![], vec!["unhandled_type"]),
        ),
        ("fcpr_no_email", Emails(vec![], vec!["unhandled_type"])),
        (
            "limit_wc_uppercase_plus",
            Emails(
                vec![email(
                    "account_blocked",
                    "jane.doe+shop@example.com",
                    &id(8),
                    "limit_wc",
                    t.clone(),
                )],
                vec![],
            ),
        ),
        (
            "limit_wc_username_not_email",
            Emails(vec![], vec!["invalid_address"]),
        ),
        ("scp_only_user_id", Emails(vec![], vec!["only_user_id"])),
        (
            "sce_only_new_email",
            Emails(
                vec![email(
                    "email_changed_new_address",
                    "only.new@example.org",
                    &id(11),
                    "sce",
                    t.clone(),
                )],
                vec!["only_user_id"],
            ),
        ),
        ("unknown_type", Emails(vec![], vec!["unhandled_type"])),
        ("s", Emails(vec![], vec!["unhandled_type"])),
        ("fp", Emails(vec![], vec!["unhandled_type"])),
        (
            "malformed_flat_detail",
            Malformed(MalformedEvent::MissingData),
        ),
    ]
}

#[test]
fn every_sample_maps_to_exactly_the_expected_emails() {
    let table = expectations();
    for (name, expect) in &table {
        let parsed = Auth0Event::from_value(load(name));
        match expect {
            Expect::Malformed(want) => {
                assert_eq!(parsed.as_ref().err(), Some(want), "{name}");
            }
            Expect::Emails(want_emails, want_skips) => {
                let event = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
                let out = transform(&event, SceOldField::Email, None);
                let got: Vec<Value> = out
                    .emails
                    .iter()
                    .map(|e| serde_json::to_value(e).unwrap())
                    .collect();
                assert_eq!(&got, want_emails, "{name}: emails");
                let skips: Vec<&str> = out.skipped.iter().map(|s| s.reason.as_str()).collect();
                assert_eq!(&skips, want_skips, "{name}: skips");
            }
        }
    }
    // A sample added without an expectation fails here rather than going unchecked.
    let on_disk: BTreeSet<String> = std::fs::read_dir(samples_dir())
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let listed: BTreeSet<String> = table.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        on_disk, listed,
        "events/auth0 and this table must list the same samples"
    );
}

#[test]
fn sce_field_mapping_is_configurable() {
    let event = Auth0Event::from_value(load("sce")).unwrap();
    let out = transform(&event, SceOldField::NewEmail, None);
    let pairs: Vec<(&str, &str)> = out
        .emails
        .iter()
        .map(|e| (e.kind.as_str(), e.recipient.as_str()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("email_changed_old_address", "new.address@example.org"),
            ("email_changed_new_address", "old.address@example.com"),
        ]
    );
    assert_eq!(
        out.emails[0].params.new_email_masked.as_deref(),
        Some("o***@example.com")
    );
}

/// Auth0's change-email hook also logs `sce` when only the verification status changes
/// (`verify` / `email_verified` in the body): nothing changed, so nothing is sent.
#[test]
fn same_old_and_new_address_sends_nothing() {
    let mut v = load("sce");
    v["detail"]["data"]["details"]["body"]["newEmail"] = json!("OLD.address@example.com");
    v["detail"]["data"]["details"]["body"]["verify"] = json!(false);
    v["detail"]["data"]["details"]["body"]["email_verified"] = json!(true);
    let out = transform(
        &Auth0Event::from_value(v).unwrap(),
        SceOldField::Email,
        None,
    );
    assert_eq!(out.emails, vec![]);
    assert_eq!(
        out.skipped,
        vec![
            Skip {
                kind: Some(EmailKind::EmailChangedOldAddress),
                reason: SkipReason::SameAddress
            },
            Skip {
                kind: Some(EmailKind::EmailChangedNewAddress),
                reason: SkipReason::SameAddress
            },
        ]
    );
}

#[test]
fn scp_falls_back_to_user_name() {
    let mut v = load("scp");
    v["detail"]["data"]["details"] = json!({});
    let out = transform(
        &Auth0Event::from_value(v).unwrap(),
        SceOldField::Email,
        None,
    );
    assert_eq!(out.emails[0].recipient.as_str(), "maria.rossi@example.com");
}

#[test]
fn redelivery_gives_the_same_dedupe_keys() {
    // A redelivery has a new envelope id but the same Auth0 log_id.
    let first = load("sce");
    let mut again = first.clone();
    again["id"] = json!("00000000-0000-4000-8000-000000000000");
    let keys = |v: Value| -> Vec<String> {
        transform(
            &Auth0Event::from_value(v).unwrap(),
            SceOldField::Email,
            None,
        )
        .emails
        .into_iter()
        .map(|e| e.dedupe_key.to_string())
        .collect()
    };
    assert_eq!(keys(first), keys(again));
}

#[test]
fn a_looked_up_address_fills_only_what_the_log_lacks() {
    let looked_up = EmailAddress::parse("From.Auth0@example.com").unwrap();
    // scp with only a user_id: worth a look-up, and the looked-up address is used.
    let event = Auth0Event::from_value(load("scp_only_user_id")).unwrap();
    let first = transform(&event, SceOldField::Email, None);
    assert_eq!(
        lookup_user_id(&event, &first),
        Some("auth0|6650f1c2a3b4c5d6e7f80915")
    );
    let out = transform(&event, SceOldField::Email, Some(&looked_up));
    assert_eq!(out.emails.len(), 1);
    assert_eq!(out.emails[0].recipient.as_str(), "from.auth0@example.com");

    // A log whose address is in the log does not need (or use) a look-up.
    let event = Auth0Event::from_value(load("scp")).unwrap();
    assert_eq!(
        lookup_user_id(&event, &transform(&event, SceOldField::Email, None)),
        None
    );
    let out = transform(&event, SceOldField::Email, Some(&looked_up));
    assert_eq!(out.emails[0].recipient.as_str(), "maria.rossi@example.com");

    // sce missing its old address: Auth0 only knows the new one, so no look-up for it.
    let mut v = load("sce");
    v["detail"]["data"]["details"]["body"] = json!({"newEmail": "new.address@example.org"});
    let event = Auth0Event::from_value(v).unwrap();
    assert_eq!(
        lookup_user_id(&event, &transform(&event, SceOldField::Email, None)),
        None
    );

    // No user_id: nothing to look up.
    let event = Auth0Event::from_value(load("limit_mu_no_user")).unwrap();
    assert_eq!(
        lookup_user_id(&event, &transform(&event, SceOldField::Email, None)),
        None
    );
}
