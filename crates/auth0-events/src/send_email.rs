//! The SendEmail event contract: what email-transform puts on the Email bus and send-email reads.
//!
//! ```json
//! {
//!   "source": "security-emails.email-transform",
//!   "detail-type": "SendEmail",
//!   "detail": {
//!     "version": 1,
//!     "kind": "email_changed_old_address",
//!     "recipient": "jane@example.com",
//!     "params": {"occurred_at": "2026-11-20T10:00:00.000Z", "new_email_masked": "j***@example.org"},
//!     "log_id": "90020261120100000123",
//!     "log_type": "sce",
//!     "dedupe_key": "90020261120100000123:email_changed_old_address"
//!   }
//! }
//! ```
//!
//! - `version` is bumped on any breaking change; readers refuse versions they do not know.
//!   Within a version, fields may be added: readers ignore unknown fields.
//! - `kind` picks the template (and campaign) in send-email.
//! - `recipient` is lower-cased ([`EmailAddress`]).
//! - `params` are facts about the event for the template; send-email adds its own links.
//! - `dedupe_key` is `<log_id>:<kind>`: the same for every redelivery or replay of one Auth0 log,
//!   distinct for the two emails of one email change.
//! - `source` names the contract, not the producer: both producers put it (the Email bus rule
//!   and the IAM conditions match on it).
//!
//! Two producers:
//!
//! | producer | for | `log_id` | `log_type` |
//! |---|---|---|---|
//! | email-transform | an Auth0 log | the log's `log_id` | the log's type code (`sce`, `scp`, `limit_wc`, ...) |
//! | dixa-patch-user | an email change an agent made ([`EmailChange`]) | synthesized: `dixa` + 40 hex digits of a hash of the change, the same for a retry of the same change | [`SUPPORT_CHANGE_LOG_TYPE`] (`dixa_change_email`): no Auth0 log is behind it |
//!
//! send-email treats both alike; `log_type` reaches the templates only as `event_type`, which
//! the two email-change templates ignore.

use crate::{DedupeKey, EmailAddress, LogId, LogType};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const SOURCE: &str = "security-emails.email-transform";
pub const DETAIL_TYPE: &str = "SendEmail";
pub const CONTRACT_VERSION: u32 = 1;
/// `log_type` of the emails dixa-patch-user puts for an email change an agent made: not an
/// Auth0 log type code, so nobody reads it as one.
pub const SUPPORT_CHANGE_LOG_TYPE: &str = "dixa_change_email";

/// Which email to send; one template per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// Brute-force protection blocked the account (`limit_wc`, `limit_sul`, `limit_mu`).
    AccountBlocked,
    /// The password was changed (`scp`).
    PasswordChanged,
    /// To the previous address after an email change (`sce`).
    EmailChangedOldAddress,
    /// To the new address after an email change (`sce`).
    EmailChangedNewAddress,
}

impl EmailKind {
    pub const ALL: [EmailKind; 4] = [
        EmailKind::AccountBlocked,
        EmailKind::PasswordChanged,
        EmailKind::EmailChangedOldAddress,
        EmailKind::EmailChangedNewAddress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::AccountBlocked => "account_blocked",
            EmailKind::PasswordChanged => "password_changed",
            EmailKind::EmailChangedOldAddress => "email_changed_old_address",
            EmailKind::EmailChangedNewAddress => "email_changed_new_address",
        }
    }
}

/// Facts about the event for the email template. Absent facts are omitted from the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateParams {
    /// When it happened: Auth0's `date` (ISO 8601, UTC) as logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<String>,
    /// For `email_changed_old_address`: where the account's email now points, masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_email_masked: Option<String>,
}

/// `detail` of a SendEmail event.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEmailDetail {
    pub version: u32,
    pub kind: EmailKind,
    pub recipient: EmailAddress,
    #[serde(default)]
    pub params: TemplateParams,
    pub log_id: LogId,
    pub log_type: LogType,
    pub dedupe_key: DedupeKey,
}

/// Why a SendEmail detail was refused. Never quotes field values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error("SendEmail detail has no numeric version")]
    MissingVersion,
    #[error(
        "SendEmail detail version {0} is not supported (this reader knows version {CONTRACT_VERSION})"
    )]
    UnsupportedVersion(u64),
    #[error("SendEmail detail is malformed: {0}")]
    Malformed(String),
}

impl SendEmailDetail {
    pub fn new(
        kind: EmailKind,
        recipient: EmailAddress,
        params: TemplateParams,
        log_id: &LogId,
        log_type: LogType,
    ) -> Self {
        Self {
            version: CONTRACT_VERSION,
            kind,
            recipient,
            params,
            log_id: log_id.clone(),
            log_type,
            dedupe_key: DedupeKey::for_email(log_id, kind),
        }
    }

    /// Reads a detail, checking the version before anything else.
    pub fn from_value(detail: Value) -> Result<Self, ContractError> {
        match detail.get("version").and_then(Value::as_u64) {
            None => return Err(ContractError::MissingVersion),
            Some(v) if v != u64::from(CONTRACT_VERSION) => {
                return Err(ContractError::UnsupportedVersion(v));
            }
            Some(_) => {}
        }
        serde_json::from_value(detail).map_err(|e| {
            let msg = e.to_string();
            // Only these messages are free of event values: "missing field" names a field and
            // "email address ..." is our own rule. serde's "unknown variant `x`" and "invalid
            // type: string \"x\"" quote the value, which can be an address.
            // The id types' own messages name the rule, never the value.
            let ours = [
                "missing field",
                "email address",
                "log_id ",
                "dedupe_key ",
                "log type ",
            ];
            if ours.iter().any(|p| msg.starts_with(p)) {
                ContractError::Malformed(msg)
            } else if msg.starts_with("unknown variant") {
                ContractError::Malformed("kind is not a known email kind".into())
            } else {
                ContractError::Malformed("a field has the wrong type or value".into())
            }
        })
    }
}

/// The emails of one email change, built the same way by both producers: to the old address
/// (`email_changed_old_address`, told where the account's email went, masked) and to the new
/// one (`email_changed_new_address`). Pure: the caller supplies the ids and the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailChange<'a> {
    pub log_id: &'a LogId,
    pub log_type: LogType,
    /// When the change happened (RFC 3339, UTC).
    pub occurred_at: Option<String>,
}

impl EmailChange<'_> {
    /// To the old address; `new` (when known) goes in as `new_email_masked` only.
    pub fn old_address(&self, old: EmailAddress, new: Option<&EmailAddress>) -> SendEmailDetail {
        let params = TemplateParams {
            occurred_at: self.occurred_at.clone(),
            new_email_masked: new.map(EmailAddress::masked),
        };
        self.detail(EmailKind::EmailChangedOldAddress, old, params)
    }

    /// To the new address.
    pub fn new_address(&self, new: EmailAddress) -> SendEmailDetail {
        let params = TemplateParams {
            occurred_at: self.occurred_at.clone(),
            new_email_masked: None,
        };
        self.detail(EmailKind::EmailChangedNewAddress, new, params)
    }

    /// Both emails, the old address's first.
    pub fn pair(&self, old: EmailAddress, new: EmailAddress) -> [SendEmailDetail; 2] {
        [self.old_address(old, Some(&new)), self.new_address(new)]
    }

    fn detail(
        &self,
        kind: EmailKind,
        recipient: EmailAddress,
        params: TemplateParams,
    ) -> SendEmailDetail {
        SendEmailDetail::new(kind, recipient, params, self.log_id, self.log_type.clone())
    }
}

impl std::fmt::Debug for SendEmailDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `params` may one day carry personal data: only the routing facts are printed.
        f.debug_struct("SendEmailDetail")
            .field("version", &self.version)
            .field("kind", &self.kind)
            .field("log_id", &self.log_id)
            .field("log_type", &self.log_type)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> SendEmailDetail {
        SendEmailDetail::new(
            EmailKind::EmailChangedOldAddress,
            EmailAddress::parse("Jane@Example.com").unwrap(),
            TemplateParams {
                occurred_at: Some("2026-11-20T10:00:00.000Z".into()),
                new_email_masked: Some("j***@example.org".into()),
            },
            &LogId::parse("900201").unwrap(),
            LogType::Sce,
        )
    }

    #[test]
    fn serializes_to_the_documented_shape() {
        assert_eq!(
            serde_json::to_value(sample()).unwrap(),
            json!({
                "version": 1,
                "kind": "email_changed_old_address",
                "recipient": "jane@example.com",
                "params": {"occurred_at": "2026-11-20T10:00:00.000Z", "new_email_masked": "j***@example.org"},
                "log_id": "900201",
                "log_type": "sce",
                "dedupe_key": "900201:email_changed_old_address"
            })
        );
    }

    #[test]
    fn round_trips_and_ignores_unknown_fields() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["added_later"] = json!(true);
        assert_eq!(SendEmailDetail::from_value(v).unwrap(), sample());
    }

    #[test]
    fn refuses_other_versions_and_bad_fields_without_quoting_values() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["version"] = json!(2);
        assert_eq!(
            SendEmailDetail::from_value(v.clone()),
            Err(ContractError::UnsupportedVersion(2))
        );
        v.as_object_mut().unwrap().remove("version");
        assert_eq!(
            SendEmailDetail::from_value(v),
            Err(ContractError::MissingVersion)
        );

        let mut v = serde_json::to_value(sample()).unwrap();
        v["recipient"] = json!("not an address secret");
        let err = SendEmailDetail::from_value(v).unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");

        let mut v = serde_json::to_value(sample()).unwrap();
        v["kind"] = json!("secret@example.com");
        let err = SendEmailDetail::from_value(v).unwrap_err().to_string();
        assert_eq!(
            err,
            "SendEmail detail is malformed: kind is not a known email kind"
        );

        let mut v = serde_json::to_value(sample()).unwrap();
        v["log_id"] = json!(["secret@example.com"]);
        let err = SendEmailDetail::from_value(v).unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn producer_set_ids_are_checked_and_never_echoed() {
        let long = "9".repeat(100_000);
        for (field, value) in [
            ("log_id", "jane@example.com"),
            ("log_id", long.as_str()),
            ("dedupe_key", "jane@example.com:account_blocked"),
            ("dedupe_key", long.as_str()),
            ("log_type", "jane@example.com"),
            ("log_type", long.as_str()),
        ] {
            let mut v = serde_json::to_value(sample()).unwrap();
            v[field] = json!(value);
            let err = SendEmailDetail::from_value(v).unwrap_err().to_string();
            assert!(err.contains(field.split('_').next().unwrap()), "{err}");
            assert!(!err.contains("jane") && err.len() < 200, "{err}");
        }
    }

    #[test]
    fn debug_hides_recipient() {
        assert!(!format!("{:?}", sample()).contains("jane"));
    }

    #[test]
    fn an_email_change_is_two_emails_and_only_the_old_address_sees_the_new_one_masked() {
        let log_id = LogId::parse("dixa0123abcd").unwrap();
        let change = EmailChange {
            log_id: &log_id,
            log_type: LogType::from(SUPPORT_CHANGE_LOG_TYPE),
            occurred_at: Some("2026-12-02T14:00:00Z".into()),
        };
        let old = EmailAddress::parse("Jane@Example.com").unwrap();
        let new = EmailAddress::parse("jane.new@example.org").unwrap();
        let [to_old, to_new] = change.pair(old, new);
        assert_eq!(
            serde_json::to_value(&to_old).unwrap(),
            json!({
                "version": 1,
                "kind": "email_changed_old_address",
                "recipient": "jane@example.com",
                "params": {"occurred_at": "2026-12-02T14:00:00Z", "new_email_masked": "j***@example.org"},
                "log_id": "dixa0123abcd",
                "log_type": "dixa_change_email",
                "dedupe_key": "dixa0123abcd:email_changed_old_address"
            })
        );
        assert_eq!(
            serde_json::to_value(&to_new).unwrap(),
            json!({
                "version": 1,
                "kind": "email_changed_new_address",
                "recipient": "jane.new@example.org",
                "params": {"occurred_at": "2026-12-02T14:00:00Z"},
                "log_id": "dixa0123abcd",
                "log_type": "dixa_change_email",
                "dedupe_key": "dixa0123abcd:email_changed_new_address"
            })
        );
        // What send-email reads back is what was built.
        for d in [&to_old, &to_new] {
            let back = SendEmailDetail::from_value(serde_json::to_value(d).unwrap()).unwrap();
            assert_eq!(&back, d);
        }
        // Without a new address the old one is still told, with nothing masked.
        let alone = change.old_address(EmailAddress::parse("jane@example.com").unwrap(), None);
        assert_eq!(alone.params.new_email_masked, None);
    }

    #[test]
    fn dedupe_key_is_stable_and_distinct_per_kind() {
        let a = sample();
        let b = sample();
        assert_eq!(a.dedupe_key, b.dedupe_key);
        let other = SendEmailDetail::new(
            EmailKind::EmailChangedNewAddress,
            EmailAddress::parse("jane@example.org").unwrap(),
            TemplateParams::default(),
            &LogId::parse("900201").unwrap(),
            LogType::Sce,
        );
        assert_ne!(a.dedupe_key, other.dedupe_key);
    }
}
