//! The whole system on one machine, on loopback only, with no AWS account.
//!
//! [`LocalSystem::start`] brings up:
//!
//! - an **EventBridge-compatible endpoint** speaking the real PutEvents API (AWS JSON 1.1),
//!   with the buses and rules of `infra/template.yaml` (patterns matched with `quamina`, i.e.
//!   EventBridge pattern semantics): [`eventbridge`];
//! - the **functions**, each built by its own `bootstrap` (what its `main` calls) with loopback
//!   endpoints and in-memory stores (send-email's dedupe record: a replayed log is sent once,
//!   as in production), in Lambda-like containers (cold start, warm reuse, one invocation at a
//!   time each, the template's timeout), invoked asynchronously per matching rule: [`functions`];
//! - the **API routes** of the template (the Dixa API) as API Gateway presents them to Lambda:
//!   [`api`], with a preview of the Dixa card (`dixa/card.liquid`) at `/dixa/card`:
//!   [`dixa_card`];
//! - an embedded **sandbox per provider** (Auth0 tenant, Bloomreach, Hybris) unless the
//!   provider's real URL is configured: [`sandbox`]. Emails land in an outbox folder a person
//!   can open: [`outbox`];
//! - a record of every **hop**, served at `GET /_local/hops` on the EventBridge endpoint:
//!   [`hops`]. `local send` ([`send`]) puts events with the real SDK client and prints them.
//!
//! `local up` leaves a [`StateFile`] (`.local/state.json`) for `local send`; whatever fails is
//! a [`LocalError`].

pub mod aws;
pub mod dixa_card;
pub mod runner;

// The paths the tests and `main` use.
pub use aws::{eventbridge, topology};
pub use runner::{api, functions, hops, send, system};

pub use runner::api::DixaSecrets;
pub use runner::error::LocalError;
pub use runner::state::StateFile;
/// The provider sandboxes, a crate of their own (`crates/sandboxes`).
pub use sandboxes::{self as sandbox, outbox};
pub use system::{Endpoints, LocalSystem, Options, Ports};

use std::path::{Path, PathBuf};

/// The clone to work in (its template, `.local/` outbox, logs and state file), found at run
/// time so that a binary built in one clone never writes into another: `LOCAL_WORKSPACE` when
/// set, else the nearest folder at or above the current directory that has
/// `infra/template.yaml` and a `Cargo.toml`.
pub fn workspace_root() -> Result<PathBuf, LocalError> {
    if let Some(dir) = std::env::var_os("LOCAL_WORKSPACE").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return if is_workspace(&dir) {
            Ok(dir)
        } else {
            Err(LocalError::NotAClone(dir))
        };
    }
    let here = std::env::current_dir().map_err(LocalError::CurrentDir)?;
    find_workspace(&here).ok_or(LocalError::OutsideAClone(here))
}

/// The nearest folder at or above `start` that looks like this repository.
pub fn find_workspace(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| is_workspace(dir))
        .map(Path::to_path_buf)
}

fn is_workspace(dir: &Path) -> bool {
    dir.join("infra/template.yaml").is_file() && dir.join("Cargo.toml").is_file()
}
