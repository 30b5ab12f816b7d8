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
//! With `DEDUPE_TABLE_NAME` set, only the first `fcpr` per identifier within
//! `RESET_WINDOW_MINUTES` (default 15) does this; the repeats are skipped ([`window`]).
//!
//! A customer in neither system gets nothing, and the outcome is logged without the address.
//! Both actions are safe to repeat, so any failure fails the invocation for Lambda to retry
//! (and, after the retries, to hand to the OnFailure destination). See [`handler`] for the
//! failure table.

pub mod config;
pub mod handler;
pub mod hybris;
pub mod outcome;
pub mod window;

pub use config::Config;
pub use handler::{Handler, HandlerError};

use dedupe_store::{DedupeStore, DynamoDbStore, MemoryStore};
use lambda_support::{Platform, StartError};
use std::sync::Arc;
use window::ResetWindow;

/// The ready handler, from the platform's settings: what `main` runs on Lambda and the local
/// run runs in each container. With `DEDUPE_TABLE_NAME` set and a non-zero
/// `RESET_WINDOW_MINUTES`, the reset window's records live in that DynamoDB table (the one
/// send-email dedupes with), or in the platform's memory in the local run.
pub async fn bootstrap(platform: &Platform) -> Result<Handler, StartError> {
    let secrets = lambda_support::secrets_manager!(platform);
    let aws = platform.aws_access();
    let config = Config::from_env(platform.env(), secrets)
        .await
        .map_err(StartError::config)?;
    let window = config
        .dedupe_table
        .clone()
        .filter(|_| !config.reset_window.is_zero())
        .map(|table| (table, config.reset_window));
    let mut handler = Handler::new(config).map_err(StartError::clients)?;
    if let Some((table, length)) = window {
        let store: Arc<dyn DedupeStore> = match platform.memory() {
            Some(memory) => memory.get::<MemoryStore>(&table),
            None => Arc::new(DynamoDbStore::new(
                aws_sdk_dynamodb::Client::new(&aws.config().await),
                table,
            )),
        };
        handler = handler
            .with_window(ResetWindow::new(store, length).with_clock(platform.clock().clone()));
    }
    Ok(handler)
}
