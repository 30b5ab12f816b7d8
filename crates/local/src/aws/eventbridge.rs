//! An EventBridge-compatible endpoint: the real PutEvents API (AWS JSON 1.1), buses and rules
//! from the template, patterns matched with `quamina` (EventBridge pattern semantics).
//!
//! `POST /` with `X-Amz-Target: AWSEvents.PutEvents` and
//! `{"Entries": [{"Source", "DetailType", "Detail", "EventBusName"?, "Time"?, "Resources"?}]}`:
//!
//! - more than 10 entries (or none): 400 `ValidationException`, nothing accepted;
//! - per entry: no `Source`/`DetailType` → `InvalidArgument`; a `Detail` that is not a JSON
//!   object → `MalformedDetail`; a bus that does not exist → `ResourceNotFoundException`
//!   (the other entries of the call still go through, as PutEvents reports per entry);
//! - an accepted entry becomes a full event envelope (`version`, `id`, `detail-type`, `source`,
//!   `account`, `time`, `region`, `resources`, `detail`) and goes to every rule of its bus whose
//!   pattern matches it.
//!
//! The reply is `{"FailedEntryCount": n, "Entries": [{"EventId"} | {"ErrorCode", "ErrorMessage"}]}`
//! in request order. Other operations answer `UnknownOperationException`.

use crate::aws::topology::{DEFAULT_BUS, RuleSpec, Topology, TopologyError};
use quamina::Quamina;
use serde_json::{Value, json};
use std::collections::HashMap;

pub use sandboxes::{ACCOUNT, REGION};
pub const MAX_ENTRIES: usize = 10;

/// Rules per bus, compiled.
pub struct EventRouter {
    rules: Vec<RuleSpec>,
    buses: HashMap<String, Quamina<usize>>,
}

impl EventRouter {
    /// The buses are the given names plus every bus a rule is on.
    pub fn new(topology: &Topology, buses: &[&str]) -> Result<Self, TopologyError> {
        let mut by_bus: HashMap<String, Quamina<usize>> = buses
            .iter()
            .chain(std::iter::once(&DEFAULT_BUS))
            .map(|b| (b.to_string(), Quamina::new()))
            .collect();
        for (i, rule) in topology.rules.iter().enumerate() {
            by_bus
                .entry(rule.bus.clone())
                .or_default()
                .add_pattern(i, &rule.pattern.to_string())
                .map_err(|source| TopologyError::Pattern {
                    rule: rule.template_path.clone(),
                    source,
                })?;
        }
        Ok(Self {
            rules: topology.rules.clone(),
            buses: by_bus,
        })
    }

    /// The bus an entry's `EventBusName` (name or ARN, absent: `default`) stands for.
    pub fn resolve_bus(&self, name_or_arn: Option<&str>) -> Result<String, UnknownBus> {
        let raw = name_or_arn.filter(|s| !s.is_empty()).unwrap_or(DEFAULT_BUS);
        let name = match raw.strip_prefix("arn:") {
            Some(_) => raw
                .split_once(":event-bus/")
                .map(|(_, n)| n)
                .ok_or_else(|| UnknownBus::NotAnArn(raw.to_owned()))?,
            None => raw,
        };
        if self.buses.contains_key(name) {
            Ok(name.to_owned())
        } else {
            Err(UnknownBus::DoesNotExist(name.to_owned()))
        }
    }

    pub fn bus_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.buses.keys().cloned().collect();
        names.sort();
        names
    }

    /// The rules of `bus` that match the event, in template order.
    pub fn matching(&self, bus: &str, event: &Value) -> Vec<&RuleSpec> {
        let Some(q) = self.buses.get(bus) else {
            return Vec::new();
        };
        let mut hits = q
            .matches_for_event(event.to_string().as_bytes())
            .unwrap_or_default();
        hits.sort_unstable();
        hits.dedup();
        hits.into_iter().map(|i| &self.rules[i]).collect()
    }

    pub fn rules(&self) -> &[RuleSpec] {
        &self.rules
    }
}

/// Why an entry's `EventBusName` names no bus: its message is the entry's `ErrorMessage`
/// (`ResourceNotFoundException`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnknownBus {
    #[error("{0} is not an event bus ARN")]
    NotAnArn(String),
    #[error("Event bus {0} does not exist.")]
    DoesNotExist(String),
}

/// An accepted entry: the envelope and the bus it is on.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub bus: String,
    pub envelope: Value,
}

/// Why an entry was refused (`ErrorCode`, `ErrorMessage`).
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub bus: Option<String>,
    pub code: &'static str,
    pub message: String,
}

/// A whole-request error: `(HTTP status, __type, message)`.
pub type RequestError = (u16, &'static str, String);

/// Checks a PutEvents body and turns each entry into an envelope or a refusal.
pub fn put_events(
    router: &EventRouter,
    body: &[u8],
) -> Result<Vec<Result<Accepted, Refused>>, RequestError> {
    let request: Value = serde_json::from_slice(body).map_err(|_| {
        (
            400,
            "SerializationException",
            "Request body is not valid JSON".to_owned(),
        )
    })?;
    let entries = match &request["Entries"] {
        Value::Array(entries) => entries,
        _ => {
            return Err((
                400,
                "ValidationException",
                "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null".to_owned(),
            ));
        }
    };
    if entries.is_empty() || entries.len() > MAX_ENTRIES {
        return Err((
            400,
            "ValidationException",
            format!(
                "1 validation error detected: Value '{}' at 'entries' failed to satisfy constraint: Member must have length less than or equal to {MAX_ENTRIES} and greater than or equal to 1",
                entries.len()
            ),
        ));
    }
    Ok(entries.iter().map(|e| accept(router, e)).collect())
}

fn accept(router: &EventRouter, entry: &Value) -> Result<Accepted, Refused> {
    let refuse = |bus: Option<String>, code, message: &str| Refused {
        bus,
        code,
        message: message.to_owned(),
    };
    let bus = router
        .resolve_bus(entry["EventBusName"].as_str())
        .map_err(|e| refuse(None, "ResourceNotFoundException", &e.to_string()))?;
    let text = |k: &str| entry[k].as_str().filter(|s| !s.trim().is_empty());
    let Some(source) = text("Source") else {
        return Err(refuse(
            Some(bus),
            "InvalidArgument",
            "Parameter Source is not valid. Reason: Source is a required argument.",
        ));
    };
    let Some(detail_type) = text("DetailType") else {
        return Err(refuse(
            Some(bus),
            "InvalidArgument",
            "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
        ));
    };
    let detail = match text("Detail").map(serde_json::from_str::<Value>) {
        Some(Ok(v @ Value::Object(_))) => v,
        None => {
            return Err(refuse(
                Some(bus),
                "InvalidArgument",
                "Parameter Detail is not valid. Reason: Detail is a required argument.",
            ));
        }
        Some(_) => return Err(refuse(Some(bus), "MalformedDetail", "Detail is malformed.")),
    };
    let time = match &entry["Time"] {
        Value::Number(n) => lambda_support::time::rfc3339(n.as_f64().unwrap_or(0.0) as i64),
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => lambda_support::time::now_rfc3339(),
    };
    let resources: Vec<Value> = entry["Resources"]
        .as_array()
        .map(|r| r.iter().filter(|v| v.is_string()).cloned().collect())
        .unwrap_or_default();
    Ok(Accepted {
        envelope: json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": detail_type,
            "source": source,
            "account": ACCOUNT,
            "time": time,
            "region": REGION,
            "resources": resources,
            "detail": detail,
        }),
        bus,
    })
}

/// The JSON 1.1 error body.
pub fn error_body(kind: &str, message: &str) -> Value {
    json!({"__type": kind, "message": message})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> EventRouter {
        let t = Topology::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml"),
        )
        .unwrap();
        EventRouter::new(
            &t,
            &[
                crate::aws::topology::EMAIL_BUS,
                crate::aws::topology::AUTH0_PARTNER_BUS,
            ],
        )
        .unwrap()
    }

    #[test]
    fn entries_become_envelopes_or_refusals() {
        let r = router();
        let body = json!({"Entries": [
            {"Source": "s", "DetailType": "t", "Detail": "{\"a\":1}",
             "EventBusName": "arn:aws:events:eu-west-1:123456789012:event-bus/email", "Time": 1795168692},
            {"Source": "s", "DetailType": "t", "Detail": "[1]", "EventBusName": "email"},
            {"Source": "s", "DetailType": "t", "Detail": "{}", "EventBusName": "nope"},
            {"DetailType": "t", "Detail": "{}"}
        ]});
        let out = put_events(&r, body.to_string().as_bytes()).unwrap();
        let ok = out[0].as_ref().unwrap();
        assert_eq!(ok.bus, "email");
        assert_eq!(ok.envelope["time"], "2026-11-20T09:58:12Z");
        assert_eq!(ok.envelope["detail"]["a"], 1);
        assert_eq!(ok.envelope["version"], "0");
        assert_eq!(out[1].as_ref().unwrap_err().code, "MalformedDetail");
        assert_eq!(
            out[2].as_ref().unwrap_err().code,
            "ResourceNotFoundException"
        );
        assert_eq!(out[3].as_ref().unwrap_err().code, "InvalidArgument");
        let eleven = json!({"Entries": vec![json!({"Source": "s"}); 11]});
        let err = put_events(&r, eleven.to_string().as_bytes()).unwrap_err();
        assert_eq!((err.0, err.1), (400, "ValidationException"));
    }

    #[test]
    fn template_patterns_route_with_prefix_semantics() {
        let r = router();
        let event = |source: &str, t: &str| {
            json!({"source": source, "detail-type": "Auth0 log",
                   "detail": {"log_id": "1", "data": {"type": t}}})
        };
        let partner = crate::aws::topology::AUTH0_PARTNER_BUS;
        let hits = r.matching(partner, &event("aws.partner/auth0.com/x/auth0.logs", "sce"));
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].function, "email-transform");
        let hits = r.matching(
            partner,
            &event("aws.partner/auth0.com/x/auth0.logs", "fcpr"),
        );
        assert_eq!(hits[0].function, "hybris-reset-password");
        assert!(r.matching(partner, &event("other", "sce")).is_empty());
        assert!(
            r.matching("email", &event("aws.partner/auth0.com/x", "sce"))
                .is_empty()
        );
    }
}
