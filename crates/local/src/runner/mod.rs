//! Runs the system: the functions in Lambda-like containers ([`functions`], [`shared`]), the
//! servers that put events on buses and turn HTTP requests into API Gateway invocations
//! ([`system`], [`api`]), the record of every hop ([`hops`], [`tracker`]), the state file `up`
//! leaves for `send` ([`state`]), and `local send` ([`send`]); what any of it fails with is a
//! [`LocalError`]. Builds on [`crate::aws`] (what the template deploys) and the `sandboxes`
//! crate.

pub mod api;
pub mod error;
pub mod functions;
pub mod hops;
pub mod queues;
pub mod send;
pub mod shared;
pub mod state;
pub mod system;
pub mod tracker;
pub mod util;

pub use error::LocalError;
