//! email-transform: Auth0 security logs in, SendEmail events out.
//!
//! An EventBridge rule on the Auth0 partner bus invokes this function with brute-force blocks
//! (`limit_wc`, `limit_sul`, `limit_mu`), password changes (`scp`) and email changes (`sce`).
//! [`transform`] maps one log to its emails (pure, no I/O); [`email_bus::Publisher`] puts them
//! on the Email bus in one PutEvents call, re-sending only entries that failed; [`handler`] ties the
//! two together for the Lambda runtime, and records every `sce` in the email history when one
//! is configured ([`history`]: what a record holds).

pub mod config;
pub mod handler;
pub mod history;
pub mod outcome;
pub mod transform;

pub use config::{Config, Services};
pub use handler::{Handler, HandlerError};

use email_history::EmailHistory;
use lambda_support::{Platform, StartError};

/// The ready handler, from the platform's settings: what `main` runs on Lambda and the local
/// run runs in each container. Auth0 and the email history are optional: Auth0's client is
/// built only when `AUTH0_DOMAIN` is set (only logs that carry nothing but a `user_id` need
/// it), the history only when `EMAIL_HISTORY_TABLE` is; their secrets are fetched at once
/// ([`Services`]).
pub async fn bootstrap(platform: &Platform) -> Result<Handler, StartError> {
    let secrets = lambda_support::secrets_manager!(platform);
    let env = platform.env();
    let config = Config::from_env(env).map_err(StartError::config)?;
    let services = Services::from_env(env, secrets)
        .await
        .map_err(StartError::config)?;
    let auth0 = services
        .auth0
        .map(auth0_client::Auth0Client::new)
        .transpose()
        .map_err(StartError::clients)?;
    // As `email_history::history` builds it, with the key already loaded beside Auth0's.
    let history = match services.history {
        None => None,
        Some(c) => {
            let store = email_history::store(platform, &c.table).await;
            Some(EmailHistory::new(store, c.key, c.keep_days).with_clock(platform.clock().clone()))
        }
    };
    let eventbridge = aws_sdk_eventbridge::Client::new(&platform.aws_access().config().await);
    Ok(Handler::new(config, eventbridge, auth0).with_history(history))
}
