//! What an `sce` log records in the email history (crate `email_history`, issue 19): pure, no
//! I/O, no clock. [`crate::handler`] writes the record after the emails are on the bus.
//!
//! Every `sce` with a usable old address, new address, user and date is recorded, also one
//! whose emails are skipped because an agent made the change (`changed_by_support`):
//!
//! | record field | from the log |
//! |---|---|
//! | previous address (kept as its keyed hash) | the old address, `details.body.email` or `newEmail` per `SCE_OLD_EMAIL_FIELD` ([`SceOldField`]) |
//! | new address (kept masked) | the other field; never the Auth0 look-up: the record is the log's alone |
//! | `user_id` | `user_id` |
//! | `changed_at` | `date`, whole seconds: the log's time, never the time it is processed, so a redelivery or a replay writes the same item over itself |
//! | `changed_by` | `customer`, or `agent` for an `sce` of the Dixa functions' Auth0 client (`DIXA_AUTH0_CLIENT_ID`) |
//! | `source_id` | `log_id` |
//!
//! **An agent's change seen in its `sce`.** The log names the Dixa functions' Auth0 client but
//! not the Dixa conversation, and [`ChangedBy::Agent`] needs a non-empty `conversation_id`
//! (`email_history` refuses an agent change without one). Recording it as
//! [`ChangedBy::Customer`] would tell whoever investigates a takeover that the customer made a
//! change an agent made, so it is recorded as an agent change with the conversation id
//! [`UNKNOWN_CONVERSATION`] (`"unknown"`, which no Dixa conversation id is: those are numbers).
//! dixa-patch-user records the same change itself, with the conversation, under its own
//! `source_id`; this record is the one Auth0's log vouches for, and stands in if that write
//! was lost. Telling an agent's `sce` apart needs `DIXA_AUTH0_CLIENT_ID`, as skipping its
//! emails does: unset, it is recorded as the customer's. (Should `email_history` come to allow
//! an agent change without a conversation, this sentinel is the one place to change.)
//!
//! A log the history cannot take records nothing ([`NotRecorded`]: a reason code, logged by
//! `log_id` without the log's data): retrying cannot make a field appear.

use crate::transform::SceOldField;
use auth0_events::{Auth0Event, LogType};
use aws_smithy_types::{DateTime, date_time::Format};
use email_history::{Change, ChangedBy, HistoryError, HistoryKey};

/// The `conversation_id` of an agent's change recorded from its `sce` log, which does not carry
/// the Dixa conversation.
pub const UNKNOWN_CONVERSATION: &str = "unknown";

/// Why an `sce` records nothing. Carries no personal data: safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRecorded {
    /// The old-address field is absent or not an address.
    NoOldAddress,
    /// The new-address field is absent or not an address.
    NoNewAddress,
    /// Old and new address are the same (a verification-status change): nothing changed.
    SameAddress,
    /// No `user_id` (or an empty one).
    NoUserId,
    /// No `date`, or not an RFC 3339 time.
    NoDate,
    /// The record would be refused (`email_history`'s check, naming the field).
    Invalid(&'static str),
}

impl NotRecorded {
    pub fn as_str(&self) -> &'static str {
        match self {
            NotRecorded::NoOldAddress => "no_old_address",
            NotRecorded::NoNewAddress => "no_new_address",
            NotRecorded::SameAddress => "same_address",
            NotRecorded::NoUserId => "no_user_id",
            NotRecorded::NoDate => "no_date",
            NotRecorded::Invalid(_) => "invalid_change",
        }
    }
}

/// The `changed_by` attribute's value for `by`, for log lines.
pub fn changed_by(by: &ChangedBy) -> &'static str {
    match by {
        ChangedBy::Customer => "customer",
        ChangedBy::Agent { .. } => "agent",
    }
}

/// The change `event` records, its addresses hashed and masked with `key`; `None` when it is
/// not an `sce` (only email changes are recorded). `by_support`: the change is the Dixa
/// functions' ([`crate::transform::is_support_change`]).
pub fn sce_change(
    event: &Auth0Event,
    sce_old: SceOldField,
    by_support: bool,
    key: &HistoryKey,
) -> Option<Result<Change, NotRecorded>> {
    let log = &event.log;
    if log.log_type != LogType::Sce {
        return None;
    }
    let (old_key, new_key) = sce_old.keys();
    let address = |field| log.find_address(&[log.details_str(&["body", field])]).ok();
    let change = (|| {
        let old = address(old_key).ok_or(NotRecorded::NoOldAddress)?;
        let new = address(new_key).ok_or(NotRecorded::NoNewAddress)?;
        if old == new {
            return Err(NotRecorded::SameAddress);
        }
        let user_id = log.user_id().ok_or(NotRecorded::NoUserId)?;
        let changed_at = log
            .date
            .as_deref()
            .and_then(|date| DateTime::from_str(date, Format::DateTime).ok())
            .ok_or(NotRecorded::NoDate)?
            .secs();
        let by = if by_support {
            ChangedBy::Agent {
                conversation_id: UNKNOWN_CONVERSATION.to_owned(),
            }
        } else {
            ChangedBy::Customer
        };
        let change = Change::new(
            key,
            &old,
            &new,
            user_id,
            changed_at,
            by,
            event.log_id.as_str(),
        );
        change.check().map_err(|e| match e {
            HistoryError::Invalid(what) => NotRecorded::Invalid(what),
            HistoryError::Store { .. } => NotRecorded::Invalid("refused"),
        })?;
        Ok(change)
    })();
    Some(change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth0_events::EmailAddress;
    use lambda_support::SecretString;
    use serde_json::{Value, json};

    const LOG_ID: &str = "90020261120095811043000000000000006";
    /// 2026-11-20T09:58:11Z.
    const DATE_S: i64 = 1_795_168_691;

    fn key() -> HistoryKey {
        HistoryKey::new(SecretString::from(
            "email-transform-test-key-0123456789abcdef".to_owned(),
        ))
        .unwrap()
    }

    fn address(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn sce(data: Value) -> Auth0Event {
        let mut log = json!({
            "type": "sce",
            "date": "2026-11-20T09:58:11.043Z",
            "client_id": "shop-web",
            "user_id": "auth0|6650f1c2a3b4c5d6e7f80914",
            "details": {"body": {"email": "Old.Address@example.com", "newEmail": "new.address@example.org"}}
        });
        for (k, v) in data.as_object().unwrap() {
            match v {
                Value::Null => log.as_object_mut().unwrap().remove(k),
                v => log.as_object_mut().unwrap().insert(k.clone(), v.clone()),
            };
        }
        Auth0Event::from_value(json!({
            "version": "0", "id": "e", "detail-type": "Auth0 log",
            "source": "aws.partner/auth0.com/shop-prod-1/auth0.logs",
            "detail": {"log_id": LOG_ID, "data": log}
        }))
        .unwrap()
    }

    fn record(event: &Auth0Event, by_support: bool) -> Result<Change, NotRecorded> {
        sce_change(event, SceOldField::Email, by_support, &key()).unwrap()
    }

    #[test]
    fn a_customers_sce_records_the_old_address_hashed_the_new_masked_at_the_logs_time() {
        let change = record(&sce(json!({})), false).unwrap();
        assert_eq!(
            change.previous,
            key().address_key(&address("old.address@example.com"))
        );
        assert_eq!(change.new_address_masked, "n***@example.org");
        assert_eq!(change.user_id, "auth0|6650f1c2a3b4c5d6e7f80914");
        assert_eq!(change.changed_at, DATE_S);
        assert_eq!(change.by, ChangedBy::Customer);
        assert_eq!(change.source_id, LOG_ID);
        // The same log gives the same record (its sort key included).
        assert_eq!(record(&sce(json!({})), false).unwrap(), change);
        assert_eq!(change.change_id(), format!("00{DATE_S}#{LOG_ID}"));
    }

    #[test]
    fn an_agents_sce_is_an_agent_change_in_an_unknown_conversation() {
        let change = record(&sce(json!({})), true).unwrap();
        assert_eq!(
            change.by,
            ChangedBy::Agent {
                conversation_id: UNKNOWN_CONVERSATION.to_owned()
            }
        );
        assert_eq!(change.source_id, LOG_ID);
        assert_eq!(changed_by(&change.by), "agent");
        assert_eq!(changed_by(&ChangedBy::Customer), "customer");
    }

    #[test]
    fn the_old_address_field_follows_the_setting() {
        let event = sce(json!({}));
        let change = sce_change(&event, SceOldField::NewEmail, false, &key())
            .unwrap()
            .unwrap();
        assert_eq!(
            change.previous,
            key().address_key(&address("new.address@example.org"))
        );
        assert_eq!(change.new_address_masked, "o***@example.com");
    }

    #[test]
    fn a_log_the_history_cannot_take_records_nothing_and_says_why() {
        let body = |b: Value| json!({"details": {"body": b}});
        for (data, why) in [
            (
                body(json!({"newEmail": "new.address@example.org"})),
                NotRecorded::NoOldAddress,
            ),
            (
                body(json!({"email": "jane", "newEmail": "new.address@example.org"})),
                NotRecorded::NoOldAddress,
            ),
            (
                body(json!({"email": "old.address@example.com"})),
                NotRecorded::NoNewAddress,
            ),
            (
                body(json!({"email": "Jane@example.com", "newEmail": "jane@EXAMPLE.com"})),
                NotRecorded::SameAddress,
            ),
            (json!({"user_id": null}), NotRecorded::NoUserId),
            (json!({"user_id": ""}), NotRecorded::NoUserId),
            (json!({"date": null}), NotRecorded::NoDate),
            (json!({"date": "20 November 2026"}), NotRecorded::NoDate),
            (
                json!({"date": "1969-12-31T23:59:59Z"}),
                NotRecorded::Invalid("changed_at is out of range"),
            ),
            (
                json!({"user_id": "auth0|a\nb"}),
                NotRecorded::Invalid("user_id is empty or has control characters"),
            ),
        ] {
            assert_eq!(record(&sce(data.clone()), false), Err(why), "{data}");
        }
        let reasons: Vec<&str> = [
            NotRecorded::NoOldAddress,
            NotRecorded::NoNewAddress,
            NotRecorded::SameAddress,
            NotRecorded::NoUserId,
            NotRecorded::NoDate,
            NotRecorded::Invalid("x"),
        ]
        .iter()
        .map(NotRecorded::as_str)
        .collect();
        assert_eq!(
            reasons,
            [
                "no_old_address",
                "no_new_address",
                "same_address",
                "no_user_id",
                "no_date",
                "invalid_change"
            ]
        );
    }

    #[test]
    fn only_an_sce_is_recorded() {
        let mut event = sce(json!({}));
        event.log.log_type = LogType::Scp;
        assert_eq!(sce_change(&event, SceOldField::Email, false, &key()), None);
    }
}
