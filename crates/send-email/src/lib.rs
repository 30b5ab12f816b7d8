//! send-email: sends one security email through Bloomreach Engagement's transactional email API.
//!
//! An EventBridge rule on the Email bus invokes the function asynchronously with one event whose
//! `detail-type` is `SendEmail` and whose `detail` is an [`auth0_events::send_email::SendEmailDetail`]
//! (contract version 1). The function sends that one email:
//!
//! `POST {BLOOMREACH_API_BASE}/email/v2/projects/{BLOOMREACH_PROJECT_TOKEN}/sync`, HTTP Basic
//! `base64(api_key_id:api_secret)`, with the JSON body
//!
//! ```json
//! {
//!   "campaign_name": "<BLOOMREACH_CAMPAIGN_<KIND>, default security-<kind>>",
//!   "recipient": {
//!     "customer_ids": {"<BLOOMREACH_CUSTOMER_ID_KEY, default registered>": "<recipient>"},
//!     "email": "<recipient>",
//!     "language": "<BLOOMREACH_LANGUAGE, omitted when unset>"
//!   },
//!   "email_content": {
//!     "template_id": "<BLOOMREACH_TEMPLATE_<KIND>>",
//!     "params": { "...": "see below" },
//!     "sender_address": "<BLOOMREACH_SENDER_ADDRESS, omitted when unset>",
//!     "sender_name": "<BLOOMREACH_SENDER_NAME, omitted when unset>"
//!   },
//!   "integration_id": "<BLOOMREACH_INTEGRATION_ID, omitted when unset>"
//! }
//! ```
//!
//! Settings and their defaults: [`config`].
//!
//! # Template params
//!
//! `email_content.params` is a JSON object with string values, built from the list in [`params`]
//! (the starter templates in `templates/email/` are tested against it). Which params there are,
//! when each is present and its value:
//! [docs/emails.md, Bloomreach request and template parameters](../../../docs/emails.md#bloomreach-request-and-template-parameters).
//!
//! A fact added to `TemplateParams` (auth0-events) does not compile in [`params`] until it is
//! given a parameter there, and then the template contract test names the templates to update.
//!
//! # Outcomes
//!
//! Each Bloomreach answer, and each event answered without a call (duplicate, within the
//! block window, malformed), with its outcome or `errorType` (see [`outcome`] and
//! [`handler::HandlerError::error_type`]): the outcomes table in
//! [docs/emails.md, Bloomreach request and template parameters](../../../docs/emails.md#bloomreach-request-and-template-parameters).
//!
//! Every error fails the invocation: Lambda retries an asynchronous invocation twice, then hands
//! the event to the function's OnFailure destination (or DLQ), where the `errorType` says whether
//! a redrive can help. Nothing is dropped silently.
//!
//! # Personal data
//!
//! The recipient address and the params go into the request body only. Log lines and error
//! messages carry the kind, `log_id`, `dedupe_key`, attempts, status codes and error classes;
//! Bloomreach response bodies (which can echo the address) are only matched by substring.
//!
//! # Duplicates
//!
//! The API has no idempotency key and sends during the request: a retry after a timeout or a
//! 5xx, or a redelivery of the same event by EventBridge/Lambda, can send the email twice.
//! With `DEDUPE_TABLE_NAME` set, [`dedupe`] keeps a DynamoDB record per `dedupe_key`
//! (`<log_id>:<kind>`) so a redelivered or replayed event is answered `"status": "duplicate"`
//! without a second email; a retry inside one invocation after a timeout can still send twice.

pub mod batch;
pub mod bloomreach;
pub mod config;
pub mod dedupe;
pub mod handler;
pub mod outcome;
pub mod params;

pub use config::Config;
pub use handler::{Handler, HandlerError};

use lambda_support::{Platform, StartError};
use std::sync::Arc;

/// The ready handler, from the platform's settings: what `main` runs on Lambda and the local
/// run runs in each container. With `DEDUPE_TABLE_NAME` set, the dedupe record lives in that
/// DynamoDB table, or in the platform's memory in the local run.
pub async fn bootstrap(platform: &Platform) -> Result<Handler, StartError> {
    let secrets = lambda_support::secrets_manager!(platform);
    let aws = platform.aws_access();
    let config = Config::from_env(platform.env(), secrets)
        .await
        .map_err(StartError::config)?;
    let dedupe = config
        .dedupe_table
        .clone()
        .map(|table| (table, config.dedupe_keep, config.block_window));
    let mut handler = Handler::new(config).map_err(StartError::clients)?;
    if let Some((table, keep, window)) = dedupe {
        let store: Arc<dyn dedupe::DedupeStore> = match platform.memory() {
            Some(memory) => memory.get::<dedupe::MemoryStore>(&table),
            None => Arc::new(dedupe::DynamoDbStore::new(
                aws_sdk_dynamodb::Client::new(&aws.config().await),
                table,
            )),
        };
        let dedupe = dedupe::Dedupe::new(store, keep)
            .with_block_window(window)
            .with_clock(platform.clock().clone());
        handler = handler.with_dedupe(dedupe);
    }
    Ok(handler)
}
