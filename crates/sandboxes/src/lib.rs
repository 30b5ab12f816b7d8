//! Stand-ins for the providers (an Auth0 tenant, Bloomreach, SAP Commerce), each a
//! [`Sandbox`]: a router to serve on loopback and the settings it gives a function that calls
//! it. The local run serves them when a provider's real endpoint is not configured; tests and
//! benchmarks can serve them as peers. Every email they are asked to send lands in the
//! [`outbox`], rendered as the customer would read it.
//!
//! One way: this crate knows nothing of the runner. A call's origin reaches a sandbox as a
//! [`Caller`] request extension, and a sandbox marks its answer with the outbox page it wrote
//! ([`Recorded`]).

pub mod auth0;
pub mod bloomreach;
pub mod hybris;
pub mod outbox;
pub mod rate;
pub mod templates;
pub mod text;

pub use auth0::{Auth0Sandbox, Auth0Settings};
pub use bloomreach::{BloomreachSandbox, BloomreachSettings};
pub use hybris::{HybrisSandbox, HybrisSettings};

use auth0_events::EmailKind;
use axum::{
    Router,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use std::{collections::HashMap, path::PathBuf, sync::Arc};

/// The account and region of the local AWS world (the envelopes the Auth0 log stream writes).
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "eu-west-1";

/// The container a request came from (set by the runner from the `/_c/<container>` prefix).
#[derive(Debug, Clone)]
pub struct Caller(pub String);

/// Put on a sandbox's response: the outbox page it wrote for this call.
#[derive(Debug, Clone)]
pub struct Recorded(pub PathBuf);

/// The template id the Bloomreach sandbox knows for a kind.
pub fn template_id(kind: EmailKind) -> String {
    format!("local-{}", kind.as_str().replace('_', "-"))
}

/// The kind whose sandbox template id is `id`.
pub fn kind_of_template(id: &str) -> Option<EmailKind> {
    EmailKind::ALL.into_iter().find(|k| template_id(*k) == id)
}

/// One provider's stand-in: the API it serves, and the settings it gives a function that
/// calls it, named as the functions name them (the URL and the credentials).
pub trait Sandbox: Clone + Send + Sync + 'static {
    /// Its name in hops and on the banner: `auth0`, `bloomreach`, `hybris`.
    const NAME: &'static str;
    /// The settings that make a provider the real one: when one is set, no sandbox is started.
    const URL_SETTINGS: &'static [&'static str];
    /// Its API, and `GET /_local/state` where it keeps state.
    fn router(&self) -> Router;
    /// What a function needs to call this sandbox at `base_url`.
    fn function_env(&self, base_url: &str) -> Vec<(String, String)>;

    /// Whether `env` points the functions at the real provider.
    fn is_real(env: &HashMap<String, String>) -> bool {
        Self::URL_SETTINGS
            .iter()
            .any(|name| env.get(*name).is_some_and(|v| !v.trim().is_empty()))
    }
}

/// A sandbox being served at `url`, as the functions' environments need it.
#[derive(Clone)]
pub struct Running {
    pub name: &'static str,
    pub url: String,
    env: Arc<FunctionEnv>,
}

/// A sandbox's [`Sandbox::function_env`], kept by its [`Running`].
type FunctionEnv = dyn Fn(&str) -> Vec<(String, String)> + Send + Sync;

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("name", &self.name)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Running {
    pub fn new<S: Sandbox>(sandbox: &S, url: String) -> Self {
        let sandbox = sandbox.clone();
        Self {
            name: S::NAME,
            url,
            env: Arc::new(move |base_url| sandbox.function_env(base_url)),
        }
    }

    /// The settings for a function calling this sandbox at `base_url` (its URL, or a path
    /// under it that the runner strips).
    pub fn function_env(&self, base_url: &str) -> Vec<(String, String)> {
        (self.env)(base_url)
    }

    /// Whether this sandbox gives a function the setting `name`.
    pub fn gives(&self, name: &str) -> bool {
        self.function_env(&self.url).iter().any(|(k, _)| k == name)
    }
}

/// A token endpoint's refusal, as OAuth 2.0 writes it: `{"error", "error_description"}`.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": error, "error_description": description});
    (status, axum::Json(body)).into_response()
}
