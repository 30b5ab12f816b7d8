//! What an invocation answers when it does not fail: the outcomes in docs/emails.md's table.
//!
//! The JSON is the function's response (and what the local run prints as `send-email returned`):
//! `status` names the variant, the other fields follow it.
//!
//! ```json
//! {"status": "sent", "kind": "password_changed", "log_id": "900…", "dedupe_key": "900…:password_changed", "attempts": 1}
//! {"status": "duplicate", "kind": "password_changed", "log_id": "900…", "dedupe_key": "900…:password_changed"}
//! {"status": "skipped", "reason": "repeat_within_window", "kind": "account_blocked", "log_id": "900…", "dedupe_key": "900…:account_blocked"}
//! ```
//!
//! Only ids and classes: never the recipient or the params.

use auth0_events::{DedupeKey, EmailKind, LogId};
use serde::Serialize;

#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Bloomreach accepted the email after `attempts` call(s).
    Sent {
        kind: EmailKind,
        log_id: LogId,
        dedupe_key: DedupeKey,
        attempts: u32,
    },
    /// The same `dedupe_key` was sent before: no call.
    Duplicate {
        kind: EmailKind,
        log_id: LogId,
        dedupe_key: DedupeKey,
    },
    /// Not sent, on purpose: no call.
    Skipped {
        reason: SkipReason,
        kind: EmailKind,
        log_id: LogId,
        dedupe_key: DedupeKey,
    },
}

/// Why an email was not sent although nothing failed.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// An email of this kind went to this recipient within the block window.
    RepeatWithinWindow,
}

impl SkipReason {
    /// The reason as the JSON and the log lines spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::RepeatWithinWindow => "repeat_within_window",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The wire format, pinned: every variant's exact JSON object.
    #[test]
    fn each_outcome_has_its_documented_json() {
        let log_id = LogId::parse("90020261120100000123").unwrap();
        let key = |kind| DedupeKey::for_email(&log_id, kind);
        let cases = [
            (
                Outcome::Sent {
                    kind: EmailKind::EmailChangedOldAddress,
                    log_id: log_id.clone(),
                    dedupe_key: key(EmailKind::EmailChangedOldAddress),
                    attempts: 2,
                },
                json!({
                    "status": "sent",
                    "kind": "email_changed_old_address",
                    "log_id": "90020261120100000123",
                    "dedupe_key": "90020261120100000123:email_changed_old_address",
                    "attempts": 2
                }),
            ),
            (
                Outcome::Duplicate {
                    kind: EmailKind::PasswordChanged,
                    log_id: log_id.clone(),
                    dedupe_key: key(EmailKind::PasswordChanged),
                },
                json!({
                    "status": "duplicate",
                    "kind": "password_changed",
                    "log_id": "90020261120100000123",
                    "dedupe_key": "90020261120100000123:password_changed"
                }),
            ),
            (
                Outcome::Skipped {
                    reason: SkipReason::RepeatWithinWindow,
                    kind: EmailKind::AccountBlocked,
                    log_id: log_id.clone(),
                    dedupe_key: key(EmailKind::AccountBlocked),
                },
                json!({
                    "status": "skipped",
                    "reason": "repeat_within_window",
                    "kind": "account_blocked",
                    "log_id": "90020261120100000123",
                    "dedupe_key": "90020261120100000123:account_blocked"
                }),
            ),
        ];
        for (outcome, expected) in cases {
            assert_eq!(
                serde_json::to_value(&outcome).unwrap(),
                expected,
                "{outcome:?}"
            );
        }
        assert_eq!(
            json!(SkipReason::RepeatWithinWindow),
            SkipReason::RepeatWithinWindow.as_str()
        );
    }

    /// The key order of the serialised text is the documented one (status first).
    #[test]
    fn sent_serialises_in_the_documented_order() {
        let log_id = LogId::parse("9002").unwrap();
        let outcome = Outcome::Sent {
            kind: EmailKind::PasswordChanged,
            dedupe_key: DedupeKey::for_email(&log_id, EmailKind::PasswordChanged),
            log_id,
            attempts: 1,
        };
        assert_eq!(
            serde_json::to_string(&outcome).unwrap(),
            r#"{"status":"sent","kind":"password_changed","log_id":"9002","dedupe_key":"9002:password_changed","attempts":1}"#
        );
    }
}
