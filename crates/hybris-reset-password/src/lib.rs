//! hybris-reset-password: the not-yet-migrated customer's way back in.
//!
//! Auth0 logs `fcpr` (failed change-password request) when someone asks for a reset email for
//! an address Auth0 does not know, typically a customer still living only in SAP Commerce
//! (Hybris). For such a log this function:
//!
//! 1. takes the address from the log (`details.body.email`, then `user_name`), lower-cased;
//! 2. asks Hybris whether that customer exists ([`hybris::HybrisClient::customer_exists`]);
//! 3. if so, has Hybris send its own reset email ([`hybris::HybrisClient::start_reset`]) and then
//!    clears Auth0's brute-force blocks for that identifier (`DELETE /user-blocks?identifier=`),
//!    because a customer stuck between the two systems has often been blocked by then.
//!
//! A customer in neither system gets nothing, and the outcome is logged without the address.
//! Both actions are safe to repeat, so any failure fails the invocation for Lambda to retry
//! (and, after the retries, to hand to the OnFailure destination). See [`handler`] for the
//! failure table.

pub mod config;
pub mod handler;
pub mod hybris;
pub mod outcome;

pub use config::Config;
pub use handler::{Handler, HandlerError};

use lambda_support::{Platform, StartError};

/// The ready handler, from the platform's settings: what `main` runs on Lambda and the local
/// run runs in each container.
pub async fn bootstrap(platform: &Platform) -> Result<Handler, StartError> {
    let secrets = lambda_support::secrets_manager!(platform);
    let config = Config::from_env(platform.env(), secrets)
        .await
        .map_err(StartError::config)?;
    Handler::new(config).map_err(StartError::clients)
}
