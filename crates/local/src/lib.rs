//! The whole system on one machine, on loopback only, with no AWS account.
//!
//! [`LocalSystem::start`] brings up:
//!
//! - an **EventBridge-compatible endpoint** speaking the real PutEvents API (AWS JSON 1.1),
//!   with the buses and rules of `infra/template.yaml` (patterns matched with `quamina`, i.e.
//!   EventBridge pattern semantics): [`eventbridge`];
//! - the **functions**, running their real handler code in-process, built with their real
//!   `Config::from_env`, in Lambda-like containers (cold start, warm reuse, one invocation at a
//!   time each, the template's timeout), invoked asynchronously per matching rule: [`functions`];
//! - the **API routes** of the template (the Dixa API) as API Gateway presents them to Lambda:
//!   [`api`], with a preview of the Dixa card (`dixa/card.liquid`) at `/dixa/card`:
//!   [`dixa_card`];
//! - an embedded **sandbox per provider** (Auth0 tenant, Bloomreach, Hybris) unless the
//!   provider's real URL is configured: [`sandbox`]. Emails land in an outbox folder a person
//!   can open: [`outbox`];
//! - a record of every **hop**, served at `GET /_local/hops` on the EventBridge endpoint:
//!   [`hops`]. `local send` ([`send`]) puts events with the real SDK client and prints them.

pub mod api;
pub mod dixa_card;
pub mod eventbridge;
pub mod functions;
pub mod hops;
pub mod outbox;
pub mod sandbox;
pub mod send;
pub mod system;
pub mod topology;
pub mod tracker;
pub mod util;

pub use system::{DixaSecrets, Endpoints, LocalSystem, Options, Ports};

/// The workspace root (for the default template, outbox and state file).
pub fn workspace_root() -> std::path::PathBuf {
    infra_tests::workspace_root()
}
