//! The functions, running their real handler code in-process.
//!
//! Each function runs in **containers** as on Lambda: a container is one handler built from the
//! function's real `Config::from_env` (cold start), kept warm and reused, running one
//! invocation at a time; concurrent events get more containers. A container's provider URLs
//! carry its id (`/_c/<container>`) so every call it makes is attributed to its invocation.

use crate::{eventbridge::REGION, sandbox::SandboxSettings};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use lambda_support::Env;
use serde_json::Value;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

pub const EMAIL_TRANSFORM: &str = "email-transform";
pub const SEND_EMAIL: &str = "send-email";
pub const HYBRIS_RESET_PASSWORD: &str = "hybris-reset-password";
pub const DIXA_GET_USER: &str = "dixa-get-user";
pub const DIXA_PATCH_USER: &str = "dixa-patch-user";

/// Settings the local system never takes from the environment for a sandboxed provider (they
/// point at the sandbox), and never at all for secrets held in Secrets Manager.
const AUTH0_CONNECTION: &[&str] = &[
    // With the sandbox, its M2M client is the Dixa functions' client.
    "DIXA_AUTH0_CLIENT_ID",
    "AUTH0_DOMAIN",
    "AUTH0_BASE_URL",
    "AUTH0_AUDIENCE",
    "AUTH0_CLIENT_ID",
    "AUTH0_CLIENT_SECRET",
];
const BLOOMREACH_CONNECTION: &[&str] = &[
    "BLOOMREACH_API_BASE",
    "BLOOMREACH_PROJECT_TOKEN",
    "BLOOMREACH_API_KEY_ID",
    "BLOOMREACH_API_SECRET",
    "BLOOMREACH_TEMPLATE_",
];
const HYBRIS_CONNECTION: &[&str] = &[
    "HYBRIS_BASE_URL",
    "HYBRIS_BASE_SITE",
    "HYBRIS_CLIENT_ID",
    "HYBRIS_CLIENT_SECRET",
];
/// Prefixes and names of the functions' settings a person may set when starting `up`.
const PASSED_THROUGH: &[&str] = &[
    "AUTH0_",
    "BLOOMREACH_",
    "HYBRIS_",
    "SEND_",
    "PUBLISH_",
    "DEDUPE_KEEP_HOURS",
    "SCE_OLD_EMAIL_FIELD",
    "DIXA_AUTH0_CLIENT_ID",
    "RESET_PASSWORD_URL",
    "SUPPORT_URL",
    "DIXA_SHOW_LAST_IP",
    "DIXA_ACTION_TOKEN_TTL_S",
    "DIXA_LOOKUP_TIMEOUT_MS",
];

/// Is the provider real (its URL setting given), or the embedded sandbox?
pub fn external_auth0(env: &HashMap<String, String>) -> bool {
    set(env, "AUTH0_BASE_URL") || set(env, "AUTH0_DOMAIN")
}
pub fn external_bloomreach(env: &HashMap<String, String>) -> bool {
    set(env, "BLOOMREACH_API_BASE")
}
pub fn external_hybris(env: &HashMap<String, String>) -> bool {
    set(env, "HYBRIS_BASE_URL")
}

fn set(env: &HashMap<String, String>, name: &str) -> bool {
    env.get(name).is_some_and(|v| !v.trim().is_empty())
}

/// An SDK configuration for a loopback endpoint with dummy credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("local", "local", None, None, "local"))
        .load()
        .await
}

/// Everything needed to write a container's environment.
#[derive(Clone)]
pub struct FunctionEnv {
    pub eventbridge_url: String,
    pub sandboxes: SandboxSettings,
    /// The environment `up` was started with (empty in tests).
    pub process: HashMap<String, String>,
    /// Fixed settings added last (the Dixa secrets and origins).
    pub extra: Vec<(String, String)>,
    /// `(function, name, value)`: one function's settings, added after everything else
    /// ([`crate::Options::function_env`]).
    pub per_function: Vec<(String, String, String)>,
}

impl FunctionEnv {
    /// The settings of one container of `function`: sandbox URLs carry its id.
    pub fn for_container(&self, function: &str, container: &str) -> Env {
        let mut vars: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| vars.push((k.to_owned(), v));
        let s = &self.sandboxes;
        put("EMAIL_BUS_NAME", crate::topology::EMAIL_BUS.to_owned());
        // send-email's dedupe record, on the local AWS endpoint's DynamoDB tables.
        put(
            "DEDUPE_TABLE_NAME",
            crate::dynamodb::DEDUPE_TABLE.to_owned(),
        );
        put(
            "RESET_PASSWORD_URL",
            "https://shop.example/account/reset-password".into(),
        );
        put("SUPPORT_URL", "https://shop.example/help".into());
        if let Some(a) = &s.auth0 {
            put("AUTH0_DOMAIN", a.settings.domain.clone());
            put("AUTH0_BASE_URL", format!("{}/_c/{container}", a.url));
            put("AUTH0_CLIENT_ID", a.settings.client_id.clone());
            put("AUTH0_CLIENT_SECRET", a.settings.client_secret.clone());
            // email-transform skips an `sce` made by the Dixa functions' client (this one):
            // dixa-patch-user puts that change's emails itself.
            put("DIXA_AUTH0_CLIENT_ID", a.settings.client_id.clone());
        }
        if let Some(b) = &s.bloomreach {
            put("BLOOMREACH_API_BASE", format!("{}/_c/{container}", b.url));
            put("BLOOMREACH_PROJECT_TOKEN", b.settings.project_token.clone());
            put("BLOOMREACH_API_KEY_ID", b.settings.key_id.clone());
            put("BLOOMREACH_API_SECRET", b.settings.key_secret.clone());
            put("BLOOMREACH_SENDER_ADDRESS", "security@shop.example".into());
            put("BLOOMREACH_SENDER_NAME", "Shop".into());
            put("BLOOMREACH_LANGUAGE", "en".into());
            for kind in auth0_events::EmailKind::ALL {
                put(
                    &send_email::config::template_var(kind),
                    crate::sandbox::template_id(kind),
                );
            }
        }
        if let Some(h) = &s.hybris {
            put("HYBRIS_BASE_URL", format!("{}/_c/{container}", h.url));
            put("HYBRIS_BASE_SITE", h.settings.base_site.clone());
            put("HYBRIS_CLIENT_ID", h.settings.client_id.clone());
            put("HYBRIS_CLIENT_SECRET", h.settings.client_secret.clone());
        }
        let sandboxed = |name: &str| {
            let is = |list: &[&str]| list.iter().any(|p| name.starts_with(p));
            (s.auth0.is_some() && is(AUTH0_CONNECTION))
                || (s.bloomreach.is_some() && is(BLOOMREACH_CONNECTION))
                || (s.hybris.is_some() && is(HYBRIS_CONNECTION))
        };
        for (k, v) in &self.process {
            let passed = PASSED_THROUGH.iter().any(|p| k.starts_with(p));
            if passed && !k.ends_with("_SECRET_ARN") && !sandboxed(k) {
                vars.push((k.clone(), v.clone()));
            }
        }
        vars.extend(self.extra.iter().cloned());
        vars.extend(
            self.per_function
                .iter()
                .filter(|(f, _, _)| f == function)
                .map(|(_, k, v)| (k.clone(), v.clone())),
        );
        // Later entries win.
        Env::from_pairs(vars)
    }
}

/// Secrets Manager is never configured locally (`*_SECRET_ARN` are not passed on); this client
/// exists only to satisfy the config loaders' signature.
fn no_secrets(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("local", "local", None, None, "local"))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// A function's handler, as its `main` builds it.
pub enum Handler {
    EmailTransform(email_transform::Handler),
    SendEmail(send_email::Handler),
    HybrisResetPassword(hybris_reset_password::Handler),
    DixaGetUser(dixa_get_user::Lookup),
    // Boxed: it carries the SDK configuration for its email-change client.
    DixaPatchUser(Box<dixa_patch_user::Actions>),
}

fn init_error(e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic {
        error_type: "Runtime.InitError".to_owned(),
        error_message: e.to_string(),
    }
}

impl Handler {
    /// Cold start: the function's configuration and clients, as its `main` does it.
    ///
    /// Takes its inputs by value: the config loaders' `async` closures would otherwise tie the
    /// future to borrowed lifetimes and make it not `Send`.
    pub async fn build(
        function: String,
        env: Env,
        eventbridge: String,
    ) -> Result<Self, Diagnostic> {
        let env = &env;
        let endpoint = eventbridge.clone();
        let secrets = move || std::future::ready(no_secrets(&endpoint));
        match function.as_str() {
            EMAIL_TRANSFORM => {
                let config = email_transform::Config::from_env(env).map_err(init_error)?;
                let sdk = sdk_config(&eventbridge).await;
                let auth0 = match env.optional(auth0_client::config::DOMAIN) {
                    None => None,
                    Some(_) => {
                        let c = auth0_client::Auth0Config::from_env(env, secrets)
                            .await
                            .map_err(init_error)?;
                        Some(auth0_client::Auth0Client::new(c).map_err(init_error)?)
                    }
                };
                Ok(Self::EmailTransform(email_transform::Handler::new(
                    config,
                    aws_sdk_eventbridge::Client::new(&sdk),
                    auth0,
                )))
            }
            SEND_EMAIL => {
                let config = send_email::Config::from_env(env, secrets)
                    .await
                    .map_err(init_error)?;
                let dedupe = config
                    .dedupe_table
                    .clone()
                    .map(|table| (table, config.dedupe_keep));
                let mut handler = send_email::Handler::new(config).map_err(init_error)?;
                // As its main does: the dedupe record when a table is configured.
                if let Some((table, keep)) = dedupe {
                    let client = aws_sdk_dynamodb::Client::new(&sdk_config(&eventbridge).await);
                    handler =
                        handler.with_dedupe(send_email::dedupe::Dedupe::new(client, table, keep));
                }
                Ok(Self::SendEmail(handler))
            }
            HYBRIS_RESET_PASSWORD => {
                let config = hybris_reset_password::Config::from_env(env, secrets)
                    .await
                    .map_err(init_error)?;
                Ok(Self::HybrisResetPassword(
                    hybris_reset_password::Handler::new(config).map_err(init_error)?,
                ))
            }
            DIXA_GET_USER => {
                let config = dixa_get_user::Config::from_env(env, secrets)
                    .await
                    .map_err(init_error)?;
                Ok(Self::DixaGetUser(
                    dixa_get_user::Lookup::new(config).map_err(init_error)?,
                ))
            }
            DIXA_PATCH_USER => {
                let config = dixa_patch_user::Config::from_env(env, secrets)
                    .await
                    .map_err(init_error)?;
                // As its main does: the SDK configuration the emails of an email change go out with.
                let sdk = sdk_config(&eventbridge).await;
                Ok(Self::DixaPatchUser(Box::new(
                    dixa_patch_user::Actions::new(config, sdk).map_err(init_error)?,
                )))
            }
            other => Err(init_error(format!(
                "the template names a function `{other}` that the local system does not know"
            ))),
        }
    }

    /// One asynchronous (event) invocation.
    pub async fn invoke_event(&self, payload: Value, ctx: Context) -> Result<Value, Diagnostic> {
        let event = LambdaEvent::new(payload, ctx);
        match self {
            Self::EmailTransform(h) => h.handle(event).await.map_err(Diagnostic::from),
            Self::SendEmail(h) => h.handle(event).await.map_err(Diagnostic::from),
            Self::HybrisResetPassword(h) => h.handle(event).await.map_err(Diagnostic::from),
            Self::DixaGetUser(_) | Self::DixaPatchUser(_) => Err(Diagnostic {
                error_type: "Runtime.InvalidEntrypoint".into(),
                error_message: "an API Gateway function was given a non-HTTP event".into(),
            }),
        }
    }
}

impl Handler {
    /// One synchronous API Gateway (proxy) invocation.
    /// The request carries the invocation's context, as `lambda_http::run` gives it.
    pub async fn invoke_http(
        &self,
        request: lambda_http::Request,
        ctx: Context,
    ) -> Result<lambda_http::Response<lambda_http::Body>, Diagnostic> {
        use lambda_http::RequestExt;
        let request = request.with_lambda_context(ctx);
        match self {
            Self::DixaGetUser(h) => Ok(h.handle(request).await),
            Self::DixaPatchUser(h) => Ok(h.handle(request).await),
            _ => Err(Diagnostic {
                error_type: "Runtime.InvalidEntrypoint".into(),
                error_message: "this function is not an API Gateway (HTTP) function".into(),
            }),
        }
    }
}

/// One warm instance of a function.
pub struct Container {
    pub id: String,
    pub function: String,
    pub handler: Handler,
}

/// Idle containers per function.
#[derive(Default)]
pub struct Pools {
    idle: Mutex<HashMap<String, Vec<Arc<Container>>>>,
    created: Mutex<HashMap<String, u32>>,
}

impl Pools {
    pub fn take_idle(&self, function: &str) -> Option<Arc<Container>> {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(function)
            .and_then(Vec::pop)
    }

    pub fn new_id(&self, function: &str) -> String {
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        let n = created.entry(function.to_owned()).or_default();
        *n += 1;
        format!("{function}-{n}")
    }

    pub fn give_back(&self, container: Arc<Container>) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(container.function.clone())
            .or_default()
            .push(container);
    }
}
