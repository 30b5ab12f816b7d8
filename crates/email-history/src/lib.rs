//! Email history: every address change the system sees, so support can tell who had an
//! address before (issue 19).
//!
//! A record ([`Change`]) holds the previous address as its keyed hash ([`AddressKey`]:
//! HMAC-SHA256 of the normalised address under [`HistoryKey`], a secret of at least 32 bytes),
//! the user whose address changed, when, by whom (the customer, or an agent with the Dixa
//! conversation), and the new address masked. No address is stored in clear.
//!
//! A record is a function of the change alone: its sort key is the change's own time and its
//! source (`sce` log id, or the agent change's id), so a redelivery or a replay writes the same
//! item over itself. Records are kept `EMAIL_HISTORY_DAYS` days from the change (DynamoDB TTL
//! on `expires_at`); a read leaves out expired records itself, since TTL deletes late.
//!
//! The records live in a [`HistoryStore`]: [`DynamoDbHistory`] on AWS, [`MemoryHistory`] in
//! the local run; [`EmailHistory`] holds the rules (retention, clock) over either, and
//! [`history()`] builds it from a [`Platform`] as a function's `bootstrap` does. Table layout:
//! [`mod@store`]; settings: [`config`].

pub mod change;
pub mod config;
pub mod dynamodb;
pub mod history;
pub mod key;
pub mod memory;
pub mod store;

pub use change::{Change, ChangedBy};
pub use config::HistoryConfig;
pub use dynamodb::DynamoDbHistory;
pub use history::{EmailHistory, Recorded};
pub use key::{AddressKey, HistoryKey, MIN_KEY_BYTES, WeakKey};
pub use memory::MemoryHistory;
pub use store::{HistoryError, HistoryStore, StoreFuture};

use lambda_support::{Platform, StartError};
use std::sync::Arc;

/// The store of the history in `table`: in the platform's memory in the local run (the same
/// instance for every container), else the DynamoDB table.
pub async fn store(platform: &Platform, table: &str) -> Arc<dyn HistoryStore> {
    match platform.memory() {
        Some(memory) => memory.get::<MemoryHistory>(table),
        None => Arc::new(DynamoDbHistory::new(
            aws_sdk_dynamodb::Client::new(&platform.aws_access().config().await),
            table,
        )),
    }
}

/// The history from the platform's settings ([`HistoryConfig`]), on its store and clock; `None`
/// when `EMAIL_HISTORY_TABLE` is unset.
pub async fn history(platform: &Platform) -> Result<Option<EmailHistory>, StartError> {
    let secrets = lambda_support::secrets_manager!(platform);
    let Some(config) = HistoryConfig::from_env(platform.env(), secrets)
        .await
        .map_err(StartError::config)?
    else {
        return Ok(None);
    };
    let store = store(platform, &config.table).await;
    Ok(Some(
        EmailHistory::new(store, config.key, config.keep_days).with_clock(platform.clock().clone()),
    ))
}
