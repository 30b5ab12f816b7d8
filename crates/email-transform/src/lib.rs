//! email-transform: Auth0 security logs in, SendEmail events out.
//!
//! An EventBridge rule on the Auth0 partner bus invokes this function with brute-force blocks
//! (`limit_wc`, `limit_sul`, `limit_mu`), password changes (`scp`) and email changes (`sce`).
//! [`transform`] maps one log to its emails (pure, no I/O); [`email_bus::Publisher`] puts them
//! on the Email bus in one PutEvents call, re-sending only entries that failed; [`handler`] ties the
//! two together for the Lambda runtime.

pub mod config;
pub mod handler;
pub mod transform;

pub use config::Config;
pub use handler::{Handler, HandlerError};
