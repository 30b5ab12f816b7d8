//! Runs the system: the functions in Lambda-like containers ([`functions`], [`shared`]), the
//! servers that put events on buses and turn HTTP requests into API Gateway invocations
//! ([`system`], [`api`]), the record of every hop ([`hops`], [`tracker`]), and `local send`
//! ([`send`]). Builds on [`crate::aws`] (what the template deploys) and the `sandboxes` crate.

pub mod api;
pub mod functions;
pub mod hops;
pub mod send;
pub mod shared;
pub mod system;
pub mod tracker;
pub mod util;
