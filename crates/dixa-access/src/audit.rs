//! The audit trail: one structured log line per look-up and per action attempt.
//!
//! [`audit`] writes one `tracing` event at INFO with target `audit`; `lambda_support::init_tracing`
//! prints it whatever the log level, as a JSON line with `"level": "FATAL"` (the level Lambda's
//! log-level filter never drops). The fields:
//!
//! | field | value |
//! |---|---|
//! | `audit` | `true` |
//! | `action` | `lookup`, or an action's wire name ([`crate::Action::as_str`]): `change_email`, `send_password_reset`, `block`, `unblock`, `clear_brute_force_blocks`, `restore_email`, `resend_verification`, `sign_out_everywhere`, `reset_mfa` |
//! | `auth0_user_id` | the Auth0 user id acted on (absent when unknown, e.g. a refused token) |
//! | `conversation_id` | Dixa's conversation id (`csid`) |
//! | `agent` | [`AgentRef`] of the assigned agent, never the address |
//! | `outcome` | `allowed`, `refused` or `failed` |
//! | `reason` | a machine code, e.g. `token_expired` (absent when there is none) |
//!
//! The time is the log line's own. No email address appears in a line: the agent is recorded
//! as a pseudonym, the customer's address is never a field, and any free-form value holding
//! an `@` (an Auth0 user id from an enterprise connection, a mistaken conversation id) is
//! replaced by `redacted-<16 hex>`, the same hash as [`agent_ref`].
//!
//! # Agent pseudonym
//! `agent_ref(email) = first 16 hex digits of SHA-256(trimmed, lower-cased email)`. To find
//! "who changed this account's email", take the `agent` value from the audit line and either
//! compute the ref of a suspected agent's address:
//!
//! ```sh
//! printf '%s' 'jane.doe@shop.example' | tr '[:upper:]' '[:lower:]' | sha256sum | cut -c1-16
//! ```
//!
//! or open the conversation (`conversation_id`) in Dixa, which names its assigned agent. The
//! ref is a pseudonym, not anonymisation: anyone holding the list of agent addresses can map
//! it back, which is what lets an operator answer the question above.
//!
//! # Reading a user's trail (CloudWatch Logs Insights)
//! Select the log groups of `dixa-get-user` and `dixa-patch-user`, then:
//!
//! ```text
//! fields @timestamp, fields.action, fields.outcome, fields.reason,
//!        fields.conversation_id, fields.agent, @logStream
//! | filter target = "audit" and fields.auth0_user_id = "auth0|64f0c0ffee0123456789abcd"
//! | sort @timestamp asc
//! ```
//!
//! (`tracing-subscriber`'s JSON lines nest event fields under `fields`; `target` is top-level.)

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// A pseudonymous reference to an agent: 16 lower-case hex digits (see the module docs).
/// The only way to build one from an address is [`agent_ref`], so an address cannot end up
/// where an `AgentRef` is expected (an action token, an audit line).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgentRef(String);

/// The length of an [`AgentRef`] in hex digits (64 bits of the digest).
pub const AGENT_REF_LEN: usize = 16;

impl AgentRef {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AgentRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The value is not 16 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an agent reference is {AGENT_REF_LEN} lower-case hex digits")]
pub struct InvalidAgentRef;

impl TryFrom<String> for AgentRef {
    type Error = InvalidAgentRef;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if value.len() == AGENT_REF_LEN && value.bytes().all(hex) {
            Ok(Self(value))
        } else {
            Err(InvalidAgentRef)
        }
    }
}

impl From<AgentRef> for String {
    fn from(value: AgentRef) -> Self {
        value.0
    }
}

/// The pseudonym of an agent's email address: hex(SHA-256(trimmed, lower-cased address))
/// cut to 16 digits.
pub fn agent_ref(agent_email: &str) -> AgentRef {
    AgentRef(short_hash(&agent_email.trim().to_lowercase()))
}

fn short_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(AGENT_REF_LEN);
    for byte in &digest[..AGENT_REF_LEN / 2] {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
    }
    hex
}

/// A free-form value as logged: unchanged unless it holds an `@`, which could make it an
/// address; then `redacted-<agent_ref-style hash>` (still correlatable, never in clear).
fn scrub(value: &str) -> Cow<'_, str> {
    if value.contains('@') {
        Cow::Owned(format!(
            "redacted-{}",
            short_hash(&value.trim().to_lowercase())
        ))
    } else {
        Cow::Borrowed(value)
    }
}

/// What happened to the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Access granted and the work done.
    Allowed,
    /// Access refused (secret, token, CORS) or the request was rejected.
    Refused,
    /// Access granted but the work failed (Auth0 error, timeout).
    Failed,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// One audit line. `action` and `reason` are `&'static str` (codes chosen in code, never
/// request data); the other values are scrubbed of anything holding an `@`.
#[derive(Debug, Clone, Copy)]
pub struct AuditRecord<'a> {
    /// `lookup` or an [`crate::Action`]'s `as_str()`.
    pub action: &'static str,
    pub user_id: Option<&'a str>,
    pub conversation_id: Option<&'a str>,
    pub agent: Option<&'a AgentRef>,
    pub outcome: Outcome,
    /// E.g. [`crate::AccessError::reason`], or a code for an upstream failure.
    pub reason: Option<&'static str>,
}

/// Writes the record as one INFO event with target `audit`.
pub fn audit(record: AuditRecord<'_>) {
    let user_id = record.user_id.map(scrub);
    let conversation_id = record.conversation_id.map(scrub);
    tracing::info!(
        target: "audit",
        audit = true,
        action = record.action,
        auth0_user_id = user_id.as_deref(),
        conversation_id = conversation_id.as_deref(),
        agent = record.agent.map(AgentRef::as_str),
        outcome = record.outcome.as_str(),
        reason = record.reason,
        "audit"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::logs::{Capture, assert_no_email_addresses};

    const AGENT: &str = "Jane.Doe@Shop.Example";

    fn audit_lines(text: &str) -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["target"] == "audit")
            .collect()
    }

    #[test]
    fn agent_ref_is_a_stable_lowercase_pseudonym() {
        let r = agent_ref(AGENT);
        assert_eq!(r.as_str().len(), AGENT_REF_LEN);
        assert_eq!(r, agent_ref("  jane.doe@shop.example "));
        assert_ne!(r, agent_ref("john@shop.example"));
        // sha256("jane.doe@shop.example"), first 16 hex digits (what the sh recipe prints).
        let full = Sha256::digest(b"jane.doe@shop.example");
        let expected: String = full[..8].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(r.as_str(), expected);
        // Serialises as a plain string and refuses anything that is not 16 hex digits.
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, format!("\"{expected}\""));
        assert_eq!(serde_json::from_str::<AgentRef>(&json).unwrap(), r);
        assert!(serde_json::from_str::<AgentRef>(&format!("\"{AGENT}\"")).is_err());
        assert!(serde_json::from_str::<AgentRef>("\"0123456789ABCDEF\"").is_err());
    }

    #[test]
    fn audit_lines_hold_the_fields_and_no_address() {
        let (capture, _guard) = Capture::install();
        let agent = agent_ref(AGENT);
        audit(AuditRecord {
            action: "change_email",
            user_id: Some("auth0|64f0c0ffee"),
            conversation_id: Some("123456"),
            agent: Some(&agent),
            outcome: Outcome::Allowed,
            reason: None,
        });
        audit(AuditRecord {
            action: "block",
            user_id: Some("auth0|64f0c0ffee"),
            conversation_id: None,
            agent: None,
            outcome: Outcome::Refused,
            reason: Some("token_expired"),
        });
        let text = capture.text();
        assert_no_email_addresses(&text);
        assert!(!text.to_lowercase().contains("jane.doe"), "{text}");

        let lines = audit_lines(&text);
        assert_eq!(lines.len(), 2, "{text}");
        let allowed = &lines[0];
        assert_eq!(allowed["level"], "INFO");
        let f = &allowed["fields"];
        assert_eq!(f["audit"], true);
        assert_eq!(f["action"], "change_email");
        assert_eq!(f["auth0_user_id"], "auth0|64f0c0ffee");
        assert_eq!(f["conversation_id"], "123456");
        assert_eq!(f["agent"], agent.as_str());
        assert_eq!(f["outcome"], "allowed");
        assert!(f.get("reason").is_none(), "{f}");

        let f = &lines[1]["fields"];
        assert_eq!(f["audit"], true);
        assert_eq!(f["action"], "block");
        assert_eq!(f["outcome"], "refused");
        assert_eq!(f["reason"], "token_expired");
        assert!(f.get("agent").is_none() && f.get("conversation_id").is_none());
    }

    #[test]
    fn values_holding_an_at_sign_are_redacted() {
        let (capture, _guard) = Capture::install();
        audit(AuditRecord {
            action: "unblock",
            user_id: Some("samlp|corp|customer@example.com"),
            conversation_id: Some("customer@example.com"),
            agent: None,
            outcome: Outcome::Failed,
            reason: Some("upstream_unavailable"),
        });
        let text = capture.text();
        assert_no_email_addresses(&text);
        let lines = audit_lines(&text);
        let f = &lines[0]["fields"];
        let user = f["auth0_user_id"].as_str().unwrap();
        assert!(
            user.starts_with("redacted-") && user.len() == 9 + 16,
            "{user}"
        );
        assert_eq!(f["outcome"], "failed");
    }
}
