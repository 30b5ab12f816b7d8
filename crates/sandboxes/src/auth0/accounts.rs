//! What the tenant keeps per user besides the profile: the tenant logs (seeded history plus
//! every event the sandbox causes), session and refresh-token counts, enrolled MFA factors,
//! the verification-email jobs and the remember-browser invalidations.
//!
//! A log entry has the fields of `GET /api/v2/users/{id}/logs`: `date` (RFC 3339, UTC,
//! milliseconds), `type`, `description`, `connection`, `client_id`/`client_name` (when known),
//! `ip` (`127.0.0.1` for what the sandbox does), `user_agent` (the caller's header, when sent),
//! `hostname`, `user_id`, `user_name`, `details`, `log_id` (`900`, the date's digits to the
//! millisecond, 15 random digits: the shape of real ids) and `isMobile`. Entries the sandbox
//! writes carry no `location_info` (a loopback address is nowhere); seeded ones may. A user's
//! history is kept oldest first in the order things happened (seeded entries sorted by date),
//! so two entries of one call keep their order even within a millisecond.

use super::{Auth0Settings, email_of};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

/// The address every event the sandbox causes comes from.
pub(super) const LOOPBACK: &str = "127.0.0.1";

/// The name of the sandbox's one M2M application (the functions' Management API client).
pub(super) const M2M_CLIENT_NAME: &str = "Dixa card (local M2M application)";
/// The name the tenant gives its second M2M application ([`super::STOREFRONT_CLIENT_ID`]).
pub(super) const STOREFRONT_CLIENT_NAME: &str = "Storefront backend (local M2M application)";

/// The per-user parts of the seed: user id → entries / count / factors.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AccountsSeed {
    #[serde(default)]
    logs: HashMap<String, Vec<Value>>,
    #[serde(default)]
    sessions: HashMap<String, u32>,
    #[serde(default)]
    refresh_tokens: HashMap<String, u32>,
    #[serde(default)]
    authentication_methods: HashMap<String, Vec<Value>>,
}

/// The per-user state (see the module doc).
#[derive(Debug, Default)]
pub(super) struct Accounts {
    /// User id → log entries, oldest first.
    pub logs: HashMap<String, Vec<Value>>,
    pub sessions: HashMap<String, u32>,
    pub refresh_tokens: HashMap<String, u32>,
    /// User id → enrolled factors, as `GET .../authentication-methods` lists them.
    pub factors: HashMap<String, Vec<Value>>,
    /// Verification-email jobs: the job as answered, plus `user_id`, `client_id` and `email`.
    pub jobs: Vec<Value>,
    /// `{user_id, date}` of each remember-browser invalidation.
    pub remember_browser: Vec<Value>,
}

impl From<AccountsSeed> for Accounts {
    fn from(seed: AccountsSeed) -> Self {
        let logs = seed
            .logs
            .into_iter()
            .map(|(id, mut entries)| {
                entries.retain(Value::is_object);
                // Stable: entries of one instant keep the seed's order.
                entries.sort_by(|a, b| date_of(a).cmp(date_of(b)));
                (id, entries)
            })
            .collect();
        Self {
            logs,
            sessions: seed.sessions,
            refresh_tokens: seed.refresh_tokens,
            factors: seed.authentication_methods,
            ..Self::default()
        }
    }
}

fn date_of(entry: &Value) -> &str {
    entry["date"].as_str().unwrap_or("")
}

impl Accounts {
    /// Appends `entry` to the history of its `user_id`.
    pub fn log(&mut self, entry: Value) {
        let id = entry["user_id"].as_str().unwrap_or_default().to_owned();
        self.logs.entry(id).or_default().push(entry);
    }

    /// A user's history, newest first.
    pub fn newest_first(&self, user_id: &str) -> Vec<Value> {
        let mut entries = self.logs.get(user_id).cloned().unwrap_or_default();
        entries.reverse();
        entries
    }

    /// For `GET /_local/state`: every user's history (newest first), counts and factors
    /// (0 and empty when none), then the jobs and invalidations in order.
    pub fn state_json(&self, users: &[Value]) -> Map<String, Value> {
        let ids: Vec<&str> = users.iter().filter_map(|u| u["user_id"].as_str()).collect();
        let per_user = |f: &dyn Fn(&str) -> Value| -> Value {
            Value::Object(
                ids.iter()
                    .map(|id| ((*id).to_owned(), f(id)))
                    .collect::<BTreeMap<_, _>>()
                    .into_iter()
                    .collect(),
            )
        };
        let count = |m: &HashMap<String, u32>, id: &str| json!(m.get(id).copied().unwrap_or(0));
        let mut state = Map::new();
        state.insert("logs".into(), per_user(&|id| json!(self.newest_first(id))));
        state.insert("sessions".into(), per_user(&|id| count(&self.sessions, id)));
        state.insert(
            "refresh_tokens".into(),
            per_user(&|id| count(&self.refresh_tokens, id)),
        );
        state.insert(
            "authentication_methods".into(),
            per_user(&|id| json!(self.factors.get(id).cloned().unwrap_or_default())),
        );
        state.insert("verification_jobs".into(), json!(self.jobs));
        state.insert(
            "remember_browser_invalidations".into(),
            json!(self.remember_browser),
        );
        state
    }
}

/// Now as Auth0 dates its logs: `2026-11-20T09:58:11.043Z`.
pub(super) fn now_millis() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = lambda_support::time::rfc3339(i64::try_from(now.as_secs()).unwrap_or(i64::MAX));
    format!("{}.{:03}Z", secs.trim_end_matches('Z'), now.subsec_millis())
}

/// A fresh log id for an entry dated `date`.
fn log_id(date: &str) -> String {
    let digits: String = date.chars().filter(char::is_ascii_digit).collect();
    let random: u64 = rand::random_range(0..1_000_000_000_000_000);
    format!("900{digits}{random:015}")
}

/// Who caused an event: the application (when known) and the caller's user agent.
pub(super) struct Actor<'a> {
    settings: &'a Auth0Settings,
    client_id: Option<String>,
    client_name: Option<&'static str>,
    user_agent: Option<String>,
}

impl<'a> Actor<'a> {
    /// A Management API call: the M2M application whose token it carries (the Dixa card's,
    /// or the storefront backend's, told apart by the token's prefix).
    pub fn api(settings: &'a Auth0Settings, headers: &HeaderMap) -> Self {
        let storefront = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| t.starts_with(super::STOREFRONT_TOKEN_PREFIX));
        let (client_id, client_name) = if storefront {
            (
                super::STOREFRONT_CLIENT_ID.to_owned(),
                STOREFRONT_CLIENT_NAME,
            )
        } else {
            (settings.client_id.clone(), M2M_CLIENT_NAME)
        };
        Self {
            settings,
            client_id: Some(client_id),
            client_name: Some(client_name),
            user_agent: user_agent(headers),
        }
    }

    /// An Authentication API call naming `client_id` (named when it is the M2M application;
    /// the sandbox knows no other application's name).
    pub fn client(settings: &'a Auth0Settings, client_id: &str, headers: &HeaderMap) -> Self {
        Self {
            settings,
            client_id: Some(client_id.to_owned()).filter(|c| !c.is_empty()),
            client_name: if client_id == settings.client_id {
                Some(M2M_CLIENT_NAME)
            } else if client_id == super::STOREFRONT_CLIENT_ID {
                Some(STOREFRONT_CLIENT_NAME)
            } else {
                None
            },
            user_agent: user_agent(headers),
        }
    }

    /// A log entry about `user`, happening now.
    pub fn entry(
        &self,
        user: &Value,
        type_: &str,
        description: &str,
        details: Option<Value>,
    ) -> Value {
        let date = now_millis();
        let mut entry = json!({
            "date": date,
            "type": type_,
            "description": description,
            "connection": user["identities"][0]["connection"],
            "client_id": self.client_id,
            "client_name": self.client_name,
            "ip": LOOPBACK,
            "user_agent": self.user_agent,
            "hostname": self.settings.domain,
            "user_id": user["user_id"],
            "user_name": email_of(user),
            "details": details,
            "log_id": log_id(&date),
            "isMobile": false,
        });
        if let Value::Object(fields) = &mut entry {
            fields.retain(|_, v| !v.is_null());
        }
        entry
    }

    /// Logs an event about `user` into its history; returns the entry.
    pub fn log(
        &self,
        accounts: &mut Accounts,
        user: &Value,
        type_: &str,
        description: &str,
        details: Option<Value>,
    ) -> Value {
        let entry = self.entry(user, type_, description, details);
        accounts.log(entry.clone());
        entry
    }

    /// Logs `sapi` (a Management API write) into the *target* user's history: see the module
    /// doc of `auth0` for why there.
    pub fn sapi(
        &self,
        accounts: &mut Accounts,
        user: &Value,
        description: &str,
        call: (&str, &str),
        body: Option<&Value>,
        status: StatusCode,
    ) {
        let (method, path) = call;
        let mut request = json!({"method": method, "path": path, "channel": "api", "ip": LOOPBACK});
        if let Some(body) = body {
            request["body"] = body.clone();
        }
        let details = json!({"request": request, "response": {"statusCode": status.as_u16()}});
        self.log(accounts, user, "sapi", description, Some(details));
    }
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_have_milliseconds_and_ids_follow_them() {
        let date = now_millis();
        assert_eq!(date.len(), 24, "{date}");
        assert!(date.ends_with('Z') && date.as_bytes()[19] == b'.', "{date}");
        let id = log_id("2026-11-20T09:58:11.043Z");
        assert!(id.starts_with("90020261120095811043"), "{id}");
        assert_eq!(id.len(), 35);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn seeded_histories_are_sorted_oldest_first() {
        let seed: AccountsSeed = serde_json::from_value(json!({"logs": {"u": [
            {"date": "2026-11-20T10:00:00.000Z", "type": "sce"},
            "junk",
            {"date": "2026-11-19T10:00:00.000Z", "type": "s"}
        ]}}))
        .unwrap();
        let accounts = Accounts::from(seed);
        let types: Vec<_> = accounts
            .newest_first("u")
            .iter()
            .map(|e| e["type"].clone())
            .collect();
        assert_eq!(types, ["sce", "s"]);
    }
}
