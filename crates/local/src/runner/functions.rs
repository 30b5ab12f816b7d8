//! The functions, running their real handler code in-process.
//!
//! Each function runs in **containers** as on Lambda: a container is one handler built by the
//! function's own `bootstrap` (what its `main` calls) from a [`Platform`] whose endpoints are
//! loopback and whose stores are in memory (cold start), kept warm and reused, running one
//! invocation at a time; concurrent events get more containers. A container's provider URLs
//! carry its id (`/_c/<container>`) so every call it makes is attributed to its invocation.
//!
//! A container's environment is the function's `Environment.Variables` from the template (as
//! deployed with [`crate::aws::topology::LOCAL_PARAMETERS`]), then the environment `up` was started
//! with, then what each sandbox gives (a provider's URL and credentials), then the AWS
//! endpoint. Nothing here names a function's own settings: a setting a function reads from the
//! template is read here too.

use crate::aws::eventbridge::REGION;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use lambda_support::{Env, MemoryStores, Platform, time::Clock};
use sandboxes::Running;
use serde_json::Value;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// The settings of the local AWS endpoint, as Lambda gives a function its region and role.
fn aws_endpoint(endpoint: &str) -> [(&'static str, String); 4] {
    [
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
    ]
}

/// An SDK configuration for the local AWS endpoint, as the functions get it.
pub fn sdk_config(endpoint: &str) -> aws_types::SdkConfig {
    lambda_support::aws_config_from(&Env::from_pairs(aws_endpoint(endpoint)))
}

/// Everything needed to write a container's environment.
#[derive(Clone)]
pub struct FunctionEnv {
    pub eventbridge_url: String,
    /// The sandboxes being served (a provider without one is the real one).
    pub sandboxes: Vec<Running>,
    /// Each function's `Environment.Variables` from the template, by binary name.
    pub template: HashMap<String, Vec<(String, String)>>,
    /// The environment `up` was started with (empty in tests).
    pub process: HashMap<String, String>,
    /// Fixed settings added last (the Dixa secrets and origins).
    pub extra: Vec<(String, String)>,
    /// `(function, name, value)`: one function's settings, added after everything else
    /// ([`crate::Options::function_env`]).
    pub per_function: Vec<(String, String, String)>,
    /// The stores every container shares, as every Lambda container shares one table.
    pub memory: MemoryStores,
    /// The functions' clock (tests move it instead of sleeping).
    pub clock: Clock,
}

impl FunctionEnv {
    /// The platform one container of `function` is built on: sandbox URLs carry its id.
    pub fn platform_for(&self, function: &str, container: &str) -> Platform {
        let env = self.for_container(function, container);
        Platform::local(env, self.memory.clone(), self.clock.clone())
    }

    /// The settings of one container of `function`: sandbox URLs carry its id.
    pub fn for_container(&self, function: &str, container: &str) -> Env {
        let mut vars: Vec<(String, String)> = Vec::new();
        vars.extend(self.template.get(function).into_iter().flatten().cloned());
        let sandboxed = |name: &str| self.sandboxes.iter().any(|s| s.gives(name));
        // As on Lambda, the process environment is the function's: a person may set any of
        // its settings before `up`, except the AWS ones (the local endpoint's), secrets held
        // in Secrets Manager (there is none here) and a sandboxed provider's connection.
        for (k, v) in &self.process {
            if !k.starts_with("AWS_") && !k.ends_with("_SECRET_ARN") && !sandboxed(k) {
                vars.push((k.clone(), v.clone()));
            }
        }
        for sandbox in &self.sandboxes {
            // The container's id in the URL: each call is attributed to its invocation.
            vars.extend(sandbox.function_env(&format!("{}/_c/{container}", sandbox.url)));
        }
        vars.extend(self.extra.iter().cloned());
        let eventbridge = format!("{}/_c/{container}", self.eventbridge_url);
        vars.extend(aws_endpoint(&eventbridge).map(|(k, v)| (k.to_owned(), v)));
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
    /// Cold start: the function's own `bootstrap`, the one its `main` calls.
    ///
    /// Takes its inputs by value: borrowed ones would tie the future to their lifetimes and
    /// make it not `Send`.
    pub async fn build(function: String, platform: Platform) -> Result<Self, Diagnostic> {
        let platform = &platform;
        Ok(match function.as_str() {
            "email-transform" => Self::EmailTransform(
                email_transform::bootstrap(platform)
                    .await
                    .map_err(init_error)?,
            ),
            "send-email" => {
                Self::SendEmail(send_email::bootstrap(platform).await.map_err(init_error)?)
            }
            "hybris-reset-password" => Self::HybrisResetPassword(
                hybris_reset_password::bootstrap(platform)
                    .await
                    .map_err(init_error)?,
            ),
            "dixa-get-user" => Self::DixaGetUser(
                dixa_get_user::bootstrap(platform)
                    .await
                    .map_err(init_error)?,
            ),
            "dixa-patch-user" => Self::DixaPatchUser(Box::new(
                dixa_patch_user::bootstrap(platform)
                    .await
                    .map_err(init_error)?,
            )),
            other => {
                return Err(init_error(format!(
                    "the template names a function `{other}` that the local system does not know"
                )));
            }
        })
    }

    /// One asynchronous (event) invocation.
    pub async fn invoke_event(&self, payload: Value, ctx: Context) -> Result<Value, Diagnostic> {
        /// The outcome as the runtime puts it on the wire: serialised, or a runtime error.
        fn response<O: serde::Serialize, E: Into<Diagnostic>>(
            outcome: Result<O, E>,
        ) -> Result<Value, Diagnostic> {
            serde_json::to_value(outcome.map_err(Into::into)?).map_err(|e| Diagnostic {
                error_type: "Runtime.SerializationError".into(),
                error_message: format!("the function's response could not be serialised: {e}"),
            })
        }
        let event = LambdaEvent::new(payload, ctx);
        match self {
            Self::EmailTransform(h) => response(h.handle(event).await),
            Self::SendEmail(h) => response(h.handle(event).await),
            Self::HybrisResetPassword(h) => response(h.handle(event).await),
            Self::DixaGetUser(_) | Self::DixaPatchUser(_) => Err(Diagnostic {
                error_type: "Runtime.InvalidEntrypoint".into(),
                error_message: "an API Gateway function was given a non-HTTP event".into(),
            }),
        }
    }
}

/// An invocation's answer on the wire, and what the function did with each record of the
/// batch (message id → outcome or error), for the hops.
pub type BatchAnswer = (Value, Vec<(String, Result<Value, Diagnostic>)>);

impl Handler {
    /// One SQS batch from an event source mapping: the answer Lambda reads (the partial batch
    /// response) and each record's outcome, which a deployed function only logs.
    pub async fn invoke_batch(
        &self,
        payload: Value,
        ctx: Context,
    ) -> Result<BatchAnswer, Diagnostic> {
        let Self::SendEmail(h) = self else {
            return Err(Diagnostic {
                error_type: "Runtime.InvalidEntrypoint".into(),
                error_message: "this function does not read a queue".into(),
            });
        };
        let outcome = h
            .handle_batch(LambdaEvent::new(payload, ctx))
            .await
            .map_err(Diagnostic::from)?;
        let wire = serde_json::to_value(outcome.response()).map_err(|e| Diagnostic {
            error_type: "Runtime.SerializationError".into(),
            error_message: format!("the function's response could not be serialised: {e}"),
        })?;
        let records = outcome
            .records
            .into_iter()
            .map(|(id, record)| {
                let result = match record {
                    send_email::batch::Record::Done(o) => {
                        serde_json::to_value(o).map_err(|e| Diagnostic {
                            error_type: "Runtime.SerializationError".into(),
                            error_message: e.to_string(),
                        })
                    }
                    send_email::batch::Record::Failed(e) => Err(Diagnostic {
                        error_type: e.error_type().to_owned(),
                        error_message: e.to_string(),
                    }),
                    send_email::batch::Record::HandedBack => Err(Diagnostic {
                        error_type: "HandedBack".into(),
                        error_message: "not tried: an earlier record of the batch met a refusal that would meet it too".into(),
                    }),
                };
                (id, result)
            })
            .collect();
        Ok((wire, records))
    }

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
