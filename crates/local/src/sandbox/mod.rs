//! Embedded stand-ins for the providers, used when a provider's real endpoint is not configured.

pub mod auth0;
pub mod bloomreach;
pub mod hybris;
pub mod templates;

pub use auth0::{Auth0Sandbox, Auth0Settings};
pub use bloomreach::{BloomreachSandbox, BloomreachSettings};
pub use hybris::{HybrisSandbox, HybrisSettings};

use auth0_events::EmailKind;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

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

impl SandboxSettings {
    /// What the running sandboxes give a function's container, as a deployment's parameters
    /// give it the real provider: the URL (carrying the container's id, so each call is
    /// attributed to its invocation) and the credentials.
    pub fn function_env(&self, container: &str) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| vars.push((k.to_owned(), v));
        if let Some(a) = &self.auth0 {
            put("AUTH0_DOMAIN", a.settings.domain.clone());
            put("AUTH0_BASE_URL", format!("{}/_c/{container}", a.url));
            put("AUTH0_CLIENT_ID", a.settings.client_id.clone());
            put("AUTH0_CLIENT_SECRET", a.settings.client_secret.clone());
            // email-transform skips an `sce` made by the Dixa functions' client (this one):
            // dixa-patch-user puts that change's emails itself.
            put("DIXA_AUTH0_CLIENT_ID", a.settings.client_id.clone());
        }
        if let Some(b) = &self.bloomreach {
            put("BLOOMREACH_API_BASE", format!("{}/_c/{container}", b.url));
            put("BLOOMREACH_PROJECT_TOKEN", b.settings.project_token.clone());
            put("BLOOMREACH_API_KEY_ID", b.settings.key_id.clone());
            put("BLOOMREACH_API_SECRET", b.settings.key_secret.clone());
            for kind in EmailKind::ALL {
                put(&send_email::config::template_var(kind), template_id(kind));
            }
        }
        if let Some(h) = &self.hybris {
            put("HYBRIS_BASE_URL", format!("{}/_c/{container}", h.url));
            put("HYBRIS_BASE_SITE", h.settings.base_site.clone());
            put("HYBRIS_CLIENT_ID", h.settings.client_id.clone());
            put("HYBRIS_CLIENT_SECRET", h.settings.client_secret.clone());
        }
        vars
    }
}

/// A token endpoint's refusal, as OAuth 2.0 writes it: `{"error", "error_description"}`.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": error, "error_description": description});
    (status, axum::Json(body)).into_response()
}
