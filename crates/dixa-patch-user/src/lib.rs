//! dixa-patch-user: the Dixa card's buttons.
//!
//! The card's JavaScript runs in the agent's browser and calls
//! `POST /users/{user_id}/{action}` with `Authorization: Bearer <action_token>`, the token
//! `dixa-get-user` minted for that account in the look-up response (bound to the account,
//! the conversation and the assigned agent; valid for minutes, see
//! [`dixa_access::token`]). The browser's `OPTIONS` preflight on the same path is answered
//! from the CORS allow-list, and every response carries the CORS headers for an allowed
//! `Origin`.
//!
//! The only writes that exist ([`handler`] has the exact Auth0 calls):
//!
//! - `change_email` (`{"email": "<new>"}`): the new address is set **unverified** and Auth0
//!   sends it a verification email (`email_verified: false`, `verify_email: true`); this
//!   function never marks an address verified. It then puts the two SendEmail events itself
//!   ([`notify`]): send-email tells the **old** address that the account's email was changed
//!   (the new one masked) and the new one that it now holds the account. email-transform
//!   skips any `sce` Auth0 logs for this change (`DIXA_AUTH0_CLIENT_ID`), so each email is
//!   sent once whether Auth0 logs one or not.
//!   Every change is recorded in the email history (`EMAIL_HISTORY_TABLE`,
//!   [`email_history`]): the previous address (as its keyed hash) → this account, by the agent
//!   in this conversation, so a later look-up of the old address finds the account.
//! - `restore_email` (`{"email": "<address>"}`, account-takeover recovery): gives a *moved*
//!   account back the address the look-up was for, and only that one (the token binds it);
//!   otherwise as `change_email`: unverified, both emails, recorded. Refused (409) when another
//!   account has taken the address on the same connection.
//! - `send_password_reset`: Auth0's reset-password email to the account's address, for its
//!   database connection, with the storefront application's templates
//!   (`AUTH0_RESET_CLIENT_ID`).
//! - `resend_verification`: Auth0's verification email again, for an unverified address.
//! - `block` / `unblock`: the admin block flag only.
//! - `clear_brute_force_blocks`: the brute-force (IP) blocks only.
//! - `sign_out_everywhere`: every session and refresh token (Enterprise plans only; a 409 in
//!   words elsewhere; off with `DIXA_SIGN_OUT_EVERYWHERE=false`).
//! - `reset_mfa`: every MFA factor removed and remembered browsers forgotten.
//!
//! Nothing else of the profile can be changed. Every attempt, allowed, refused or failed,
//! writes one audit line ([`dixa_access::audit()`]) with the action, the Auth0 user id and,
//! once the token is verified, its conversation id and agent pseudonym; no log line holds
//! an email address. Errors are JSON with fixed texts; nothing is returned as a Lambda
//! error (API Gateway would answer a bare 502). Settings: [`config`].

pub mod config;
pub mod handler;
pub mod notify;
pub mod route;

pub use config::Config;
pub use handler::Actions;

use lambda_support::{Platform, StartError};

/// The ready handler, from the platform's settings: what `main` runs on Lambda and the local
/// run runs in each container. One SDK configuration serves the EventBridge client (built at
/// the first email change), the email history's store and, when a setting names an ARN,
/// Secrets Manager; the history's key (`EMAIL_HISTORY_*`, [`email_history::history()`]) is
/// fetched at the same time as the other secrets.
pub async fn bootstrap(platform: &Platform) -> Result<Actions, StartError> {
    let secrets = lambda_support::secrets_manager!(platform);
    let aws = platform.aws_access();
    let (config, history) = tokio::try_join!(
        async {
            Config::from_env(platform.env(), secrets)
                .await
                .map_err(StartError::config)
        },
        email_history::history(platform),
    )?;
    Ok(Actions::new(config, aws.config().await)
        .map_err(StartError::clients)?
        .with_history(history)
        .with_clock(platform.clock().clone()))
}
