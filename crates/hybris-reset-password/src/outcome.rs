//! What an invocation answers when it does not fail: the rows of the failure table in
//! docs/operations.md that are not errors. `outcome` names the variant, the other fields follow it.
//!
//! ```json
//! {"outcome": "skipped", "log_id": "900…", "reason": "unhandled_type"}
//! {"outcome": "not_in_hybris", "log_id": "900…"}
//! {"outcome": "reset_started", "log_id": "900…", "auth0_blocks_cleared": true}
//! ```
//!
//! Only the log id and classes: never the address.

use auth0_events::LogId;
use serde::Serialize;

#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing done: not a log this function acts on.
    Skipped { log_id: LogId, reason: SkipReason },
    /// The customer is in neither Auth0 nor Hybris: nothing done, nothing sent.
    NotInHybris { log_id: LogId },
    /// Hybris sent its reset email and Auth0's brute-force blocks for the identifier were
    /// cleared (`auth0_blocks_cleared` is `true` whenever this outcome is reached).
    ResetStarted {
        log_id: LogId,
        auth0_blocks_cleared: bool,
    },
}

/// Why a log was skipped.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Not an `fcpr` log.
    UnhandledType,
    /// No field that could hold the address.
    NoAddress,
    /// The field is there but is not an email address.
    InvalidAddress,
    /// An earlier `fcpr` for this identifier took the reset window (`RESET_WINDOW_MINUTES`):
    /// no Hybris call, no Auth0 call.
    RepeatWithinWindow,
}

impl SkipReason {
    /// The reason as the JSON and the log lines spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::UnhandledType => "unhandled_type",
            SkipReason::NoAddress => "no_address",
            SkipReason::InvalidAddress => "invalid_address",
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
        let log_id = LogId::parse("90020261120100000777").unwrap();
        let skipped = |reason| Outcome::Skipped {
            log_id: log_id.clone(),
            reason,
        };
        let cases = [
            (
                skipped(SkipReason::UnhandledType),
                json!({"log_id": "90020261120100000777", "outcome": "skipped", "reason": "unhandled_type"}),
            ),
            (
                skipped(SkipReason::NoAddress),
                json!({"log_id": "90020261120100000777", "outcome": "skipped", "reason": "no_address"}),
            ),
            (
                skipped(SkipReason::InvalidAddress),
                json!({"log_id": "90020261120100000777", "outcome": "skipped", "reason": "invalid_address"}),
            ),
            (
                skipped(SkipReason::RepeatWithinWindow),
                json!({"log_id": "90020261120100000777", "outcome": "skipped", "reason": "repeat_within_window"}),
            ),
            (
                Outcome::NotInHybris {
                    log_id: log_id.clone(),
                },
                json!({"log_id": "90020261120100000777", "outcome": "not_in_hybris"}),
            ),
            (
                Outcome::ResetStarted {
                    log_id: log_id.clone(),
                    auth0_blocks_cleared: true,
                },
                json!({"log_id": "90020261120100000777", "outcome": "reset_started", "auth0_blocks_cleared": true}),
            ),
        ];
        for (outcome, expected) in cases {
            assert_eq!(
                serde_json::to_value(&outcome).unwrap(),
                expected,
                "{outcome:?}"
            );
        }
        for reason in [
            SkipReason::UnhandledType,
            SkipReason::NoAddress,
            SkipReason::InvalidAddress,
            SkipReason::RepeatWithinWindow,
        ] {
            assert_eq!(json!(reason), reason.as_str());
        }
    }
}
