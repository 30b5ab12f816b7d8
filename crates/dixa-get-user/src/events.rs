//! What happened to an account lately, as the card shows it: the user's newest Auth0 log
//! entries (`GET /api/v2/users/{id}/logs`), each as a date, the raw type, what happened in words
//! ([`what_happened`]) and the country Auth0 placed the IP in. Pure: no I/O.
//!
//! ```json
//! "events": {"status": "ok", "items": [
//!   {"date": "2026-11-20T09:58:11.043Z", "type": "sce", "what": "Email changed", "country": "Germany"},
//!   {"date": "2026-11-20T09:50:02.000Z", "type": "fp", "what": "Failed login: wrong password"}
//! ]}
//! ```
//!
//! | field | from the log entry |
//! |---|---|
//! | `date` | `date`, as Auth0 sends it (ISO 8601 / RFC 3339, UTC) |
//! | `type` | `type`, the raw code |
//! | `what` | [`what_happened`] of the code |
//! | `country` | `location_info.country_name`, else `location_info.country_code`; absent when Auth0 gives neither |
//! | `ip` | `ip`, only with `DIXA_SHOW_LAST_IP=true` (personal data) |
//!
//! At most [`MAX_EVENTS`] items, newest first (Auth0's order for `sort=date:-1`); an entry
//! without a date or a type is left out. Never the description, user agent, city or `details`
//! (they can hold the address typed, or more than an agent needs). When the logs call fails
//! (a 403 for a missing `read:logs` scope, a 429 from the logs endpoint's own small limit, a
//! timeout) the card gets `{"status": "unavailable"}` and the look-up goes on.

use auth0_client::LogEntry;
use serde::Serialize;
use std::borrow::Cow;

/// The most events an account shows (and the page size asked of Auth0).
pub const MAX_EVENTS: usize = 10;

/// An account's `events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Events {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// Absent when `unavailable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<EventItem>>,
}

impl Events {
    /// The logs call failed: the card says the history is unavailable.
    pub fn unavailable() -> Self {
        Self {
            status: "unavailable",
            items: None,
        }
    }

    /// The items of `entries` (newest first, as Auth0 sorted them); the IP only with
    /// `show_ip`.
    pub fn from_logs(entries: &[LogEntry], show_ip: bool) -> Self {
        let items = entries
            .iter()
            .filter_map(|entry| item(entry, show_ip))
            .take(MAX_EVENTS)
            .collect();
        Self {
            status: "ok",
            items: Some(items),
        }
    }
}

/// One event on the card. `Debug` is derived: the IP is only here when the operator chose to
/// show it, and no address field exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventItem {
    pub date: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub what: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

fn item(entry: &LogEntry, show_ip: bool) -> Option<EventItem> {
    let date = entry.date.clone().filter(|d| !d.is_empty())?;
    let type_ = entry.type_.clone().filter(|t| !t.is_empty())?;
    let country = entry.location_info.as_ref().and_then(|l| {
        l.country_name
            .clone()
            .filter(|c| !c.is_empty())
            .or_else(|| l.country_code.clone().filter(|c| !c.is_empty()))
    });
    Some(EventItem {
        what: what_happened(&type_),
        date,
        type_,
        country,
        ip: if show_ip { entry.ip.clone() } else { None },
    })
}

/// An Auth0 log type code in words an agent reads (the codes of
/// `../shared/reference/auth0.md` §6, Auth0's "Log Event Type Codes"). Any other code:
/// "Other account event (`<code>`)".
pub fn what_happened(code: &str) -> Cow<'static, str> {
    let words = match code {
        "s" => "Successful login",
        "f" => "Failed login",
        "fp" => "Failed login: wrong password",
        "fu" => "Failed login: unknown user",
        "limit_wc" => "Blocked after too many attempts",
        "limit_sul" => "Blocked after too many logins from one IP address",
        "limit_mu" => "IP address blocked after too many attempts on several accounts",
        "ublkdu" => "Block released",
        "pwd_leak" => "Login with a leaked password",
        "reset_pwd_leak" => "Password reset needed: leaked password",
        "scp" => "Password changed",
        "fcp" => "Failed password change",
        "scpr" => "Password reset requested",
        "fcpr" => "Failed password reset request",
        "sce" => "Email changed",
        "fce" => "Failed email change",
        "sv" => "Email verified",
        "svr" => "Verification email sent",
        "sapi" => "Changed through the Management API",
        "gd_enrollment_complete" => "MFA enrolled",
        "gd_unenroll" => "MFA removed",
        "slo" => "Logged out",
        "ferrt" => "Refresh token reuse detected",
        other => return Cow::Owned(format!("Other account event ({other})")),
    };
    Cow::Borrowed(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn words(code: &str) -> String {
        what_happened(code).into_owned()
    }

    #[test]
    fn successful_login() {
        assert_eq!(words("s"), "Successful login");
    }

    #[test]
    fn failed_login() {
        assert_eq!(words("f"), "Failed login");
    }

    #[test]
    fn failed_login_wrong_password() {
        assert_eq!(words("fp"), "Failed login: wrong password");
    }

    #[test]
    fn failed_login_unknown_user() {
        assert_eq!(words("fu"), "Failed login: unknown user");
    }

    #[test]
    fn blocked_after_too_many_attempts() {
        assert_eq!(words("limit_wc"), "Blocked after too many attempts");
    }

    #[test]
    fn blocked_after_too_many_logins_from_one_ip() {
        assert_eq!(
            words("limit_sul"),
            "Blocked after too many logins from one IP address"
        );
    }

    #[test]
    fn ip_blocked_across_accounts() {
        assert_eq!(
            words("limit_mu"),
            "IP address blocked after too many attempts on several accounts"
        );
    }

    #[test]
    fn block_released() {
        assert_eq!(words("ublkdu"), "Block released");
    }

    #[test]
    fn leaked_password_at_login() {
        assert_eq!(words("pwd_leak"), "Login with a leaked password");
    }

    #[test]
    fn leaked_password_at_reset() {
        assert_eq!(
            words("reset_pwd_leak"),
            "Password reset needed: leaked password"
        );
    }

    #[test]
    fn password_changed() {
        assert_eq!(words("scp"), "Password changed");
    }

    #[test]
    fn failed_password_change() {
        assert_eq!(words("fcp"), "Failed password change");
    }

    #[test]
    fn password_reset_requested() {
        assert_eq!(words("scpr"), "Password reset requested");
    }

    #[test]
    fn failed_password_reset_request() {
        assert_eq!(words("fcpr"), "Failed password reset request");
    }

    #[test]
    fn email_changed() {
        assert_eq!(words("sce"), "Email changed");
    }

    #[test]
    fn failed_email_change() {
        assert_eq!(words("fce"), "Failed email change");
    }

    #[test]
    fn email_verified() {
        assert_eq!(words("sv"), "Email verified");
    }

    #[test]
    fn verification_email_sent() {
        assert_eq!(words("svr"), "Verification email sent");
    }

    #[test]
    fn management_api_write() {
        assert_eq!(words("sapi"), "Changed through the Management API");
    }

    #[test]
    fn mfa_enrolled() {
        assert_eq!(words("gd_enrollment_complete"), "MFA enrolled");
    }

    #[test]
    fn mfa_removed() {
        assert_eq!(words("gd_unenroll"), "MFA removed");
    }

    #[test]
    fn logged_out() {
        assert_eq!(words("slo"), "Logged out");
    }

    #[test]
    fn refresh_token_reuse() {
        assert_eq!(words("ferrt"), "Refresh token reuse detected");
    }

    #[test]
    fn any_other_code_is_named() {
        assert_eq!(words("seacft"), "Other account event (seacft)");
        assert_eq!(words("S"), "Other account event (S)");
        assert_eq!(words(""), "Other account event ()");
    }

    fn entry(v: Value) -> LogEntry {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn items_keep_date_type_words_and_country_never_the_ip_unless_asked() {
        let entries = [
            entry(json!({
                "date": "2026-11-20T09:58:11.043Z", "type": "sce", "ip": "203.0.113.7",
                "description": "jane@example.com", "user_agent": "Firefox",
                "location_info": {"country_code": "DE", "country_name": "Germany",
                                  "city_name": "Hamburg"}
            })),
            entry(json!({"date": "2026-11-20T09:50:00.000Z", "type": "fp",
                         "location_info": {"country_code": "FR"}})),
            entry(json!({"date": "2026-11-20T09:40:00.000Z", "type": "s"})),
            // Unusable: left out.
            entry(json!({"type": "s"})),
            entry(json!({"date": "2026-11-20T09:30:00.000Z"})),
        ];
        let events = serde_json::to_value(Events::from_logs(&entries, false)).unwrap();
        assert_eq!(
            events,
            json!({"status": "ok", "items": [
                {"date": "2026-11-20T09:58:11.043Z", "type": "sce", "what": "Email changed",
                 "country": "Germany"},
                {"date": "2026-11-20T09:50:00.000Z", "type": "fp",
                 "what": "Failed login: wrong password", "country": "FR"},
                {"date": "2026-11-20T09:40:00.000Z", "type": "s", "what": "Successful login"}
            ]})
        );
        let with_ip = serde_json::to_value(Events::from_logs(&entries, true)).unwrap();
        assert_eq!(with_ip["items"][0]["ip"], "203.0.113.7");
        assert!(with_ip["items"][1].get("ip").is_none());
        let text = with_ip.to_string();
        for hidden in ["jane@", "Firefox", "Hamburg"] {
            assert!(!text.contains(hidden), "{hidden} in {text}");
        }
    }

    #[test]
    fn at_most_ten_and_unavailable_has_no_items() {
        let entries: Vec<LogEntry> = (0..15)
            .map(|i| entry(json!({"date": format!("2026-11-20T09:{i:02}:00Z"), "type": "s"})))
            .collect();
        let events = Events::from_logs(&entries, false);
        assert_eq!(events.items.as_ref().unwrap().len(), MAX_EVENTS);
        assert_eq!(
            serde_json::to_value(Events::unavailable()).unwrap(),
            json!({"status": "unavailable"})
        );
        assert_eq!(
            serde_json::to_value(Events::from_logs(&[], false)).unwrap(),
            json!({"status": "ok", "items": []})
        );
    }
}
