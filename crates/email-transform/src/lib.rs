//! email-transform: Auth0 security logs in, SendEmail events out.
//!
//! An EventBridge rule on the Auth0 partner bus invokes this function with brute-force blocks
//! (`limit_wc`, `limit_sul`, `limit_mu`), password changes (`scp`) and email changes (`sce`).
//! [`transform`] maps one log to its emails (pure, no I/O); [`email_bus::Publisher`] puts them
//! on the Email bus in one PutEvents call, re-sending only entries that failed; [`handler`] ties the
//! two together for the Lambda runtime.

pub mod config;
pub mod handler;
pub mod outcome;
pub mod transform;

pub use config::Config;
pub use handler::{Handler, HandlerError};

use lambda_support::{Platform, StartError};

/// The ready handler, from the platform's settings: what `main` runs on Lambda and the local
/// run runs in each container. Auth0 is optional here: only logs that carry nothing but a
/// `user_id` need it, so its client is built only when `AUTH0_DOMAIN` is set.
pub async fn bootstrap(platform: &Platform) -> Result<Handler, StartError> {
    let secrets = lambda_support::secrets_manager!(platform);
    let env = platform.env();
    let config = Config::from_env(env).map_err(StartError::config)?;
    let auth0 = match env.optional(auth0_client::config::DOMAIN) {
        None => None,
        Some(_) => {
            let auth0 = auth0_client::Auth0Config::from_env(env, secrets)
                .await
                .map_err(StartError::config)?;
            Some(auth0_client::Auth0Client::new(auth0).map_err(StartError::clients)?)
        }
    };
    let eventbridge = aws_sdk_eventbridge::Client::new(&platform.aws_access().config().await);
    Ok(Handler::new(config, eventbridge, auth0))
}
