//! Embedded stand-ins for the providers, used when a provider's real endpoint is not configured.

pub mod auth0;
pub mod bloomreach;
pub mod hybris;
pub mod templates;

pub use auth0::{Auth0Sandbox, Auth0Settings};
pub use bloomreach::{BloomreachSandbox, BloomreachSettings};
pub use hybris::{HybrisSandbox, HybrisSettings};

use auth0_events::EmailKind;

/// The template id the Bloomreach sandbox knows for a kind.
pub fn template_id(kind: EmailKind) -> String {
    format!("local-{}", kind.as_str().replace('_', "-"))
}

/// The kind whose sandbox template id is `id`.
pub fn kind_of_template(id: &str) -> Option<EmailKind> {
    EmailKind::ALL.into_iter().find(|k| template_id(*k) == id)
}

/// A sandbox's base URL and what it accepts.
#[derive(Debug, Clone)]
pub struct Running<S> {
    pub url: String,
    pub settings: S,
}

/// The sandboxes in use (`None`: that provider is the real one, from the environment).
#[derive(Debug, Clone, Default)]
pub struct SandboxSettings {
    pub auth0: Option<Running<Auth0Settings>>,
    pub bloomreach: Option<Running<BloomreachSettings>>,
    pub hybris: Option<Running<HybrisSettings>>,
}
