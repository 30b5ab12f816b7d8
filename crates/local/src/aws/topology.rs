//! What the local system wires, read from `infra/template.yaml` (through the `sam-template`
//! model): every function's EventBridge rules (bus + pattern), its asynchronous
//! invoke settings, its environment, and the API Gateway routes.

use sam_template::{Function, Template, TemplateError, referenced_id};
use serde_json::Value;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// Why a template cannot be routed by locally.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// Not read, not YAML, or not the shape the accessors rely on.
    #[error("template {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: TemplateError,
    },
    /// The same, for a template given as text.
    #[error("template: {0}")]
    Parse(#[source] TemplateError),
    #[error("{function}: an Api event without Path/Method")]
    ApiEventWithoutRoute { function: String },
    #[error("{event}: EventBusName refers to {id}, which has no local bus")]
    NoLocalBus { event: String, id: String },
    /// A rule's pattern quamina does not take (see [`crate::eventbridge::EventRouter::new`]).
    #[error("rule {rule}: pattern not accepted: {source}")]
    Pattern {
        rule: String,
        source: quamina::QuaminaError,
    },
}

/// The local name of the Email bus (`!Ref EmailBus`).
pub const EMAIL_BUS: &str = "email";
/// The local name of the Auth0 partner bus (`!Ref Auth0PartnerEventBusName`).
pub const AUTH0_PARTNER_BUS: &str = "aws.partner/auth0.com/local/auth0.logs";
/// The bus PutEvents uses when an entry names none.
pub const DEFAULT_BUS: &str = "default";
/// What `${AWS::StackName}` and `${Environment}` stand for locally.
pub const STACK_NAME: &str = "local";

/// The template parameters the local run deploys with, as a `samconfig.toml` environment does
/// (`parameter_overrides`): the rest take their `Default`, and those without one are left
/// unset (a sandbox gives the provider's settings).
pub const LOCAL_PARAMETERS: &[(&str, &str)] = &[
    (
        "ResetPasswordUrl",
        "https://shop.example/account/reset-password",
    ),
    ("SupportUrl", "https://shop.example/help"),
    ("BloomreachSenderAddress", "security@shop.example"),
    ("BloomreachSenderName", "Shop"),
    ("BloomreachLanguage", "en"),
];

/// Which local bus a template reference stands for.
fn local_bus(reference: &str) -> Option<&'static str> {
    match reference {
        "EmailBus" => Some(EMAIL_BUS),
        "Auth0PartnerEventBusName" => Some(AUTH0_PARTNER_BUS),
        _ => None,
    }
}

/// One EventBridge rule of the template.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    /// The rule's name (`RuleName`, with `${AWS::StackName}` = `local`).
    pub name: String,
    /// `Function.Event` in the template, e.g. `EmailTransformFunction.Auth0SecurityLogs`.
    pub template_path: String,
    /// The function's binary, e.g. `email-transform`.
    pub function: String,
    /// Local bus name.
    pub bus: String,
    pub pattern: Value,
    /// The queue the rule fills (logical id), which the function reads; `None`: the rule
    /// invokes the function asynchronously.
    pub queue: Option<String>,
}

/// A queue a function reads through an event source mapping (`SQS` event), with the
/// settings the local run emulates.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSource {
    /// The queue's logical id.
    pub queue: String,
    /// `BatchSize` (SAM's default for SQS: 10).
    pub batch_size: usize,
    /// `ScalingConfig.MaximumConcurrency`; `None`: as many as there are batches.
    pub max_concurrency: Option<usize>,
    /// `FunctionResponseTypes` holds `ReportBatchItemFailures`.
    pub partial_batch: bool,
    /// The queue's `VisibilityTimeout`, seconds (SQS's default: 30).
    pub visibility_timeout_s: u64,
    /// The queue's `RedrivePolicy`: its dead-letter queue and `maxReceiveCount`.
    pub dead_letter: Option<(String, u64)>,
}

/// One function of the template.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    pub binary: String,
    /// `Timeout`, seconds.
    pub timeout_s: u64,
    /// `EventInvokeConfig.MaximumRetryAttempts`.
    pub max_retries: Option<u64>,
    /// `EventInvokeConfig.MaximumEventAgeInSeconds`.
    pub max_event_age_s: Option<u64>,
    /// `ReservedConcurrentExecutions`.
    pub reserved_concurrency: Option<u64>,
    /// The queue it reads, if it reads one.
    pub queue_source: Option<QueueSource>,
    /// Logical id of the OnFailure destination.
    pub on_failure: Option<String>,
    /// `Environment.Variables` as deployed with [`LOCAL_PARAMETERS`]: a `!Ref` to a parameter
    /// gives its value, to a bus its local name, to another resource its logical id (a
    /// store's name); a variable the local run cannot resolve (`!If`, a parameter without a
    /// value) is left out.
    pub environment: Vec<(String, String)>,
}

/// One API Gateway route (`Type: Api` event).
#[derive(Debug, Clone)]
pub struct ApiRoute {
    pub method: String,
    /// Resource path with `{param}` segments, e.g. `/users/{user_id}/{action}`.
    pub resource: String,
    pub function: String,
}

impl ApiRoute {
    /// The path parameters if `path` (already split at `/`, not decoded) fits this resource.
    pub fn path_parameters(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let want: Vec<&str> = self.resource.trim_matches('/').split('/').collect();
        let got: Vec<&str> = path.trim_matches('/').split('/').collect();
        if want.len() != got.len() {
            return None;
        }
        let mut params = BTreeMap::new();
        for (w, g) in want.iter().zip(&got) {
            if let Some(name) = w.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                if g.is_empty() {
                    return None;
                }
                let value = percent_encoding::percent_decode_str(g).decode_utf8_lossy();
                params.insert(name.to_owned(), value.into_owned());
            } else if w != g {
                return None;
            }
        }
        Some(params)
    }
}

#[derive(Debug, Clone)]
pub struct Topology {
    pub rules: Vec<RuleSpec>,
    pub functions: BTreeMap<String, FunctionSpec>,
    pub api_routes: Vec<ApiRoute>,
}

impl Topology {
    pub fn load(path: &Path) -> Result<Self, TopologyError> {
        let template = Template::read(path).map_err(|source| TopologyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_template(&template)
    }

    pub fn parse(text: &str) -> Result<Self, TopologyError> {
        let template = Template::parse(text).map_err(TopologyError::Parse)?;
        Self::from_template(&template)
    }

    fn from_template(template: &Template) -> Result<Self, TopologyError> {
        let mut functions = BTreeMap::new();
        let mut api_routes = Vec::new();
        for f in template.functions() {
            let spec = function_spec(&f, template);
            for (_, props) in f.events_of_type("Api") {
                let (Some(path), Some(method)) = (props["Path"].as_str(), props["Method"].as_str())
                else {
                    return Err(TopologyError::ApiEventWithoutRoute {
                        function: f.id.to_owned(),
                    });
                };
                api_routes.push(ApiRoute {
                    method: method.to_ascii_uppercase(),
                    resource: path.to_owned(),
                    function: spec.binary.clone(),
                });
            }
            functions.insert(spec.binary.clone(), spec);
        }
        let mut rules = Vec::new();
        for rule in template.eventbridge_rules() {
            let template_path = format!("{}.{}", rule.function, rule.event_name);
            let bus = match rule.bus() {
                Value::Null => DEFAULT_BUS.to_owned(),
                Value::String(name) => name.clone(),
                reference => {
                    let id = referenced_id(reference).unwrap_or_default();
                    local_bus(id)
                        .ok_or_else(|| TopologyError::NoLocalBus {
                            event: template_path.clone(),
                            id: id.to_owned(),
                        })?
                        .to_owned()
                }
            };
            let name = match rule.name() {
                Value::String(s) => s.clone(),
                Value::Object(o) => match o.get("Fn::Sub") {
                    Some(Value::String(s)) => substitute(s),
                    _ => template_path.clone(),
                },
                _ => template_path.clone(),
            };
            rules.push(RuleSpec {
                name,
                template_path,
                function: rule.binary.to_owned(),
                bus,
                pattern: rule.pattern().clone(),
                queue: rule.via_queue.map(str::to_owned),
            });
        }
        Ok(Self {
            rules,
            functions,
            api_routes,
        })
    }
}

fn function_spec(f: &Function<'_>, template: &Template) -> FunctionSpec {
    let props = f.props();
    let invoke = &props["EventInvokeConfig"];
    let environment = props["Environment"]["Variables"]
        .as_object()
        .map(|vars| {
            vars.iter()
                .filter_map(|(name, value)| Some((name.clone(), resolve(value, template)?)))
                .collect()
        })
        .unwrap_or_default();
    let number = |v: &Value| resolve(v, template).and_then(|s| s.parse::<u64>().ok());
    let queue_source = f.events_of_type("SQS").first().and_then(|(_, e)| {
        let queue = referenced_id(&e["Queue"])?.to_owned();
        let queue_props = &template.resources().get(&queue)?["Properties"];
        let redrive = &queue_props["RedrivePolicy"];
        Some(QueueSource {
            batch_size: number(&e["BatchSize"]).unwrap_or(10) as usize,
            max_concurrency: number(&e["ScalingConfig"]["MaximumConcurrency"]).map(|n| n as usize),
            partial_batch: e["FunctionResponseTypes"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "ReportBatchItemFailures")),
            visibility_timeout_s: number(&queue_props["VisibilityTimeout"]).unwrap_or(30),
            dead_letter: referenced_id(&redrive["deadLetterTargetArn"])
                .zip(number(&redrive["maxReceiveCount"]))
                .map(|(q, n)| (q.to_owned(), n)),
            queue,
        })
    });
    FunctionSpec {
        logical_id: f.id.to_owned(),
        binary: f.binary().to_owned(),
        timeout_s: props["Timeout"].as_u64().unwrap_or(3),
        max_retries: invoke["MaximumRetryAttempts"].as_u64(),
        max_event_age_s: invoke["MaximumEventAgeInSeconds"].as_u64(),
        reserved_concurrency: number(&props["ReservedConcurrentExecutions"]),
        queue_source,
        on_failure: referenced_id(&invoke["DestinationConfig"]["OnFailure"]["Destination"])
            .map(str::to_owned),
        environment,
    }
}

/// An environment variable's value as the local deployment has it (see
/// [`FunctionSpec::environment`]).
fn resolve(value: &Value, template: &Template) -> Option<String> {
    match value {
        Value::String(s) => Some(substitute(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => {
            let id = value.get("Ref")?.as_str()?;
            if let Some(bus) = local_bus(id) {
                return Some(bus.to_owned());
            }
            match template.parameters().get(id) {
                Some(parameter) => LOCAL_PARAMETERS
                    .iter()
                    .find(|(name, _)| *name == id)
                    .map(|(_, v)| (*v).to_owned())
                    .or_else(|| match &parameter["Default"] {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        Value::Bool(b) => Some(b.to_string()),
                        _ => None,
                    }),
                None => template.type_of(id).map(|_| id.to_owned()),
            }
        }
    }
}

/// `${AWS::StackName}` / `${Environment}` → `local`; other variables are kept.
fn substitute(s: &str) -> String {
    s.replace("${AWS::StackName}", STACK_NAME)
        .replace("${Environment}", STACK_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_real_template() {
        let t = Topology::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml"),
        )
        .unwrap();
        let by_fn = |f: &str| t.rules.iter().filter(|r| r.function == f).count();
        assert_eq!(by_fn("email-transform"), 1);
        assert_eq!(by_fn("send-email"), 1);
        assert_eq!(by_fn("hybris-reset-password"), 1);
        let send = t.rules.iter().find(|r| r.function == "send-email").unwrap();
        assert_eq!(send.bus, EMAIL_BUS);
        assert_eq!(send.name, "local-send-email");
        let et = t
            .rules
            .iter()
            .find(|r| r.function == "email-transform")
            .unwrap();
        assert_eq!(et.bus, AUTH0_PARTNER_BUS);
        assert_eq!(t.functions["email-transform"].timeout_s, 30);
        assert_eq!(send.queue.as_deref(), Some("SendEmailQueue"));
        assert_eq!(et.queue, None);
        assert_eq!(t.functions["send-email"].on_failure, None);
        assert_eq!(
            t.functions["send-email"].queue_source,
            Some(QueueSource {
                queue: "SendEmailQueue".into(),
                batch_size: 10,
                max_concurrency: Some(2),
                partial_batch: true,
                visibility_timeout_s: 180,
                dead_letter: Some(("SendEmailFailureQueue".into(), 20)),
            })
        );
        assert_eq!(
            t.functions["email-transform"].on_failure.as_deref(),
            Some("EmailTransformFailureQueue")
        );
        let route = t
            .api_routes
            .iter()
            .find(|r| r.method == "POST")
            .expect("POST route");
        // Environments as deployed with the local parameters.
        let env = |f: &str, name: &str| {
            t.functions[f]
                .environment
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            env("send-email", "BLOCKED_EMAIL_WINDOW_MINUTES").as_deref(),
            Some("60")
        );
        assert_eq!(
            env("send-email", "DEDUPE_TABLE_NAME").as_deref(),
            Some("SendEmailDedupeTable")
        );
        assert_eq!(
            env("send-email", "SUPPORT_URL").as_deref(),
            Some("https://shop.example/help")
        );
        assert_eq!(
            env("email-transform", "EMAIL_BUS_NAME").as_deref(),
            Some(EMAIL_BUS)
        );
        assert_eq!(
            env("email-transform", "SCE_OLD_EMAIL_FIELD").as_deref(),
            Some("email")
        );
        // No value locally: a parameter without a default, a condition.
        assert_eq!(env("send-email", "BLOOMREACH_SECRET_ARN"), None);
        assert_eq!(env("email-transform", "AUTH0_DOMAIN"), None);
        let params = route.path_parameters("/users/auth0%7Cabc/block").unwrap();
        assert_eq!(params["user_id"], "auth0|abc");
        assert_eq!(params["action"], "block");
        assert!(route.path_parameters("/users/x").is_none());
    }
}
