//! What an invocation answers when it does not fail: the log, the emails put on the Email bus
//! and why any were not.
//!
//! ```json
//! {"log_id": "900…", "log_type": "sce", "published": ["email_changed_old_address", "email_changed_new_address"], "skipped": []}
//! ```
//!
//! Only ids, kinds and reasons: never an address.

use crate::transform::SkipReason;
use auth0_events::{EmailKind, LogId, LogType};
use serde::{Serialize, Serializer};

#[derive(Debug, Serialize, PartialEq)]
pub struct Outcome {
    pub log_id: LogId,
    /// The Auth0 log type code, as logged (`sce`, or a code this function does not email about).
    pub log_type: LogType,
    /// The kinds of the SendEmail events put on the bus, in order.
    pub published: Vec<EmailKind>,
    /// Why emails were not produced, as codes (`no_address`, `unhandled_type`, ...).
    #[serde(serialize_with = "reason_codes")]
    pub skipped: Vec<SkipReason>,
}

fn reason_codes<S: Serializer>(reasons: &[SkipReason], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(reasons.iter().map(SkipReason::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth0_events::EmailAddressError;
    use serde_json::json;

    /// The wire format, pinned: the exact JSON object, with and without emails and skips.
    #[test]
    fn the_outcome_has_its_documented_json() {
        let log_id = LogId::parse("90020261120095811043000000000000006").unwrap();
        let cases = [
            (
                Outcome {
                    log_id: log_id.clone(),
                    log_type: LogType::Sce,
                    published: vec![
                        EmailKind::EmailChangedOldAddress,
                        EmailKind::EmailChangedNewAddress,
                    ],
                    skipped: vec![],
                },
                json!({
                    "log_id": "90020261120095811043000000000000006",
                    "log_type": "sce",
                    "published": ["email_changed_old_address", "email_changed_new_address"],
                    "skipped": []
                }),
            ),
            (
                Outcome {
                    log_id: log_id.clone(),
                    log_type: LogType::Scp,
                    published: vec![EmailKind::PasswordChanged],
                    skipped: vec![SkipReason::InvalidAddress(EmailAddressError::BadShape)],
                },
                json!({
                    "log_id": "90020261120095811043000000000000006",
                    "log_type": "scp",
                    "published": ["password_changed"],
                    "skipped": ["invalid_address"]
                }),
            ),
            (
                Outcome {
                    log_id: log_id.clone(),
                    log_type: LogType::from("gd_auth_succeed"),
                    published: vec![],
                    skipped: vec![SkipReason::UnhandledType],
                },
                json!({
                    "log_id": "90020261120095811043000000000000006",
                    "log_type": "gd_auth_succeed",
                    "published": [],
                    "skipped": ["unhandled_type"]
                }),
            ),
            (
                Outcome {
                    log_id,
                    log_type: LogType::LimitWc,
                    published: vec![],
                    skipped: vec![
                        SkipReason::NoAddress,
                        SkipReason::OnlyUserId,
                        SkipReason::SameAddress,
                        SkipReason::ChangedBySupport,
                    ],
                },
                json!({
                    "log_id": "90020261120095811043000000000000006",
                    "log_type": "limit_wc",
                    "published": [],
                    "skipped": ["no_address", "only_user_id", "same_address", "changed_by_support"]
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
    }
}
