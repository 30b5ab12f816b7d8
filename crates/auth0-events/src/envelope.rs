//! An Auth0 tenant log in the EventBridge envelope the Auth0 partner source uses:
//! `{"source": "aws.partner/auth0.com/...", "detail-type": "Auth0 log",
//!   "detail": {"log_id": "...", "data": {"type": "...", ...}}}`.

use crate::{EmailAddress, EmailAddressError, LogId, LogType, lenient};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;

/// Source prefix of every Auth0 partner event (`aws.partner/auth0.com/<tenant>-<uuid>/auth0.logs`).
pub const AUTH0_SOURCE_PREFIX: &str = "aws.partner/auth0.com";
/// `detail-type` of Auth0 log events.
pub const AUTH0_DETAIL_TYPE: &str = "Auth0 log";

/// Why an event could not be read as an Auth0 log. The messages name the missing part only:
/// serde's own messages can quote field values, which may be addresses, so they are not kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedEvent {
    #[error("not an EventBridge event (missing or wrong-typed source, detail-type or detail)")]
    NotEventBridge,
    #[error("detail is not a JSON object")]
    DetailNotObject,
    #[error("detail.data is missing or not an object (a flat detail is not the shape Auth0 sends)")]
    MissingData,
    #[error("detail.data.type is missing or not a string")]
    MissingType,
    /// A string, but not a type code: never echoed (it could be anything, of any length).
    #[error("detail.data.type is not a log type code (1 to 32 ASCII letters, digits and '_')")]
    InvalidType,
    #[error("detail.log_id is missing or not a string")]
    MissingLogId,
    /// A string, but not an Auth0 log id: never echoed.
    #[error("detail.log_id is not an Auth0 log id (1 to 64 ASCII letters and digits)")]
    InvalidLogId,
}

/// One Auth0 log, out of its envelope.
#[derive(Debug, Clone)]
pub struct Auth0Event {
    /// EventBridge's id: new per delivery, so useless for dedupe; kept for tracing.
    pub event_id: Option<String>,
    pub source: String,
    pub detail_type: String,
    /// Auth0's `detail.log_id`: stable across redeliveries and replays; the dedupe key.
    pub log_id: LogId,
    pub log: Auth0Log,
}

/// The tenant log (`detail.data`). Every field but `type` is optional; a field of the wrong
/// JSON type reads as absent and unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Auth0Log {
    #[serde(rename = "type")]
    pub log_type: LogType,
    #[serde(default, deserialize_with = "lenient::string")]
    pub date: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub connection: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub client_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub ip: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub user_agent: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub user_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub log_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub tenant_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    is_mobile: Option<bool>,
    /// Older logs spell it `isMobile`. Two fields, not a serde alias: an alias turns a log
    /// carrying both spellings into a "duplicate field" error.
    #[serde(default, rename = "isMobile", deserialize_with = "lenient::boolean")]
    is_mobile_legacy: Option<bool>,
    /// Free-form JSON, different per log type.
    #[serde(default)]
    pub details: Option<Value>,
}

impl Auth0Event {
    /// Reads an EventBridge event carrying an Auth0 log.
    pub fn from_value(event: Value) -> Result<Self, MalformedEvent> {
        let envelope: EventBridgeEvent<Value> =
            serde_json::from_value(event).map_err(|_| MalformedEvent::NotEventBridge)?;
        let Value::Object(mut detail) = envelope.detail else {
            return Err(MalformedEvent::DetailNotObject);
        };
        let data = match detail.remove("data") {
            Some(data @ Value::Object(_)) => data,
            _ => return Err(MalformedEvent::MissingData),
        };
        match data.get("type") {
            Some(Value::String(code)) if LogType::parse(code).is_ok() => {}
            Some(Value::String(_)) => return Err(MalformedEvent::InvalidType),
            _ => return Err(MalformedEvent::MissingType),
        }
        let log: Auth0Log =
            serde_json::from_value(data).map_err(|_| MalformedEvent::InvalidType)?;
        let log_id = match detail.get("log_id") {
            Some(Value::String(id)) if !id.is_empty() => id.as_str(),
            // Tolerate a stream that only carries the id inside the log.
            _ => log
                .log_id
                .as_deref()
                .filter(|id| !id.is_empty())
                .ok_or(MalformedEvent::MissingLogId)?,
        };
        let log_id = LogId::parse(log_id).map_err(|_| MalformedEvent::InvalidLogId)?;
        Ok(Self {
            event_id: envelope.id,
            source: envelope.source,
            detail_type: envelope.detail_type,
            log_id,
            log,
        })
    }

    /// Whether the envelope is what the Auth0 partner source sends.
    pub fn is_from_auth0(&self) -> bool {
        self.source.starts_with(AUTH0_SOURCE_PREFIX) && self.detail_type == AUTH0_DETAIL_TYPE
    }
}

/// Why no address could be taken from a log. Carries no personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressProblem {
    /// No candidate field is present, and no `user_id` either.
    Absent,
    /// No candidate field is present, but a `user_id` is: the address must be looked up.
    OnlyUserId,
    /// A candidate is present but is not an address (e.g. a username was typed).
    Invalid(EmailAddressError),
}

impl Auth0Log {
    /// The first of `candidates` that parses as an address, or why none did.
    pub fn find_address(
        &self,
        candidates: &[Option<&str>],
    ) -> Result<EmailAddress, AddressProblem> {
        let mut first_error = None;
        for candidate in candidates.iter().flatten().filter(|c| !c.trim().is_empty()) {
            match EmailAddress::parse(candidate) {
                Ok(address) => return Ok(address),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(AddressProblem::Invalid(e)),
            None if self.user_id().is_some() => Err(AddressProblem::OnlyUserId),
            None => Err(AddressProblem::Absent),
        }
    }

    /// `is_mobile`, or the older `isMobile`.
    pub fn is_mobile(&self) -> Option<bool> {
        self.is_mobile.or(self.is_mobile_legacy)
    }

    /// `user_id`, treating the empty string Auth0 sends on some failure logs as absent.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref().filter(|id| !id.is_empty())
    }

    /// A string inside `details`, by path (`["body", "email"]`).
    pub fn details_str(&self, path: &[&str]) -> Option<&str> {
        let mut node = self.details.as_ref()?;
        for key in path {
            node = node.get(key)?;
        }
        node.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(detail: Value) -> Value {
        json!({
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "Auth0 log",
            "source": "aws.partner/auth0.com/shop-dev-1234/auth0.logs",
            "account": "123456789012",
            "time": "2026-11-20T10:00:00Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": detail
        })
    }

    #[test]
    fn reads_the_real_shape() {
        let ev = Auth0Event::from_value(envelope(json!({
            "log_id": "90020261120100000123",
            "data": {
                "type": "scp", "date": "2026-11-20T10:00:00.000Z", "user_id": "auth0|1",
                "user_name": "jane@example.com", "isMobile": true, "brand_new_field": {"x": 1},
                "details": {"email": "jane@example.com"}
            }
        })))
        .unwrap();
        assert!(ev.is_from_auth0());
        assert_eq!(ev.log_id, "90020261120100000123");
        assert_eq!(ev.log.log_type, LogType::Scp);
        assert_eq!(ev.log.is_mobile(), Some(true));
        assert_eq!(ev.log.details_str(&["email"]), Some("jane@example.com"));
    }

    #[test]
    fn wrong_typed_optional_fields_read_as_absent() {
        let ev = Auth0Event::from_value(envelope(json!({
            "log_id": "1",
            "data": {"type": "limit_wc", "user_name": 42, "user_id": "", "is_mobile": "yes",
                     "isMobile": false, "date": null}
        })))
        .unwrap();
        assert_eq!(ev.log.user_name, None);
        assert_eq!(ev.log.user_id(), None);
        assert_eq!(ev.log.date, None);
        // `is_mobile` unreadable, so the legacy spelling is used; both present is no error.
        assert_eq!(ev.log.is_mobile(), Some(false));
    }

    #[test]
    fn flat_detail_is_refused_by_name() {
        let err = Auth0Event::from_value(envelope(json!({"type": "scp", "user_name": "a@b.co"})))
            .unwrap_err();
        assert_eq!(err, MalformedEvent::MissingData);
    }

    #[test]
    fn each_missing_part_has_its_own_error() {
        assert_eq!(
            Auth0Event::from_value(json!({"hello": "world"})).unwrap_err(),
            MalformedEvent::NotEventBridge
        );
        assert_eq!(
            Auth0Event::from_value(envelope(json!("text"))).unwrap_err(),
            MalformedEvent::DetailNotObject
        );
        assert_eq!(
            Auth0Event::from_value(envelope(json!({"log_id": "1", "data": {"type": 7}})))
                .unwrap_err(),
            MalformedEvent::MissingType
        );
        assert_eq!(
            Auth0Event::from_value(envelope(json!({"data": {"type": "scp"}}))).unwrap_err(),
            MalformedEvent::MissingLogId
        );
    }

    #[test]
    fn producer_set_ids_of_the_wrong_shape_are_malformed_and_never_echoed() {
        let long = "9".repeat(100_000);
        for (detail, expected) in [
            (
                json!({"log_id": "jane@example.com", "data": {"type": "scp"}}),
                MalformedEvent::InvalidLogId,
            ),
            (
                json!({"log_id": long, "data": {"type": "scp"}}),
                MalformedEvent::InvalidLogId,
            ),
            (
                json!({"data": {"type": "scp", "log_id": "jane@example.com"}}),
                MalformedEvent::InvalidLogId,
            ),
            (
                json!({"log_id": "1", "data": {"type": "jane@example.com"}}),
                MalformedEvent::InvalidType,
            ),
            (
                json!({"log_id": "1", "data": {"type": long}}),
                MalformedEvent::InvalidType,
            ),
        ] {
            let err = Auth0Event::from_value(envelope(detail)).unwrap_err();
            assert_eq!(err, expected);
            let text = format!("{err} {err:?}");
            assert!(!text.contains("jane") && text.len() < 200, "{text}");
        }
    }

    #[test]
    fn find_address_takes_the_first_that_parses() {
        let ev = Auth0Event::from_value(envelope(json!({"log_id": "1", "data": {
            "type": "scp", "user_id": "auth0|1", "user_name": "janedoe",
            "details": {"email": "Jane@Example.com"}}})))
        .unwrap();
        let log = &ev.log;
        let got = log.find_address(&[log.user_name.as_deref(), log.details_str(&["email"])]);
        assert_eq!(got.unwrap().as_str(), "jane@example.com");
        assert_eq!(
            log.find_address(&[log.user_name.as_deref()]),
            Err(AddressProblem::Invalid(EmailAddressError::BadShape))
        );
        assert_eq!(
            log.find_address(&[None, Some("  ")]),
            Err(AddressProblem::OnlyUserId)
        );
        let anonymous = Auth0Event::from_value(envelope(
            json!({"log_id": "1", "data": {"type": "limit_mu"}}),
        ))
        .unwrap();
        assert_eq!(
            anonymous.log.find_address(&[None]),
            Err(AddressProblem::Absent)
        );
    }

    #[test]
    fn log_id_falls_back_to_the_log_itself() {
        let ev = Auth0Event::from_value(envelope(json!({"data": {"type": "scp", "log_id": "77"}})))
            .unwrap();
        assert_eq!(ev.log_id, "77");
    }

    #[test]
    fn errors_never_quote_values() {
        let mut ev = envelope(json!({"log_id": "1", "data": {"type": "scp"}}));
        ev["resources"] = json!("secret.person@example.com");
        let err = Auth0Event::from_value(ev).unwrap_err();
        assert_eq!(err, MalformedEvent::NotEventBridge);
        assert!(!err.to_string().contains("secret"));
    }
}
