//! Look-up answers for the Dixa card with the address-history fields (issue 19): moved
//! accounts, recent events, the recovery actions, in the shape `docs/dixa.md` ("What the card
//! receives") gives. Fixed JSON, so the card can be rendered and looked at without the API.

#![allow(dead_code)]

use serde_json::{Value, json};

/// The address the card was opened for: the conversation's customer.
pub const LOOKED_UP: &str = "jane+shop@example.com";
/// Where the moved account's email is now.
pub const MOVED_TO: &str = "mallory.new@example.org";
pub const MOVED_ID: &str = "auth0|64f0c0ffee0123456789abcd";
pub const CURRENT_ID: &str = "google-oauth2|1234567890";

/// A database account with today's fields, nothing blocked; `extra` is merged over it.
pub fn account(user_id: &str, email: &str, extra: Value) -> Value {
    let mut a = json!({
        "user_id": user_id, "email": email, "email_verified": true,
        "connection": "Username-Password-Authentication", "logins_count": 12,
        "last_login": "2026-12-04T09:12:00.000Z", "created_at": "2024-01-02T03:04:05.000Z",
        "blocked": false, "brute_force_blocked": false, "brute_force_block_count": 0,
        "action_token": format!("token-for-{user_id}"),
        "actions": ["change_email", "send_password_reset", "block"]
    });
    for (k, v) in extra.as_object().expect("extra is an object") {
        a[k] = v.clone();
    }
    a
}

/// The look-up's answer for [`LOOKED_UP`] with `accounts`; `extra` is merged over it.
pub fn response(accounts: Vec<Value>, extra: Value) -> Value {
    let mut r = json!({
        "found": !accounts.is_empty(), "count": accounts.len(), "email": LOOKED_UP,
        "history": "ok", "token_expires_in": 300, "accounts": accounts
    });
    for (k, v) in extra.as_object().expect("extra is an object") {
        r[k] = v.clone();
    }
    r
}

/// The account that moved away from [`LOOKED_UP`] on 4 December 2026, with every recovery
/// action (in the API's order, not the card's) and its recent events.
pub fn moved_account() -> Value {
    account(
        MOVED_ID,
        MOVED_TO,
        json!({
            "email_verified": false,
            "last_login": "2026-12-04T09:31:00.000Z",
            "moved": {"at": "2026-12-04T09:30:12Z", "by": "customer"},
            "mfa_factors": 1,
            "events": {"status": "ok", "items": [
                {"date": "2026-12-04T09:30:12.043Z", "type": "sce", "what": "Email changed", "country": "Germany"},
                {"date": "2026-12-04T09:29:40.000Z", "type": "gd_enrollment_complete", "what": "MFA enrolled", "country": "Germany"},
                {"date": "2026-12-04T09:12:40.000Z", "type": "s", "what": "Successful login", "country": "Germany"},
                {"date": "2026-12-04T09:11:02.000Z", "type": "fp", "what": "Failed login: wrong password", "country": "DE"},
                {"date": "2026-11-28T18:03:00.000Z", "type": "s", "what": "Successful login", "country": "Denmark"}
            ]},
            "actions": ["change_email", "send_password_reset", "block", "restore_email",
                        "resend_verification", "sign_out_everywhere", "reset_mfa"]
        }),
    )
}

/// The customer's Google account, which still has [`LOOKED_UP`]; its events could not be read.
pub fn current_account() -> Value {
    account(
        CURRENT_ID,
        LOOKED_UP,
        json!({
            "connection": "google-oauth2", "logins_count": 3, "last_login": null,
            "created_at": "2025-05-05T05:05:05.000Z", "mfa_factors": 0,
            "events": {"status": "unavailable"},
            "actions": ["block", "sign_out_everywhere"]
        }),
    )
}

/// The card for an address that moved: the moved account first, then the current one.
pub fn moved_and_current() -> Value {
    response(vec![moved_account(), current_account()], json!({}))
}

/// No account has the address, and the address history could not be read.
pub fn none_history_unavailable() -> Value {
    response(vec![], json!({"history": "unavailable"}))
}
