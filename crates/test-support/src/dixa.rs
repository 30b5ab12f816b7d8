//! The Dixa card's API (dixa-get-user, dixa-patch-user) as the tests configure it; its API
//! Gateway events are [`crate::apigw::lookup_event`] and [`crate::apigw::action_event`].

use serde_json::{Value, json};

/// The look-up secret Dixa sends in `x-dixa-card-secret`.
pub const LOOKUP_SECRET: &str = "lookup-secret-0123456789abcdefghijklmnop";
/// The key the look-up signs action tokens with.
pub const TOKEN_KEY: &str = "token-key-0123456789abcdefghijklmnopqrstu";
/// The card's origin: the one allowed origin.
pub const ORIGIN: &str = "https://shop.dixa.com";
/// The agent Dixa names in a look-up (`agent`).
pub const AGENT: &str = "agent.smith@shop.example";
/// The conversation Dixa names in a look-up (`csid`).
pub const CSID: &str = "8812345";
/// The storefront client dixa-patch-user asks Auth0's reset emails for.
pub const RESET_CLIENT_ID: &str = "storefront-client-id";

/// The email history's key both Dixa functions hash addresses with (`EMAIL_HISTORY_KEY`).
pub const HISTORY_KEY: &str = "email-history-key-0123456789abcdef-dixa";

/// The settings that give a Dixa function the email history in table `table` (in the local
/// run's memory with `lambda_support::Platform::local`, else DynamoDB), keyed with
/// [`HISTORY_KEY`]; add them to [`env`]'s `extra`.
pub fn history_env(table: &str) -> [(&'static str, String); 2] {
    [
        ("EMAIL_HISTORY_TABLE", table.to_owned()),
        ("EMAIL_HISTORY_KEY", HISTORY_KEY.to_owned()),
    ]
}

/// The settings both Dixa functions start with, Auth0 at `auth0_url` ([`crate::auth0::env`]):
/// the look-up secret, the action-token key, the allowed origin and dixa-patch-user's reset
/// client; then `extra`. dixa-patch-user needs `EMAIL_BUS_NAME` besides.
pub fn env(auth0_url: &str, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("DIXA_LOOKUP_SECRET", LOOKUP_SECRET.to_owned()),
        ("DIXA_ACTION_TOKEN_KEY", TOKEN_KEY.to_owned()),
        ("DIXA_ALLOWED_ORIGINS", ORIGIN.to_owned()),
        ("AUTH0_RESET_CLIENT_ID", RESET_CLIENT_ID.to_owned()),
    ];
    env.extend(crate::auth0::env(auth0_url));
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    env
}

/// The `PATCH /api/v2/users/{id}` body of an email change: the new address, unverified, and
/// Auth0 to send it a verification email (never `email_verified: true`, nothing else).
pub fn email_change(new_address: &str) -> Value {
    json!({"email": new_address, "email_verified": false, "verify_email": true})
}
