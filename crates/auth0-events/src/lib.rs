//! Types shared by the Auth0-driven Lambdas.
//!
//! - [`envelope`]: an Auth0 tenant log as the Auth0 partner source delivers it to EventBridge
//!   (`detail.log_id` + `detail.data`), parsed tolerantly and with PII-free errors.
//! - [`LogType`]: the Auth0 log event type code; unknown codes are kept, not rejected.
//! - [`EmailAddress`]: a parsed, lower-cased address whose `Debug` never prints the address.
//! - [`LogId`], [`DedupeKey`]: producer-set ids, shape-checked where they enter (safe to log).
//! - [`send_email`]: the SendEmail event contract between email-transform and send-email.

pub mod email;
pub mod envelope;
pub mod ids;
mod lenient;
pub mod log_type;
pub mod send_email;

pub use email::{EmailAddress, EmailAddressError};
pub use envelope::{AddressProblem, Auth0Event, Auth0Log, MalformedEvent};
pub use ids::{DedupeKey, LogId};
pub use log_type::LogType;
pub use send_email::{EmailChange, EmailKind, SendEmailDetail, TemplateParams};
